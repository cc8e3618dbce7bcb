// The store's schema as an ordered list of migrations, and the function that brings a
// database (a SQLite file or a PostgreSQL schema) up to date.
//
// Thread affinity: whatever thread owns the Db (the storage thread, or the caller of
// Store::Open before the thread starts).
// Ownership: the migration list is static data; ApplyMigrations borrows the Db.
//
// Versioning: the database holds the number of migrations applied (SQLite: PRAGMA
// user_version; PostgreSQL: the table tutti_schema, see pg_db.h). Migration i (1-based)
// runs in its own write transaction together with setting the version to i, so a crash
// leaves the database at i-1 or i, never in between; PostgreSQL's DDL is transactional
// too. The write transaction holds the database's write lock, so two servers starting
// at once on one PostgreSQL database apply each step once. Both dialects share the
// numbering: step i is the same schema change in each. Migrations are append-only:
// never edit one that has shipped; add a new one that alters the schema.
#ifndef TUTTI_SERVER_STORE_MIGRATIONS_H_
#define TUTTI_SERVER_STORE_MIGRATIONS_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/store/db.h"

namespace tutti::server::store {

struct Migration {
  const char* description;
  const char* sql;  // SQLite's text, and PostgreSQL's unless postgres_sql is set
  // The same change in PostgreSQL's dialect (BYTEA for BLOB, identity columns,
  // COLLATE "C" so that text sorts and compares by bytes as in SQLite).
  const char* postgres_sql = nullptr;
};

// The schema of this build, oldest first.
const std::vector<Migration>& SchemaMigrations();

// The number of migrations applied (Db::SchemaVersion).
absl::StatusOr<int> SchemaVersion(Db& db);

// Applies the migrations the file lacks. FAILED_PRECONDITION when the file is newer
// than `migrations` (written by a later server: refusing beats guessing). Returns the
// version reached. If migration i fails, the file stays at version i-1.
absl::StatusOr<int> ApplyMigrations(Db& db, const std::vector<Migration>& migrations);

}  // namespace tutti::server::store

#endif  // TUTTI_SERVER_STORE_MIGRATIONS_H_
