// The store: everything that must survive a restart (profiles, friendships and pending
// requests, blocks, server bans, persistent room settings and room bans, the audit
// log) in one SQLite file (the embedded default) or one PostgreSQL database (for
// several server nodes). This header is the whole interface: its records (records.h)
// and methods carry no database type, so the rooms and the social actor that hand work
// to the storage thread compile without a driver header; the connection (Db, db.h),
// its drivers and the migrations are private to server/store's .cc files.
//
// Thread affinity: single-threaded and synchronous. In the server only the storage
// thread calls it (see storage_thread.h); tests and tools may use it directly.
// Ownership: StorageThread owns the Store; the Store owns the database connection and
// its prepared-statement cache.
//
// Durability: when a write method returns OK its transaction is on stable storage
// (SQLite: WAL mode with synchronous=FULL, the WAL fsynced at commit; PostgreSQL:
// synchronous_commit on a server with fsync on, see pg_db.h). The server acknowledges a
// write to a user only from the completion of that method, so an acknowledged ban,
// friend acceptance or settings change survives kill -9 and power loss. Methods that
// change several rows do so in one transaction.
//
// Errors are typed: INVALID_ARGUMENT (empty ids, befriending oneself), NOT_FOUND (the
// thing to change or read is absent), ALREADY_EXISTS, FAILED_PRECONDITION (blocked,
// room not saved, database from a newer server), UNAVAILABLE (file locked by another
// process, PostgreSQL unreachable), DATA_LOSS (not a database / corrupt), INTERNAL
// otherwise.
//
// Times are wall-clock unix milliseconds passed in by the caller (the injected clock).
// Sizes of user-supplied values (appearance, status text, topic) are validated by the
// protocol layer before they get here.
#ifndef TUTTI_SERVER_STORE_STORE_H_
#define TUTTI_SERVER_STORE_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/moderation/audit.h"
#include "server/moderation/ban_list.h"
#include "server/store/records.h"

namespace tutti::server::store {

// The database connection (db.h): private to this directory.
class Db;

class Store {
 public:
  // Opens the database and applies the migrations it lacks. `location` is a
  // postgres:// URL (PostgreSQL) or the path of a SQLite file, created if absent (its
  // directory must exist). Db::Open (db.h) sets the connection up for durable commits.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& location);
  // True when `location` names a database several server nodes can share (a
  // postgres:// URL); a SQLite file is one node's own.
  static bool Shareable(std::string_view location);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  int schema_version() const { return schema_version_; }
  // The connection itself, for the store's own tests (statement cache, schema); its
  // type is store-private (db.h), so callers outside server/store cannot use it.
  Db& db() { return *db_; }

  // --- Profiles -------------------------------------------------------------------
  // Inserts or replaces the profile of profile.user_id.
  absl::Status UpsertProfile(const Profile& profile);
  absl::StatusOr<Profile> GetProfile(std::string_view user_id);

  // --- Friends --------------------------------------------------------------------
  // Refuses oneself (INVALID_ARGUMENT), a pair where either blocks the other
  // (FAILED_PRECONDITION), existing friends or a repeated request (ALREADY_EXISTS).
  // When `to` already asked `from`, this accepts that request instead.
  absl::StatusOr<FriendRequestResult> SendFriendRequest(std::string_view from, std::string_view to,
                                                        int64_t now_unix_ms);
  // `user` accepts the pending request from `from`. NOT_FOUND when there is none.
  absl::Status AcceptFriendRequest(std::string_view user, std::string_view from,
                                   int64_t now_unix_ms);
  // Removes the pending request between the two: the one `other` sent to `user`
  // (decline) or, if none, the one `user` sent to `other` (withdraw). NOT_FOUND when
  // neither exists.
  absl::Status DeclineFriendRequest(std::string_view user, std::string_view other);
  // NOT_FOUND when they are not friends.
  absl::Status RemoveFriend(std::string_view user, std::string_view other);
  // Friends and pending requests both ways, ordered by user id.
  absl::StatusOr<std::vector<FriendRow>> ListFriends(std::string_view user);
  absl::StatusOr<bool> AreFriends(std::string_view a, std::string_view b);

  // --- Blocks ---------------------------------------------------------------------
  // Blocking ends any friendship and drops pending requests both ways, in one
  // transaction. Returns true when a friendship ended (the caller tells the other
  // side their friend is gone). ALREADY_EXISTS when already blocked.
  absl::StatusOr<bool> Block(std::string_view blocker, std::string_view blocked,
                             int64_t now_unix_ms);
  absl::Status Unblock(std::string_view blocker, std::string_view blocked);  // NOT_FOUND
  absl::StatusOr<bool> IsBlocked(std::string_view blocker, std::string_view blocked);
  // True when either blocks the other: whispers and requests are refused both ways.
  absl::StatusOr<bool> IsBlockedEitherWay(std::string_view a, std::string_view b);
  absl::StatusOr<std::vector<std::string>> ListBlocked(std::string_view blocker);

