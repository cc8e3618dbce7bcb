// IdleDeadlines: the timer wheel behind the idle timeout. Times are plain numbers: no
// clock, no timer, no thread. IdleSweeper: the same on an io_context driven by a FakeClock's
// jumps, with sessions that are only ids and a map of when each was last heard (no shard).
#include "server/idle_sweep.h"

#include <map>
#include <optional>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "server/clock.h"

namespace tutti::server {
namespace {

constexpr int64_t kSlot = 250'000;

TEST(IdleDeadlines, NothingFiledMeansNothingDue) {
  IdleDeadlines d(kSlot);
  EXPECT_FALSE(d.NextDueUs().has_value());
  EXPECT_TRUE(d.TakeDue(1'000'000'000).empty());
  EXPECT_EQ(d.size(), 0u);
}

TEST(IdleDeadlines, DueNoEarlierThanTheDeadlineAndAtMostOneSlotAfter) {
  IdleDeadlines d(kSlot);
  d.Add(7, 10'100'000);  // between slot times 10.0 s and 10.25 s
  ASSERT_TRUE(d.NextDueUs().has_value());
  EXPECT_EQ(*d.NextDueUs(), 10'250'000);
  EXPECT_TRUE(d.TakeDue(10'100'000).empty()) << "the slot is not due before its time";
  EXPECT_TRUE(d.TakeDue(10'249'999).empty());
  EXPECT_EQ(d.size(), 1u);
  std::vector<SessionId> due = d.TakeDue(10'250'000);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0], 7u);
  EXPECT_EQ(d.size(), 0u);
  EXPECT_FALSE(d.NextDueUs().has_value());
}

TEST(IdleDeadlines, ADeadlineOnASlotBoundaryIsDueAtIt) {
  IdleDeadlines d(kSlot);
  d.Add(1, 2 * kSlot);
  EXPECT_EQ(*d.NextDueUs(), 2 * kSlot);
  EXPECT_EQ(d.TakeDue(2 * kSlot).size(), 1u);
}

TEST(IdleDeadlines, TakesEveryDueSlotInTimeOrderAndLeavesTheRest) {
  IdleDeadlines d(kSlot);
  d.Add(3, 3 * kSlot);
  d.Add(1, 1 * kSlot);
  d.Add(2, 2 * kSlot);
  d.Add(4, 2 * kSlot);
  d.Add(9, 9 * kSlot);
  std::vector<SessionId> due = d.TakeDue(3 * kSlot);
  EXPECT_EQ(due, (std::vector<SessionId>{1, 2, 4, 3}));
  EXPECT_EQ(d.size(), 1u);
  EXPECT_EQ(*d.NextDueUs(), 9 * kSlot);
}

// The point of the wheel: many filed sessions cost nothing until their time comes. A
// sweep of every session (the old way) would look at all 10,000 at each call.
TEST(IdleDeadlines, ManySessionsAreNotLookedAtBeforeTheirTime) {
  IdleDeadlines d(kSlot);
  for (SessionId id = 1; id <= 10'000; ++id) d.Add(id, 60'000'000 + static_cast<int64_t>(id));
  for (int64_t now = 0; now < 60'000'000; now += kSlot) {
    ASSERT_TRUE(d.TakeDue(now).empty()) << "at " << now;
  }
  EXPECT_EQ(d.size(), 10'000u);
  EXPECT_EQ(d.TakeDue(60'000'000 + kSlot).size(), 10'000u);
}

// The sweeper looks at a session only when its deadline comes, closes it if it stayed
// silent, files it again if it spoke, and skips one that ended. Each step is a jump of the
// injected clock and a poll of the loop: the real timer it also arms is for the same
// deadline, so whether it fires first on a slow machine changes nothing.
TEST(IdleSweeper, ClosesOnlyWhatStayedSilentPastItsDeadline) {
  boost::asio::io_context io;
  FakeClock clock;
  std::map<SessionId, int64_t> heard;
  std::vector<SessionId> closed;
  int looks = 0;
  IdleSweeper sweeper(
      io, clock, /*idle_timeout_ms=*/1000,
      [&](SessionId id) -> std::optional<int64_t> {
        ++looks;
        auto it = heard.find(id);
        if (it == heard.end()) return std::nullopt;
        return it->second;
      },
      [&](SessionId id) {
        closed.push_back(id);
        heard.erase(id);
      });
  const int64_t t0 = clock.NowUs();
  for (SessionId id : {1, 2, 3}) {
    heard[id] = t0;
    sweeper.Track(id);
  }
  heard.erase(3);  // ended before its deadline: looked at, never closed

  clock.AdvanceUs(500'000);
  io.poll();
  EXPECT_TRUE(closed.empty());
  EXPECT_EQ(looks, 0) << "nobody is looked at before a deadline";
  heard[2] = clock.NowUs();  // 2 speaks at +0.5 s: its deadline becomes +1.5 s

  clock.AdvanceUs(600'000);  // +1.1 s
  io.poll();
  EXPECT_EQ(closed, std::vector<SessionId>{1});
  EXPECT_EQ(looks, 3);
  EXPECT_EQ(sweeper.filed(), 1u) << "2 filed again under its real deadline";

  clock.AdvanceUs(500'000);  // +1.6 s
  io.poll();
  EXPECT_EQ(closed, (std::vector<SessionId>{1, 2}));
  EXPECT_EQ(looks, 4);
  EXPECT_EQ(sweeper.filed(), 0u);
  sweeper.Stop();
}

}  // namespace
}  // namespace tutti::server
