#include "server/store/sqlite_db.h"

#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "server/moderation/string_view_compat.h"
#include "server/store/client_text.h"

namespace tutti::server::store {
namespace {

using moderation::ToAbsl;

// Waiting this long for a lock held by another connection (a backup tool, an admin's
// sqlite3 shell) is better than failing a user's write at once.
constexpr int kBusyTimeoutMs = 5000;

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

absl::Status SqliteStatus(int rc, sqlite3* db, std::string_view context) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return absl::OkStatus();
  const int extended = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  std::string message =
      absl::StrCat(ToAbsl(context), ": ", db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  absl::Status status = SqliteStatusFor(rc, extended, std::move(message));
  // Marked, so that the text (SQL, file paths) never reaches a client: ClientText.
  status.SetPayload(kDatabasePayload, absl::Cord(sqlite3_errstr(rc)));
  return status;
}

SqliteStatement::SqliteStatement(sqlite3_stmt* stmt, SqliteDb* owner)
    : stmt_(stmt), owner_(owner) {}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = SQLITE_OK;
}

void SqliteStatement::BindText(int index, std::string_view text) {
  // An empty view may have a null data pointer, which SQLite binds as NULL, not as "":
  // then "room_id = ?" would match nothing.
  const char* data = text.data() ? text.data() : "";
  const int rc =
      sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (bind_error_ == SQLITE_OK) bind_error_ = rc;
}

void SqliteStatement::BindInt(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (bind_error_ == SQLITE_OK) bind_error_ = rc;
}

void SqliteStatement::BindBlob(int index, std::string_view bytes) {
  // A zero-length blob with a null pointer would bind NULL; keep it an empty blob.
  const int rc = bytes.empty() ? sqlite3_bind_zeroblob(stmt_, index, 0)
                               : sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(),
                                                     SQLITE_TRANSIENT);
  if (bind_error_ == SQLITE_OK) bind_error_ = rc;
}

absl::StatusOr<bool> SqliteStatement::Step() {
  sqlite3* db = owner_->raw();
  if (bind_error_ != SQLITE_OK) return SqliteStatus(bind_error_, db, "bind");
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) {
    if (!sqlite3_stmt_readonly(stmt_) && sqlite3_get_autocommit(db)) owner_->NoteDurableWrite();
    return false;
  }
  owner_->NoteSqliteFailure(rc, sqlite3_sql(stmt_));
  return SqliteStatus(rc, db, sqlite3_sql(stmt_));
}

int64_t SqliteStatement::ColumnInt(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string SqliteStatement::ColumnText(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt_, column));
}

std::string SqliteStatement::ColumnBlob(int column) const {
  const void* blob = sqlite3_column_blob(stmt_, column);
  if (blob == nullptr) return "";
  return std::string(static_cast<const char*>(blob), sqlite3_column_bytes(stmt_, column));
}

absl::StatusOr<std::unique_ptr<Db>> SqliteDb::Open(const std::string& path) {
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
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  std::unique_ptr<SqliteDb> db(new SqliteDb(raw));

  // journal_mode answers with the mode in force; anything but "wal" means the file
  // system refused it, and the durability and concurrency notes would not hold.
  {
    absl::StatusOr<Statement> mode = db->Prepare("PRAGMA journal_mode = WAL");
    if (!mode.ok()) return mode.status();
    absl::StatusOr<bool> row = mode->Step();
    if (!row.ok()) return row.status();
    if (!*row || mode->ColumnText(0) != "wal") {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot put ", path, " in WAL mode (file system without shared memory?)"));
    }
  }
  // FULL: the WAL is fsynced at every commit, so a commit that returned is durable.
  // (NORMAL in WAL mode may lose the last commits on power loss.)
  if (absl::Status s = db->Exec("PRAGMA synchronous = FULL"); !s.ok()) return s;
  if (absl::Status s = db->Exec("PRAGMA foreign_keys = ON"); !s.ok()) return s;
  return std::unique_ptr<Db>(std::move(db));
}

SqliteDb::~SqliteDb() {
  cache_.clear();  // finalizes every statement before the connection closes
  sqlite3_close_v2(db_);
}

absl::Status SqliteDb::Exec(const std::string& sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  sqlite3_free(error);  // the same text is available from sqlite3_errmsg
  if (rc != SQLITE_OK) {
    NoteSqliteFailure(rc, sql);
  } else if (sql == "COMMIT") {
    NoteDurableWrite();
  }
  return SqliteStatus(rc, db_, sql);
}

void SqliteDb::NoteSqliteFailure(int rc, std::string_view context) {
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return;
  NoteFailure(absl::StrCat(sqlite3_errstr(rc), ": ", sqlite3_errmsg(db_)), context);
}

absl::StatusOr<Statement> SqliteDb::Prepare(std::string_view sql) {
  auto it = cache_.find(ToAbsl(sql));
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteStatus(rc, db_, absl::StrCat("prepare ", ToAbsl(sql)));
    if (stmt == nullptr) return absl::InvalidArgumentError("empty SQL statement");
    it = cache_.emplace(std::string(sql), std::make_unique<SqliteStatement>(stmt, this)).first;
  }
  return Statement(it->second.get());
}

int64_t SqliteDb::Changes() const { return sqlite3_changes64(db_); }

absl::StatusOr<int> SqliteDb::SchemaVersion() {
  absl::StatusOr<Statement> stmt = Prepare("PRAGMA user_version");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError("PRAGMA user_version returned no row");
  return static_cast<int>(stmt->ColumnInt(0));
}

absl::Status SqliteDb::SetSchemaVersion(int version) {
  return Exec(absl::StrCat("PRAGMA user_version = ", version));
}

}  // namespace tutti::server::store
