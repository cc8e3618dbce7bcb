// The PostgreSQL driver of the store's database seam (db.h), through libpq: one
// connection, its prepared statements (named server-side statements, prepared on first
// use with the types of the values bound), SQLSTATEs mapped to absl::Status codes.
//
// Dialect: Store's SQL is written once, with ?N placeholders; this driver rewrites
// them to $N. Values travel in binary form (text, int8, bytea), results come back in
// binary form. Text columns are COLLATE "C" (migrations.cc), so ids compare and sort by
// bytes as in SQLite. The schema version is the one row of the table tutti_schema, in
// the first schema of the connection's search_path (where the store's tables go).
//
// Durability: the session runs with synchronous_commit = on, and Open refuses a server
// with fsync off, so a COMMIT that returned is on the server's stable storage; an
// aborted transaction's COMMIT (answered "ROLLBACK") is an error, never an OK.
// Several nodes may share one database: write transactions take one advisory lock
// (BeginWrite), so they run one at a time as SQLite's BEGIN IMMEDIATE does, and a wait
// for it longer than lock_timeout (5 s) fails with UNAVAILABLE.
//
// Connection loss: a statement on a broken connection fails with UNAVAILABLE; the next
// statement outside a transaction reconnects (PQreset) and re-prepares. A failed
// reconnection backs off (250 ms doubling to 5 s): until then statements fail at once
// instead of each waiting out connect_timeout on a host that drops packets. Connecting
// and idle connections are bounded by connect_timeout and TCP keepalives (defaults in
// pg_db.cc, which the URL may override), so the storage thread never waits forever.
//
// Thread affinity: one thread at a time; in the server that is the storage thread.
// Ownership: Store owns the Db; the Db owns the PGconn and its statement cache.
#ifndef TUTTI_SERVER_STORE_PG_DB_H_
#define TUTTI_SERVER_STORE_PG_DB_H_

#include <libpq-fe.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/store/db.h"

namespace tutti::server::store {

// Maps a SQLSTATE to a Status: unique violations ALREADY_EXISTS, foreign-key violations
// FAILED_PRECONDITION, other integrity and data errors INVALID_ARGUMENT, connection
// errors, lock timeouts, deadlocks, serialization failures and shutdowns UNAVAILABLE,
// insufficient resources RESOURCE_EXHAUSTED, data corruption DATA_LOSS, missing
// privileges FAILED_PRECONDITION, the rest INTERNAL. An empty SQLSTATE (the client
// lost the server) is UNAVAILABLE. The status carries kDatabasePayload.
absl::Status PgStatus(std::string_view sqlstate, std::string_view message);

// ?N -> $N outside quoted text and identifiers.
std::string PgPlaceholders(std::string_view sql);

class PgDb;

class PgStatement final : public DriverStatement {
 public:
  PgStatement(PgDb* owner, std::string sql) : owner_(owner), sql_(std::move(sql)) {}
  ~PgStatement() override;
  PgStatement(const PgStatement&) = delete;
  PgStatement& operator=(const PgStatement&) = delete;

  void BindText(int index, std::string_view text) override;
  void BindInt(int index, int64_t value) override;
  void BindBlob(int index, std::string_view bytes) override;
  absl::StatusOr<bool> Step() override;
  int64_t ColumnInt(int column) const override;
  std::string ColumnText(int column) const override;
  std::string ColumnBlob(int column) const override;
  void Reset() override;

 private:
  friend class PgDb;
  struct Param {
    Oid type = 0;  // 0: never bound, sent as NULL
    std::string value;
  };
  Param& Slot(int index);

  PgDb* owner_;
  const std::string sql_;  // with $N placeholders
  std::vector<Param> params_;
  bool bind_error_ = false;
  // The server-side statement: its name, the connection epoch it was prepared in and
  // the parameter types it was prepared with.
  std::string name_;
  uint64_t prepared_epoch_ = 0;
  std::vector<Oid> prepared_types_;
  PGresult* result_ = nullptr;
  bool executed_ = false;
  int row_ = -1;
};

class PgDb final : public Db {
 public:
  struct Options {
    // Monotonic milliseconds, for the reconnection backoff only; empty = steady_clock.
    std::function<int64_t()> now_ms;
  };
  static constexpr int64_t kFirstBackoffMs = 250;
  static constexpr int64_t kMaxBackoffMs = 5000;

  // Connects to `url` (postgres://user:password@host:port/dbname?options), sets the
  // session up (synchronous_commit, lock_timeout) and checks that the server fsyncs.
  // UNAVAILABLE when the server cannot be reached, FAILED_PRECONDITION when it runs
  // with fsync off.
  static absl::StatusOr<std::unique_ptr<Db>> Open(const std::string& url, Options options = {});
  ~PgDb() override;

  // Reconnections tried since Open (for tests and the backoff's own checks).
  uint64_t reconnect_attempts() const { return reconnect_attempts_; }

  Dialect dialect() const override { return Dialect::kPostgres; }
  absl::Status Exec(const std::string& sql) override;
  absl::StatusOr<Statement> Prepare(std::string_view sql) override;
  int64_t Changes() const override { return changes_; }
  size_t cached_statements() const override { return cache_.size(); }
  absl::Status BeginWrite() override;
  absl::Status Commit() override;
  absl::Status Rollback() override;
  absl::StatusOr<int> SchemaVersion() override;
  absl::Status SetSchemaVersion(int version) override;

 private:
  friend class PgStatement;
  PgDb(PGconn* conn, Options options) : conn_(conn), options_(std::move(options)) {}
  int64_t NowMs() const;

  absl::Status SetUpSession();
  // Reconnects a broken connection, outside a transaction only.
  absl::Status EnsureConnected();
  // Runs `stmt` (preparing it first when needed); its result stays in stmt.result_.
  absl::Status Execute(PgStatement& stmt);
  // OK for a successful result; else the mapped error, logged as a failure episode
  // unless it is a constraint. Takes ownership of `result` only on failure.
  absl::Status Check(PGresult* result, std::string_view context);

  PGconn* conn_;
  const Options options_;
  uint64_t reconnect_attempts_ = 0;
  int64_t backoff_ms_ = 0;   // 0 = the last reconnection (if any) worked
  int64_t retry_at_ms_ = 0;  // no reconnection before this (NowMs)
  uint64_t epoch_ = 1;       // incremented by each reconnection: statements re-prepare
  int64_t changes_ = 0;
  bool in_transaction_ = false;
  uint64_t next_statement_ = 0;
  absl::flat_hash_map<std::string, std::unique_ptr<PgStatement>> cache_;
};

}  // namespace tutti::server::store

#endif  // TUTTI_SERVER_STORE_PG_DB_H_
