// The sequencer and bounded history of one room stream: offsets from 1 with no gaps,
// server time that never goes back, exactly the events after a position, the three
// bounds (count, bytes, age) under a flood, and every unrecoverable case.
#include "server/stream_log.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace tutti::server {
namespace {

PublishRequest Chat(const std::string& text) {
  PublishRequest req;
  req.message.set_message_type(proto::ClientMessage::RoomChatMessage);
  req.message.mutable_room_chat_message()->set_message(text);
  return req;
}

proto::ClientMessage Parse(const Frame& f) {
  proto::ClientMessage m;
  EXPECT_TRUE(m.ParseFromString(f->payload()));
  return m;
}

TEST(StreamLogTest, OffsetsStartAtOneAndTheFrameCarriesThePosition) {
  HistoryLimits limits;
  StreamLog log("ep", &limits);
  EXPECT_EQ(log.top(), (StreamPosition{"ep", 0}));
  for (uint64_t i = 1; i <= 5; ++i) {
    Publication pub = log.Append(Chat("m" + std::to_string(i)), 1000 + static_cast<int64_t>(i));
    EXPECT_EQ(pub.position, (StreamPosition{"ep", i}));
    proto::ClientMessage m = Parse(pub.frame);
    EXPECT_EQ(m.stream().epoch(), "ep");
    EXPECT_EQ(m.stream().offset(), i);
    EXPECT_EQ(m.stream().server_time(), pub.server_time_us);
    EXPECT_EQ(m.room_chat_message().message(), "m" + std::to_string(i));
  }
  EXPECT_EQ(log.top(), (StreamPosition{"ep", 5}));
}

TEST(StreamLogTest, ServerTimeNeverGoesBack) {
  HistoryLimits limits;
  StreamLog log("ep", &limits);
  EXPECT_EQ(log.Append(Chat("a"), 5000).server_time_us, 5000);
  EXPECT_EQ(log.Append(Chat("b"), 4000).server_time_us, 5000);  // the clock stepped back
  EXPECT_EQ(log.Append(Chat("c"), 6000).server_time_us, 6000);
}

TEST(StreamLogTest, SinceGivesExactlyTheMissedEventsAsTheSameFrames) {
  HistoryLimits limits;
  StreamLog log("ep", &limits);
  std::vector<Publication> sent;
  for (int i = 0; i < 10; ++i) sent.push_back(log.Append(Chat(std::to_string(i)), 1000));
  HistoryResult r = log.Since({"ep", 6}, 1000);
  ASSERT_TRUE(r.recoverable) << r.reason;
  EXPECT_EQ(r.top, (StreamPosition{"ep", 10}));
  ASSERT_EQ(r.publications.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(r.publications[i].position.offset, 7 + i);
    EXPECT_EQ(r.publications[i].frame.get(), sent[6 + i].frame.get());  // shared, no copy
  }
  // At the top: nothing missed. From 0: everything (all of it is kept).
  HistoryResult at_top = log.Since({"ep", 10}, 1000);
  EXPECT_TRUE(at_top.recoverable);
  EXPECT_TRUE(at_top.publications.empty());
  EXPECT_EQ(log.Since({"ep", 0}, 1000).publications.size(), 10u);
}

TEST(StreamLogTest, UnrecoverableWhenEpochDiffersOrOffsetIsBeyondTheTop) {
  HistoryLimits limits;
  StreamLog log("ep", &limits);
  log.Append(Chat("a"), 1000);
  HistoryResult other = log.Since({"old", 1}, 1000);
  EXPECT_FALSE(other.recoverable);
  EXPECT_EQ(other.reason, "epoch changed");
  EXPECT_TRUE(other.publications.empty());
  HistoryResult beyond = log.Since({"ep", 2}, 1000);
  EXPECT_FALSE(beyond.recoverable);
  EXPECT_EQ(beyond.top, (StreamPosition{"ep", 1}));
}

TEST(StreamLogTest, TrimmedHistoryIsUnrecoverableButTheKeptTailIsNot) {
  HistoryLimits limits;
  limits.max_events = 3;
  StreamLog log("ep", &limits);
  for (int i = 0; i < 10; ++i) log.Append(Chat("x"), 1000);
  EXPECT_EQ(log.first_kept_offset(), 8u);
  HistoryResult gone = log.Since({"ep", 6}, 1000);  // needs 7, which is trimmed
  EXPECT_FALSE(gone.recoverable);
  EXPECT_EQ(gone.reason, "history trimmed");
  HistoryResult kept = log.Since({"ep", 7}, 1000);  // needs 8..10, all kept
  ASSERT_TRUE(kept.recoverable);
  ASSERT_EQ(kept.publications.size(), 3u);
  EXPECT_EQ(kept.publications.front().position.offset, 8u);
}

TEST(StreamLogTest, AFloodStaysWithinTheCountAndByteBounds) {
  HistoryLimits limits;
  limits.max_events = 500;
  limits.max_bytes = 20'000;
  StreamLog log("ep", &limits);
  const std::string big(300, 'x');
  size_t max_events_seen = 0, max_bytes_seen = 0;
  for (int i = 0; i < 100'000; ++i) {
    // Small and large events mixed, so each bound is the one that bites in turn.
    log.Append(Chat(i % 3 == 0 ? big : "n"), 1000 + i);
    max_events_seen = std::max(max_events_seen, log.kept_events());
    max_bytes_seen = std::max(max_bytes_seen, log.kept_bytes());
  }
  EXPECT_LE(max_events_seen, limits.max_events);
  EXPECT_LE(max_bytes_seen, limits.max_bytes);
  EXPECT_GT(log.kept_events(), 0u);
  EXPECT_EQ(log.top().offset, 100'000u);
  // What is kept is the newest tail, contiguous up to the top.
  HistoryResult tail = log.Since({"ep", log.first_kept_offset() - 1}, 200'000);
  ASSERT_TRUE(tail.recoverable);
  EXPECT_EQ(tail.publications.size(), log.kept_events());
  EXPECT_EQ(tail.publications.back().position.offset, 100'000u);
}

TEST(StreamLogTest, AFloodOfSmallEventsIsBoundByCount) {
  HistoryLimits limits;
  limits.max_events = 64;
  StreamLog log("ep", &limits);
  for (int i = 0; i < 10'000; ++i) log.Append(Chat("n"), 1000);
  EXPECT_EQ(log.kept_events(), 64u);
  EXPECT_EQ(log.first_kept_offset(), 10'000u - 63u);
}

TEST(StreamLogTest, EventsOlderThanTheAgeBoundAreDropped) {
  HistoryLimits limits;
  limits.max_age_us = 1'000'000;
  StreamLog log("ep", &limits);
  log.Append(Chat("old"), 1'000'000);
  log.Append(Chat("new"), 1'900'000);
  EXPECT_EQ(log.kept_events(), 2u);
  // 1.5 s later the first is past the bound, the second is not.
  HistoryResult r = log.Since({"ep", 1}, 2'500'000);
  ASSERT_TRUE(r.recoverable);
  EXPECT_EQ(r.publications.size(), 1u);
  EXPECT_EQ(log.kept_events(), 1u);
  EXPECT_FALSE(log.Since({"ep", 0}, 2'500'000).recoverable);
}

TEST(StreamLogTest, AnEventLargerThanTheByteBoundIsNotKept) {
  HistoryLimits limits;
  limits.max_bytes = 100;
  StreamLog log("ep", &limits);
  log.Append(Chat(std::string(500, 'x')), 1000);
  EXPECT_EQ(log.kept_events(), 0u);
  EXPECT_EQ(log.top().offset, 1u);
  EXPECT_FALSE(log.Since({"ep", 0}, 1000).recoverable);
  EXPECT_TRUE(log.Since({"ep", 1}, 1000).recoverable);
}

TEST(StreamLogTest, EpochsAreFreshAndUrlSafe) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string e = NewStreamEpoch();
    EXPECT_EQ(e.size(), 11u);
    EXPECT_EQ(
        e.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos);
    seen.insert(e);
  }
  EXPECT_EQ(seen.size(), 200u);
}

}  // namespace
}  // namespace tutti::server
