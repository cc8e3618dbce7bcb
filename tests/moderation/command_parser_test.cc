#include "server/moderation/command_parser.h"

#include <string>

#include "gtest/gtest.h"

namespace tutti::server::moderation {
namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

ParsedCommand MustParse(std::string_view line) {
  absl::StatusOr<ParsedCommand> parsed = ParseCommand(line);
  EXPECT_TRUE(parsed.ok()) << line << ": " << parsed.status();
  return parsed.ok() ? *parsed : ParsedCommand{};
}

TEST(IsCommandLineTest, SlashStartsACommandAndDoubleSlashEscapes) {
  EXPECT_TRUE(IsCommandLine("/kick bob"));
  EXPECT_TRUE(IsCommandLine("/"));
  EXPECT_FALSE(IsCommandLine("//shrug"));
  EXPECT_FALSE(IsCommandLine("hello /kick"));
  EXPECT_FALSE(IsCommandLine(" /kick bob"));
  EXPECT_FALSE(IsCommandLine(""));
}

TEST(IsCommandLineTest, StripCommandEscapeRemovesOneSlash) {
  EXPECT_EQ(StripCommandEscape("//shrug"), "/shrug");
  EXPECT_EQ(StripCommandEscape("///x"), "//x");
  EXPECT_EQ(StripCommandEscape("plain"), "plain");
  EXPECT_EQ(StripCommandEscape("/"), "/");
}

TEST(ParseCommandTest, UnknownCommandIsAValueNotAnError) {
  ParsedCommand c = MustParse("/dance wildly");
  EXPECT_EQ(c.kind, CommandKind::kUnknown);
  EXPECT_EQ(c.name, "dance");
  ParsedCommand empty = MustParse("/");
  EXPECT_EQ(empty.kind, CommandKind::kUnknown);
  EXPECT_EQ(empty.name, "");
}

TEST(ParseCommandTest, RequiresLeadingSlash) {
  EXPECT_EQ(ParseCommand("kick bob").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParseCommandTest, NamesAreCaseInsensitiveAndKeepTheTypedSpelling) {
  ParsedCommand c = MustParse("/KiCk bob");
  EXPECT_EQ(c.kind, CommandKind::kKick);
  EXPECT_EQ(c.name, "KiCk");
  EXPECT_EQ(c.target, "bob");
}

TEST(ParseCommandTest, Aliases) {
  EXPECT_EQ(MustParse("/whisper bob hi").kind, CommandKind::kWhisper);
  EXPECT_EQ(MustParse("/msg bob hi").kind, CommandKind::kWhisper);
  EXPECT_EQ(MustParse("/? ").kind, CommandKind::kHelp);
  EXPECT_EQ(MustParse("/who").kind, CommandKind::kUsers);
  EXPECT_EQ(MustParse("/welcome hello all").kind, CommandKind::kTopic);
}

TEST(ParseCommandTest, KickWithAndWithoutReason) {
  ParsedCommand c = MustParse("/kick bob");
  EXPECT_EQ(c.target, "bob");
  EXPECT_EQ(c.reason, "");
  c = MustParse("/kick   bob   being   rude  ");
  EXPECT_EQ(c.target, "bob");
  EXPECT_EQ(c.reason, "being   rude");  // free text is verbatim, trimmed
}

TEST(ParseCommandTest, MissingTargetIsAnErrorWithUsage) {
  for (const char* line : {"/kick", "/ban", "/unban  ", "/mute", "/unmute", "/mod", "/unmod",
                           "/owner", "/w", "/sban", "/sunban", "/kick \"\""}) {
    absl::StatusOr<ParsedCommand> c = ParseCommand(line);
    ASSERT_FALSE(c.ok()) << line;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << line;
    EXPECT_NE(c.status().message().find("Usage: /"), absl::string_view::npos) << c.status();
  }
}

TEST(ParseCommandTest, QuotedTargetsHoldSpacesAndEscapes) {
  ParsedCommand c = MustParse(R"(/kick "bob smith" spamming)");
  EXPECT_EQ(c.target, "bob smith");
  EXPECT_EQ(c.reason, "spamming");
  c = MustParse(R"(/kick bob\ smith x)");
  EXPECT_EQ(c.target, "bob smith");
  c = MustParse(R"(/kick "say \"hi\"" x)");
  EXPECT_EQ(c.target, "say \"hi\"");
  c = MustParse(R"(/kick a"b c"d)");
  EXPECT_EQ(c.target, "ab cd");
}

TEST(ParseCommandTest, UnterminatedQuoteInAnArgumentIsAnError) {
  absl::StatusOr<ParsedCommand> c = ParseCommand(R"(/kick "bob smith)");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("unterminated quote"), absl::string_view::npos);
}

TEST(ParseCommandTest, FreeTextKeepsQuotesUnlessItIsOneQuotedString) {
  EXPECT_EQ(MustParse(R"(/w bob she said "hi" to me)").text, R"(she said "hi" to me)");
  EXPECT_EQ(MustParse(R"(/w bob it's "open)").text, R"(it's "open)");
  EXPECT_EQ(MustParse(R"(/w bob "  padded  ")").text, "  padded  ");
  EXPECT_EQ(MustParse(R"(/kick bob "being rude")").reason, "being rude");
}

TEST(ParseCommandTest, BanWithDurationAndReason) {
  ParsedCommand c = MustParse("/ban bob 2d repeated spam");
  EXPECT_EQ(c.kind, CommandKind::kBan);
  EXPECT_EQ(c.target, "bob");
  ASSERT_TRUE(c.duration_ms.has_value());
  EXPECT_EQ(*c.duration_ms, 2 * kDay);
  EXPECT_EQ(c.reason, "repeated spam");
}

TEST(ParseCommandTest, BanWithoutDurationLeavesItUnset) {
  ParsedCommand c = MustParse("/ban bob spam");
  EXPECT_FALSE(c.duration_ms.has_value());
  EXPECT_EQ(c.reason, "spam");
  c = MustParse("/ban bob");
  EXPECT_FALSE(c.duration_ms.has_value());
  EXPECT_EQ(c.reason, "");
}

TEST(ParseCommandTest, PermanentWord) {
  ParsedCommand c = MustParse("/mute bob PERM shouting");
  ASSERT_TRUE(c.duration_ms.has_value());
  EXPECT_EQ(*c.duration_ms, kPermanent);
  EXPECT_EQ(c.reason, "shouting");
}

TEST(ParseCommandTest, DigitTokenInDurationPositionMustBeADuration) {
  absl::StatusOr<ParsedCommand> c = ParseCommand("/ban bob 10 spam");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("unit"), absl::string_view::npos);
  EXPECT_NE(c.status().message().find("Usage: /ban"), absl::string_view::npos);
  // Quoted, it is a reason.
  ParsedCommand quoted = MustParse(R"(/ban bob "10" spam)");
  EXPECT_FALSE(quoted.duration_ms.has_value());
  EXPECT_EQ(quoted.reason, R"("10" spam)");
  EXPECT_FALSE(ParseCommand("/mute bob 400d").ok());
}

TEST(ParseCommandTest, ServerBanTakesAddressesAndNetworks) {
  ParsedCommand c = MustParse("/sban 192.0.2.0/24 1w scanners");
  EXPECT_EQ(c.kind, CommandKind::kServerBan);
  EXPECT_EQ(c.target, "192.0.2.0/24");
  EXPECT_EQ(*c.duration_ms, 7 * kDay);
  EXPECT_EQ(c.reason, "scanners");
  c = MustParse("/sunban 2001:db8::/32");
  EXPECT_EQ(c.kind, CommandKind::kServerUnban);
  EXPECT_EQ(c.target, "2001:db8::/32");
}

TEST(ParseCommandTest, TopicTakesTheRestOrNothing) {
  EXPECT_EQ(MustParse("/topic  Jam night: blues in E  ").text, "Jam night: blues in E");
  EXPECT_EQ(MustParse("/topic").text, "");
}

TEST(ParseCommandTest, WhisperNeedsText) {
  ParsedCommand c = MustParse("/w bob see you at 8");
  EXPECT_EQ(c.target, "bob");
  EXPECT_EQ(c.text, "see you at 8");
  absl::StatusOr<ParsedCommand> empty = ParseCommand("/w bob   ");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("missing <text>"), absl::string_view::npos);
}

TEST(ParseCommandTest, Status) {
  ParsedCommand c = MustParse("/status Away back in 5");
  EXPECT_EQ(c.status, StatusWord::kAway);
  EXPECT_EQ(c.target, "away");
  EXPECT_EQ(c.text, "back in 5");
  EXPECT_EQ(MustParse("/status invisible").status, StatusWord::kInvisible);
  EXPECT_EQ(MustParse("/status busy").status, StatusWord::kBusy);
  EXPECT_EQ(MustParse("/status online").status, StatusWord::kOnline);
  EXPECT_FALSE(ParseCommand("/status offline").ok());
  EXPECT_FALSE(ParseCommand("/status").ok());
}

TEST(ParseCommandTest, LogCount) {
  EXPECT_EQ(MustParse("/log").count, kDefaultLogCount);
  EXPECT_EQ(MustParse("/log 5").count, 5);
  EXPECT_EQ(MustParse("/log 200").count, 200);
  EXPECT_FALSE(ParseCommand("/log 0").ok());
  EXPECT_FALSE(ParseCommand("/log 201").ok());
  EXPECT_FALSE(ParseCommand("/log many").ok());
  EXPECT_FALSE(ParseCommand("/log -3").ok());
}

TEST(ParseCommandTest, HelpTakesAnOptionalCommand) {
  EXPECT_EQ(MustParse("/help").target, "");
  EXPECT_EQ(MustParse("/help ban").target, "ban");
  EXPECT_EQ(MustParse("/help /ban").target, "ban");
}

TEST(ParseCommandTest, NoArgumentCommands) {
  EXPECT_EQ(MustParse("/users").kind, CommandKind::kUsers);
  EXPECT_EQ(MustParse("/bans").kind, CommandKind::kBans);
  EXPECT_EQ(MustParse("/clear").kind, CommandKind::kClear);
}

TEST(ParseDurationTest, Units) {
  EXPECT_EQ(*ParseDuration("30s"), 30 * kSecond);
  EXPECT_EQ(*ParseDuration("10m"), 10 * kMinute);
  EXPECT_EQ(*ParseDuration("1h"), kHour);
  EXPECT_EQ(*ParseDuration("2d"), 2 * kDay);
  EXPECT_EQ(*ParseDuration("3w"), 21 * kDay);
  EXPECT_EQ(*ParseDuration("1H30M"), kHour + 30 * kMinute);
  EXPECT_EQ(*ParseDuration("1d12h"), kDay + 12 * kHour);
}

TEST(ParseDurationTest, Refusals) {
  for (const char* bad :
       {"", "10", "m", "1x", "1h30", "-5m", "1.5h", "0s", "0m0s", "h1", " 1h", "1h "}) {
    absl::StatusOr<int64_t> d = ParseDuration(bad);
    EXPECT_FALSE(d.ok()) << "\"" << bad << "\" gave " << (d.ok() ? *d : 0);
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

TEST(ParseDurationTest, BoundedAtOneYear) {
  EXPECT_EQ(*ParseDuration("365d"), kMaxDurationMs);
  EXPECT_EQ(*ParseDuration("52w1d"), kMaxDurationMs);
  EXPECT_FALSE(ParseDuration("365d1s").ok());
  EXPECT_FALSE(ParseDuration("53w").ok());
  // Huge numbers must not overflow into something small and positive.
  EXPECT_FALSE(ParseDuration("99999999999999999999w").ok());
  EXPECT_FALSE(ParseDuration("9223372036854775807s").ok());
  EXPECT_FALSE(ParseDuration("31536001s").ok());
  EXPECT_TRUE(ParseDuration("31536000s").ok());
}

TEST(FormatDurationTest, CompactAndReadableBack) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(-5), "0s");
  EXPECT_EQ(FormatDuration(999), "<1s");
  EXPECT_EQ(FormatDuration(1500), "1s");
  EXPECT_EQ(FormatDuration(90 * kMinute), "1h30m");
  EXPECT_EQ(FormatDuration(14 * kDay), "2w");
  EXPECT_EQ(FormatDuration(kMaxDurationMs), "52w1d");
  for (int64_t ms :
       {kSecond, 61 * kSecond, kHour + kSecond, 9 * kDay + 3 * kHour, kMaxDurationMs}) {
    absl::StatusOr<int64_t> back = ParseDuration(FormatDuration(ms));
    ASSERT_TRUE(back.ok()) << FormatDuration(ms);
    EXPECT_EQ(*back, ms);
  }
}

TEST(CommandFromFieldsTest, StructuredCommandsShareTheLineRules) {
  absl::StatusOr<ParsedCommand> c = CommandFromFields("ban", "DJ \"Bob\"", "5 complaints", "2h");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kind, CommandKind::kBan);
  EXPECT_EQ(c->target, "DJ \"Bob\"");
  EXPECT_EQ(*c->duration_ms, 2 * kHour);
  EXPECT_EQ(c->reason, "5 complaints");  // a leading digit does not make it a duration

  c = CommandFromFields("/mute", "bob", "", "");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->duration_ms.has_value());
  c = CommandFromFields("mute", "bob", "", "perm");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c->duration_ms, kPermanent);

  c = CommandFromFields("topic", "ignored", "Jam \\ night", "");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->text, "Jam \\ night");
  c = CommandFromFields("w", "bob", "hi there", "");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->target, "bob");
  EXPECT_EQ(c->text, "hi there");
  c = CommandFromFields("status", "away", "lunch", "");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->status, StatusWord::kAway);
  EXPECT_EQ(c->text, "lunch");
  c = CommandFromFields("log", "7", "", "");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->count, 7);
  c = CommandFromFields("dance", "", "", "");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->kind, CommandKind::kUnknown);
}

