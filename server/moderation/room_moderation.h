// One room's moderation state: its owner, the moderators the owner appointed, room bans
// and mutes, and the one function that checks and applies a moderation command to it.
//
// Thread affinity: none of its own; not thread-safe. The room actor owns one instance
// and touches it only on the room's home shard, so no lock is needed.
// Ownership: a member of the room actor. Persistent rooms save owner, moderators and
// bans through the store (RoomRecord, RoomBanRecord) and restore them with the
// constructor, AddModerator and Ban when the room is loaded. Mutes are not persisted:
// they are short and tied to a conversation.
//
// Times are wall-clock unix ms passed in (bans are persisted and their end is shown).
// Nothing here expires on its own: IsBanned/IsMuted compare with `now`, and the room
// calls ExpireUntil from a timer (NextExpiry says when) to announce ends and free memory.
#ifndef TUTTI_SERVER_MODERATION_ROOM_MODERATION_H_
#define TUTTI_SERVER_MODERATION_ROOM_MODERATION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/moderation/audit.h"
#include "server/moderation/command_parser.h"
#include "server/moderation/permissions.h"
#include "server/moderation/string_view_compat.h"

namespace tutti::server::moderation {

// A room ban or mute.
struct RoomPenalty {
  std::string user_id;
  std::string reason;
  std::string actor;
  int64_t created_unix_ms = 0;
  int64_t until_unix_ms = 0;  // 0 = permanent

  bool ActiveAt(int64_t now_unix_ms) const {
    return until_unix_ms == 0 || now_unix_ms < until_unix_ms;
  }
};

class RoomModeration {
 public:
  struct Options {
    // A /ban without a duration is permanent: a ban is a deliberate act, and a
    // temporary one can say so.
    int64_t default_ban_ms = kPermanent;
    // A /mute without a duration lasts 10 minutes: mutes calm a heated moment, and a
    // forgotten permanent mute would silence someone for good.
    int64_t default_mute_ms = 10 * 60'000;
    // Caps on the tables, so a room cannot be grown without bound by a script.
    size_t max_bans = 10'000;
    size_t max_mutes = 1'000;
    size_t max_moderators = 100;
  };

  // What a command changed, for the room to announce and persist.
  struct Outcome {
    AuditRecord audit;
    // For transfer of ownership: the previous owner (now a room moderator).
    std::string previous_owner;
  };

  explicit RoomModeration(std::string owner_id);
  RoomModeration(std::string owner_id, Options options);

  const std::string& owner_id() const { return owner_id_; }
  const Options& options() const { return options_; }
  bool IsOwner(std::string_view user_id) const { return !user_id.empty() && user_id == owner_id_; }
  bool IsModerator(std::string_view user_id) const { return moderators_.contains(ToAbsl(user_id)); }
  // Sorted, for stable output and persistence.
  std::vector<std::string> Moderators() const;

  // The role the room itself gives: kRoomOwner, kRoomModerator or kGuest (none).
  RoomRole RoomRoleOf(std::string_view user_id) const;
  // The effective role: the higher of the room role and `server_role`, which is the
  // token's role (kGuest, kMember, kServerModerator or kServerAdmin).
  RoomRole RoleOf(std::string_view user_id, RoomRole server_role) const;

  // ALREADY_EXISTS when already a moderator, FAILED_PRECONDITION for the owner,
  // RESOURCE_EXHAUSTED past max_moderators.
  absl::Status AddModerator(std::string_view user_id);
  // NOT_FOUND when not a moderator.
  absl::Status RemoveModerator(std::string_view user_id);
  // The previous owner becomes a room moderator (they chose to hand over, and keep
  // being able to help); the new owner leaves the moderator set. FAILED_PRECONDITION
  // when `new_owner` already owns the room or is empty.
  absl::Status TransferOwnership(std::string_view new_owner);

  // The end of a ban or mute given the typed duration (nullopt = the room default,
  // kPermanent = permanent). Returns 0 for permanent.
  int64_t BanUntil(std::optional<int64_t> duration_ms, int64_t now_unix_ms) const;
  int64_t MuteUntil(std::optional<int64_t> duration_ms, int64_t now_unix_ms) const;

  // Adds or replaces (a second ban changes the reason and the end).
  // RESOURCE_EXHAUSTED past max_bans.
  absl::Status Ban(RoomPenalty ban);
  absl::Status Unban(std::string_view user_id);  // NOT_FOUND when not banned
  bool IsBanned(std::string_view user_id, int64_t now_unix_ms) const;
  const RoomPenalty* BanOf(std::string_view user_id, int64_t now_unix_ms) const;
  std::vector<RoomPenalty> ListBans(int64_t now_unix_ms) const;  // active, by user id

  absl::Status Mute(RoomPenalty mute);  // like Ban, capped by max_mutes
  absl::Status Unmute(std::string_view user_id);
  bool IsMuted(std::string_view user_id, int64_t now_unix_ms) const;
  const RoomPenalty* MuteOf(std::string_view user_id, int64_t now_unix_ms) const;
  std::vector<RoomPenalty> ListMutes(int64_t now_unix_ms) const;

  struct Expired {
    std::vector<std::string> bans;   // user ids whose ban ended
    std::vector<std::string> mutes;  // user ids whose mute ended
  };
  // Removes bans and mutes over at `now`.
  Expired ExpireUntil(int64_t now_unix_ms);
  // The earliest end among temporary bans and mutes, or 0 when there is none.
  int64_t NextExpiry() const;

  // Checks and applies a moderation command: permission (Authorize), then the change
  // to this object's state. Handles kick, ban, unban, mute, unmute, mod, unmod and
  // owner (aimed at command.target) and topic and clear (room-wide). For kick, topic
  // and clear nothing changes here: the room removes the sessions, sets the topic
  // (command.text) or clears its history once this returns OK.
  // `target_server_role` is the target's token role when they are present; for
  // someone absent the room passes kMember (or kGuest for a guest id), so their room
  // role still counts. Returns the audit record to append (and announce), or the
  // refusal: UNIMPLEMENTED for other kinds (checked first), PERMISSION_DENIED,
  // INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND, ALREADY_EXISTS,
  // RESOURCE_EXHAUSTED. On error nothing changed.
  absl::StatusOr<Outcome> Apply(const ParsedCommand& command, std::string_view actor_id,
                                RoomRole actor_server_role, RoomRole target_server_role,
                                std::string_view room_id, int64_t now_unix_ms);

 private:
  std::string owner_id_;
  Options options_;
  absl::flat_hash_set<std::string> moderators_;
  absl::flat_hash_map<std::string, RoomPenalty> bans_;
  absl::flat_hash_map<std::string, RoomPenalty> mutes_;
};

}  // namespace tutti::server::moderation

#endif  // TUTTI_SERVER_MODERATION_ROOM_MODERATION_H_
