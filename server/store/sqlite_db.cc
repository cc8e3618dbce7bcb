#include "server/store/sqlite_db.h"

#include <cstdio>

#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "server/moderation/string_view_compat.h"
#include "server/store/client_text.h"

namespace tutti::server::store {
namespace {
absl::Status SqliteStatusFor(int rc, int extended, std::string message);
}  // namespace

using moderation::ToAbsl;

absl::Status SqliteStatus(int rc, sqlite3* db, std::string_view context) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return absl::OkStatus();
  const int extended = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  std::string message =
      absl::StrCat(ToAbsl(context), ": ", db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  absl::Status status = SqliteStatusFor(rc, extended, std::move(message));
  // Marked, so that the text (SQL, file paths) never reaches a client: ClientText.
  status.SetPayload(kSqlitePayload, absl::Cord(sqlite3_errstr(rc)));
  return status;
}

namespace {
absl::Status SqliteStatusFor(int rc, int extended, std::string message) {
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      if (extended == SQLITE_CONSTRAINT_PRIMARYKEY || extended == SQLITE_CONSTRAINT_UNIQUE) {
        return absl::AlreadyExistsError(message);
      }
      if (extended == SQLITE_CONSTRAINT_FOREIGNKEY) return absl::FailedPreconditionError(message);
      return absl::InvalidArgumentError(message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return absl::FailedPreconditionError(message);
    default:
      return absl::InternalError(message);
  }
}
}  // namespace

Statement::~Statement() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Statement& Statement::Bind(int index, std::string_view text) {
  // An empty view may have a null data pointer, which SQLite binds as NULL, not as "":
  // then "room_id = ?" would match nothing.
  const char* data = text.data() ? text.data() : "";
  const int rc =
      sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::BindBlob(int index, std::string_view bytes) {
  // A zero-length blob with a null pointer would bind NULL; keep it an empty blob.
  const int rc = bytes.empty() ? sqlite3_bind_zeroblob(stmt_, index, 0)
                               : sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(),
                                                     SQLITE_TRANSIENT);
  if (bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement::Statement(sqlite3_stmt* stmt, Db* owner)
    : stmt_(stmt), db_(owner->raw()), owner_(owner) {}

absl::StatusOr<bool> Statement::Step() {
  if (bind_error_ != SQLITE_OK) return SqliteStatus(bind_error_, db_, "bind");
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) {
    if (!sqlite3_stmt_readonly(stmt_) && sqlite3_get_autocommit(db_)) owner_->NoteDurableWrite();
    return false;
  }
  owner_->NoteFailure(rc, sqlite3_sql(stmt_));
  return SqliteStatus(rc, db_, sqlite3_sql(stmt_));
}

absl::Status Statement::Run() {
  while (true) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

int64_t Statement::ColumnInt(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::ColumnText(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt_, column));
}

std::string Statement::ColumnBlob(int column) const {
  const void* blob = sqlite3_column_blob(stmt_, column);
  if (blob == nullptr) return "";
  return std::string(static_cast<const char*>(blob), sqlite3_column_bytes(stmt_, column));
}

absl::StatusOr<std::unique_ptr<Db>> Db::Open(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = SqliteStatus(rc, raw, absl::StrCat("open ", path));
    sqlite3_close_v2(raw);  // sqlite3_open_v2 allocates a handle even on failure
    return status;
  }
  sqlite3_extended_result_codes(raw, 1);
  return std::unique_ptr<Db>(new Db(raw));
}

Db::~Db() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

absl::Status Db::Exec(const std::string& sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  sqlite3_free(error);  // the same text is available from sqlite3_errmsg
  if (rc != SQLITE_OK) {
    NoteFailure(rc, sql);
  } else if (sql == "COMMIT") {
    NoteDurableWrite();
  }
  return SqliteStatus(rc, db_, sql);
}

void Db::NoteFailure(int rc, std::string_view context) {
  // A constraint is the data saying no (a duplicate friend request), not the store
  // failing.
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return;
  if (episode_failures_++ == 0) {
    std::fprintf(stderr,
                 "tutti: store: operation failed (%s: %s) in \"%.*s\"; writes fail "
                 "until the store recovers\n",
                 sqlite3_errstr(rc), sqlite3_errmsg(db_), static_cast<int>(context.size()),
                 context.data());
  }
}

void Db::NoteDurableWrite() {
  if (episode_failures_ == 0) return;
  std::fprintf(stderr, "tutti: store: writing again after %llu failed operations\n",
               static_cast<unsigned long long>(episode_failures_));
  episode_failures_ = 0;
}

absl::StatusOr<Statement> Db::Prepare(std::string_view sql) {
  auto it = cache_.find(ToAbsl(sql));
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteStatus(rc, db_, absl::StrCat("prepare ", ToAbsl(sql)));
    if (stmt == nullptr) return absl::InvalidArgumentError("empty SQL statement");
    it = cache_.emplace(std::string(sql), stmt).first;
  }
  return Statement(it->second, this);
}

int64_t Db::Changes() const { return sqlite3_changes64(db_); }

absl::StatusOr<std::unique_ptr<Transaction>> Transaction::Begin(Db& db) {
  if (absl::Status s = db.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  return std::unique_ptr<Transaction>(new Transaction(db));
}

Transaction::~Transaction() {
  if (!done_) (void)db_.Exec("ROLLBACK");
}

absl::Status Transaction::Commit() {
  absl::Status status = db_.Exec("COMMIT");
  // A failed COMMIT leaves the transaction open (e.g. BUSY); the destructor rolls back.
  if (status.ok()) done_ = true;
  return status;
}

}  // namespace tutti::server::store
