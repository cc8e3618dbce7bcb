#include "server/store/store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/moderation/string_view_compat.h"
#include "server/store/db.h"
#include "server/store/migrations.h"
#include "server/store/store_internal.h"

namespace tutti::server::store {
namespace {

using internal::Canonical;
using internal::kActiveBan;
using internal::Ordered;
using internal::RequireId;
using moderation::ToAbsl;

}  // namespace

Store::Store(std::unique_ptr<Db> db, int schema_version)
    : db_(std::move(db)), schema_version_(schema_version) {}

Store::~Store() = default;

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& location) {
  // The driver sets the connection up for durable commits (db.h).
  absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(location);
  if (!db.ok()) return db.status();
  absl::StatusOr<int> version = ApplyMigrations(**db, SchemaMigrations());
  if (!version.ok()) return version.status();
  return std::unique_ptr<Store>(new Store(std::move(*db), *version));
}

bool Store::Shareable(std::string_view location) { return Db::IsPostgresUrl(location); }

// --- Profiles ----------------------------------------------------------------------

absl::Status Store::UpsertProfile(const Profile& profile) {
  TUTTI_STORE_RETURN_IF_ERROR(RequireId(profile.user_id, "user id"));
  absl::StatusOr<Statement> stmt = db_->Prepare(
      "INSERT INTO profiles (user_id, username, appearance, status, status_text, "
      "updated_unix_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
      "ON CONFLICT (user_id) DO UPDATE SET username = ?2, appearance = ?3, status = ?4, "
      "status_text = ?5, updated_unix_ms = ?6");
  if (!stmt.ok()) return stmt.status();
  return stmt->Bind(1, profile.user_id)
      .Bind(2, profile.username)
      .BindBlob(3, profile.appearance)
      .Bind(4, int64_t{profile.status})
      .Bind(5, profile.status_text)
      .Bind(6, profile.updated_unix_ms)
      .Run();
}

absl::StatusOr<Profile> Store::GetProfile(std::string_view user_id) {
  absl::StatusOr<Statement> stmt = db_->Prepare(
      "SELECT username, appearance, status, status_text, updated_unix_ms FROM profiles "
      "WHERE user_id = ?1");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, user_id);
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("no profile for ", ToAbsl(user_id)));
  Profile profile;
  profile.user_id = std::string(user_id);
  profile.username = stmt->ColumnText(0);
  profile.appearance = stmt->ColumnBlob(1);
  profile.status = static_cast<int>(stmt->ColumnInt(2));
  profile.status_text = stmt->ColumnText(3);
  profile.updated_unix_ms = stmt->ColumnInt(4);
  return profile;
}

// --- Friends -----------------------------------------------------------------------

absl::StatusOr<bool> Store::Exists(const std::string& sql, std::string_view a, std::string_view b) {
  absl::StatusOr<Statement> stmt = db_->Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, a).Bind(2, b);
  return stmt->Step();
}

absl::StatusOr<std::vector<std::string>> Store::TextColumn(const std::string& sql,
                                                           std::string_view key) {
  absl::StatusOr<Statement> stmt = db_->Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, key);
  std::vector<std::string> out;
  TUTTI_STORE_RETURN_IF_ERROR(
      stmt->ForEachRow([&](const Statement& r) { out.push_back(r.ColumnText(0)); }));
  return out;
}

absl::StatusOr<bool> Store::AreFriends(std::string_view a, std::string_view b) {
  auto [first, second] = Ordered(a, b);
  return Exists("SELECT 1 FROM friendships WHERE user_a = ?1 AND user_b = ?2", first, second);
}

absl::Status Store::InsertFriendship(std::string_view a, std::string_view b, int64_t now_unix_ms) {
  auto [first, second] = Ordered(a, b);
  absl::StatusOr<Statement> stmt =
      db_->Prepare("INSERT INTO friendships (user_a, user_b, since_unix_ms) VALUES (?1, ?2, ?3)");
  if (!stmt.ok()) return stmt.status();
  return stmt->Bind(1, first).Bind(2, second).Bind(3, now_unix_ms).Run();
}

absl::Status Store::DeleteRequest(std::string_view from, std::string_view to, bool* deleted) {
  absl::StatusOr<Statement> stmt =
      db_->Prepare("DELETE FROM friend_requests WHERE from_user = ?1 AND to_user = ?2");
  if (!stmt.ok()) return stmt.status();
  TUTTI_STORE_RETURN_IF_ERROR(stmt->Bind(1, from).Bind(2, to).Run());
  *deleted = db_->Changes() > 0;
  return absl::OkStatus();
}

