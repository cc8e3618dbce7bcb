// ServerLog (server/server_log.h): the two line formats, quoting of awkward values, and
// live subscribers: level filter, per-subscriber bucket, drops counted and told, the
// subscriber cap. A FakeClock drives the buckets.
#include "server/server_log.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/clock.h"

namespace tutti::server {
namespace {

constexpr int64_t kNoon = 1'764'763'200'123;  // 2025-12-03T12:00:00.123Z

TEST(ServerLog, KeyValueLinesQuoteWhatWouldBreakThem) {
  const std::string line = FormatLogLine(
      LogFormat::kKeyValue, kNoon, LogLevel::kWarn, "conn.refused",
      {{"ip", "127.0.0.1"}, {"reason", "too many \"x\"=y"}, {"empty", ""}, {"ctl", "a\nb\x01"}});
  EXPECT_EQ(line,
            "ts=2025-12-03T12:00:00.123Z level=warn event=conn.refused ip=127.0.0.1 "
            "reason=\"too many \\\"x\\\"=y\" empty=\"\" ctl=\"a\\nb\\x01\"");
}

TEST(ServerLog, JsonLinesAreOneObject) {
  const std::string line = FormatLogLine(LogFormat::kJson, kNoon, LogLevel::kInfo, "conn.open",
                                         {{"user", "u-\"al\"ice"}, {"session", "7"}});
  EXPECT_EQ(line,
            "{\"ts\":\"2025-12-03T12:00:00.123Z\",\"level\":\"info\",\"event\":\"conn.open\","
            "\"user\":\"u-\\\"al\\\"ice\",\"session\":\"7\"}");
}

TEST(ServerLog, NamesParse) {
  EXPECT_EQ(*ParseLogLevel("WARNING"), LogLevel::kWarn);
  EXPECT_FALSE(ParseLogLevel("debug").ok());
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_EQ(*ParseLogFormat("kv"), LogFormat::kKeyValue);
  EXPECT_FALSE(ParseLogFormat("xml").ok());
}

TEST(ServerLog, SubscribersGetTheirLevelWithinTheirBucketAndHearOfDrops) {
  FakeClock clock;
  ServerLog::Options o;
  o.lines_per_second = 2;
  o.burst = 2;
  o.max_subscribers = 2;
  ServerLog log(o, nullptr, &clock);
  std::vector<std::pair<std::string, uint32_t>> warn_got, info_got;
  const uint64_t w = log.Subscribe(LogLevel::kWarn, [&](const LogEntry& e, uint32_t dropped) {
    warn_got.emplace_back(e.event, dropped);
  });
  const uint64_t i = log.Subscribe(LogLevel::kInfo, [&](const LogEntry& e, uint32_t dropped) {
    info_got.emplace_back(e.event, dropped);
  });
  ASSERT_NE(w, 0u);
  ASSERT_NE(i, 0u);
  EXPECT_EQ(log.Subscribe(LogLevel::kInfo, [](const LogEntry&, uint32_t) {}), 0u);  // cap
  log.Info("a", {});
  log.Warn("b", {});
  log.Error("c", {});
  log.Error("d", {});
  EXPECT_EQ(warn_got, (std::vector<std::pair<std::string, uint32_t>>{{"b", 0}, {"c", 0}}));
  EXPECT_EQ(info_got, (std::vector<std::pair<std::string, uint32_t>>{{"a", 0}, {"b", 0}}));
  clock.AdvanceUs(500'000);  // one token back
  log.Error("e", {});
  EXPECT_EQ(warn_got.back(), (std::pair<std::string, uint32_t>{"e", 1}));
  EXPECT_EQ(info_got.back(), (std::pair<std::string, uint32_t>{"e", 2}));
  EXPECT_EQ(log.Unsubscribe(i), 2u);
  EXPECT_EQ(log.Unsubscribe(i), 0u);
  EXPECT_EQ(log.subscribers(), 1u);
}

}  // namespace
}  // namespace tutti::server
