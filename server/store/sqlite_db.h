// A thin RAII layer over one SQLite connection: prepared-statement cache, typed
// binding, transactions, and SQLite result codes mapped to absl::Status codes.
//
// Thread affinity: one thread at a time (the connection is opened with
// SQLITE_OPEN_NOMUTEX); in the server that is the storage thread.
// Ownership: Store owns the Db; a Statement borrows a cached sqlite3_stmt from the
// Db for one use and resets it when it goes away, so it must not outlive the Db and
// two Statements for the same SQL text must not be alive at once.
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

namespace tutti::server::store {

// Maps a SQLite result code to a Status: constraint violations on a key become
// ALREADY_EXISTS, foreign-key violations FAILED_PRECONDITION, other constraint
// failures INVALID_ARGUMENT, BUSY/LOCKED UNAVAILABLE, FULL RESOURCE_EXHAUSTED,
// CORRUPT/NOTADB DATA_LOSS, CANTOPEN/READONLY FAILED_PRECONDITION, the rest INTERNAL.
absl::Status SqliteStatus(int rc, sqlite3* db, std::string_view context);

class Db;

class Statement {
 public:
  Statement(sqlite3_stmt* stmt, Db* owner);
  Statement(Statement&& other) noexcept
      : stmt_(other.stmt_), db_(other.db_), owner_(other.owner_), bind_error_(other.bind_error_) {
    other.stmt_ = nullptr;
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;
  // Resets the statement and clears its bindings for the next user of the cache.
  ~Statement();

  // Parameters are numbered from 1 (?1, ?2, ...). Values are copied (SQLITE_TRANSIENT),
  // so binding a temporary is safe.
  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, int64_t value);
  Statement& BindBlob(int index, std::string_view bytes);

  // Runs one step: true when a row is ready, false when done. The first bind error,
  // if any, is reported here.
  absl::StatusOr<bool> Step();
  // Steps to completion, ignoring rows; for INSERT/UPDATE/DELETE.
  absl::Status Run();

  int64_t ColumnInt(int column) const;
  std::string ColumnText(int column) const;
  std::string ColumnBlob(int column) const;

 private:
  sqlite3_stmt* stmt_;
  sqlite3* db_;
  Db* owner_;
  int bind_error_ = SQLITE_OK;
};

class Db {
 public:
  // Opens (creating if absent) the file at `path`; never creates directories.
  static absl::StatusOr<std::unique_ptr<Db>> Open(const std::string& path);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs SQL without results (DDL, PRAGMA assignments, several statements at once).
  absl::Status Exec(const std::string& sql);
  // A statement from the cache, prepared on first use. `sql` is the cache key.
  absl::StatusOr<Statement> Prepare(std::string_view sql);
  // Rows changed by the last INSERT/UPDATE/DELETE.
  int64_t Changes() const;
  sqlite3* raw() const { return db_; }
  size_t cached_statements() const { return cache_.size(); }

  // Failures of the database or the disk under it (full, I/O error, read-only,
  // locked, corrupt: every result but a constraint) come in episodes: a full disk fails
  // every write until space returns. Each episode is logged to stderr twice, at its
  // first failure and at the first durable write after it, with a count, so an
  // operator sees it without a line per failed write. `context` (SQL text, a path)
  // goes to the log only, never to a client.
  void NoteFailure(int rc, std::string_view context);
  // A write is durable: a COMMIT, or a write statement outside a transaction.
  void NoteDurableWrite();
  // Failures in the current episode (0 when the store is healthy).
  uint64_t failures_in_episode() const { return episode_failures_; }

 private:
  explicit Db(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  absl::flat_hash_map<std::string, sqlite3_stmt*> cache_;
  uint64_t episode_failures_ = 0;
};

// BEGIN IMMEDIATE on construction (the write lock is taken up front, so a transaction
// never fails half-way for want of it); ROLLBACK on destruction unless committed.
class Transaction {
 public:
  static absl::StatusOr<std::unique_ptr<Transaction>> Begin(Db& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  // Durable when it returns OK (synchronous=FULL).
  absl::Status Commit();

 private:
  explicit Transaction(Db& db) : db_(db) {}
  Db& db_;
  bool done_ = false;
};

}  // namespace tutti::server::store

#endif  // TUTTI_SERVER_STORE_SQLITE_DB_H_
