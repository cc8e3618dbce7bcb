#include "server/moderation/command_parser.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/moderation/string_view_compat.h"

namespace tutti::server::moderation {
namespace {

struct CommandInfo {
  CommandKind kind;
  std::string_view name;
  std::string_view usage;
  std::string_view summary;
};

// One row per command; the single place that names, usage and summaries live.
constexpr CommandInfo kCommandTable[] = {
    {CommandKind::kHelp, "help", "/help [command]", "list the commands you may use"},
    {CommandKind::kUsers, "users", "/users", "list the people in this room"},
    {CommandKind::kKick, "kick", "/kick <user> [reason]", "remove a user from the room"},
    {CommandKind::kBan, "ban", "/ban <user> [duration] [reason]",
     "remove a user and keep them out (permanent unless a duration is given)"},
    {CommandKind::kUnban, "unban", "/unban <user>", "lift a room ban"},
    {CommandKind::kBans, "bans", "/bans", "list this room's bans"},
    {CommandKind::kMute, "mute", "/mute <user> [duration] [reason]",
     "stop a user's chat in this room"},
    {CommandKind::kUnmute, "unmute", "/unmute <user>", "lift a mute"},
    {CommandKind::kMod, "mod", "/mod <user>", "appoint a room moderator"},
    {CommandKind::kUnmod, "unmod", "/unmod <user>", "remove a room moderator"},
    {CommandKind::kOwner, "owner", "/owner <user>", "hand the room's ownership to a user"},
    {CommandKind::kTopic, "topic", "/topic [text]",
     "set the room's topic (welcome message); no text clears it"},
    {CommandKind::kWhisper, "w", "/w <user> <text>", "send a private message"},
    {CommandKind::kStatus, "status", "/status <online|away|busy|invisible> [text]",
     "set your status"},
    {CommandKind::kClear, "clear", "/clear", "clear the room's chat history"},
    {CommandKind::kLog, "log", "/log [n]", "show the last n moderation actions"},
    {CommandKind::kServerBan, "sban", "/sban <user|ip|cidr> [duration] [reason]",
     "ban a user, address or network from the whole server"},
    {CommandKind::kServerUnban, "sunban", "/sunban <user|ip|cidr>", "lift a server ban"},
    {CommandKind::kPanic, "panic", "/panic [all]",
     "all notes off: yours, or (room staff) everyone's"},
    {CommandKind::kPerform, "perform", "/perform <user>", "let a user play (performer list)"},
    {CommandKind::kAudience, "audience", "/audience <user>", "take a user off the performer list"},
    {CommandKind::kTempo, "tempo", "/tempo [bpm] [beats/unit] [start|stop]",
     "set the room's tempo, meter and transport"},
    {CommandKind::kRecord, "record", "/record <start|stop|list>",
     "record the room's MIDI to a file on the server, or list its recordings"},
};

// Extra words accepted for a command. The canonical name is in kCommandTable.
constexpr std::pair<std::string_view, CommandKind> kAliases[] = {
    {"?", CommandKind::kHelp},
    {"commands", CommandKind::kHelp},
    {"who", CommandKind::kUsers},
    {"whisper", CommandKind::kWhisper},
    {"msg", CommandKind::kWhisper},
    {"pm", CommandKind::kWhisper},
    {"welcome", CommandKind::kTopic},
    {"transfer", CommandKind::kOwner},
    {"serverban", CommandKind::kServerBan},
    {"serverunban", CommandKind::kServerUnban},
    {"alloff", CommandKind::kPanic},
    {"performer", CommandKind::kPerform},
    {"listener", CommandKind::kAudience},
    {"bpm", CommandKind::kTempo},
};

const CommandInfo* FindInfo(CommandKind kind) {
  for (const CommandInfo& info : kCommandTable) {
    if (info.kind == kind) return &info;
  }
  return nullptr;
}

bool IsSpace(char c) { return absl::ascii_isspace(static_cast<unsigned char>(c)); }

absl::Status UsageError(CommandKind kind, std::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(ToAbsl(problem), ". Usage: ", ToAbsl(CommandUsage(kind))));
}

struct Token {
  std::string value;
  bool quoted = false;
};

// Reads the arguments after the command word one token at a time, so that free text
// is taken verbatim (an apostrophe or a lone quote in a whisper is not a syntax error).
class ArgReader {
 public:
  explicit ArgReader(std::string_view args) : args_(args) {}

  // The next token, or nullopt at the end. INVALID_ARGUMENT for an unterminated quote.
  absl::StatusOr<std::optional<Token>> Next() {
    size_t end = 0;
    absl::StatusOr<std::optional<Token>> token = ReadAt(pos_, &end);
    if (token.ok()) pos_ = end;
    return token;
  }

