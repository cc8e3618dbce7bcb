#include "server/moderation/permissions.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/moderation/string_view_compat.h"

namespace tutti::server::moderation {
namespace {

// Commands whose target must rank strictly below the actor.
bool NeedsOutranking(CommandKind kind) {
  switch (kind) {
    case CommandKind::kKick:
    case CommandKind::kBan:
    case CommandKind::kMute:
    case CommandKind::kMod:
    case CommandKind::kUnmod:
    case CommandKind::kOwner:
    case CommandKind::kServerBan:
      return true;
    default:
      return false;
  }
}

// Commands that make no sense aimed at oneself. Lifting one's own penalty is refused
// too: otherwise a moderator muted by server staff could simply unmute themselves.
bool RefusesSelf(CommandKind kind) {
  return NeedsOutranking(kind) || kind == CommandKind::kUnban || kind == CommandKind::kUnmute ||
         kind == CommandKind::kServerUnban || kind == CommandKind::kWhisper;
}

}  // namespace

RoomRole EffectiveRole(RoomRole server_role, RoomRole room_role) {
  return std::max(server_role, room_role);
}

std::string_view RoomRoleName(RoomRole role) {
  switch (role) {
    case RoomRole::kGuest:
      return "guest";
    case RoomRole::kMember:
      return "member";
    case RoomRole::kRoomModerator:
      return "room moderator";
    case RoomRole::kRoomOwner:
      return "room owner";
    case RoomRole::kServerModerator:
      return "server moderator";
    case RoomRole::kServerAdmin:
      return "server admin";
  }
  return "unknown role";
}

RoomRole MinimumRole(CommandKind kind) {
  switch (kind) {
    case CommandKind::kHelp:
    case CommandKind::kUsers:
    case CommandKind::kStatus:
    case CommandKind::kPanic:  // "/panic all" is for room moderators (the room checks)
    case CommandKind::kUnknown:
      return RoomRole::kGuest;
    case CommandKind::kWhisper:
      return RoomRole::kMember;
    case CommandKind::kKick:
    case CommandKind::kBan:
    case CommandKind::kUnban:
    case CommandKind::kBans:
    case CommandKind::kMute:
    case CommandKind::kUnmute:
    case CommandKind::kTopic:
    case CommandKind::kClear:
    case CommandKind::kLog:
    case CommandKind::kTempo:
    case CommandKind::kRecord:
      return RoomRole::kRoomModerator;
    case CommandKind::kMod:
    case CommandKind::kUnmod:
    case CommandKind::kOwner:
    case CommandKind::kPerform:
    case CommandKind::kAudience:
      return RoomRole::kRoomOwner;
    case CommandKind::kServerBan:
    case CommandKind::kServerUnban:
      return RoomRole::kServerAdmin;
  }
  // An enum value outside the table: nobody may use it.
  return static_cast<RoomRole>(static_cast<int>(RoomRole::kServerAdmin) + 1);
}

bool MayUse(RoomRole role, CommandKind kind) { return role >= MinimumRole(kind); }

absl::Status CheckTargetable(RoomRole actor, RoomRole target, CommandKind kind) {
  if ((kind == CommandKind::kMod || kind == CommandKind::kOwner) && target == RoomRole::kGuest) {
    return absl::FailedPreconditionError(absl::StrCat(
        "a guest cannot become a room ", kind == CommandKind::kMod ? "moderator" : "owner"));
  }
  if (kind == CommandKind::kMod && target >= RoomRole::kRoomModerator) {
    return absl::FailedPreconditionError(
        absl::StrCat("the user is already a ", ToAbsl(RoomRoleName(target))));
  }
  if (NeedsOutranking(kind) && actor <= target) {
    return absl::PermissionDeniedError(absl::StrCat(
        "you cannot use /", ToAbsl(CommandName(kind)), " on a ", ToAbsl(RoomRoleName(target)),
        " (you are a ", ToAbsl(RoomRoleName(actor)), ")"));
  }
  return absl::OkStatus();
}

absl::Status Authorize(std::string_view actor_id, RoomRole actor, std::string_view target_id,
                       RoomRole target, CommandKind kind) {
  if (!MayUse(actor, kind)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "/", ToAbsl(CommandName(kind)), " needs the role ", ToAbsl(RoomRoleName(MinimumRole(kind))),
        " (you are a ", ToAbsl(RoomRoleName(actor)), ")"));
  }
  if (!target_id.empty() && target_id == actor_id && RefusesSelf(kind)) {
    return absl::InvalidArgumentError(
        absl::StrCat("you cannot use /", ToAbsl(CommandName(kind)), " on yourself"));
  }
  return CheckTargetable(actor, target, kind);
}

std::vector<CommandKind> CommandsFor(RoomRole role) {
  std::vector<CommandKind> out;
  for (CommandKind kind : kAllCommands) {
    if (MayUse(role, kind)) out.push_back(kind);
  }
  return out;
}

std::vector<std::string> HelpLines(RoomRole role) {
  std::vector<std::string> lines;
  for (CommandKind kind : CommandsFor(role)) {
    lines.push_back(absl::StrCat(ToAbsl(CommandUsage(kind)), " - ", ToAbsl(CommandSummary(kind))));
  }
  return lines;
}

std::vector<std::string> HelpForCommand(RoomRole role, std::string_view name) {
  const CommandKind kind = CommandKindFromName(name);
  // A command the role may not use is described as unavailable rather than explained:
  // /help lists only what the caller may use.
  if (kind != CommandKind::kUnknown && MayUse(role, kind)) {
    return {std::string(CommandUsage(kind)), std::string(CommandSummary(kind))};
  }
  std::vector<std::string> lines = {
      absl::StrCat("/", ToAbsl(name),
                   kind == CommandKind::kUnknown ? " is not a command" : " is not available to you",
                   ". Commands you can use:")};
  for (std::string& line : HelpLines(role)) lines.push_back(std::move(line));
  return lines;
}

std::vector<std::string> UnknownCommandLines(RoomRole role, std::string_view name) {
  std::vector<std::string> lines = {
      absl::StrCat("Unknown command /", ToAbsl(name), ". Commands you can use:")};
  for (std::string& line : HelpLines(role)) lines.push_back(std::move(line));
  return lines;
}

}  // namespace tutti::server::moderation
