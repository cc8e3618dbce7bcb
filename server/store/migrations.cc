#include "server/store/migrations.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"

namespace tutti::server::store {

// Notes on the schema (docs/MODERATION.md has the full description):
//  * Times are wall-clock unix milliseconds. until_unix_ms = 0 means permanent.
//  * friendships stores each pair once, ordered (user_a < user_b), so "are a and b
//    friends" is one primary-key lookup whichever way it is asked.
//  * Room bans and moderators belong to a saved room and go with it (ON DELETE
//    CASCADE). Rooms are updated with an upsert, never INSERT OR REPLACE, because a
//    replace deletes the row first and the cascade would take the bans with it.
//  * The audit log's id gives the order of entries; unix_ms is for people.
const std::vector<Migration>& SchemaMigrations() {
  static const auto* migrations = new std::vector<Migration>{
      {"initial schema", R"sql(
CREATE TABLE profiles (
  user_id TEXT PRIMARY KEY NOT NULL,
  username TEXT NOT NULL,
  appearance BLOB NOT NULL DEFAULT x'',
  status INTEGER NOT NULL DEFAULT 0,
  status_text TEXT NOT NULL DEFAULT '',
  updated_unix_ms INTEGER NOT NULL
);
CREATE TABLE friendships (
  user_a TEXT NOT NULL,
  user_b TEXT NOT NULL,
  since_unix_ms INTEGER NOT NULL,
  PRIMARY KEY (user_a, user_b),
  CHECK (user_a < user_b)
) WITHOUT ROWID;
CREATE INDEX friendships_by_b ON friendships (user_b);
CREATE TABLE friend_requests (
  from_user TEXT NOT NULL,
  to_user TEXT NOT NULL,
  created_unix_ms INTEGER NOT NULL,
  PRIMARY KEY (from_user, to_user),
  CHECK (from_user <> to_user)
) WITHOUT ROWID;
CREATE INDEX friend_requests_by_to ON friend_requests (to_user);
CREATE TABLE blocks (
  blocker TEXT NOT NULL,
  blocked TEXT NOT NULL,
  created_unix_ms INTEGER NOT NULL,
  PRIMARY KEY (blocker, blocked)
) WITHOUT ROWID;
CREATE INDEX blocks_by_blocked ON blocks (blocked);
CREATE TABLE server_bans (
  target TEXT PRIMARY KEY NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  actor TEXT NOT NULL DEFAULT '',
  created_unix_ms INTEGER NOT NULL,
  until_unix_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE rooms (
  room_id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  type INTEGER NOT NULL DEFAULT 0,
  settings BLOB NOT NULL DEFAULT x'',
  password_hash TEXT NOT NULL DEFAULT '',
  owner_id TEXT NOT NULL DEFAULT '',
  topic TEXT NOT NULL DEFAULT '',
  updated_unix_ms INTEGER NOT NULL
);
CREATE TABLE room_moderators (
  room_id TEXT NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;
CREATE TABLE room_bans (
  room_id TEXT NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  actor TEXT NOT NULL DEFAULT '',
  created_unix_ms INTEGER NOT NULL,
  until_unix_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  unix_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL DEFAULT '',
  room_id TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  until_unix_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX audit_log_by_room ON audit_log (room_id, id);
)sql"},
  };
  return *migrations;
}

absl::StatusOr<int> SchemaVersion(Db& db) {
  absl::StatusOr<Statement> stmt = db.Prepare("PRAGMA user_version");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError("PRAGMA user_version returned no row");
  return static_cast<int>(stmt->ColumnInt(0));
}

absl::StatusOr<int> ApplyMigrations(Db& db, const std::vector<Migration>& migrations) {
  absl::StatusOr<int> version = SchemaVersion(db);
  if (!version.ok()) return version.status();
  const int latest = static_cast<int>(migrations.size());
  if (*version > latest) {
    return absl::FailedPreconditionError(absl::StrCat("the database has schema version ", *version,
                                                      " but this server knows only up to ", latest,
                                                      "; use a newer server"));
  }
  for (int next = *version + 1; next <= latest; ++next) {
    const Migration& migration = migrations[next - 1];
    absl::StatusOr<std::unique_ptr<Transaction>> tx = Transaction::Begin(db);
    if (!tx.ok()) return tx.status();
    absl::Status status = db.Exec(migration.sql);
    if (status.ok()) status = db.Exec(absl::StrCat("PRAGMA user_version = ", next));
    if (status.ok()) status = (*tx)->Commit();
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrCat("migration ", next, " (", migration.description,
                                       ") failed: ", status.message()));
    }
  }
  return latest;
}

}  // namespace tutti::server::store