  // --- Server bans ----------------------------------------------------------------
  // Inserts or replaces the ban on ban.target, stored in canonical form
  // (moderation::CanonicalBanTarget: "192.0.2.7/24" is kept as "192.0.2.0/24").
  absl::Status AddServerBan(const moderation::ServerBan& ban);
  // Canonicalises `target` the same way. NOT_FOUND when there is no such ban.
  absl::Status RemoveServerBan(std::string_view target);
  // Bans still active at `now`, ordered by target: the input of BanList::Build.
  absl::StatusOr<std::vector<moderation::ServerBan>> ListServerBans(int64_t now_unix_ms);

  // --- Rooms ----------------------------------------------------------------------
  // Inserts or updates the room and replaces its moderator and performer lists, in one
  // transaction. Room bans are untouched. A stamped record (RoomRecord::stream)
  // that stands earlier in the room's stream than the stored one (or than its stamped
  // unregistration) changes nothing and is OK: what is stored already includes it. An
  // unstamped one is always written.
  absl::Status SaveRoom(const RoomRecord& room);
  absl::StatusOr<RoomRecord> LoadRoom(std::string_view room_id);  // NOT_FOUND
  // Every saved room, ordered by room id (loaded at startup).
  absl::StatusOr<std::vector<RoomRecord>> ListPersistentRooms();
  // Deletes the room with its moderators, performers and bans. NOT_FOUND when absent.
  // Stamped (rooms across nodes: the stream position of the unregistration), the row
  // stays behind, marked and stamped, so that an older save arriving later cannot bring
  // the room back; and a stored record standing later than the stamp is kept (OK).
  absl::Status DeleteRoom(std::string_view room_id, StreamStamp at = {});

  // --- Room bans ------------------------------------------------------------------
  // Inserts or replaces. FAILED_PRECONDITION when the room is not saved: only
  // persistent rooms keep bans across restarts.
  absl::Status AddRoomBan(const RoomBanRecord& ban);
  absl::Status RemoveRoomBan(std::string_view room_id, std::string_view user_id);  // NOT_FOUND
  // Bans active at `now`, ordered by user id.
  absl::StatusOr<std::vector<RoomBanRecord>> ListRoomBans(std::string_view room_id,
                                                          int64_t now_unix_ms);

  // Deletes server and room bans that ended before `now`. Returns how many.
  absl::StatusOr<int64_t> PurgeExpiredBans(int64_t now_unix_ms);

  // --- Audit log ------------------------------------------------------------------
  absl::Status AppendAudit(const moderation::AuditRecord& record);
  // The newest `limit` entries (1..kMaxAuditList), oldest first, for one room
  // (room_id = "jam"), for server-wide actions only (room_id = ""), or for everything
  // (nullopt).
  static constexpr int kMaxAuditList = 1000;
  absl::StatusOr<std::vector<moderation::AuditRecord>> ListAudit(
      std::optional<std::string_view> room_id, int limit);
  // Deletes entries older than `before`. Returns how many.
  absl::StatusOr<int64_t> PruneAudit(int64_t before_unix_ms);

 private:
  Store(std::unique_ptr<Db> db, int schema_version);

  absl::StatusOr<bool> Exists(const std::string& sql, std::string_view a, std::string_view b);
  // The first (text) column of every row of `sql`, with `key` bound to ?1.
  absl::StatusOr<std::vector<std::string>> TextColumn(const std::string& sql, std::string_view key);
  absl::Status InsertFriendship(std::string_view a, std::string_view b, int64_t now_unix_ms);
  absl::Status DeleteRequest(std::string_view from, std::string_view to, bool* deleted);
  absl::StatusOr<std::vector<std::string>> LoadModerators(std::string_view room_id);
  // A room's list of user ids in `table` (a (room_id, user_id) table such as
  // room_performers): replaced whole inside the caller's transaction, or read sorted.
  absl::Status SaveUserList(std::string_view table, std::string_view room_id,
                            const std::vector<std::string>& user_ids);
  absl::StatusOr<std::vector<std::string>> LoadUserList(std::string_view table,
                                                        std::string_view room_id);

  std::unique_ptr<Db> db_;
  int schema_version_;
};

}  // namespace tutti::server::store

#endif  // TUTTI_SERVER_STORE_STORE_H_
