#include "server/moderation/room_moderation.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/moderation/string_view_compat.h"

namespace tutti::server::moderation {
namespace {

int64_t UntilFrom(std::optional<int64_t> duration_ms, int64_t default_ms, int64_t now_unix_ms) {
  const int64_t duration = duration_ms.value_or(default_ms);
  return duration == kPermanent ? 0 : now_unix_ms + duration;
}

const RoomPenalty* ActiveIn(const absl::flat_hash_map<std::string, RoomPenalty>& table,
                            std::string_view user_id, int64_t now_unix_ms) {
  auto it = table.find(ToAbsl(user_id));
  if (it == table.end() || !it->second.ActiveAt(now_unix_ms)) return nullptr;
  return &it->second;
}

std::vector<RoomPenalty> ActiveList(const absl::flat_hash_map<std::string, RoomPenalty>& table,
                                    int64_t now_unix_ms) {
  std::vector<RoomPenalty> out;
  for (const auto& [user, penalty] : table) {
    if (penalty.ActiveAt(now_unix_ms)) out.push_back(penalty);
  }
  std::sort(out.begin(), out.end(),
            [](const RoomPenalty& a, const RoomPenalty& b) { return a.user_id < b.user_id; });
  return out;
}

absl::Status Put(absl::flat_hash_map<std::string, RoomPenalty>& table, RoomPenalty penalty,
                 size_t cap, std::string_view what) {
  if (penalty.user_id.empty()) return absl::InvalidArgumentError("empty user id");
  auto it = table.find(penalty.user_id);
  if (it != table.end()) {
    it->second = std::move(penalty);
    return absl::OkStatus();
  }
  if (table.size() >= cap) {
    return absl::ResourceExhaustedError(
        absl::StrCat("this room already has ", cap, " ", ToAbsl(what)));
  }
  std::string key = penalty.user_id;
  table.emplace(std::move(key), std::move(penalty));
  return absl::OkStatus();
}

std::vector<std::string> EraseOver(absl::flat_hash_map<std::string, RoomPenalty>& table,
                                   int64_t now_unix_ms) {
  std::vector<std::string> gone;
  for (const auto& [user, penalty] : table) {
    if (!penalty.ActiveAt(now_unix_ms)) gone.push_back(user);
  }
  for (const std::string& user : gone) table.erase(user);
  std::sort(gone.begin(), gone.end());
  return gone;
}

}  // namespace

RoomModeration::RoomModeration(std::string owner_id)
    : RoomModeration(std::move(owner_id), Options()) {}

RoomModeration::RoomModeration(std::string owner_id, Options options)
    : owner_id_(std::move(owner_id)), options_(options) {}

std::vector<std::string> RoomModeration::Moderators() const {
  std::vector<std::string> out(moderators_.begin(), moderators_.end());
  std::sort(out.begin(), out.end());
  return out;
}

RoomRole RoomModeration::RoomRoleOf(std::string_view user_id) const {
  if (IsOwner(user_id)) return RoomRole::kRoomOwner;
  if (IsModerator(user_id)) return RoomRole::kRoomModerator;
  return RoomRole::kGuest;
}

RoomRole RoomModeration::RoleOf(std::string_view user_id, RoomRole server_role) const {
  return EffectiveRole(server_role, RoomRoleOf(user_id));
}

absl::Status RoomModeration::AddModerator(std::string_view user_id) {
  if (user_id.empty()) return absl::InvalidArgumentError("empty user id");
  if (IsOwner(user_id)) return absl::FailedPreconditionError("the owner is not appointed");
  if (IsModerator(user_id)) return absl::AlreadyExistsError("already a room moderator");
  if (moderators_.size() >= options_.max_moderators) {
    return absl::ResourceExhaustedError(
        absl::StrCat("this room already has ", options_.max_moderators, " moderators"));
  }
  moderators_.insert(std::string(user_id));
  return absl::OkStatus();
}

absl::Status RoomModeration::RemoveModerator(std::string_view user_id) {
  auto it = moderators_.find(ToAbsl(user_id));
  if (it == moderators_.end()) return absl::NotFoundError("not a room moderator");
  moderators_.erase(it);
  return absl::OkStatus();
}

absl::Status RoomModeration::TransferOwnership(std::string_view new_owner) {
  if (new_owner.empty()) return absl::FailedPreconditionError("empty user id");
  if (IsOwner(new_owner)) return absl::FailedPreconditionError("already the owner");
  std::string previous = std::move(owner_id_);
  owner_id_ = std::string(new_owner);
  moderators_.erase(owner_id_);
  // The old owner joins the moderators even past max_moderators: refusing a handover
  // because of a cap would be worse than one extra entry.
  if (!previous.empty()) moderators_.insert(std::move(previous));
  return absl::OkStatus();
}

int64_t RoomModeration::BanUntil(std::optional<int64_t> duration_ms, int64_t now_unix_ms) const {
  return UntilFrom(duration_ms, options_.default_ban_ms, now_unix_ms);
}

int64_t RoomModeration::MuteUntil(std::optional<int64_t> duration_ms, int64_t now_unix_ms) const {
  return UntilFrom(duration_ms, options_.default_mute_ms, now_unix_ms);
}

absl::Status RoomModeration::Ban(RoomPenalty ban) {
  return Put(bans_, std::move(ban), options_.max_bans, "bans");
}

absl::Status RoomModeration::Unban(std::string_view user_id) {
  auto it = bans_.find(ToAbsl(user_id));
  if (it == bans_.end()) return absl::NotFoundError("not banned from this room");
  bans_.erase(it);
  return absl::OkStatus();
}

bool RoomModeration::IsBanned(std::string_view user_id, int64_t now_unix_ms) const {
  return BanOf(user_id, now_unix_ms) != nullptr;
}

const RoomPenalty* RoomModeration::BanOf(std::string_view user_id, int64_t now_unix_ms) const {
  return ActiveIn(bans_, user_id, now_unix_ms);
}

std::vector<RoomPenalty> RoomModeration::ListBans(int64_t now_unix_ms) const {
  return ActiveList(bans_, now_unix_ms);
}

absl::Status RoomModeration::Mute(RoomPenalty mute) {
  return Put(mutes_, std::move(mute), options_.max_mutes, "mutes");
}

absl::Status RoomModeration::Unmute(std::string_view user_id) {
  auto it = mutes_.find(ToAbsl(user_id));
  if (it == mutes_.end()) return absl::NotFoundError("not muted in this room");
  mutes_.erase(it);
  return absl::OkStatus();
}

bool RoomModeration::IsMuted(std::string_view user_id, int64_t now_unix_ms) const {
  return MuteOf(user_id, now_unix_ms) != nullptr;
}

const RoomPenalty* RoomModeration::MuteOf(std::string_view user_id, int64_t now_unix_ms) const {
  return ActiveIn(mutes_, user_id, now_unix_ms);
}

std::vector<RoomPenalty> RoomModeration::ListMutes(int64_t now_unix_ms) const {
  return ActiveList(mutes_, now_unix_ms);
}

RoomModeration::Expired RoomModeration::ExpireUntil(int64_t now_unix_ms) {
  Expired expired;
  expired.bans = EraseOver(bans_, now_unix_ms);
  expired.mutes = EraseOver(mutes_, now_unix_ms);
  return expired;
}

int64_t RoomModeration::NextExpiry() const {
  int64_t next = 0;
  for (const auto* table : {&bans_, &mutes_}) {
    for (const auto& [user, penalty] : *table) {
      if (penalty.until_unix_ms != 0 && (next == 0 || penalty.until_unix_ms < next)) {
        next = penalty.until_unix_ms;
      }
    }
  }
  return next;
}

absl::StatusOr<RoomModeration::Outcome> RoomModeration::Apply(
    const ParsedCommand& command, std::string_view actor_id, RoomRole actor_server_role,
    RoomRole target_server_role, std::string_view room_id, int64_t now_unix_ms) {
  bool targeted = true;
  switch (command.kind) {
    case CommandKind::kKick:
    case CommandKind::kBan:
    case CommandKind::kUnban:
    case CommandKind::kMute:
    case CommandKind::kUnmute:
    case CommandKind::kMod:
    case CommandKind::kUnmod:
    case CommandKind::kOwner:
      break;
    case CommandKind::kTopic:
    case CommandKind::kClear:
      targeted = false;
      break;
    default:
      return absl::UnimplementedError(absl::StrCat("/", ToAbsl(CommandName(command.kind)),
                                                   " is not a room moderation command"));
  }
  const std::string target = targeted ? command.target : std::string();
  const RoomRole actor_role = RoleOf(actor_id, actor_server_role);
  const RoomRole target_role = targeted ? RoleOf(target, target_server_role) : RoomRole::kGuest;
  if (absl::Status s = Authorize(actor_id, actor_role, target, target_role, command.kind);
      !s.ok()) {
    return s;
  }
  if (targeted && target.empty()) return absl::InvalidArgumentError("missing <user>");

  Outcome outcome;
  AuditRecord& audit = outcome.audit;
  audit.unix_ms = now_unix_ms;
  audit.actor = std::string(actor_id);
  audit.target = target;
  audit.room_id = std::string(room_id);
  audit.reason = command.reason;

  auto penalty = [&](int64_t until) {
    return RoomPenalty{command.target, command.reason, std::string(actor_id), now_unix_ms, until};
  };

  switch (command.kind) {
    case CommandKind::kKick:
      audit.action = AuditAction::kKick;
      break;
    case CommandKind::kBan: {
      audit.action = AuditAction::kBan;
      audit.until_unix_ms = BanUntil(command.duration_ms, now_unix_ms);
      if (absl::Status s = Ban(penalty(audit.until_unix_ms)); !s.ok()) return s;
      // A banned moderator loses the appointment: coming back after the ban should not
      // restore powers the owner took away for a reason.
      moderators_.erase(command.target);
      break;
    }
    case CommandKind::kUnban:
      audit.action = AuditAction::kUnban;
      if (absl::Status s = Unban(command.target); !s.ok()) return s;
      break;
    case CommandKind::kMute:
      audit.action = AuditAction::kMute;
      audit.until_unix_ms = MuteUntil(command.duration_ms, now_unix_ms);
      if (absl::Status s = Mute(penalty(audit.until_unix_ms)); !s.ok()) return s;
      break;
    case CommandKind::kUnmute:
      audit.action = AuditAction::kUnmute;
      if (absl::Status s = Unmute(command.target); !s.ok()) return s;
      break;
    case CommandKind::kMod:
      audit.action = AuditAction::kAppointModerator;
      if (absl::Status s = AddModerator(command.target); !s.ok()) return s;
      break;
    case CommandKind::kUnmod:
      audit.action = AuditAction::kRemoveModerator;
      if (absl::Status s = RemoveModerator(command.target); !s.ok()) return s;
      break;
    case CommandKind::kOwner:
      audit.action = AuditAction::kTransferOwnership;
      outcome.previous_owner = owner_id_;
      if (absl::Status s = TransferOwnership(command.target); !s.ok()) return s;
      break;
    case CommandKind::kTopic:
      audit.action = AuditAction::kSetTopic;
      audit.reason = command.text;  // the log shows what the topic became
      break;
    case CommandKind::kClear:
      audit.action = AuditAction::kClearChat;
      break;
    default:  // filtered at the top
      return absl::InternalError("unreachable");
  }
  return outcome;
}

}  // namespace tutti::server::moderation
