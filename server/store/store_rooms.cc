// Store's rooms and room bans: persistent rooms with their moderators, and the bans of a
// room. The rest of Store is in store.cc; see store.h for the thread rules.
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/store/db.h"
#include "server/store/store.h"
#include "server/store/store_internal.h"

namespace tutti::server::store {
namespace {
using internal::kActiveBan;
using internal::RequireId;
using moderation::ToAbsl;
}  // namespace

// --- Rooms -------------------------------------------------------------------------

absl::Status Store::SaveRoom(const RoomRecord& room) {
  TUTTI_STORE_RETURN_IF_ERROR(RequireId(room.room_id, "room id"));
  absl::StatusOr<std::unique_ptr<Transaction>> tx = Transaction::Begin(*db_);
  if (!tx.ok()) return tx.status();
  {
    // A stamped record replaces only one standing no later in the room's stream (an
    // unregistration's marked row too): nodes commit in their own order, the stream's
    // order decides. The check and the write are one statement on the row, so a
    // concurrent save of another node waits for this one's row lock and then checks.
    const bool stamped = room.stream.time_us != 0;
    absl::StatusOr<Statement> upsert = db_->Prepare(absl::StrCat(
        "INSERT INTO rooms (room_id, name, type, settings, password_hash, owner_id, topic, "
        "updated_unix_ms, stream_time_us, stream_offset, unregistered) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0) "
        "ON CONFLICT (room_id) DO UPDATE SET name = ?2, type = ?3, settings = ?4, "
        "password_hash = ?5, owner_id = ?6, topic = ?7, updated_unix_ms = ?8, "
        "stream_time_us = ?9, stream_offset = ?10, unregistered = 0",
        stamped ? " WHERE rooms.stream_time_us < ?9 OR "
                  "(rooms.stream_time_us = ?9 AND rooms.stream_offset <= ?10)"
                : ""));
    if (!upsert.ok()) return upsert.status();
    TUTTI_STORE_RETURN_IF_ERROR(upsert->Bind(1, room.room_id)
                                    .Bind(2, room.name)
                                    .Bind(3, int64_t{room.type})
                                    .BindBlob(4, room.settings)
                                    .Bind(5, room.password_hash)
                                    .Bind(6, room.owner_id)
                                    .Bind(7, room.topic)
                                    .Bind(8, room.updated_unix_ms)
                                    .Bind(9, room.stream.time_us)
                                    .Bind(10, room.stream.offset)
                                    .Run());
    // A later record is stored: it includes this one's changes. Nothing to write.
    if (db_->Changes() == 0) return absl::OkStatus();
  }
  {
    absl::StatusOr<Statement> clear =
        db_->Prepare("DELETE FROM room_moderators WHERE room_id = ?1");
    if (!clear.ok()) return clear.status();
    TUTTI_STORE_RETURN_IF_ERROR(clear->Bind(1, room.room_id).Run());
  }
  for (const std::string& moderator : room.moderators) {
    absl::StatusOr<Statement> add = db_->Prepare(
        "INSERT INTO room_moderators (room_id, user_id) VALUES (?1, ?2) "
        "ON CONFLICT DO NOTHING");
    if (!add.ok()) return add.status();
    TUTTI_STORE_RETURN_IF_ERROR(add->Bind(1, room.room_id).Bind(2, moderator).Run());
  }
  TUTTI_STORE_RETURN_IF_ERROR(SaveUserList("room_performers", room.room_id, room.performers));
  return (*tx)->Commit();
}

absl::Status Store::SaveUserList(std::string_view table, std::string_view room_id,
                                 const std::vector<std::string>& user_ids) {
  absl::StatusOr<Statement> clear =
      db_->Prepare(absl::StrCat("DELETE FROM ", ToAbsl(table), " WHERE room_id = ?1"));
  if (!clear.ok()) return clear.status();
  TUTTI_STORE_RETURN_IF_ERROR(clear->Bind(1, room_id).Run());
  for (const std::string& user_id : user_ids) {
    absl::StatusOr<Statement> add =
        db_->Prepare(absl::StrCat("INSERT INTO ", ToAbsl(table),
                                  " (room_id, user_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING"));
    if (!add.ok()) return add.status();
    TUTTI_STORE_RETURN_IF_ERROR(add->Bind(1, room_id).Bind(2, user_id).Run());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> Store::LoadUserList(std::string_view table,
                                                             std::string_view room_id) {
  return TextColumn(
      absl::StrCat("SELECT user_id FROM ", ToAbsl(table), " WHERE room_id = ?1 ORDER BY user_id"),
      room_id);
}

absl::StatusOr<std::vector<std::string>> Store::LoadModerators(std::string_view room_id) {
  return TextColumn("SELECT user_id FROM room_moderators WHERE room_id = ?1 ORDER BY user_id",
                    room_id);
}

namespace {

constexpr char kRoomColumns[] =
    "SELECT room_id, name, type, settings, password_hash, owner_id, topic, updated_unix_ms, "
    "stream_time_us, stream_offset FROM rooms WHERE unregistered = 0";

RoomRecord RoomFromRow(const Statement& stmt) {
  RoomRecord room;
  room.room_id = stmt.ColumnText(0);
  room.name = stmt.ColumnText(1);
  room.type = static_cast<int>(stmt.ColumnInt(2));
  room.settings = stmt.ColumnBlob(3);
  room.password_hash = stmt.ColumnText(4);
  room.owner_id = stmt.ColumnText(5);
  room.topic = stmt.ColumnText(6);
  room.updated_unix_ms = stmt.ColumnInt(7);
  room.stream.time_us = stmt.ColumnInt(8);
  room.stream.offset = stmt.ColumnInt(9);
  return room;
}

}  // namespace

absl::StatusOr<RoomRecord> Store::LoadRoom(std::string_view room_id) {
  RoomRecord room;
  {
    absl::StatusOr<Statement> stmt = db_->Prepare(absl::StrCat(kRoomColumns, " AND room_id = ?1"));
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, room_id);
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError(absl::StrCat("no saved room ", ToAbsl(room_id)));
    room = RoomFromRow(*stmt);
  }
  absl::StatusOr<std::vector<std::string>> moderators = LoadModerators(room_id);
  if (!moderators.ok()) return moderators.status();
  room.moderators = std::move(*moderators);
  absl::StatusOr<std::vector<std::string>> performers = LoadUserList("room_performers", room_id);
  if (!performers.ok()) return performers.status();
  room.performers = std::move(*performers);
  return room;
}

absl::StatusOr<std::vector<RoomRecord>> Store::ListPersistentRooms() {
  std::vector<RoomRecord> rooms;
  {
    absl::StatusOr<Statement> stmt = db_->Prepare(absl::StrCat(kRoomColumns, " ORDER BY room_id"));
    if (!stmt.ok()) return stmt.status();
    TUTTI_STORE_RETURN_IF_ERROR(
        stmt->ForEachRow([&](const Statement& r) { rooms.push_back(RoomFromRow(r)); }));
  }
  for (RoomRecord& room : rooms) {
    absl::StatusOr<std::vector<std::string>> moderators = LoadModerators(room.room_id);
    if (!moderators.ok()) return moderators.status();
    room.moderators = std::move(*moderators);
    absl::StatusOr<std::vector<std::string>> performers =
        LoadUserList("room_performers", room.room_id);
    if (!performers.ok()) return performers.status();
    room.performers = std::move(*performers);
  }
  return rooms;
}

absl::Status Store::DeleteRoom(std::string_view room_id, StreamStamp at) {
  if (at.time_us == 0) {
    absl::StatusOr<Statement> stmt = db_->Prepare("DELETE FROM rooms WHERE room_id = ?1");
    if (!stmt.ok()) return stmt.status();
    TUTTI_STORE_RETURN_IF_ERROR(stmt->Bind(1, room_id).Run());
    if (db_->Changes() == 0) {
      return absl::NotFoundError(absl::StrCat("no saved room ", ToAbsl(room_id)));
    }
    return absl::OkStatus();
  }
  // Stamped: the row stays, marked, so that a save standing earlier in the stream (another
  // node's, committed after this) changes nothing; what belongs to the room goes.
  absl::StatusOr<std::unique_ptr<Transaction>> tx = Transaction::Begin(*db_);
  if (!tx.ok()) return tx.status();
  {
    absl::StatusOr<Statement> mark = db_->Prepare(
        "UPDATE rooms SET unregistered = 1, stream_time_us = ?2, stream_offset = ?3 "
        "WHERE room_id = ?1 AND (stream_time_us < ?2 OR "
        "(stream_time_us = ?2 AND stream_offset <= ?3))");
    if (!mark.ok()) return mark.status();
    TUTTI_STORE_RETURN_IF_ERROR(
        mark->Bind(1, room_id).Bind(2, at.time_us).Bind(3, at.offset).Run());
  }
  if (db_->Changes() == 0) {
    // Absent, or a record standing later is stored (it includes this change).
    absl::StatusOr<Statement> find = db_->Prepare("SELECT 1 FROM rooms WHERE room_id = ?1");
    if (!find.ok()) return find.status();
    find->Bind(1, room_id);
    absl::StatusOr<bool> row = find->Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError(absl::StrCat("no saved room ", ToAbsl(room_id)));
    return absl::OkStatus();
  }
  for (const char* table : {"room_moderators", "room_performers", "room_bans"}) {
    absl::StatusOr<Statement> clear =
        db_->Prepare(absl::StrCat("DELETE FROM ", table, " WHERE room_id = ?1"));
    if (!clear.ok()) return clear.status();
    TUTTI_STORE_RETURN_IF_ERROR(clear->Bind(1, room_id).Run());
  }
  return (*tx)->Commit();
}

// --- Room bans ---------------------------------------------------------------------

absl::Status Store::AddRoomBan(const RoomBanRecord& ban) {
  TUTTI_STORE_RETURN_IF_ERROR(RequireId(ban.room_id, "room id"));
  TUTTI_STORE_RETURN_IF_ERROR(RequireId(ban.user_id, "user id"));
  absl::StatusOr<Statement> stmt = db_->Prepare(
      "INSERT INTO room_bans (room_id, user_id, reason, actor, created_unix_ms, until_unix_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (room_id, user_id) DO UPDATE SET "
      "reason = ?3, actor = ?4, created_unix_ms = ?5, until_unix_ms = ?6");
  if (!stmt.ok()) return stmt.status();
  absl::Status status = stmt->Bind(1, ban.room_id)
                            .Bind(2, ban.user_id)
                            .Bind(3, ban.reason)
                            .Bind(4, ban.actor)
                            .Bind(5, ban.created_unix_ms)
                            .Bind(6, ban.until_unix_ms)
                            .Run();
  if (absl::IsFailedPrecondition(status)) {
    return absl::FailedPreconditionError(
        absl::StrCat("room ", ban.room_id, " is not saved; only saved rooms keep bans"));
  }
  return status;
}

absl::Status Store::RemoveRoomBan(std::string_view room_id, std::string_view user_id) {
  absl::StatusOr<Statement> stmt =
      db_->Prepare("DELETE FROM room_bans WHERE room_id = ?1 AND user_id = ?2");
  if (!stmt.ok()) return stmt.status();
  TUTTI_STORE_RETURN_IF_ERROR(stmt->Bind(1, room_id).Bind(2, user_id).Run());
  if (db_->Changes() == 0) return absl::NotFoundError("not banned from this room");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RoomBanRecord>> Store::ListRoomBans(std::string_view room_id,
                                                               int64_t now_unix_ms) {
  absl::StatusOr<Statement> stmt =
      db_->Prepare(absl::StrCat("SELECT user_id, reason, actor, created_unix_ms, until_unix_ms "
                                "FROM room_bans WHERE ",
                                kActiveBan, " AND room_id = ?2 ORDER BY user_id"));
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, now_unix_ms).Bind(2, room_id);
  std::vector<RoomBanRecord> bans;
  TUTTI_STORE_RETURN_IF_ERROR(stmt->ForEachRow([&](const Statement& r) {
    RoomBanRecord ban;
    ban.room_id = std::string(room_id);
    ban.user_id = r.ColumnText(0);
    ban.reason = r.ColumnText(1);
    ban.actor = r.ColumnText(2);
    ban.created_unix_ms = r.ColumnInt(3);
    ban.until_unix_ms = r.ColumnInt(4);
    bans.push_back(std::move(ban));
  }));
  return bans;
}

absl::StatusOr<int64_t> Store::PurgeExpiredBans(int64_t now_unix_ms) {
  absl::StatusOr<std::unique_ptr<Transaction>> tx = Transaction::Begin(*db_);
  if (!tx.ok()) return tx.status();
  int64_t purged = 0;
  for (const char* sql :
       {"DELETE FROM server_bans WHERE until_unix_ms <> 0 AND until_unix_ms <= ?1",
        "DELETE FROM room_bans WHERE until_unix_ms <> 0 AND until_unix_ms <= ?1"}) {
    absl::StatusOr<Statement> stmt = db_->Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    TUTTI_STORE_RETURN_IF_ERROR(stmt->Bind(1, now_unix_ms).Run());
    purged += db_->Changes();
  }
  TUTTI_STORE_RETURN_IF_ERROR((*tx)->Commit());
  return purged;
}

}  // namespace tutti::server::store