absl::StatusOr<FriendRequestResult> Store::SendFriendRequest(std::string_view from,
                                                             std::string_view to,
                                                             int64_t now_unix_ms) {
  TUTTI_STORE_RETURN_IF_ERROR(RequireId(from, "user id"));
  TUTTI_STORE_RETURN_IF_ERROR(RequireId(to, "user id"));
  if (from == to) return absl::InvalidArgumentError("you cannot befriend yourself");

  absl::StatusOr<std::unique_ptr<Transaction>> tx = Transaction::Begin(*db_);
  if (!tx.ok()) return tx.status();
  absl::StatusOr<bool> blocked = IsBlockedEitherWay(from, to);
  if (!blocked.ok()) return blocked.status();
  if (*blocked) return absl::FailedPreconditionError("blocked");
  absl::StatusOr<bool> friends = AreFriends(from, to);
  if (!friends.ok()) return friends.status();
  if (*friends) return absl::AlreadyExistsError("already friends");

  bool reverse_pending = false;
  TUTTI_STORE_RETURN_IF_ERROR(DeleteRequest(to, from, &reverse_pending));
  if (reverse_pending) {
    TUTTI_STORE_RETURN_IF_ERROR(InsertFriendship(from, to, now_unix_ms));
    TUTTI_STORE_RETURN_IF_ERROR((*tx)->Commit());
    return FriendRequestResult::kAccepted;
  }
  absl::StatusOr<Statement> insert = db_->Prepare(
      "INSERT INTO friend_requests (from_user, to_user, created_unix_ms) VALUES (?1, ?2, ?3)");
  if (!insert.ok()) return insert.status();
  absl::Status inserted = insert->Bind(1, from).Bind(2, to).Bind(3, now_unix_ms).Run();
  if (absl::IsAlreadyExists(inserted)) return absl::AlreadyExistsError("request already sent");
  TUTTI_STORE_RETURN_IF_ERROR(inserted);
  TUTTI_STORE_RETURN_IF_ERROR((*tx)->Commit());
  return FriendRequestResult::kRequestSent;
}

absl::Status Store::AcceptFriendRequest(std::string_view user, std::string_view from,
                                        int64_t now_unix_ms) {
  absl::StatusOr<std::unique_ptr<Transaction>> tx = Transaction::Begin(*db_);
  if (!tx.ok()) return tx.status();
  bool deleted = false;
  TUTTI_STORE_RETURN_IF_ERROR(DeleteRequest(from, user, &deleted));
  if (!deleted) return absl::NotFoundError("no pending friend request from that user");
  // A crossing request the other way is settled by the same acceptance.
  bool crossing = false;
  TUTTI_STORE_RETURN_IF_ERROR(DeleteRequest(user, from, &crossing));
  TUTTI_STORE_RETURN_IF_ERROR(InsertFriendship(user, from, now_unix_ms));
  return (*tx)->Commit();
}

absl::Status Store::DeclineFriendRequest(std::string_view user, std::string_view other) {
  bool deleted = false;
  TUTTI_STORE_RETURN_IF_ERROR(DeleteRequest(other, user, &deleted));
  if (!deleted) TUTTI_STORE_RETURN_IF_ERROR(DeleteRequest(user, other, &deleted));
  if (!deleted) return absl::NotFoundError("no pending friend request between you");
  return absl::OkStatus();
}

absl::Status Store::RemoveFriend(std::string_view user, std::string_view other) {
  auto [first, second] = Ordered(user, other);
  absl::StatusOr<Statement> stmt =
      db_->Prepare("DELETE FROM friendships WHERE user_a = ?1 AND user_b = ?2");
  if (!stmt.ok()) return stmt.status();
  TUTTI_STORE_RETURN_IF_ERROR(stmt->Bind(1, first).Bind(2, second).Run());
  if (db_->Changes() == 0) return absl::NotFoundError("not friends");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<FriendRow>> Store::ListFriends(std::string_view user) {
  // One query for all three kinds of row; the profile join supplies names.
  absl::StatusOr<Statement> stmt = db_->Prepare(
      "SELECT f.other, COALESCE(p.username, ''), COALESCE(p.status, 0), "
      "       COALESCE(p.status_text, ''), f.incoming, f.outgoing, f.since "
      "FROM (SELECT user_b AS other, 0 AS incoming, 0 AS outgoing, since_unix_ms AS since "
      "        FROM friendships WHERE user_a = ?1 "
      "      UNION ALL SELECT user_a, 0, 0, since_unix_ms FROM friendships WHERE user_b = ?1 "
      "      UNION ALL SELECT from_user, 1, 0, created_unix_ms FROM friend_requests "
      "        WHERE to_user = ?1 "
      "      UNION ALL SELECT to_user, 0, 1, created_unix_ms FROM friend_requests "
      "        WHERE from_user = ?1) AS f "
      "LEFT JOIN profiles AS p ON p.user_id = f.other "
      "ORDER BY f.other");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, user);
  std::vector<FriendRow> rows;
  TUTTI_STORE_RETURN_IF_ERROR(stmt->ForEachRow([&](const Statement& r) {
    FriendRow friend_row;
    friend_row.user_id = r.ColumnText(0);
    friend_row.username = r.ColumnText(1);
    friend_row.status = static_cast<int>(r.ColumnInt(2));
    friend_row.status_text = r.ColumnText(3);
    friend_row.pending_incoming = r.ColumnInt(4) != 0;
    friend_row.pending_outgoing = r.ColumnInt(5) != 0;
    friend_row.since_unix_ms = r.ColumnInt(6);
    rows.push_back(std::move(friend_row));
  }));
  return rows;
}