  // Like Next() without consuming.
  absl::StatusOr<std::optional<Token>> Peek() const {
    size_t end = 0;
    return ReadAt(pos_, &end);
  }

  // The rest of the line as free text (see the header for the rules).
  std::string Rest() const {
    size_t begin = SkipSpace(pos_);
    size_t end = args_.size();
    while (end > begin && IsSpace(args_[end - 1])) --end;
    std::string_view rest = args_.substr(begin, end - begin);
    if (!rest.empty() && rest.front() == '"') {
      size_t token_end = 0;
      absl::StatusOr<std::optional<Token>> token = ReadAt(begin, &token_end);
      if (token.ok() && token->has_value() && token_end >= end) return (*token)->value;
    }
    return std::string(rest);
  }

 private:
  size_t SkipSpace(size_t pos) const {
    while (pos < args_.size() && IsSpace(args_[pos])) ++pos;
    return pos;
  }

  absl::StatusOr<std::optional<Token>> ReadAt(size_t pos, size_t* end) const {
    pos = SkipSpace(pos);
    if (pos >= args_.size()) {
      *end = pos;
      return std::optional<Token>();
    }
    Token token;
    bool in_quote = false;
    while (pos < args_.size()) {
      char c = args_[pos];
      if (c == '\\' && pos + 1 < args_.size()) {
        token.value.push_back(args_[pos + 1]);
        pos += 2;
        continue;
      }
      if (c == '"') {
        in_quote = !in_quote;
        token.quoted = true;
        ++pos;
        continue;
      }
      if (!in_quote && IsSpace(c)) break;
      token.value.push_back(c);
      ++pos;
    }
    if (in_quote) return absl::InvalidArgumentError("unterminated quote");
    *end = pos;
    return std::optional<Token>(std::move(token));
  }

  std::string_view args_;
  size_t pos_ = 0;
};

// Reads the required <user>/<target> argument.
absl::Status ReadTarget(CommandKind kind, ArgReader& reader, std::string_view what,
                        std::string* target) {
  absl::StatusOr<std::optional<Token>> token = reader.Next();
  if (!token.ok()) return UsageError(kind, ToStd(token.status().message()));
  if (!token->has_value() || (*token)->value.empty()) {
    return UsageError(kind, absl::StrCat("missing <", ToAbsl(what), ">"));
  }
  *target = std::move((*token)->value);
  return absl::OkStatus();
}

bool IsPermanentWord(std::string_view word) {
  std::string lower = absl::AsciiStrToLower(ToAbsl(word));
  return lower == "perm" || lower == "permanent" || lower == "forever";
}

// Reads an optional duration: consumed only when the next token looks like one.
absl::Status ReadOptionalDuration(CommandKind kind, ArgReader& reader,
                                  std::optional<int64_t>* duration_ms) {
  absl::StatusOr<std::optional<Token>> token = reader.Peek();
  if (!token.ok()) return absl::OkStatus();  // the reason holds the stray quote
  if (!token->has_value() || (*token)->quoted) return absl::OkStatus();
  const std::string& value = (*token)->value;
  if (IsPermanentWord(value)) {
    *duration_ms = kPermanent;
  } else if (!value.empty() && absl::ascii_isdigit(static_cast<unsigned char>(value[0]))) {
    absl::StatusOr<int64_t> parsed = ParseDuration(value);
    if (!parsed.ok()) return UsageError(kind, ToStd(parsed.status().message()));
    *duration_ms = *parsed;
  } else {
    return absl::OkStatus();
  }
  (void)reader.Next();
  return absl::OkStatus();
}

absl::StatusOr<StatusWord> ParseStatusWord(std::string_view word) {
  std::string lower = absl::AsciiStrToLower(ToAbsl(word));
  if (lower == "online") return StatusWord::kOnline;
  if (lower == "away") return StatusWord::kAway;
  if (lower == "busy") return StatusWord::kBusy;
  if (lower == "invisible") return StatusWord::kInvisible;
  return absl::InvalidArgumentError(absl::StrCat("unknown status \"", ToAbsl(word), "\""));
}

}  // namespace

bool IsCommandLine(std::string_view line) {
  return !line.empty() && line[0] == '/' && !(line.size() > 1 && line[1] == '/');
}

std::string_view StripCommandEscape(std::string_view line) {
  if (line.size() >= 2 && line[0] == '/' && line[1] == '/') line.remove_prefix(1);
  return line;
}

