// The SQLite driver of the store's database seam (db.h): one connection with its
// prepared-statement cache, SQLite result codes mapped to absl::Status codes.
//
// Thread affinity: one thread at a time (the connection is opened with
// SQLITE_OPEN_NOMUTEX); in the server that is the storage thread.
// Ownership: Store owns the Db; the cache owns its sqlite3_stmt handles.
#ifndef TUTTI_SERVER_STORE_SQLITE_DB_H_
#define TUTTI_SERVER_STORE_SQLITE_DB_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/store/db.h"

namespace tutti::server::store {

// Maps a SQLite result code to a Status: constraint violations on a key become
// ALREADY_EXISTS, foreign-key violations FAILED_PRECONDITION, other constraint
// failures INVALID_ARGUMENT, BUSY/LOCKED UNAVAILABLE, FULL RESOURCE_EXHAUSTED,
// CORRUPT/NOTADB DATA_LOSS, CANTOPEN/READONLY FAILED_PRECONDITION, the rest INTERNAL.
// The status carries kDatabasePayload (client_text.h).
absl::Status SqliteStatus(int rc, sqlite3* db, std::string_view context);

class SqliteDb;

class SqliteStatement final : public DriverStatement {
 public:
  SqliteStatement(sqlite3_stmt* stmt, SqliteDb* owner);
  ~SqliteStatement() override;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  void BindText(int index, std::string_view text) override;
  void BindInt(int index, int64_t value) override;
  void BindBlob(int index, std::string_view bytes) override;
  absl::StatusOr<bool> Step() override;
  int64_t ColumnInt(int column) const override;
  std::string ColumnText(int column) const override;
  std::string ColumnBlob(int column) const override;
  void Reset() override;

 private:
  sqlite3_stmt* stmt_;
  SqliteDb* owner_;
  int bind_error_ = SQLITE_OK;
};

class SqliteDb final : public Db {
 public:
  // Opens (creating if absent) the file at `path`; never creates directories. Sets WAL
  // with synchronous=FULL (a commit that returned is on stable storage), foreign keys
  // and a busy timeout. FAILED_PRECONDITION when the file system refuses WAL.
  static absl::StatusOr<std::unique_ptr<Db>> Open(const std::string& path);
  ~SqliteDb() override;

  Dialect dialect() const override { return Dialect::kSqlite; }
  absl::Status Exec(const std::string& sql) override;
  absl::StatusOr<Statement> Prepare(std::string_view sql) override;
  int64_t Changes() const override;
  size_t cached_statements() const override { return cache_.size(); }
  absl::Status BeginWrite() override { return Exec("BEGIN IMMEDIATE"); }
  absl::Status Commit() override { return Exec("COMMIT"); }
  absl::Status Rollback() override { return Exec("ROLLBACK"); }
  absl::StatusOr<int> SchemaVersion() override;
  absl::Status SetSchemaVersion(int version) override;

  sqlite3* raw() const { return db_; }
  // Logs the start of a failure episode (Db::NoteFailure) unless `rc` is a constraint:
  // that is the data saying no (a duplicate friend request), not the store failing.
  void NoteSqliteFailure(int rc, std::string_view context);

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  absl::flat_hash_map<std::string, std::unique_ptr<SqliteStatement>> cache_;
};

}  // namespace tutti::server::store

#endif  // TUTTI_SERVER_STORE_SQLITE_DB_H_
