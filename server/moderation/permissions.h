// Who may use which command, and on whom: the role x command table and the targeting
// rules, plus the /help text derived from them.
//
// Thread affinity: none (pure functions over constant tables).
// Ownership: no state. The room actor asks these before it changes anything, and
// turns every refusal (an absl::Status) into a typed reply.
//
// The table (docs/MODERATION.md repeats it for users). A role may use a command when it
// is at least the command's minimum role; roles are ordered
//   guest < member < room moderator < room owner < server moderator < server admin.
//
//   command                        minimum role
//   /help /users /status           guest
//   /w                             member   (guest ids change on every connect, so a
//                                            block could never hold against a guest)
//   /kick /ban /unban /bans
//   /mute /unmute /topic /clear
//   /log /tempo                    room moderator   (/panic: guest; /panic all: moderator)
//   /mod /unmod /owner
//   /perform /audience             room owner
//   /sban /sunban                  server admin
//
// Targeting (CheckTargetable): kick, ban, mute, mod, unmod and owner need an actor
// strictly above the target, so nobody acts on an equal: a room moderator cannot kick
// another moderator, the owner or server staff, and server staff cannot be kicked from
// any room by its owner. Lifting a penalty (unban, unmute, sunban) has no target rule:
// any moderator may undo another's penalty, which the audit log records.
#ifndef TUTTI_SERVER_MODERATION_PERMISSIONS_H_
#define TUTTI_SERVER_MODERATION_PERMISSIONS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "server/moderation/command_parser.h"

namespace tutti::server::moderation {

// Numbered like tutti.proto's Role so the caller may static_cast between them.
// The order is meaningful: a larger value outranks a smaller one.
enum class RoomRole {
  kGuest = 0,
  kMember = 1,
  kRoomModerator = 2,
  kRoomOwner = 3,
  kServerModerator = 4,
  kServerAdmin = 5,
};

// The role a user acts with in a room: the higher of the server-wide role (from the
// token: guest, member, server moderator or server admin) and the room role.
RoomRole EffectiveRole(RoomRole server_role, RoomRole room_role);

std::string_view RoomRoleName(RoomRole role);

// The lowest role that may use the command (kGuest for kUnknown: anyone gets help).
RoomRole MinimumRole(CommandKind kind);

bool MayUse(RoomRole role, CommandKind kind);

// PERMISSION_DENIED (with a reason fit to show the actor) when `actor` may not apply
// `kind` to a user holding `target`; FAILED_PRECONDITION when the target's role makes
// the command meaningless (a guest cannot become a moderator or owner; only a room
// moderator can be unmodded). OK for commands without targeting rules.
absl::Status CheckTargetable(RoomRole actor, RoomRole target, CommandKind kind);

// The whole check a room runs for a command aimed at a user, in order: the actor may
// use the command, is not aiming at themselves where that makes no sense, and outranks
// the target. `target_id` may be empty for commands without a target.
absl::Status Authorize(std::string_view actor_id, RoomRole actor, std::string_view target_id,
                       RoomRole target, CommandKind kind);

// The commands a role may use, in /help order.
std::vector<CommandKind> CommandsFor(RoomRole role);

// The /help answer: one line per command the role may use ("/kick <user> [reason] -
// remove a user from the room").
std::vector<std::string> HelpLines(RoomRole role);

// The answer to "/help <name>": usage and summary, or a line saying the command is
// unknown or not available to this role, followed by HelpLines.
std::vector<std::string> HelpForCommand(RoomRole role, std::string_view name);

// The answer to an unknown command: names it, then HelpLines (never silence).
std::vector<std::string> UnknownCommandLines(RoomRole role, std::string_view name);

}  // namespace tutti::server::moderation

#endif  // TUTTI_SERVER_MODERATION_PERMISSIONS_H_