absl::StatusOr<ParsedCommand> ParseCommand(std::string_view line) {
  if (line.empty() || line[0] != '/') {
    return absl::InvalidArgumentError("a command starts with '/'");
  }
  line.remove_prefix(1);
  size_t name_end = 0;
  while (name_end < line.size() && !IsSpace(line[name_end])) ++name_end;

  ParsedCommand command;
  command.name = std::string(line.substr(0, name_end));
  command.kind = CommandKindFromName(command.name);
  ArgReader reader(line.substr(name_end));
  const CommandKind kind = command.kind;

  switch (kind) {
    case CommandKind::kUnknown:
    case CommandKind::kUsers:
    case CommandKind::kBans:
    case CommandKind::kClear:
      break;
    case CommandKind::kHelp: {
      absl::StatusOr<std::optional<Token>> token = reader.Next();
      if (token.ok() && token->has_value()) {
        std::string_view asked = (*token)->value;
        if (!asked.empty() && asked[0] == '/') asked.remove_prefix(1);
        command.target = std::string(asked);
      }
      break;
    }
    case CommandKind::kKick:
    case CommandKind::kUnban:
    case CommandKind::kUnmute:
    case CommandKind::kMod:
    case CommandKind::kUnmod:
    case CommandKind::kOwner:
      if (absl::Status s = ReadTarget(kind, reader, "user", &command.target); !s.ok()) return s;
      command.reason = reader.Rest();
      break;
    case CommandKind::kServerUnban:
      if (absl::Status s = ReadTarget(kind, reader, "user|ip|cidr", &command.target); !s.ok()) {
        return s;
      }
      command.reason = reader.Rest();
      break;
    case CommandKind::kBan:
    case CommandKind::kMute:
    case CommandKind::kServerBan: {
      std::string_view what = kind == CommandKind::kServerBan ? "user|ip|cidr" : "user";
      if (absl::Status s = ReadTarget(kind, reader, what, &command.target); !s.ok()) return s;
      if (absl::Status s = ReadOptionalDuration(kind, reader, &command.duration_ms); !s.ok()) {
        return s;
      }
      command.reason = reader.Rest();
      break;
    }
    case CommandKind::kTopic:
    case CommandKind::kTempo:  // the room reads the words (server/tempo.h)
      command.text = reader.Rest();
      break;
    case CommandKind::kPerform:
    case CommandKind::kAudience:
      if (absl::Status s = ReadTarget(kind, reader, "user", &command.target); !s.ok()) return s;
      break;
    case CommandKind::kPanic: {
      absl::StatusOr<std::optional<Token>> token = reader.Next();
      if (!token.ok()) return UsageError(kind, ToStd(token.status().message()));
      if (token->has_value() && !(*token)->value.empty()) {
        if (absl::AsciiStrToLower((*token)->value) != "all") {
          return UsageError(kind, "the only word /panic takes is \"all\"");
        }
        command.target = "all";
      }
      break;
    }
    case CommandKind::kWhisper:
      if (absl::Status s = ReadTarget(kind, reader, "user", &command.target); !s.ok()) return s;
      command.text = reader.Rest();
      if (command.text.empty()) return UsageError(kind, "missing <text>");
      break;
    case CommandKind::kStatus: {
      absl::StatusOr<std::optional<Token>> token = reader.Next();
      if (!token.ok()) return UsageError(kind, ToStd(token.status().message()));
      if (!token->has_value()) return UsageError(kind, "missing status");
      absl::StatusOr<StatusWord> word = ParseStatusWord((*token)->value);
      if (!word.ok()) return UsageError(kind, ToStd(word.status().message()));
      command.status = *word;
      command.target = absl::AsciiStrToLower((*token)->value);
      command.text = reader.Rest();
      break;
    }
    case CommandKind::kRecord: {
      absl::StatusOr<std::optional<Token>> token = reader.Next();
      if (!token.ok()) return UsageError(kind, ToStd(token.status().message()));
      if (!token->has_value()) return UsageError(kind, "missing start, stop or list");
      command.target = absl::AsciiStrToLower((*token)->value);
      if (command.target != "start" && command.target != "stop" && command.target != "list") {
        return UsageError(kind, "say start, stop or list");
      }
      break;
    }
    case CommandKind::kLog: {
      command.count = kDefaultLogCount;
      absl::StatusOr<std::optional<Token>> token = reader.Next();
      if (!token.ok()) return UsageError(kind, ToStd(token.status().message()));
      if (token->has_value()) {
        int n = 0;
        if (!absl::SimpleAtoi((*token)->value, &n) || n < 1 || n > kMaxLogCount) {
          return UsageError(kind, absl::StrCat("n must be a number from 1 to ", kMaxLogCount));
        }
        command.count = n;
      }
      break;
    }
  }
  return command;
}

