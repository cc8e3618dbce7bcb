// The playout policy (midi/playout.h): when and how far the offset in use may move.
#include "midi/playout.h"

#include "gtest/gtest.h"

namespace tutti::midi {
namespace {

constexpr int64_t kMs = 1000;
constexpr int64_t kSixteenth = 125 * kMs;  // at 120 bpm

TEST(PlayoutOffsetTest, FirstBatchTakesTheTarget) {
  PlayoutOffset p;
  EXPECT_EQ(p.Next(80 * kMs, 30 * kMs, 0, 0), 80 * kMs);
  EXPECT_EQ(p.counters().moves, 0u);
}

TEST(PlayoutOffsetTest, InsideAPhraseItMovesAtMostOnePercentOfTheInterval) {
  PlayoutOffset p;
  p.Next(50 * kMs, 30 * kMs, 0, 0);
  // Up toward 80 ms: 1.25 ms per sixteenth.
  EXPECT_EQ(p.Next(80 * kMs, 30 * kMs, kSixteenth, kSixteenth), 51250);
  EXPECT_EQ(p.Next(80 * kMs, 30 * kMs, kSixteenth, kSixteenth), 52500);
  // Down toward 40 ms: the same.
  EXPECT_EQ(p.Next(40 * kMs, 30 * kMs, kSixteenth, kSixteenth), 51250);
  // Batches with one stamp (ioi 0: a chord split over batches) do not move it at all.
  EXPECT_EQ(p.Next(40 * kMs, 30 * kMs, 0, 0), 51250);
  EXPECT_EQ(p.counters().moves, 3u);
  EXPECT_EQ(p.counters().rest_jumps, 0u);
}

TEST(PlayoutOffsetTest, InARestItJumpsToTheTarget) {
  PlayoutOffset p;
  p.Next(50 * kMs, 30 * kMs, 0, 0);
  EXPECT_EQ(p.Next(90 * kMs, 30 * kMs, 999 * kMs, 1100 * kMs), 50 * kMs + 0)
      << "a gap under rest_us is not a rest (the interval is too long to stretch in)";
  EXPECT_EQ(p.Next(90 * kMs, 30 * kMs, 1000 * kMs, 1100 * kMs), 90 * kMs);
  EXPECT_EQ(p.Next(20 * kMs, 10 * kMs, 3000 * kMs, 3000 * kMs), 20 * kMs);
  EXPECT_EQ(p.counters().rest_jumps, 2u);
}

TEST(PlayoutOffsetTest, ALateBatchTheEstimatorExpectsCatchesTheOffsetUp) {
  PlayoutOffset p;
  p.Next(50 * kMs, 30 * kMs, 0, 0);
  // Transit 60 ms, target now 70: the batch plays at arrival (offset 60), not at 51.25.
  EXPECT_EQ(p.Next(70 * kMs, 60 * kMs, kSixteenth, kSixteenth), 60 * kMs);
  EXPECT_EQ(p.counters().catch_ups, 1u);
  EXPECT_EQ(p.counters().stall_lifts, 0u);
}

PlayoutOptions WithLifts() {
  PlayoutOptions o;
  o.max_stall_lift_us = 300000;
  return o;
}

TEST(PlayoutOffsetTest, AStallLiftsTheOffsetThenGivesItBackFaster) {
  PlayoutOffset p(WithLifts());
  p.Next(50 * kMs, 30 * kMs, 0, 0);
  // 250 ms transit against a 50 ms target: a stall. Lifted to play its backlog spaced.
  EXPECT_EQ(p.Next(50 * kMs, 250 * kMs, kSixteenth, kSixteenth), 250 * kMs);
  EXPECT_EQ(p.counters().stall_lifts, 1u);
  // The backlog (sent later, arrived with it, still late beyond the target) keeps the lift.
  EXPECT_EQ(p.Next(50 * kMs, 125 * kMs, kSixteenth, kSixteenth), 250 * kMs);
  // Once batches arrive in time again, it is given back at 5 % of each interval.
  int64_t o = p.Next(50 * kMs, 30 * kMs, kSixteenth, kSixteenth);
  EXPECT_EQ(o, 250 * kMs - 6250) << "5 % of a sixteenth";
  // Recovery at 5 % until within 20 ms of the target, then 1 %.
  for (int i = 0; i < 100 && o - 50 * kMs > 20 * kMs; ++i) {
    const int64_t next = p.Next(50 * kMs, 30 * kMs, kSixteenth, kSixteenth);
    EXPECT_EQ(o - next, 6250);
    o = next;
  }
  EXPECT_LE(o - 50 * kMs, 20 * kMs);
  EXPECT_EQ(o - p.Next(50 * kMs, 30 * kMs, kSixteenth, kSixteenth), 1250);
}

TEST(PlayoutOffsetTest, SlightlyLateOrVeryLateBatchesDoNotLift) {
  PlayoutOffset p(WithLifts());
  p.Next(50 * kMs, 30 * kMs, 0, 0);
  // 10 ms beyond the target: played at once (late), the offset stays.
  EXPECT_EQ(p.Next(50 * kMs, 60 * kMs, kSixteenth, kSixteenth), 50 * kMs);
  // Beyond max_stall_lift_us: past the grace window anyway.
  EXPECT_EQ(p.Next(50 * kMs, 400 * kMs, kSixteenth, kSixteenth), 50 * kMs);
  EXPECT_EQ(p.counters().moves, 0u);
  PlayoutOffset q;
  q.Next(50 * kMs, 30 * kMs, 0, 0);
  EXPECT_EQ(q.Next(50 * kMs, 250 * kMs, kSixteenth, kSixteenth), 50 * kMs) << "off by default";
}

TEST(PlayoutOffsetTest, ResetTakesTheNextTargetAsIs) {
  PlayoutOffset p;
  p.Next(50 * kMs, 30 * kMs, 0, 0);
  p.Reset();
  EXPECT_FALSE(p.has_offset());
  EXPECT_EQ(p.Next(120 * kMs, 30 * kMs, kSixteenth, kSixteenth), 120 * kMs);
}

}  // namespace
}  // namespace tutti::midi
