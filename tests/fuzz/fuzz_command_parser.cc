// Fuzz target: the "/" chat command language (server/moderation/command_parser.h).
//
// Input: one mode byte, then
//   even: a chat line; handled like the dispatcher does (command or escaped chat text);
//   odd:  four '\n'-separated fields command, target, reason, duration for
//         CommandFromFields (the structured RoomChatServerCommand form).
// Properties: a parsed command has a kind that its name maps to and arguments in range;
// CommandFromFields carries target, reason and duration through unchanged (fields cannot
// inject arguments); ParseDuration is bounded and FormatDuration reads back to the same
// value.
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/moderation/command_parser.h"
#include "tests/fuzz/fuzz_target.h"

namespace mod = tutti::server::moderation;

namespace {

void CheckParsed(const mod::ParsedCommand& c) {
  FUZZ_CHECK(c.kind == mod::CommandKindFromName(c.name));
  FUZZ_CHECK(!mod::CommandUsage(c.kind).empty());
  if (c.duration_ms) {
    FUZZ_CHECK(*c.duration_ms == mod::kPermanent ||
               (*c.duration_ms >= 1000 && *c.duration_ms <= mod::kMaxDurationMs));
  }
  if (c.kind == mod::CommandKind::kLog) {
    FUZZ_CHECK(c.count >= 1 && c.count <= mod::kMaxLogCount);
  }
  switch (c.kind) {
    case mod::CommandKind::kKick:
    case mod::CommandKind::kBan:
    case mod::CommandKind::kUnban:
    case mod::CommandKind::kMute:
    case mod::CommandKind::kUnmute:
    case mod::CommandKind::kMod:
    case mod::CommandKind::kUnmod:
    case mod::CommandKind::kOwner:
    case mod::CommandKind::kWhisper:
    case mod::CommandKind::kServerBan:
    case mod::CommandKind::kServerUnban:
    case mod::CommandKind::kPerform:
    case mod::CommandKind::kAudience:
      FUZZ_CHECK(!c.target.empty());
      break;
    default:
      break;
  }
  if (c.kind == mod::CommandKind::kWhisper) FUZZ_CHECK(!c.text.empty());
  if (c.kind == mod::CommandKind::kPanic) FUZZ_CHECK(c.target.empty() || c.target == "all");
}

void CheckDuration(std::string_view text) {
  absl::StatusOr<int64_t> ms = mod::ParseDuration(text);
  if (!ms.ok()) return;
  FUZZ_CHECK(*ms > 0 && *ms <= mod::kMaxDurationMs && *ms % 1000 == 0);
  absl::StatusOr<int64_t> again = mod::ParseDuration(mod::FormatDuration(*ms));
  FUZZ_CHECK(again.ok() && *again == *ms);
}

void CheckLine(std::string_view line) {
  if (!mod::IsCommandLine(line)) {
    std::string_view chat = mod::StripCommandEscape(line);
    FUZZ_CHECK(chat.size() == line.size() || chat.size() + 1 == line.size());
    return;
  }
  absl::StatusOr<mod::ParsedCommand> parsed = mod::ParseCommand(line);
  if (parsed.ok()) CheckParsed(*parsed);
}

void CheckFields(std::string_view command, std::string_view target, std::string_view reason,
                 std::string_view duration) {
  absl::StatusOr<mod::ParsedCommand> parsed =
      mod::CommandFromFields(command, target, reason, duration);
  if (!parsed.ok()) return;
  CheckParsed(*parsed);
  switch (parsed->kind) {
    case mod::CommandKind::kKick:
    case mod::CommandKind::kUnban:
    case mod::CommandKind::kUnmute:
    case mod::CommandKind::kMod:
    case mod::CommandKind::kUnmod:
    case mod::CommandKind::kOwner:
    case mod::CommandKind::kServerUnban:
      FUZZ_CHECK(parsed->target == target && parsed->reason == reason);
      break;
    case mod::CommandKind::kBan:
    case mod::CommandKind::kMute:
    case mod::CommandKind::kServerBan:
      FUZZ_CHECK(parsed->target == target && parsed->reason == reason);
      FUZZ_CHECK(parsed->duration_ms.has_value() == !duration.empty());
      if (!duration.empty() && *parsed->duration_ms != mod::kPermanent) {
        absl::StatusOr<int64_t> ms = mod::ParseDuration(duration);
        FUZZ_CHECK(ms.ok() && *ms == *parsed->duration_ms);
      }
      break;
    case mod::CommandKind::kWhisper:
      FUZZ_CHECK(parsed->target == target && parsed->text == reason);
      break;
    case mod::CommandKind::kTopic:
      FUZZ_CHECK(parsed->text == reason);
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tutti::fuzz::FuzzInput input(data, size);
  if ((input.TakeByte() & 1) == 0) {
    CheckLine(input.Rest());
    // Every whitespace-separated word doubles as a duration to parse.
    tutti::fuzz::FuzzInput words(reinterpret_cast<const uint8_t*>(input.Rest().data()),
                                 input.Rest().size());
    while (!words.Rest().empty()) CheckDuration(words.TakeField(' '));
  } else {
    std::string_view command = input.TakeField('\n');
    std::string_view target = input.TakeField('\n');
    std::string_view reason = input.TakeField('\n');
    CheckFields(command, target, reason, input.Rest());
  }
  return 0;
}