// --- Blocks ------------------------------------------------------------------------

absl::StatusOr<bool> Store::Block(std::string_view blocker, std::string_view blocked,
                                  int64_t now_unix_ms) {
  TUTTI_STORE_RETURN_IF_ERROR(RequireId(blocker, "user id"));
  TUTTI_STORE_RETURN_IF_ERROR(RequireId(blocked, "user id"));
  if (blocker == blocked) return absl::InvalidArgumentError("you cannot block yourself");

  absl::StatusOr<std::unique_ptr<Transaction>> tx = Transaction::Begin(*db_);
  if (!tx.ok()) return tx.status();
  absl::StatusOr<Statement> insert =
      db_->Prepare("INSERT INTO blocks (blocker, blocked, created_unix_ms) VALUES (?1, ?2, ?3)");
  if (!insert.ok()) return insert.status();
  absl::Status inserted = insert->Bind(1, blocker).Bind(2, blocked).Bind(3, now_unix_ms).Run();
  if (absl::IsAlreadyExists(inserted)) return absl::AlreadyExistsError("already blocked");
  TUTTI_STORE_RETURN_IF_ERROR(inserted);

  absl::Status unfriended = RemoveFriend(blocker, blocked);
  if (!unfriended.ok() && !absl::IsNotFound(unfriended)) return unfriended;
  bool ignored = false;
  TUTTI_STORE_RETURN_IF_ERROR(DeleteRequest(blocker, blocked, &ignored));
  TUTTI_STORE_RETURN_IF_ERROR(DeleteRequest(blocked, blocker, &ignored));
  TUTTI_STORE_RETURN_IF_ERROR((*tx)->Commit());
  return unfriended.ok();
}

absl::Status Store::Unblock(std::string_view blocker, std::string_view blocked) {
  absl::StatusOr<Statement> stmt =
      db_->Prepare("DELETE FROM blocks WHERE blocker = ?1 AND blocked = ?2");
  if (!stmt.ok()) return stmt.status();
  TUTTI_STORE_RETURN_IF_ERROR(stmt->Bind(1, blocker).Bind(2, blocked).Run());
  if (db_->Changes() == 0) return absl::NotFoundError("not blocked");
  return absl::OkStatus();
}

absl::StatusOr<bool> Store::IsBlocked(std::string_view blocker, std::string_view blocked) {
  return Exists("SELECT 1 FROM blocks WHERE blocker = ?1 AND blocked = ?2", blocker, blocked);
}

absl::StatusOr<bool> Store::IsBlockedEitherWay(std::string_view a, std::string_view b) {
  return Exists(
      "SELECT 1 FROM blocks WHERE (blocker = ?1 AND blocked = ?2) "
      "OR (blocker = ?2 AND blocked = ?1)",
      a, b);
}

absl::StatusOr<std::vector<std::string>> Store::ListBlocked(std::string_view blocker) {
  return TextColumn("SELECT blocked FROM blocks WHERE blocker = ?1 ORDER BY blocked", blocker);
}

// --- Server bans -------------------------------------------------------------------

absl::Status Store::AddServerBan(const moderation::ServerBan& ban) {
  absl::StatusOr<std::string> target = Canonical(ban.target);
  if (!target.ok()) return target.status();
  absl::StatusOr<Statement> stmt = db_->Prepare(
      "INSERT INTO server_bans (target, reason, actor, created_unix_ms, until_unix_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (target) DO UPDATE SET reason = ?2, "
      "actor = ?3, created_unix_ms = ?4, until_unix_ms = ?5");
  if (!stmt.ok()) return stmt.status();
  return stmt->Bind(1, *target)
      .Bind(2, ban.reason)
      .Bind(3, ban.actor)
      .Bind(4, ban.created_unix_ms)
      .Bind(5, ban.until_unix_ms)
      .Run();
}