namespace {

// One double-quoted token that ArgReader reads back as exactly `text`.
std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace

absl::StatusOr<ParsedCommand> CommandFromFields(std::string_view command, std::string_view target,
                                                std::string_view reason,
                                                std::string_view duration) {
  if (!command.empty() && command[0] == '/') command.remove_prefix(1);
  if (command.empty() || std::any_of(command.begin(), command.end(), IsSpace)) {
    return absl::InvalidArgumentError("command must be one word");
  }
  const CommandKind kind = CommandKindFromName(command);
  std::string line = absl::StrCat("/", ToAbsl(command));
  switch (kind) {
    case CommandKind::kTopic:  // takes only text, and that comes from `reason`
    case CommandKind::kTempo:
      break;
    case CommandKind::kHelp:
    case CommandKind::kLog:
    case CommandKind::kUsers:
    case CommandKind::kBans:
    case CommandKind::kClear:
    case CommandKind::kPanic:
    case CommandKind::kUnknown:
      if (!target.empty()) absl::StrAppend(&line, " ", Quote(target));
      break;
    default:
      // Always present, so that an empty target is "missing <user>" rather than the
      // reason moving into its place.
      absl::StrAppend(&line, " ", Quote(target));
      break;
  }
  if (!duration.empty()) {
    if (kind != CommandKind::kBan && kind != CommandKind::kMute &&
        kind != CommandKind::kServerBan) {
      return UsageError(kind, "this command takes no duration");
    }
    // Unquoted, so that the parser takes it as the duration; it must be one.
    if (!IsPermanentWord(duration)) {
      absl::StatusOr<int64_t> parsed = ParseDuration(duration);
      if (!parsed.ok()) return parsed.status();
    }
    absl::StrAppend(&line, " ", ToAbsl(duration));
  }
  if (!reason.empty()) absl::StrAppend(&line, " ", Quote(reason));
  return ParseCommand(line);
}

absl::StatusOr<int64_t> ParseDuration(std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("empty duration");
  const std::string too_long = absl::StrCat("duration \"", ToAbsl(text), "\" is longer than ",
                                            FormatDuration(kMaxDurationMs));
  int64_t total = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t digits_begin = pos;
    int64_t value = 0;
    while (pos < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[pos]))) {
      value = value * 10 + (text[pos] - '0');
      // Every unit is at least one second, so a value this large is out of bounds
      // whatever follows; stopping here also keeps the arithmetic from overflowing.
      if (value > kMaxDurationMs / 1000) return absl::InvalidArgumentError(too_long);
      ++pos;
    }
    if (pos == digits_begin) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad duration \"", ToAbsl(text), "\": expected a number like 10m, 1h, 2d"));
    }
    if (pos == text.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("duration \"", ToAbsl(text), "\" needs a unit: s, m, h, d or w"));
    }
    int64_t unit_ms = 0;
    switch (absl::ascii_tolower(static_cast<unsigned char>(text[pos]))) {
      case 's':
        unit_ms = 1000;
        break;
      case 'm':
        unit_ms = 60 * 1000;
        break;
      case 'h':
        unit_ms = 60 * 60 * 1000;
        break;
      case 'd':
        unit_ms = 24 * 60 * 60 * 1000;
        break;
      case 'w':
        unit_ms = int64_t{7} * 24 * 60 * 60 * 1000;
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat("bad duration \"", ToAbsl(text),
                                                       "\": unit '", ToAbsl(text.substr(pos, 1)),
                                                       "' is not one of s, m, h, d, w"));
    }
    ++pos;
    if (value > (kMaxDurationMs - total) / unit_ms) return absl::InvalidArgumentError(too_long);
    total += value * unit_ms;
  }
  if (total <= 0) return absl::InvalidArgumentError("a duration must be longer than zero");
  return total;
}

std::string FormatDuration(int64_t ms) {
  if (ms <= 0) return "0s";
  if (ms < 1000) return "<1s";
  int64_t seconds = ms / 1000;
  constexpr std::pair<int64_t, char> kUnits[] = {
      {7 * 24 * 3600, 'w'}, {24 * 3600, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
  std::string out;
  for (const auto& [unit_seconds, letter] : kUnits) {
    if (seconds >= unit_seconds) {
      absl::StrAppend(&out, seconds / unit_seconds, absl::string_view(&letter, 1));
      seconds %= unit_seconds;
    }
  }
  return out;
}

std::string_view CommandName(CommandKind kind) {
  const CommandInfo* info = FindInfo(kind);
  return info ? info->name : std::string_view();
}

std::string_view CommandUsage(CommandKind kind) {
  const CommandInfo* info = FindInfo(kind);
  return info ? info->usage : std::string_view("/help");
}

std::string_view CommandSummary(CommandKind kind) {
  const CommandInfo* info = FindInfo(kind);
  return info ? info->summary : std::string_view("unknown command");
}

CommandKind CommandKindFromName(std::string_view name) {
  std::string lower = absl::AsciiStrToLower(ToAbsl(name));
  for (const CommandInfo& info : kCommandTable) {
    if (info.name == lower) return info.kind;
  }
  for (const auto& [alias, kind] : kAliases) {
    if (alias == lower) return kind;
  }
  return CommandKind::kUnknown;
}

}  // namespace tutti::server::moderation
