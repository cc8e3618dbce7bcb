#include "midi/clock_sync.h"

#include <cmath>
#include <cstdint>

#include "gtest/gtest.h"

namespace tutti::midi {
namespace {

// A client whose clock reads true + offset (+ skew), talking over fixed one-way delays.
struct FakeLink {
  int64_t offset = 0;  // local = true * (1 + skew) + offset
  double skew = 0;     // dimensionless
  int64_t up = 20000;  // one-way delays, us
  int64_t down = 20000;
  int64_t server_epoch = 5000000000;

  int64_t Local(int64_t t) const {
    return t + std::llround(static_cast<double>(t) * skew) + offset;
  }
  int64_t Server(int64_t t) const { return t + server_epoch; }
  // Exchange starting at true time t; returns false if ClockSync rejected it.
  bool Exchange(ClockSync* cs, int64_t t, int64_t extra_up = 0, int64_t extra_down = 0) const {
    const int64_t t1 = Local(t);
    const int64_t t2 = Server(t + up + extra_up);
    const int64_t t3 = t2 + 30;
    const int64_t t4 = Local(t + up + extra_up + 30 + down + extra_down);
    return cs->OnSample(t1, t2, t3, t4);
  }
  // True server - local at true time t.
  double TrueOffset(int64_t t) const { return static_cast<double>(Server(t) - Local(t)); }
};

TEST(ClockSyncTest, IdentityBeforeAnySample) {
  ClockSync cs;
  EXPECT_FALSE(cs.has_estimate());
  EXPECT_EQ(cs.ServerTimeFromLocal(1234), 1234);
  EXPECT_EQ(cs.LocalFromServer(1234), 1234);
  EXPECT_FALSE(cs.Status(0).synced);
}

TEST(ClockSyncTest, SymmetricPathGivesExactOffsetAndLocksAfterFourSamples) {
  ClockSync cs;
  FakeLink link;
  link.offset = -777000000;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(link.Exchange(&cs, 1000000 + i * 100000));
  EXPECT_TRUE(cs.has_estimate());
  EXPECT_FALSE(cs.locked());
  ASSERT_TRUE(link.Exchange(&cs, 1300000));
  EXPECT_TRUE(cs.locked());
  const int64_t local = link.Local(1400000);
  EXPECT_NEAR(static_cast<double>(cs.ServerTimeFromLocal(local)), link.Server(1400000), 20);
  const ClockSyncStatus st = cs.Status(local);
  EXPECT_TRUE(st.synced);
  EXPECT_NEAR(static_cast<double>(st.offset_us), link.TrueOffset(1400000), 20);
  // Half the round trip bounds the unseen asymmetry.
  EXPECT_GE(st.error_bound_us, 20000);
  EXPECT_LE(st.error_bound_us, 22000);
}

TEST(ClockSyncTest, RejectsImpossibleSamples) {
  ClockSync cs;
  EXPECT_FALSE(cs.OnSample(100, 50, 60, 90));   // t4 < t1
  EXPECT_FALSE(cs.OnSample(100, 60, 50, 200));  // t3 < t2
  EXPECT_FALSE(cs.has_estimate());
}

TEST(ClockSyncTest, MappingsAreInverse) {
  ClockSync cs;
  FakeLink link;
  link.offset = 123456789;
  link.skew = 80e-6;
  for (int i = 0; i < 40; ++i) link.Exchange(&cs, 1000000 + i * 500000);
  for (int64_t local : {int64_t{0}, int64_t{123456789}, int64_t{999999999999}}) {
    EXPECT_NEAR(static_cast<double>(cs.ServerTimeFromLocal(cs.LocalFromServer(local))), local, 1);
  }
}

TEST(ClockSyncTest, MinimumDelaySamplesWinOverDelayedOnes) {
  ClockSync cs;
  FakeLink link;
  link.offset = 1000;
  // Every other exchange queued 30 ms on one leg only: a naive average would be 7.5 ms off.
  for (int i = 0; i < 16; ++i) {
    link.Exchange(&cs, 1000000 + i * 100000, (i % 2) ? 30000 : 0, 0);
  }
  EXPECT_NEAR(cs.EstimatedOffset(link.Local(2700000)), link.TrueOffset(2700000), 50);
}

TEST(ClockSyncTest, AfterLockTheOffsetSlewsAtMostHalfAMillisecondPerSecond) {
  ClockSyncOptions o;
  ClockSync cs(o);
  FakeLink link;
  int64_t t = 1000000;
  for (int i = 0; i < 8; ++i, t += 100000) link.Exchange(&cs, t);
  ASSERT_TRUE(cs.locked());
  const uint64_t epoch = cs.epoch();
  // The server's clock moves 15 ms (under the step threshold): a real offset change.
  link.server_epoch += 15000;
  const int64_t before = cs.ServerTimeFromLocal(link.Local(t));
  double prev_offset = static_cast<double>(cs.Status(link.Local(t)).offset_us);
  for (int i = 0; i < 100; ++i, t += 500000) {
    link.Exchange(&cs, t);
    // Beyond the fitted skew (a rate, not a correction), the offset moves <= 0.5 ms/s.
    const ClockSyncStatus st = cs.Status(link.Local(t + 500000));
    const double off = static_cast<double>(st.offset_us);
    EXPECT_LE(std::abs(off - prev_offset - st.skew_ppm * 0.5), 0.5e-3 * 500000 + 2) << i;
    prev_offset = off;
  }
  EXPECT_EQ(cs.epoch(), epoch) << "no step once locked";
  EXPECT_GT(cs.ServerTimeFromLocal(link.Local(t)), before);
  // After 50 s the 15 ms have been slewed in.
  EXPECT_NEAR(static_cast<double>(cs.ServerTimeFromLocal(link.Local(t))), link.Server(t), 1000);
}

TEST(ClockSyncTest, AJumpBeyondTheThresholdStepsAndRestartsTheWindow) {
  ClockSync cs;
  FakeLink link;
  int64_t t = 1000000;
  for (int i = 0; i < 10; ++i, t += 100000) link.Exchange(&cs, t);
  const uint64_t epoch = cs.epoch();
  link.server_epoch -= 3000000;  // server restarted: its clock is 3 s behind
  link.Exchange(&cs, t);
  t += 100000;
  EXPECT_EQ(cs.anomalies(), 1u);
  EXPECT_GT(cs.epoch(), epoch);
  EXPECT_NEAR(static_cast<double>(cs.ServerTimeFromLocal(link.Local(t))), link.Server(t), 100);
  EXPECT_EQ(cs.NextPingDelay(link.Local(t)), 0) << "re-burst after an anomaly";
}

TEST(ClockSyncTest, FitsSkew) {
  ClockSync cs;
  FakeLink link;
  link.skew = 100e-6;
  link.offset = 42;
  int64_t t = 1000000;
  for (int i = 0; i < 130; ++i, t += 500000) {
    // Deterministic pseudo-jitter on both legs; every 7th exchange is clean.
    const int64_t j1 = (i % 7 == 0) ? 0 : (i * 7919) % 9000;
    const int64_t j2 = (i % 7 == 0) ? 0 : (i * 104729) % 11000;
    link.Exchange(&cs, t, j1, j2);
  }
  // d(server - local)/d(local) = -skew / (1 + skew).
  EXPECT_NEAR(cs.skew_ppm(), -100 / 1.0001, 2);
  EXPECT_NEAR(static_cast<double>(cs.ServerTimeFromLocal(link.Local(t))), link.Server(t), 300);
}

TEST(ClockSyncTest, AsymmetricPathErrorStaysWithinTheReportedBound) {
  ClockSync cs;
  FakeLink link;
  link.up = 45000;
  link.down = 10000;
  int64_t t = 1000000;
  for (int i = 0; i < 20; ++i, t += 200000) link.Exchange(&cs, t);
  const int64_t local = link.Local(t);
  const double err = static_cast<double>(cs.ServerTimeFromLocal(local) - link.Server(t));
  EXPECT_NEAR(std::abs(err), 17500, 100) << "(45 - 10) / 2 ms cannot be seen";
  EXPECT_LE(std::abs(err), static_cast<double>(cs.Status(local).error_bound_us));
}

TEST(ClockSyncTest, PingScheduleBurstsThenSettles) {
  ClockSyncOptions o;
  o.burst_pings = 3;
  o.burst_interval_us = 100000;
  o.ping_interval_us = 2000000;
  ClockSync cs(o);
  EXPECT_EQ(cs.NextPingDelay(0), 0);
  cs.OnPingSent(0);
  EXPECT_EQ(cs.NextPingDelay(0), 100000);
  EXPECT_EQ(cs.NextPingDelay(40000), 60000);
  cs.OnPingSent(100000);
  cs.OnPingSent(200000);
  EXPECT_EQ(cs.NextPingDelay(200000), 2000000);
  EXPECT_EQ(cs.NextPingDelay(5000000), 0);
  cs.OnReconnect();
  EXPECT_EQ(cs.NextPingDelay(5000000), 0);
  cs.OnPingSent(5000000);
  EXPECT_EQ(cs.NextPingDelay(5000000), 100000);
}

TEST(ClockSyncTest, PathGettingSlowerRestartsTheWindowWithoutFakingSkew) {
  ClockSync cs;
  FakeLink link;
  int64_t t = 1000000;
  for (int i = 0; i < 80; ++i, t += 500000) link.Exchange(&cs, t);
  link.up += 40000;  // route change on one leg
  for (int i = 0; i < 80; ++i, t += 500000) link.Exchange(&cs, t);
  EXPECT_GE(cs.path_changes(), 1u);
  EXPECT_LT(std::abs(cs.skew_ppm()), 5);
}

}  // namespace
}  // namespace tutti::midi