absl::Status Store::RemoveServerBan(std::string_view target) {
  absl::StatusOr<std::string> canonical = Canonical(target);
  if (!canonical.ok()) return canonical.status();
  absl::StatusOr<Statement> stmt = db_->Prepare("DELETE FROM server_bans WHERE target = ?1");
  if (!stmt.ok()) return stmt.status();
  TUTTI_STORE_RETURN_IF_ERROR(stmt->Bind(1, *canonical).Run());
  if (db_->Changes() == 0) return absl::NotFoundError(absl::StrCat("no ban on ", *canonical));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<moderation::ServerBan>> Store::ListServerBans(int64_t now_unix_ms) {
  absl::StatusOr<Statement> stmt =
      db_->Prepare(absl::StrCat("SELECT target, reason, actor, created_unix_ms, until_unix_ms "
                                "FROM server_bans WHERE ",
                                kActiveBan, " ORDER BY target"));
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, now_unix_ms);
  std::vector<moderation::ServerBan> bans;
  TUTTI_STORE_RETURN_IF_ERROR(stmt->ForEachRow([&](const Statement& r) {
    moderation::ServerBan ban;
    ban.target = r.ColumnText(0);
    ban.reason = r.ColumnText(1);
    ban.actor = r.ColumnText(2);
    ban.created_unix_ms = r.ColumnInt(3);
    ban.until_unix_ms = r.ColumnInt(4);
    bans.push_back(std::move(ban));
  }));
  return bans;
}

// --- Audit log ---------------------------------------------------------------------

absl::Status Store::AppendAudit(const moderation::AuditRecord& record) {
  absl::StatusOr<Statement> stmt = db_->Prepare(
      "INSERT INTO audit_log (unix_ms, actor, action, target, room_id, reason, until_unix_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!stmt.ok()) return stmt.status();
  return stmt->Bind(1, record.unix_ms)
      .Bind(2, record.actor)
      .Bind(3, moderation::AuditActionName(record.action))
      .Bind(4, record.target)
      .Bind(5, record.room_id)
      .Bind(6, record.reason)
      .Bind(7, record.until_unix_ms)
      .Run();
}

absl::StatusOr<std::vector<moderation::AuditRecord>> Store::ListAudit(
    std::optional<std::string_view> room_id, int limit) {
  if (limit < 1 || limit > kMaxAuditList) {
    return absl::InvalidArgumentError(absl::StrCat("limit must be 1 to ", kMaxAuditList));
  }
  // The inner query picks the newest entries through the index; the outer one puts
  // them in reading order.
  constexpr char kColumns[] = "id, unix_ms, actor, action, target, room_id, reason, until_unix_ms";
  absl::StatusOr<Statement> stmt =
      room_id.has_value()
          ? db_->Prepare(absl::StrCat("SELECT * FROM (SELECT ", kColumns,
                                      " FROM audit_log WHERE room_id = ?2 ORDER BY id DESC "
                                      "LIMIT ?1) AS newest ORDER BY id"))
          : db_->Prepare(absl::StrCat("SELECT * FROM (SELECT ", kColumns,
                                      " FROM audit_log ORDER BY id DESC LIMIT ?1) AS newest "
                                      "ORDER BY id"));
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, int64_t{limit});
  if (room_id.has_value()) stmt->Bind(2, *room_id);
  std::vector<moderation::AuditRecord> records;
  TUTTI_STORE_RETURN_IF_ERROR(stmt->ForEachRow([&](const Statement& r) -> absl::Status {
    moderation::AuditRecord record;
    record.unix_ms = r.ColumnInt(1);
    record.actor = r.ColumnText(2);
    const std::string action = r.ColumnText(3);
    std::optional<moderation::AuditAction> parsed = moderation::AuditActionFromName(action);
    if (!parsed) {
      return absl::DataLossError(
          absl::StrCat("audit entry ", r.ColumnInt(0), " has an unknown action \"", action, "\""));
    }
    record.action = *parsed;
    record.target = r.ColumnText(4);
    record.room_id = r.ColumnText(5);
    record.reason = r.ColumnText(6);
    record.until_unix_ms = r.ColumnInt(7);
    records.push_back(std::move(record));
    return absl::OkStatus();
  }));
  return records;
}

absl::StatusOr<int64_t> Store::PruneAudit(int64_t before_unix_ms) {
  absl::StatusOr<Statement> stmt = db_->Prepare("DELETE FROM audit_log WHERE unix_ms < ?1");
  if (!stmt.ok()) return stmt.status();
  TUTTI_STORE_RETURN_IF_ERROR(stmt->Bind(1, before_unix_ms).Run());
  return db_->Changes();
}

#undef TUTTI_STORE_RETURN_IF_ERROR

}  // namespace tutti::server::store