TEST(CommandFromFieldsTest, Refusals) {
  EXPECT_FALSE(CommandFromFields("kick", "", "why", "").ok());       // no target
  EXPECT_FALSE(CommandFromFields("ban", "bob", "", "10").ok());      // no unit
  EXPECT_FALSE(CommandFromFields("ban", "bob", "", "1h eve").ok());  // injection
  EXPECT_FALSE(CommandFromFields("kick", "bob", "", "1h").ok());     // no duration
  EXPECT_FALSE(CommandFromFields("kick bob", "eve", "", "").ok());   // two words
  EXPECT_FALSE(CommandFromFields("", "eve", "", "").ok());
}

TEST(CommandTableTest, EveryCommandHasNameUsageAndSummary) {
  for (CommandKind kind : kAllCommands) {
    EXPECT_FALSE(CommandName(kind).empty());
    EXPECT_EQ(CommandUsage(kind).substr(0, 1 + CommandName(kind).size()),
              "/" + std::string(CommandName(kind)));
    EXPECT_FALSE(CommandSummary(kind).empty());
    EXPECT_EQ(CommandKindFromName(CommandName(kind)), kind);
  }
  EXPECT_EQ(CommandKindFromName("nope"), CommandKind::kUnknown);
}

}  // namespace
}  // namespace tutti::server::moderation
