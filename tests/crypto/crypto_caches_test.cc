#include <string>
#include <thread>
#include <vector>

#include "crypto/replay_cache.h"
#include "crypto/token_cache.h"
#include "gtest/gtest.h"

namespace tutti::crypto {
namespace {

TEST(ReplayCacheTest, SecondUseWithinExpiryIsRefused) {
  ReplayCache cache(100);
  EXPECT_TRUE(cache.Insert("a", 1000, 2000));
  EXPECT_FALSE(cache.Insert("a", 1500, 2500));
  EXPECT_FALSE(cache.Insert("a", 1999, 3000));
  EXPECT_TRUE(cache.Insert("b", 1999, 3000));
  EXPECT_EQ(cache.size(), 2u);
}

TEST(ReplayCacheTest, IdIsUsableAgainAfterExpiry) {
  ReplayCache cache(100);
  EXPECT_TRUE(cache.Insert("a", 1000, 2000));
  EXPECT_TRUE(cache.Insert("a", 2000, 3000));  // expiry is exclusive
  EXPECT_FALSE(cache.Insert("a", 2999, 4000));
}

TEST(ReplayCacheTest, ExpiredEntriesArePruned) {
  ReplayCache cache(100000);
  for (int i = 0; i < 500; ++i) EXPECT_TRUE(cache.Insert("id" + std::to_string(i), 0, 100));
  EXPECT_EQ(cache.size(), 500u);
  // Enough later inserts to touch every stripe, each pruning its expired front.
  for (int i = 0; i < 1000; ++i) cache.Insert("late" + std::to_string(i), 200, 300);
  EXPECT_EQ(cache.size(), 1000u);
  EXPECT_EQ(cache.evictions(), 0u);
}

TEST(ReplayCacheTest, StaysBoundedAndCountsEvictions) {
  ReplayCache cache(64);
  for (int i = 0; i < 10000; ++i) cache.Insert("id" + std::to_string(i), 0, 1000000);
  EXPECT_LE(cache.size(), 64u);
  EXPECT_GE(cache.evictions(), 10000u - 64u);
  // The most recent ids are still remembered.
  EXPECT_FALSE(cache.Insert("id9999", 1, 1000000));
}

TEST(ReplayCacheTest, ExactlyOneConcurrentInsertWins) {
  ReplayCache cache(100000);
  constexpr int kThreads = 4;
  constexpr int kIds = 2000;
  std::vector<int> wins(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&cache, &wins, t] {
      for (int i = 0; i < kIds; ++i) {
        if (cache.Insert("id" + std::to_string((i + t * 37) % kIds), 0, 1000)) ++wins[t];
      }
    });
  }
  for (std::thread& th : threads) th.join();
  int total = 0;
  for (int w : wins) total += w;
  EXPECT_EQ(total, kIds);
}

TokenClaims Claims(const std::string& sub) {
  TokenClaims c;
  c.sub = sub;
  c.exp = 100;
  return c;
}

TEST(TokenCacheTest, HitsUntilDropTime) {
  TokenCache cache(16);
  TokenClaims out;
  EXPECT_FALSE(cache.Lookup("t1", 0, &out));
  cache.Insert("t1", Claims("u1"), 130, 0);
  ASSERT_TRUE(cache.Lookup("t1", 129, &out));
  EXPECT_EQ(out.sub, "u1");
  EXPECT_FALSE(cache.Lookup("t1", 130, &out));
  EXPECT_EQ(cache.size(), 0u);  // the dead entry was removed
  EXPECT_FALSE(cache.Lookup("t2", 0, &out));
}

TEST(TokenCacheTest, StaysBoundedPreferringToDropExpired) {
  TokenCache cache(64);  // 8 stripes of 8
  for (int i = 0; i < 1000; ++i) {
    cache.Insert("t" + std::to_string(i), Claims("u"), 1000 + i, 0);
  }
  EXPECT_LE(cache.size(), 64u);
  TokenClaims out;
  EXPECT_TRUE(cache.Lookup("t999", 0, &out));  // newest survive
}

TEST(TokenCacheTest, ZeroCapacityDisables) {
  TokenCache cache(0);
  cache.Insert("t", Claims("u"), 100, 0);
  TokenClaims out;
  EXPECT_FALSE(cache.Lookup("t", 0, &out));
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace tutti::crypto
