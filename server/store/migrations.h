// The store's schema as an ordered list of migrations, and the function that brings a
// database file up to date.
//
// Thread affinity: whatever thread owns the Db (the storage thread, or the caller of
// Store::Open before the thread starts).
// Ownership: the migration list is static data; ApplyMigrations borrows the Db.
//
// Versioning: PRAGMA user_version holds the number of migrations applied. Migration i
// (1-based) runs in its own transaction together with "PRAGMA user_version = i", so a
// crash leaves the file at i-1 or i, never in between. Migrations are append-only:
// never edit one that has shipped; add a new one that alters the schema.
#ifndef TUTTI_SERVER_STORE_MIGRATIONS_H_
#define TUTTI_SERVER_STORE_MIGRATIONS_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/store/sqlite_db.h"

namespace tutti::server::store {

struct Migration {
  const char* description;
  const char* sql;
};

// The schema of this build, oldest first.
const std::vector<Migration>& SchemaMigrations();

// Reads PRAGMA user_version.
absl::StatusOr<int> SchemaVersion(Db& db);

// Applies the migrations the file lacks. FAILED_PRECONDITION when the file is newer
// than `migrations` (written by a later server: refusing beats guessing). Returns the
// version reached. If migration i fails, the file stays at version i-1.
absl::StatusOr<int> ApplyMigrations(Db& db, const std::vector<Migration>& migrations);

}  // namespace tutti::server::store

#endif  // TUTTI_SERVER_STORE_MIGRATIONS_H_
