// The audit record: one moderation action (who did what to whom, why, when, until
// when), the unit the store's audit log keeps and /log shows.
//
// Thread affinity: none (a value type and pure functions).
// Ownership: created by whoever performs the action (room actor, global moderation
// actor, upgrade gate for automatic bans) and handed by value to the storage thread.
#ifndef TUTTI_SERVER_MODERATION_AUDIT_H_
#define TUTTI_SERVER_MODERATION_AUDIT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tutti::server::moderation {

// Numbered exactly like tutti.proto's ModerationAction (a test checks it), so the
// caller may static_cast when it fills an AuditEntry or ModerationNotice.
enum class AuditAction {
  kKick = 0,
  kBan = 1,
  kUnban = 2,
  kMute = 3,
  kUnmute = 4,
  kAppointModerator = 5,
  kRemoveModerator = 6,
  kTransferOwnership = 7,
  kServerBan = 8,
  kServerUnban = 9,
  kClearChat = 10,
  kSetTopic = 11,
  kStaffEntry = 12,      // staff joined past a room's barriers; reason lists them
  kDrain = 13,           // server-wide: a drain started; reason = its message
  kMaintenanceOn = 14,   // server-wide: maintenance mode on; reason = the operator's
  kMaintenanceOff = 15,  // server-wide: maintenance mode off
};

// The actor recorded for bans the server issues by itself (failed-auth bans).
inline constexpr std::string_view kServerActor = "server";

struct AuditRecord {
  int64_t unix_ms = 0;  // wall clock: the log is read by people and outlives restarts
  std::string actor;    // user id, or kServerActor
  AuditAction action = AuditAction::kKick;
  std::string target;         // user id, address or network; empty for room-wide actions
  std::string room_id;        // empty for server-wide actions
  std::string reason;         // for kSetTopic: the new topic
  int64_t until_unix_ms = 0;  // end of a ban or mute; 0 = permanent or not applicable
};

// Stable lower-case names ("kick", "server_ban"): the store keeps these rather than
// numbers so that the database reads on its own and survives enum reordering.
std::string_view AuditActionName(AuditAction action);
std::optional<AuditAction> AuditActionFromName(std::string_view name);

// One line for /log, e.g.
// "2026-11-21 23:12:39 UTC alice ban bob until 2026-11-22 23:12:39 UTC: spam".
std::string FormatAuditRecord(const AuditRecord& record);

// "2026-11-21 23:12:39 UTC".
std::string FormatUnixMs(int64_t unix_ms);

}  // namespace tutti::server::moderation

#endif  // TUTTI_SERVER_MODERATION_AUDIT_H_
