#include "server/moderation/auth_failure_tracker.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace tutti::server::moderation {
namespace {

AuthFailureTracker::Options SmallOptions() {
  AuthFailureTracker::Options options;
  options.max_failures = 3;
  options.window_ms = 1000;
  options.ban_ms = 5000;
  options.max_tracked = 4;
  return options;
}

TEST(AuthFailureTrackerTest, BansAfterMaxFailuresInTheWindow) {
  AuthFailureTracker tracker(SmallOptions());
  EXPECT_FALSE(tracker.RecordFailure("192.0.2.1", 100).has_value());
  EXPECT_FALSE(tracker.RecordFailure("192.0.2.1", 200).has_value());
  EXPECT_FALSE(tracker.BannedUntil("192.0.2.1", 200).has_value());
  std::optional<int64_t> until = tracker.RecordFailure("192.0.2.1", 300);
  ASSERT_TRUE(until.has_value());
  EXPECT_EQ(*until, 5300);
  EXPECT_EQ(tracker.BannedUntil("192.0.2.1", 301), 5300);
  EXPECT_EQ(tracker.BannedUntil("192.0.2.1", 5299), 5300);
  EXPECT_FALSE(tracker.BannedUntil("192.0.2.1", 5300).has_value());
  EXPECT_FALSE(tracker.BannedUntil("192.0.2.2", 301).has_value());
  EXPECT_EQ(tracker.stats().bans, 1u);
}

TEST(AuthFailureTrackerTest, FailuresSpreadOverWindowsDoNotBan) {
  AuthFailureTracker tracker(SmallOptions());
  for (int64_t t = 0; t < 10'000; t += 600) {
    EXPECT_FALSE(tracker.RecordFailure("192.0.2.1", t).has_value()) << t;
  }
}

TEST(AuthFailureTrackerTest, FailuresDuringABanDoNotExtendIt) {
  AuthFailureTracker tracker(SmallOptions());
  for (int i = 0; i < 3; ++i) tracker.RecordFailure("192.0.2.1", 0);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(tracker.RecordFailure("192.0.2.1", 4000).has_value());
  EXPECT_EQ(tracker.BannedUntil("192.0.2.1", 4000), 5000);
  // After the ban the count starts from zero.
  EXPECT_FALSE(tracker.RecordFailure("192.0.2.1", 5000).has_value());
  EXPECT_FALSE(tracker.RecordFailure("192.0.2.1", 5001).has_value());
  EXPECT_TRUE(tracker.RecordFailure("192.0.2.1", 5002).has_value());
}

TEST(AuthFailureTrackerTest, Ipv6IsCountedPerSlash64) {
  AuthFailureTracker tracker(SmallOptions());
  tracker.RecordFailure("2001:db8:0:1::1", 0);
  tracker.RecordFailure("2001:db8:0:1::2", 0);
  EXPECT_TRUE(tracker.RecordFailure("2001:db8:0:1:ffff::3", 0).has_value());
  EXPECT_TRUE(tracker.BannedUntil("2001:db8:0:1::abcd", 1).has_value());
  EXPECT_FALSE(tracker.BannedUntil("2001:db8:0:2::1", 1).has_value());
}

TEST(AuthFailureTrackerTest, MappedV4CountsAsV4) {
  AuthFailureTracker tracker(SmallOptions());
  tracker.RecordFailure("::ffff:192.0.2.1", 0);
  tracker.RecordFailure("192.0.2.1", 0);
  EXPECT_TRUE(tracker.RecordFailure("::ffff:192.0.2.1", 0).has_value());
  EXPECT_TRUE(tracker.BannedUntil("192.0.2.1", 1).has_value());
}

TEST(AuthFailureTrackerTest, MemoryIsBounded) {
  AuthFailureTracker tracker(SmallOptions());  // max_tracked = 4
  for (int i = 0; i < 4; ++i) tracker.RecordFailure("10.0.0." + std::to_string(i), 0);
  // Full, and nothing is stale yet: new addresses are not tracked.
  tracker.RecordFailure("10.0.1.1", 10);
  EXPECT_EQ(tracker.stats().tracked, 4u);
  EXPECT_EQ(tracker.stats().untracked, 1u);
  // Once the windows are over, the sweep frees room.
  tracker.RecordFailure("10.0.1.1", 2000);
  EXPECT_EQ(tracker.stats().tracked, 1u);
}

TEST(AuthFailureTrackerTest, BannedEntriesSurviveTheSweep) {
  AuthFailureTracker tracker(SmallOptions());
  for (int i = 0; i < 3; ++i) tracker.RecordFailure("10.9.9.9", 0);  // banned until 5000
  for (int i = 0; i < 3; ++i) tracker.RecordFailure("10.0.0." + std::to_string(i), 0);
  tracker.RecordFailure("10.0.1.1", 2000);  // full: sweeps the three stale entries
  EXPECT_TRUE(tracker.BannedUntil("10.9.9.9", 2000).has_value());
  EXPECT_EQ(tracker.stats().tracked, 2u);
}

TEST(AuthFailureTrackerTest, ThreadSafeUnderConcurrentGates) {
  AuthFailureTracker::Options options;
  options.max_failures = 20;
  options.window_ms = 60'000;
  options.ban_ms = 300'000;
  AuthFailureTracker tracker(options);
  std::atomic<int> bans{0};
  std::vector<std::thread> gates;
  // 4 gates x 10 addresses x 50 failures each: every address passes 20 failures, and
  // exactly one failure per address may report the ban.
  for (int g = 0; g < 4; ++g) {
    gates.emplace_back([&] {
      for (int n = 0; n < 50; ++n) {
        for (int a = 0; a < 10; ++a) {
          if (tracker.RecordFailure("198.51.100." + std::to_string(a), 1000)) ++bans;
          tracker.BannedUntil("198.51.100." + std::to_string(a), 1000);
        }
      }
    });
  }
  for (std::thread& gate : gates) gate.join();
  EXPECT_EQ(bans.load(), 10);
  EXPECT_EQ(tracker.stats().bans, 10u);
}

}  // namespace
}  // namespace tutti::server::moderation
