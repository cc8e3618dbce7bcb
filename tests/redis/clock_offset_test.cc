// ClockOffsetWindow (server/redis/clock_offset.h): the offset between this node's server
// time and Redis's clock, from publish round trips, times given by hand.
#include "server/redis/clock_offset.h"

#include <gtest/gtest.h>

namespace tutti::server::redis {
namespace {

TEST(ClockOffsetWindowTest, EachWindowReportsItsFastestCall) {
  ClockOffsetWindow w(10'000'000);
  // Redis's clock is 250 µs behind: a call sent at 1000 and answered at 1100 was stamped
  // at its middle, 1050 - 250.
  w.Sample(1000, 1100, 800);
  // The first sample is reported at once.
  ASSERT_EQ(w.TakeIfDue(1100), 250);
  // A slow call (queued behind others at Redis) was stamped late in its trip: its middle
  // says less. The fast one of the window wins.
  w.Sample(2'000'000, 2'004'000, 2'003'900 - 250);
  w.Sample(3'000'000, 3'000'040, 3'000'020 - 250);
  w.Sample(4'000'000, 4'009'000, 4'000'100 - 250);
  EXPECT_FALSE(w.TakeIfDue(9'000'000)) << "the window is not over";
  EXPECT_EQ(w.TakeIfDue(12'000'000), 250);
  // A new window, with nothing in it yet, reports nothing.
  EXPECT_FALSE(w.TakeIfDue(40'000'000));
}

TEST(ClockOffsetWindowTest, CallsThatCannotBeRightAreIgnored) {
  ClockOffsetWindow w(10'000'000);
  w.Sample(1000, 900, 800);  // answered before it was sent
  w.Sample(1000, 1100, 0);   // no stamp
  EXPECT_FALSE(w.TakeIfDue(20'000'000));
}

// The operator is told once when the clock strays past the limit (either way), not at
// every estimate while it stays there, and once when it is back within half the limit:
// an offset wavering around the limit does not repeat the warning.
TEST(ClockOffsetAlarmTest, WarnsOnceOverTheLimitAndOnceWhenBackWithinHalfOfIt) {
  using Change = ClockOffsetAlarm::Change;
  ClockOffsetAlarm a(20'000);
  EXPECT_EQ(a.Observe(300), Change::kNone);
  EXPECT_EQ(a.Observe(20'000), Change::kNone) << "at the limit is within it";
  EXPECT_EQ(a.Observe(-25'000), Change::kOver);
  EXPECT_EQ(a.Observe(-30'000), Change::kNone);
  EXPECT_EQ(a.Observe(19'000), Change::kNone) << "under the limit but not within half";
  EXPECT_EQ(a.Observe(21'000), Change::kNone);
  EXPECT_EQ(a.Observe(10'000), Change::kBack);
  EXPECT_EQ(a.Observe(9'000), Change::kNone);
  EXPECT_EQ(a.Observe(40'000), Change::kOver);
}

}  // namespace
}  // namespace tutti::server::redis
