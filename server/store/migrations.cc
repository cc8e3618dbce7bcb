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
)sql",
       R"sql(
CREATE TABLE profiles (
  user_id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
  username TEXT COLLATE "C" NOT NULL,
  appearance BYTEA NOT NULL DEFAULT '',
  status BIGINT NOT NULL DEFAULT 0,
  status_text TEXT COLLATE "C" NOT NULL DEFAULT '',
  updated_unix_ms BIGINT NOT NULL
);
CREATE TABLE friendships (
  user_a TEXT COLLATE "C" NOT NULL,
  user_b TEXT COLLATE "C" NOT NULL,
  since_unix_ms BIGINT NOT NULL,
  PRIMARY KEY (user_a, user_b),
  CHECK (user_a < user_b)
);
CREATE INDEX friendships_by_b ON friendships (user_b);
CREATE TABLE friend_requests (
  from_user TEXT COLLATE "C" NOT NULL,
  to_user TEXT COLLATE "C" NOT NULL,
  created_unix_ms BIGINT NOT NULL,
  PRIMARY KEY (from_user, to_user),
  CHECK (from_user <> to_user)
);
CREATE INDEX friend_requests_by_to ON friend_requests (to_user);
CREATE TABLE blocks (
  blocker TEXT COLLATE "C" NOT NULL,
  blocked TEXT COLLATE "C" NOT NULL,
  created_unix_ms BIGINT NOT NULL,
  PRIMARY KEY (blocker, blocked)
);
CREATE INDEX blocks_by_blocked ON blocks (blocked);
CREATE TABLE server_bans (
  target TEXT COLLATE "C" PRIMARY KEY NOT NULL,
  reason TEXT COLLATE "C" NOT NULL DEFAULT '',
  actor TEXT COLLATE "C" NOT NULL DEFAULT '',
  created_unix_ms BIGINT NOT NULL,
  until_unix_ms BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE rooms (
  room_id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
  name TEXT COLLATE "C" NOT NULL,
  type BIGINT NOT NULL DEFAULT 0,
  settings BYTEA NOT NULL DEFAULT '',
  password_hash TEXT COLLATE "C" NOT NULL DEFAULT '',
  owner_id TEXT COLLATE "C" NOT NULL DEFAULT '',
  topic TEXT COLLATE "C" NOT NULL DEFAULT '',
  updated_unix_ms BIGINT NOT NULL
);
CREATE TABLE room_moderators (
  room_id TEXT COLLATE "C" NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
  user_id TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (room_id, user_id)
);
CREATE TABLE room_bans (
  room_id TEXT COLLATE "C" NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
  user_id TEXT COLLATE "C" NOT NULL,
  reason TEXT COLLATE "C" NOT NULL DEFAULT '',
  actor TEXT COLLATE "C" NOT NULL DEFAULT '',
  created_unix_ms BIGINT NOT NULL,
  until_unix_ms BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (room_id, user_id)
);
CREATE TABLE audit_log (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  unix_ms BIGINT NOT NULL,
  actor TEXT COLLATE "C" NOT NULL,
  action TEXT COLLATE "C" NOT NULL,
  target TEXT COLLATE "C" NOT NULL DEFAULT '',
  room_id TEXT COLLATE "C" NOT NULL DEFAULT '',
  reason TEXT COLLATE "C" NOT NULL DEFAULT '',
  until_unix_ms BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX audit_log_by_room ON audit_log (room_id, id);
)sql"},
      // A performers-only room's list of who may play (docs/PROTOCOL.md, "Performers and
      // audience").
      {"room performers", R"sql(
CREATE TABLE room_performers (
  room_id TEXT NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;
)sql",
       R"sql(
CREATE TABLE room_performers (
  room_id TEXT COLLATE "C" NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
  user_id TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (room_id, user_id)
);
)sql"},
      // Where in its room's stream a record stands (rooms across nodes: the server time and
      // offset of the last event it includes), so that a save of an older record does not
      // overwrite a newer one; and an unregistration made so, kept as a marked row for as
      // long as an older save could still arrive (docs/ARCHITECTURE.md, "Store write
      // order"). Rows from before stand at 0, which any stamped save passes.
      {"room stream stamps", R"sql(
ALTER TABLE rooms ADD COLUMN stream_time_us INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN stream_offset INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN unregistered INTEGER NOT NULL DEFAULT 0;
)sql",
       R"sql(
ALTER TABLE rooms ADD COLUMN stream_time_us BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN stream_offset BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN unregistered BIGINT NOT NULL DEFAULT 0;
)sql"},
  };
  return *migrations;
}

absl::StatusOr<int> SchemaVersion(Db& db) { return db.SchemaVersion(); }

absl::StatusOr<int> ApplyMigrations(Db& db, const std::vector<Migration>& migrations) {
  const int latest = static_cast<int>(migrations.size());
  while (true) {
    // The version is read inside the write transaction: another server sharing the
    // database may have applied this step while we waited for the lock.
    absl::StatusOr<std::unique_ptr<Transaction>> tx = Transaction::Begin(db);
    if (!tx.ok()) return tx.status();
    absl::StatusOr<int> version = db.SchemaVersion();
    if (!version.ok()) return version.status();
    if (*version > latest) {
      return absl::FailedPreconditionError(
          absl::StrCat("the database has schema version ", *version,
                       " but this server knows only up to ", latest, "; use a newer server"));
    }
    if (*version == latest) return latest;  // the transaction rolls back: nothing to do
    const int next = *version + 1;
    const Migration& migration = migrations[next - 1];
    const bool postgres = db.dialect() == Db::Dialect::kPostgres && migration.postgres_sql;
    absl::Status status = db.Exec(postgres ? migration.postgres_sql : migration.sql);
    if (status.ok()) status = db.SetSchemaVersion(next);
    if (status.ok()) status = (*tx)->Commit();
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrCat("migration ", next, " (", migration.description,
                                       ") failed: ", status.message()));
    }
  }
}

}  // namespace tutti::server::store
