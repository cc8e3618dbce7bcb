#include "midi/stamper.h"

#include <algorithm>
#include <cstdint>
#include <random>

#include "gtest/gtest.h"

namespace tutti::midi {
namespace {

StampInput Synced(int64_t client, int64_t arrival, int64_t span = 0, int64_t err = 2000) {
  StampInput in;
  in.client_time_us = client;
  in.arrival_us = arrival;
  in.span_us = span;
  in.synced = true;
  in.error_bound_us = err;
  return in;
}

StampInput Unsynced(int64_t arrival, int64_t span = 0) {
  StampInput in;
  in.arrival_us = arrival;
  in.span_us = span;
  return in;
}

TEST(StamperTest, SyncedInBoundsKeepsSourceTime) {
  Stamper s;
  StampOutput o = s.Stamp(Synced(970000, 1000000, 5000));
  EXPECT_EQ(o.stamped_us, 970000);
  EXPECT_EQ(o.flags, 0u);
  EXPECT_EQ(o.max_delay_us, 5000);
  o = s.Stamp(Synced(980000, 1010000, 0));
  EXPECT_EQ(o.stamped_us, 980000);
  EXPECT_EQ(o.flags, 0u);
}

TEST(StamperTest, EndAfterArrivalWithinErrorBoundAccepted) {
  Stamper s;
  // End = 1,003,000 = arrival + 3 ms, error bound 4 ms.
  StampOutput o = s.Stamp(Synced(1000000, 1000000, 3000, 4000));
  EXPECT_EQ(o.stamped_us, 1000000);
  EXPECT_EQ(o.flags, 0u);
}

TEST(StamperTest, FutureBeyondErrorBoundIsClamped) {
  Stamper s;
  StampOutput o = s.Stamp(Synced(1010000, 1000000, 2000, 4000));
  EXPECT_EQ(o.stamped_us, 1000000 + 4000 - 2000) << "batch end lands on arrival + error bound";
  EXPECT_EQ(o.flags, kFlagClamped);
  EXPECT_EQ(o.max_delay_us, 2000) << "spacing kept";
}

TEST(StamperTest, ErrorBoundIsCappedAndFloored) {
  Stamper s;  // cap 25 ms, floor 1 ms
  StampOutput o = s.Stamp(Synced(2000000 + 10000000, 2000000, 0, 5000000));
  EXPECT_EQ(o.stamped_us, 2000000 + 25000);
  EXPECT_EQ(o.flags, kFlagClamped);
  Stamper t;
  o = t.Stamp(Synced(2000000 + 900, 2000000, 0, 0));
  EXPECT_EQ(o.stamped_us, 2000000 + 900) << "a 0 error bound still allows the 1 ms floor";
  EXPECT_EQ(o.flags, 0u);
}

TEST(StamperTest, TooOldIsClamped) {
  Stamper s;
  StampOutput o = s.Stamp(Synced(1000000, 5000000, 1000));
  EXPECT_EQ(o.stamped_us, 5000000 - 2000000);
  EXPECT_EQ(o.flags, kFlagClamped);
  EXPECT_EQ(o.max_delay_us, 1000);
}

TEST(StamperTest, NeverBackwardsPerSender) {
  Stamper s;
  StampOutput a = s.Stamp(Synced(1000000, 1030000, 10000));
  EXPECT_EQ(a.flags, 0u);
  // Claims to start before the previous batch ended.
  StampOutput b = s.Stamp(Synced(1005000, 1031000, 2000));
  EXPECT_EQ(b.stamped_us, 1010000);
  EXPECT_EQ(b.flags, kFlagClamped);
  EXPECT_EQ(s.last_end_us(), 1012000);
}

TEST(StamperTest, StartingExactlyAtPreviousEndIsNotClamped) {
  Stamper s;
  s.Stamp(Synced(1000000, 1030000, 10000));
  StampOutput b = s.Stamp(Synced(1010000, 1040000, 0));
  EXPECT_EQ(b.stamped_us, 1010000);
  EXPECT_EQ(b.flags, 0u);
}

TEST(StamperTest, UnsyncedStampedOnArrivalSpacingKept) {
  Stamper s;
  StampOutput o = s.Stamp(Unsynced(1000000, 6000));
  EXPECT_EQ(o.stamped_us, 994000) << "last event lands on arrival";
  EXPECT_EQ(o.max_delay_us, 6000);
  EXPECT_EQ(o.flags, kFlagRestamped);
  o = s.Stamp(Unsynced(1020000, 0));
  EXPECT_EQ(o.stamped_us, 1020000);
  EXPECT_EQ(o.flags, kFlagRestamped);
}

TEST(StamperTest, ZeroClientTimeMeansUnsyncedEvenIfFlaggedSynced) {
  Stamper s;
  StampOutput o = s.Stamp(Synced(0, 1000000, 0));
  EXPECT_EQ(o.stamped_us, 1000000);
  EXPECT_EQ(o.flags, kFlagRestamped);
}

TEST(StamperTest, UnsyncedBunchedArrivalsKeepSpacingViaFloor) {
  Stamper s;
  s.Stamp(Unsynced(1000000, 0));
  StampOutput o = s.Stamp(Unsynced(1000000, 5000));
  EXPECT_EQ(o.stamped_us, 1000000);
  EXPECT_EQ(o.max_delay_us, 5000);
  EXPECT_EQ(o.flags, kFlagRestamped | kFlagClamped);
}

TEST(StamperTest, OversizedSpanIsClampedOrRefused) {
  Stamper s;
  EXPECT_TRUE(s.CheckSpan(0).ok());
  EXPECT_TRUE(s.CheckSpan(1000000).ok());
  EXPECT_EQ(s.CheckSpan(1000001).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.CheckSpan(-1).code(), absl::StatusCode::kInvalidArgument);
  StampOutput o = s.Stamp(Synced(10000000, 70000000, 60000000));
  EXPECT_EQ(o.max_delay_us, 1000000);
  EXPECT_NE(o.flags & kFlagClamped, 0u);
  EXPECT_LE(o.stamped_us + o.max_delay_us, 70000000 + 25000);
  EXPECT_GE(o.stamped_us, 70000000 - 2000000);
  EXPECT_EQ(o.ClampDelay(59000000), 1000000);
  EXPECT_EQ(o.ClampDelay(-5), 0);
  EXPECT_EQ(o.ClampDelay(1234), 1234);
}

TEST(StamperTest, FloodOfLongSpansIsBoundedByTheLeadLimit) {
  Stamper s;
  for (int i = 0; i < 1000; ++i) {
    const int64_t arrival = 10000000 + i * 1000;
    StampOutput o = s.Stamp(Synced(arrival + 10000000, arrival, 1000000, 25000));
    EXPECT_EQ(o.max_delay_us, 1000000) << "spacing kept";
    EXPECT_LE(o.stamped_us + o.max_delay_us, arrival + s.options().max_lead_us);
    EXPECT_GE(o.stamped_us, arrival - s.options().max_age_us);
  }
}

TEST(StamperTest, FloorPushesABatchLaterWithItsSpacingKept) {
  Stamper s;
  StampOutput a = s.Stamp(Synced(1020000, 1000000, 0, 25000));
  EXPECT_EQ(a.stamped_us, 1020000);
  // Next batch from a poorly synced sender: the floor (1,020,000) already sits past its
  // arrival + lead. It starts on the floor, whole.
  StampOutput b = s.Stamp(Synced(1001000, 1001000, 10000, 1000));
  EXPECT_EQ(b.stamped_us, 1020000);
  EXPECT_EQ(b.max_delay_us, 10000);
  EXPECT_EQ(b.flags, kFlagClamped);
}

// The review's case: an unsynced sender's note-on, then 20 ms later a batch with a note-off at
// +100 ms and a CC at +150 ms. Its anchor (arrival - 150 ms) falls before the previous batch, so
// the floor moves it; the two events must still be 50 ms apart (they used to be cut to the
// same +45 ms and arrive together).
TEST(StamperTest, UnsyncedBatchPushedByTheFloorKeepsItsSpacing) {
  Stamper s;
  StampOutput on = s.Stamp(Unsynced(1000000, 0));
  EXPECT_EQ(on.stamped_us, 1000000);
  StampOutput b = s.Stamp(Unsynced(1020000, 150000));
  EXPECT_EQ(b.stamped_us, 1000000) << "starts where the previous batch ended";
  EXPECT_EQ(b.max_delay_us, 150000);
  EXPECT_EQ(b.ClampDelay(100000), 100000);
  EXPECT_EQ(b.ClampDelay(150000), 150000);
  EXPECT_EQ(b.flags, kFlagRestamped | kFlagClamped);
}

TEST(StamperTest, PastTheLeadLimitABatchOverlapsInsteadOfShrinking) {
  StamperOptions opt;
  opt.max_lead_us = 100000;
  Stamper s(opt);
  s.Stamp(Unsynced(1000000, 0));
  s.Stamp(Unsynced(1000000, 90000));  // floor 1,000,000 -> ends at 1,090,000 (lead 90 ms)
  StampOutput c = s.Stamp(Unsynced(1000000, 50000));
  // On the floor it would end at 1,140,000, 140 ms ahead: it starts at 1,050,000 instead.
  EXPECT_EQ(c.stamped_us, 1050000);
  EXPECT_EQ(c.max_delay_us, 50000);
  EXPECT_EQ(s.last_end_us(), 1100000);
}

TEST(StamperTest, ArrivalGoingBackwardsDoesNotMoveBounds) {
  Stamper s;
  s.Stamp(Synced(4990000, 5000000));
  StampOutput o = s.Stamp(Synced(1000000, 1000000));
  EXPECT_GE(o.stamped_us, 4990000);
  EXPECT_NE(o.flags & kFlagClamped, 0u);
}

TEST(StamperTest, SendersAreIndependent) {
  Stamper a;
  Stamper b;
  a.Stamp(Synced(5000000, 5000000, 0, 25000));
  StampOutput o = b.Stamp(Synced(4000000, 4100000));
  EXPECT_EQ(o.stamped_us, 4000000);
  EXPECT_EQ(o.flags, 0u);
}

TEST(StamperTest, RandomAbuseKeepsInvariants) {
  std::mt19937_64 rng(7);
  Stamper s;
  const StamperOptions& o = s.options();
  int64_t arrival = 50000000;
  int64_t prev_end = INT64_MIN;
  for (int i = 0; i < 20000; ++i) {
    arrival += static_cast<int64_t>(rng() % 20000);
    StampInput in;
    in.synced = rng() % 4 != 0;
    in.client_time_us = arrival + static_cast<int64_t>(rng() % 20000001) - 10000000;
    in.arrival_us = arrival;
    in.span_us = static_cast<int64_t>(rng() % 60000001) - 1000;
    in.error_bound_us = static_cast<int64_t>(rng() % 100000) - 10;
    const StampOutput out = s.Stamp(in);
    ASSERT_EQ(out.max_delay_us, std::clamp<int64_t>(in.span_us, 0, o.max_span_us));
    ASSERT_LE(out.stamped_us + out.max_delay_us, arrival + o.max_lead_us);
    ASSERT_GE(out.stamped_us, arrival - o.max_age_us - o.max_span_us);
    if (prev_end != INT64_MIN && prev_end + out.max_delay_us <= arrival + o.max_lead_us) {
      ASSERT_GE(out.stamped_us, prev_end);
    }
    prev_end = std::max(prev_end, out.stamped_us + out.max_delay_us);
  }
}

TEST(StamperTest, OptionsAreNormalized) {
  StamperOptions o;
  o.max_ahead_cap_us = 10;
  o.min_ahead_us = 500;
  o.max_age_us = 100;
  o.max_span_us = 1000;
  o.max_lead_us = 5;
  Stamper s(o);
  EXPECT_EQ(s.options().min_ahead_us, 10);
  EXPECT_EQ(s.options().max_span_us, 100);
  EXPECT_EQ(s.options().max_lead_us, 10) << "never below the cap";
}

}  // namespace
}  // namespace tutti::midi
