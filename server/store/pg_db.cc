#include "server/store/pg_db.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/moderation/string_view_compat.h"
#include "server/store/client_text.h"

namespace tutti::server::store {
namespace {

using moderation::ToAbsl;

// Type OIDs (pg_type.dat); libpq's headers do not export them.
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kTextOid = 25;

// The key of the advisory lock every write transaction takes ("tutti" in ASCII). It
// is per database, so stores in other databases of one server never wait for it.
constexpr char kWriteLockSql[] = "SELECT pg_advisory_xact_lock(499967079529)";

// Applied before the URL's own parameters, which win (PQconnectdbParams keeps the
// last value of a repeated keyword; the URL is expanded where "dbname" appears).
// tcp_user_timeout bounds a statement whose packets go unanswered (keepalives only
// watch an idle connection).
constexpr const char* kDefaultKeys[] = {"connect_timeout",
                                        "keepalives_idle",
                                        "keepalives_interval",
                                        "keepalives_count",
                                        "tcp_user_timeout",
                                        "application_name",
                                        "dbname"};
constexpr const char* kDefaultValues[] = {"10", "30", "10", "3", "30000", "tutti-server"};

uint64_t ReadBigEndian(const char* bytes, int length) {
  uint64_t value = 0;
  for (int i = 0; i < length; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

std::string Int8Bytes(int64_t value) {
  std::string out(8, '\0');
  uint64_t v = static_cast<uint64_t>(value);
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

std::string ConnectionError(PGconn* conn) {
  std::string text = conn != nullptr ? PQerrorMessage(conn) : "out of memory";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

absl::Status PgStatus(std::string_view sqlstate, std::string_view message) {
  const std::string text(message);
  absl::Status status;
  const std::string_view cls = sqlstate.substr(0, 2);
  if (sqlstate.empty() || cls == "08" || cls == "57" || sqlstate == "55P03" ||
      sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "25P03") {
    // No SQLSTATE: libpq lost the server. 57: operator intervention (shutdown).
    status = absl::UnavailableError(text);
  } else if (sqlstate == "23505") {
    status = absl::AlreadyExistsError(text);
  } else if (sqlstate == "23503") {
    status = absl::FailedPreconditionError(text);
  } else if (cls == "23" || cls == "22") {
    status = absl::InvalidArgumentError(text);
  } else if (cls == "53") {
    status = absl::ResourceExhaustedError(text);
  } else if (sqlstate == "XX001" || sqlstate == "XX002") {
    status = absl::DataLossError(text);
  } else if (sqlstate == "42501" || cls == "28" || sqlstate == "25006") {
    status = absl::FailedPreconditionError(text);
  } else {
    status = absl::InternalError(text);
  }
  // Marked, so that the text (SQL, server addresses) never reaches a client.
  status.SetPayload(kDatabasePayload,
                    absl::Cord(sqlstate.empty() ? "connection" : std::string(sqlstate)));
  return status;
}

std::string PgPlaceholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  char quote = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (quote != 0) {
      if (c == quote) quote = 0;  // a doubled quote closes and reopens: same result
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '?' && i + 1 < sql.size() && sql[i + 1] >= '0' && sql[i + 1] <= '9') {
      out.push_back('$');
      continue;
    }
    out.push_back(c);
  }
  return out;
}

// --- PgStatement ---------------------------------------------------------------------

PgStatement::~PgStatement() { PQclear(result_); }

PgStatement::Param& PgStatement::Slot(int index) {
  if (index < 1 || index > 65535) {
    bind_error_ = true;
    static Param ignored;
    return ignored;
  }
  if (params_.size() < static_cast<size_t>(index)) params_.resize(index);
  return params_[index - 1];
}

void PgStatement::BindText(int index, std::string_view text) {
  Param& p = Slot(index);
  p.type = kTextOid;
  p.value.assign(text.data() ? text.data() : "", text.size());
}

void PgStatement::BindInt(int index, int64_t value) {
  Param& p = Slot(index);
  p.type = kInt8Oid;
  p.value = Int8Bytes(value);
}

void PgStatement::BindBlob(int index, std::string_view bytes) {
  Param& p = Slot(index);
  p.type = kByteaOid;
  p.value.assign(bytes.data() ? bytes.data() : "", bytes.size());
}

absl::StatusOr<bool> PgStatement::Step() {
  if (!executed_) {
    if (bind_error_) return PgStatus("22023", "bind: parameter index out of range");
    executed_ = true;
    if (absl::Status s = owner_->Execute(*this); !s.ok()) return s;
  }
  if (result_ == nullptr) return false;
  if (row_ + 1 >= PQntuples(result_)) return false;
  ++row_;
  return true;
}

int64_t PgStatement::ColumnInt(int column) const {
  if (result_ == nullptr || row_ < 0 || PQgetisnull(result_, row_, column)) return 0;
  const char* bytes = PQgetvalue(result_, row_, column);
  const int length = PQgetlength(result_, row_, column);
  switch (PQftype(result_, column)) {
    case kInt8Oid:
      return static_cast<int64_t>(ReadBigEndian(bytes, 8));
    case kInt4Oid:
      return static_cast<int32_t>(ReadBigEndian(bytes, 4));
    case kInt2Oid:
      return static_cast<int16_t>(ReadBigEndian(bytes, 2));
    case kBoolOid:
      return length > 0 && bytes[0] != 0;
    default: {
      int64_t value = 0;
      return absl::SimpleAtoi(absl::string_view(bytes, length), &value) ? value : 0;
    }
  }
}

std::string PgStatement::ColumnText(int column) const {
  if (result_ == nullptr || row_ < 0 || PQgetisnull(result_, row_, column)) return "";
  switch (PQftype(result_, column)) {
    case kInt8Oid:
    case kInt4Oid:
    case kInt2Oid:
    case kBoolOid:
      return absl::StrCat(ColumnInt(column));
    default:
      return ColumnBlob(column);
  }
}

std::string PgStatement::ColumnBlob(int column) const {
  if (result_ == nullptr || row_ < 0 || PQgetisnull(result_, row_, column)) return "";
  return std::string(PQgetvalue(result_, row_, column), PQgetlength(result_, row_, column));
}

void PgStatement::Reset() {
  PQclear(result_);
  result_ = nullptr;
  params_.clear();
  bind_error_ = false;
  executed_ = false;
  row_ = -1;
}

// --- PgDb ----------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<Db>> PgDb::Open(const std::string& url, Options options) {
  const char* values[std::size(kDefaultKeys) + 1];
  const char* keys[std::size(kDefaultKeys) + 1];
  for (size_t i = 0; i < std::size(kDefaultKeys); ++i) {
    keys[i] = kDefaultKeys[i];
    values[i] = i < std::size(kDefaultValues) ? kDefaultValues[i] : url.c_str();
  }
  keys[std::size(kDefaultKeys)] = nullptr;
  values[std::size(kDefaultKeys)] = nullptr;
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    // The message names the host and port, never the password.
    absl::Status status =
        PgStatus("", absl::StrCat("cannot connect to PostgreSQL: ", ConnectionError(conn)));
    PQfinish(conn);
    return status;
  }
  std::unique_ptr<PgDb> db(new PgDb(conn, std::move(options)));
  if (absl::Status s = db->SetUpSession(); !s.ok()) return s;

  // With fsync off a committed transaction may vanish in a power loss or OS crash, and
  // "acknowledged only after commit" would mean nothing. Refusing beats pretending.
  absl::StatusOr<Statement> fsync = db->Prepare("SELECT current_setting('fsync')");
  if (!fsync.ok()) return fsync.status();
  absl::StatusOr<bool> row = fsync->Step();
  if (!row.ok()) return row.status();
  if (!*row || fsync->ColumnText(0) != "on") {
    return absl::FailedPreconditionError(
        "the PostgreSQL server runs with fsync off: acknowledged writes would not survive "
        "a crash of its machine; turn fsync on");
  }
  return std::unique_ptr<Db>(std::move(db));
}

PgDb::~PgDb() {
  cache_.clear();
  PQfinish(conn_);
}

int64_t PgDb::NowMs() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

absl::Status PgDb::SetUpSession() {
  // Notices ("relation already exists, skipping") are not for the server's log.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  // synchronous_commit may be off in the server's configuration or the role's; this
  // session needs every COMMIT flushed before it returns. lock_timeout bounds the wait
  // for another node's write transaction, as SQLite's busy timeout does.
  return Exec("SET synchronous_commit = on; SET lock_timeout = '5s'; SET client_encoding = 'UTF8'");
}

absl::Status PgDb::EnsureConnected() {
  if (PQstatus(conn_) == CONNECTION_OK) return absl::OkStatus();
  if (in_transaction_) {
    // The transaction died with the connection; statements after it must not run in
    // a new session as if nothing happened.
    return PgStatus("", "the connection to PostgreSQL was lost in a transaction");
  }
  if (NowMs() < retry_at_ms_) {
    return PgStatus("", absl::StrCat("PostgreSQL unreachable; next reconnection in ",
                                     retry_at_ms_ - NowMs(), " ms"));
  }
  ++reconnect_attempts_;
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    backoff_ms_ = backoff_ms_ == 0 ? kFirstBackoffMs : std::min(backoff_ms_ * 2, kMaxBackoffMs);
    retry_at_ms_ = NowMs() + backoff_ms_;
    absl::Status status =
        PgStatus("", absl::StrCat("cannot reconnect to PostgreSQL: ", ConnectionError(conn_)));
    NoteFailure("connection lost", ConnectionError(conn_));
    return status;
  }
  backoff_ms_ = 0;
  retry_at_ms_ = 0;
  ++epoch_;  // the server forgot our prepared statements
  return SetUpSession();
}

absl::Status PgDb::Check(PGresult* result, std::string_view context) {
  const ExecStatusType st = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return absl::OkStatus();
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = result != nullptr ? PQresultErrorMessage(result) : "";
  if (message.empty()) message = ConnectionError(conn_);
  while (!message.empty() && message.back() == '\n') message.pop_back();
  const std::string sqlstate = state != nullptr ? state : "";
  // A constraint is the data saying no (a duplicate friend request), not the store
  // failing.
  if (!absl::StartsWith(sqlstate, "23")) NoteFailure(message, context);
  return PgStatus(sqlstate, absl::StrCat(ToAbsl(context), ": ", message));
}

absl::Status PgDb::Exec(const std::string& sql) {
  if (absl::Status s = EnsureConnected(); !s.ok()) return s;
  PGresult* result = PQexec(conn_, sql.c_str());
  absl::Status status = Check(result, sql);
  if (status.ok() && sql == "COMMIT") {
    // COMMIT of a transaction that had failed answers "ROLLBACK": nothing was written.
    if (std::strcmp(PQcmdStatus(result), "COMMIT") != 0) {
      status = PgStatus("40000", "COMMIT: the transaction had failed and was rolled back");
    } else {
      NoteDurableWrite();
    }
  }
  PQclear(result);
  return status;
}

absl::StatusOr<Statement> PgDb::Prepare(std::string_view sql) {
  auto it = cache_.find(ToAbsl(sql));
  if (it == cache_.end()) {
    // Prepared on the server at the first Step, when the parameter types are known.
    it = cache_.emplace(std::string(sql), std::make_unique<PgStatement>(this, PgPlaceholders(sql)))
             .first;
  }
  return Statement(it->second.get());
}

absl::Status PgDb::Execute(PgStatement& stmt) {
  if (absl::Status s = EnsureConnected(); !s.ok()) return s;
  const size_t n = stmt.params_.size();
  std::vector<Oid> types(n);
  std::vector<const char*> values(n);
  std::vector<int> lengths(n);
  std::vector<int> formats(n, 1);  // binary
  for (size_t i = 0; i < n; ++i) {
    const PgStatement::Param& p = stmt.params_[i];
    types[i] = p.type;
    values[i] = p.type == 0 ? nullptr : p.value.data();
    lengths[i] = static_cast<int>(p.value.size());
  }
  if (stmt.prepared_epoch_ != epoch_ || stmt.prepared_types_ != types) {
    std::string name = absl::StrCat("tutti_", ++next_statement_);
    PGresult* prepared =
        PQprepare(conn_, name.c_str(), stmt.sql_.c_str(), static_cast<int>(n), types.data());
    absl::Status status = Check(prepared, stmt.sql_);
    PQclear(prepared);
    if (!status.ok()) return status;
    stmt.name_ = std::move(name);
    stmt.prepared_epoch_ = epoch_;
    stmt.prepared_types_ = std::move(types);
  }
  PGresult* result = PQexecPrepared(conn_, stmt.name_.c_str(), static_cast<int>(n), values.data(),
                                    lengths.data(), formats.data(),
                                    /*resultFormat=*/1);
  absl::Status status = Check(result, stmt.sql_);
  if (!status.ok()) {
    PQclear(result);
    return status;
  }
  int64_t changed = 0;
  changes_ = absl::SimpleAtoi(PQcmdTuples(result), &changed) ? changed : 0;
  if (PQresultStatus(result) == PGRES_COMMAND_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE) {
    NoteDurableWrite();  // a write outside a transaction committed on its own
  }
  stmt.result_ = result;
  return absl::OkStatus();
}

absl::Status PgDb::BeginWrite() {
  if (absl::Status s = Exec("BEGIN"); !s.ok()) return s;
  in_transaction_ = true;
  if (absl::Status s = Exec(kWriteLockSql); !s.ok()) {
    (void)Rollback();
    return s;
  }
  return absl::OkStatus();
}

absl::Status PgDb::Commit() {
  absl::Status status = Exec("COMMIT");
  // Whatever the answer, the server ended the transaction (or lost the connection).
  in_transaction_ = false;
  return status;
}

absl::Status PgDb::Rollback() {
  in_transaction_ = false;
  if (PQstatus(conn_) != CONNECTION_OK) return absl::OkStatus();  // died with the session
  PGresult* result = PQexec(conn_, "ROLLBACK");
  PQclear(result);
  return absl::OkStatus();
}

absl::StatusOr<int> PgDb::SchemaVersion() {
  // to_regclass: no error (which would abort the transaction) when the table is absent.
  absl::StatusOr<Statement> exists = Prepare("SELECT to_regclass('tutti_schema') IS NOT NULL");
  if (!exists.ok()) return exists.status();
  absl::StatusOr<bool> row = exists->Step();
  if (!row.ok()) return row.status();
  if (!*row || exists->ColumnInt(0) == 0) return 0;
  absl::StatusOr<Statement> stmt = Prepare("SELECT version FROM tutti_schema");
  if (!stmt.ok()) return stmt.status();
  row = stmt->Step();
  if (!row.ok()) return row.status();
  return *row ? static_cast<int>(stmt->ColumnInt(0)) : 0;
}

absl::Status PgDb::SetSchemaVersion(int version) {
  return Exec(
      absl::StrCat("CREATE TABLE IF NOT EXISTS tutti_schema (version INTEGER NOT NULL); "
                   "DELETE FROM tutti_schema; INSERT INTO tutti_schema (version) VALUES (",
                   version, ")"));
}

}  // namespace tutti::server::store
