// Token bucket: burst, refill in server time, costs above the burst.
#include "server/token_bucket.h"

#include <gtest/gtest.h>

namespace tutti::server {
namespace {

TEST(TokenBucket, StartsFullAndRefillsAtRate) {
  TokenBucket b(2.0, 4.0, 0);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(b.TryTake(1, 0));
  EXPECT_FALSE(b.TryTake(1, 0));
  EXPECT_FALSE(b.TryTake(1, 499'999));  // 0.99 tokens after ~0.5 s
  EXPECT_TRUE(b.TryTake(1, 500'000));
  EXPECT_FALSE(b.TryTake(1, 500'000));
}

TEST(TokenBucket, NeverExceedsBurst) {
  TokenBucket b(1000.0, 3.0, 0);
  EXPECT_NEAR(b.Available(10'000'000), 3.0, 1e-9);
  EXPECT_FALSE(b.TryTake(4, 10'000'000));
  EXPECT_TRUE(b.TryTake(3, 10'000'000));
}

TEST(TokenBucket, ClockGoingBackwardsAddsNothing) {
  TokenBucket b(1.0, 1.0, 1'000'000);
  EXPECT_TRUE(b.TryTake(1, 1'000'000));
  EXPECT_FALSE(b.TryTake(1, 0));
  EXPECT_FALSE(b.TryTake(1, 1'500'000));
  EXPECT_TRUE(b.TryTake(1, 2'000'000));
}

TEST(TokenBucket, FractionalCosts) {
  TokenBucket b(0.0, 1.0, 0);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(b.TryTake(0.25, 0));
  EXPECT_FALSE(b.TryTake(0.25, 0));
}

}  // namespace
}  // namespace tutti::server
