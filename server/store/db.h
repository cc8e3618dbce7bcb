// The store's database seam: one connection (Db), its prepared statements (Statement)
// and write transactions (Transaction), with two drivers behind it: SQLite, the
// embedded default (sqlite_db.h), and PostgreSQL through libpq (pg_db.h). Store's
// queries are written once against this interface; what differs between the SQL
// dialects lives in the drivers (placeholders, write locking, the schema version) and
// in migrations.cc (the DDL), nowhere else.
//
// Thread affinity: one thread at a time per Db; in the server that is the storage
// thread. Ownership: Store owns the Db; a Statement borrows a statement from its Db's
// cache for one use and resets it when it goes away, so it must not outlive the Db,
// and two Statements for the same SQL text must not be alive at once.
// No driver header (sqlite3.h, libpq-fe.h) is included here.
#ifndef TUTTI_SERVER_STORE_DB_H_
#define TUTTI_SERVER_STORE_DB_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tutti::server::store {

// A prepared statement of one driver, owned by its Db's cache. Bind errors are kept
// and reported by the next Step.
class DriverStatement {
 public:
  virtual ~DriverStatement() = default;
  virtual void BindText(int index, std::string_view text) = 0;
  virtual void BindInt(int index, int64_t value) = 0;
  virtual void BindBlob(int index, std::string_view bytes) = 0;
  virtual absl::StatusOr<bool> Step() = 0;
  virtual int64_t ColumnInt(int column) const = 0;
  virtual std::string ColumnText(int column) const = 0;
  virtual std::string ColumnBlob(int column) const = 0;
  // Drops the bindings and any result, ready for the next user of the cache.
  virtual void Reset() = 0;
};

// One use of a cached statement. Parameters are written ?1, ?2, ... in every dialect
// and numbered from 1; values are copied, so binding a temporary is safe. NULL reads
// as 0 or "".
class Statement {
 public:
  explicit Statement(DriverStatement* impl) : impl_(impl) {}
  Statement(Statement&& other) noexcept : impl_(other.impl_) { other.impl_ = nullptr; }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;
  ~Statement() {
    if (impl_ != nullptr) impl_->Reset();
  }

  Statement& Bind(int index, std::string_view text) {
    impl_->BindText(index, text);
    return *this;
  }
  Statement& Bind(int index, int64_t value) {
    impl_->BindInt(index, value);
    return *this;
  }
  Statement& BindBlob(int index, std::string_view bytes) {
    impl_->BindBlob(index, bytes);
    return *this;
  }

  // True when a row is ready, false when done.
  absl::StatusOr<bool> Step() { return impl_->Step(); }
  // Steps to completion, ignoring rows; for INSERT/UPDATE/DELETE.
  absl::Status Run();
  // Steps through every row, calling on_row(*this) on each: the one loop of every query
  // that reads a list. on_row returns void, or an absl::Status that stops the loop and is
  // returned when it is not OK (a row that does not read back, say).
  template <typename OnRow>
  absl::Status ForEachRow(OnRow&& on_row) {
    while (true) {
      absl::StatusOr<bool> row = Step();
      if (!row.ok()) return row.status();
      if (!*row) return absl::OkStatus();
      if constexpr (std::is_void_v<decltype(on_row(std::as_const(*this)))>) {
        on_row(std::as_const(*this));
      } else {
        absl::Status status = on_row(std::as_const(*this));
        if (!status.ok()) return status;
      }
    }
  }

  int64_t ColumnInt(int column) const { return impl_->ColumnInt(column); }
  std::string ColumnText(int column) const { return impl_->ColumnText(column); }
  std::string ColumnBlob(int column) const { return impl_->ColumnBlob(column); }

 private:
  DriverStatement* impl_;
};

class Db {
 public:
  enum class Dialect { kSqlite, kPostgres };

  // A postgres:// or postgresql:// URL opens PostgreSQL (pg_db.h); anything else is the
  // path of a SQLite file (created if absent, never its directory). Either way the
  // connection is set up for durable commits (see the drivers).
  static absl::StatusOr<std::unique_ptr<Db>> Open(const std::string& location);
  static bool IsPostgresUrl(std::string_view location);

  virtual ~Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  virtual Dialect dialect() const = 0;
  // Runs SQL without results (DDL, settings, several statements at once).
  virtual absl::Status Exec(const std::string& sql) = 0;
  // A statement from the cache, prepared on first use. `sql` is the cache key.
  virtual absl::StatusOr<Statement> Prepare(std::string_view sql) = 0;
  // Rows changed by the last INSERT/UPDATE/DELETE.
  virtual int64_t Changes() const = 0;
  virtual size_t cached_statements() const = 0;

  // A write transaction that holds the database's write lock from its start, so two
  // writers (two connections, two server nodes) never interleave: SQLite's BEGIN
  // IMMEDIATE; on PostgreSQL BEGIN plus a transaction-scoped advisory lock.
  virtual absl::Status BeginWrite() = 0;
  // OK only when the transaction committed and is durable.
  virtual absl::Status Commit() = 0;
  virtual absl::Status Rollback() = 0;

  // The number of migrations applied (migrations.h): SQLite's PRAGMA user_version, a
  // one-row table on PostgreSQL. SetSchemaVersion runs inside the migration's
  // transaction.
  virtual absl::StatusOr<int> SchemaVersion() = 0;
  virtual absl::Status SetSchemaVersion(int version) = 0;

  // Failures of the database or the disk under it (full, I/O error, read-only,
  // locked, corrupt, server gone: every result but a constraint) come in episodes: a
  // full disk fails every write until space returns. Each episode is logged to stderr
  // twice, at its first failure and at the first durable write after it, with a count,
  // so an operator sees it without a line per failed write. `context` (SQL text, a
  // path) goes to the log only, never to a client.
  void NoteFailure(std::string_view error, std::string_view context);
  // A write is durable: a COMMIT, or a write statement outside a transaction.
  void NoteDurableWrite();
  // Failures in the current episode (0 when the store is healthy).
  uint64_t failures_in_episode() const { return episode_failures_; }

 protected:
  Db() = default;

 private:
  uint64_t episode_failures_ = 0;
};

// BeginWrite on construction; Rollback on destruction unless committed.
class Transaction {
 public:
  static absl::StatusOr<std::unique_ptr<Transaction>> Begin(Db& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  // Durable when it returns OK.
  absl::Status Commit();

 private:
  explicit Transaction(Db& db) : db_(db) {}
  Db& db_;
  bool done_ = false;
};

}  // namespace tutti::server::store

#endif  // TUTTI_SERVER_STORE_DB_H_
