// The "/" chat command language: recognising a command line, splitting it into typed
// commands, durations, and the usage text shown for each command.
//
// Thread affinity: none. Everything here is a pure function of its arguments and the
// static command table; call it from any thread.
// Ownership: no state. The room actor (or the dispatcher) calls ParseCommand on a chat
// line and acts on the ParsedCommand value.
//
// Grammar (documented for users in docs/MODERATION.md):
//   * A line is a command when its first character is '/'. A line starting with "//" is
//     an ordinary chat message whose text is the line with the first '/' removed, so
//     "//shrug" posts "/shrug" (StripCommandEscape does the removal).
//   * The command name is case-insensitive and runs up to the first whitespace.
//   * Arguments (user names, durations, counts) are single tokens separated by whitespace.
//     A token may be quoted with "..." to hold spaces; inside or outside quotes a
//     backslash escapes the next character ("\"" is a quote, "\\" a backslash).
//   * Free text (a reason, a topic, a whisper, a status text) is the rest of the line,
//     verbatim and trimmed, so that quotes typed in a message survive. When the whole rest
//     is a single quoted token, its quotes are removed.
//   * A duration is one or more <number><unit> groups, unit one of s, m, h, d, w
//     ("10m", "1h30m", "2d"), positive and at most kMaxDurationMs. In an optional
//     duration position, "perm" / "permanent" / "forever" means an explicit permanent
//     penalty (duration_ms == kPermanent). An unquoted token that starts with a digit is
//     always read as a duration, so "/ban bob 10 spam" is an error (missing unit) rather
//     than a ban with reason "10 spam"; quote it to make it a reason.
#ifndef TUTTI_SERVER_MODERATION_COMMAND_PARSER_H_
#define TUTTI_SERVER_MODERATION_COMMAND_PARSER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tutti::server::moderation {

// Every command the server knows. kUnknown is a valid parse result: the caller answers
// it with help (an unknown command is never silently ignored).
enum class CommandKind {
  kHelp,
  kUsers,
  kKick,
  kBan,
  kUnban,
  kBans,
  kMute,
  kUnmute,
  kMod,
  kUnmod,
  kOwner,
  kTopic,
  kWhisper,
  kStatus,
  kClear,
  kLog,
  kServerBan,
  kServerUnban,
  // Music (docs/PROTOCOL.md, "Music in a room").
  kPanic,
  kPerform,
  kAudience,
  kTempo,
  kRecord,
  kUnknown,
};

// Every kind except kUnknown, in the order /help lists them.
inline constexpr CommandKind kAllCommands[] = {
    CommandKind::kHelp,   CommandKind::kUsers,     CommandKind::kWhisper,
    CommandKind::kStatus, CommandKind::kKick,      CommandKind::kBan,
    CommandKind::kUnban,  CommandKind::kBans,      CommandKind::kMute,
    CommandKind::kUnmute, CommandKind::kTopic,     CommandKind::kClear,
    CommandKind::kLog,    CommandKind::kMod,       CommandKind::kUnmod,
    CommandKind::kOwner,  CommandKind::kServerBan, CommandKind::kServerUnban,
    CommandKind::kPanic,  CommandKind::kPerform,   CommandKind::kAudience,
    CommandKind::kTempo,  CommandKind::kRecord,
};

// The value of ParsedCommand::status for /status. The numbers equal tutti.proto's
// UserStatus values so the caller may static_cast.
enum class StatusWord { kOnline = 0, kAway = 1, kBusy = 2, kInvisible = 3 };

// duration_ms holds this when the user typed "perm" (an explicit permanent penalty).
inline constexpr int64_t kPermanent = 0;
// Upper bound of any typed duration: a longer one is almost surely a typo, and
// permanent penalties have their own word.
inline constexpr int64_t kMaxDurationMs = int64_t{365} * 24 * 60 * 60 * 1000;
// /log without a count shows this many entries; a count above kMaxLogCount is refused
// because the answer is one CommandResult sent to one client.
inline constexpr int kDefaultLogCount = 20;
inline constexpr int kMaxLogCount = 200;

struct ParsedCommand {
  CommandKind kind = CommandKind::kUnknown;
  // The command word as typed, without the '/', original case ("KICK", "w").
  std::string name;
  // The user (kick, ban, mute, mod, owner, whisper, perform...), "all" (/panic all), the ban target
  // (sban: user id, IP or CIDR), the command asked about (/help kick), or the status word
  // (/status).
  std::string target;
  // Set only when a duration was typed: a positive number of milliseconds, or
  // kPermanent. Unset means "the room's default" (see RoomModeration).
  std::optional<int64_t> duration_ms;
  std::string reason;
  // Free text: the topic, the whisper's message, the status text, the words of /tempo.
  std::string text;
  // /log only: the number of entries asked for (kDefaultLogCount when omitted).
  int count = 0;
  // /status only.
  StatusWord status = StatusWord::kOnline;
};

// True when the line is a command (first character '/', second not '/').
bool IsCommandLine(std::string_view line);

// For a line that is not a command: the chat text to post. Removes the escaping '/'
// from a "//..." line and returns any other line unchanged.
std::string_view StripCommandEscape(std::string_view line);

// Parses a command line (IsCommandLine(line) must hold; a leading '/' is required).
// INVALID_ARGUMENT, with the command's usage in the message, for missing or malformed
// arguments; an unknown command name parses to kind kUnknown.
absl::StatusOr<ParsedCommand> ParseCommand(std::string_view line);

// The structured form (tutti.proto RoomChatServerCommand: command, target_user,
// reason, duration) as a ParsedCommand, through the same parser and rules as a typed
// line. `command` is a command word with or without '/'. `reason` doubles as the text
// of /topic, /w and /status; `target` holds the status word for /status and n for
// /log. `duration` is empty or one duration ("10m", "perm"). Fields are quoted before
// parsing, so a reason that starts with a digit stays a reason and spaces in a field
// cannot inject extra arguments.
absl::StatusOr<ParsedCommand> CommandFromFields(std::string_view command, std::string_view target,
                                                std::string_view reason, std::string_view duration);

// "10m", "1h30m", "2w" -> milliseconds. INVALID_ARGUMENT for a missing unit, an
// unknown unit, zero, or more than kMaxDurationMs.
absl::StatusOr<int64_t> ParseDuration(std::string_view text);

// Milliseconds -> the shortest text ParseDuration reads back ("1h30m", "2w"). Rounds
// down to whole seconds; 0 < ms < 1000 gives "<1s" and ms <= 0 gives "0s".
std::string FormatDuration(int64_t ms);

// The canonical command word without '/', e.g. "kick", "sban" ("" for kUnknown).
std::string_view CommandName(CommandKind kind);
// e.g. "/ban <user> [duration] [reason]".
std::string_view CommandUsage(CommandKind kind);
// One line saying what the command does.
std::string_view CommandSummary(CommandKind kind);
// The kind for a command word ("w", "whisper" and "msg" all give kWhisper);
// kUnknown when the word is no command. Case-insensitive, no leading '/'.
CommandKind CommandKindFromName(std::string_view name);

}  // namespace tutti::server::moderation

#endif  // TUTTI_SERVER_MODERATION_COMMAND_PARSER_H_
