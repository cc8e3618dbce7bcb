// AcceptBackoff: the pause schedule and the one-line-per-episode accounting.
#include "server/accept_backoff.h"

#include <gtest/gtest.h>

namespace tutti::server {
namespace {

TEST(AcceptBackoff, DoublesFromFiftyMillisecondsToOneSecond) {
  AcceptBackoff b;
  const int64_t expected[] = {50, 100, 200, 400, 800, 1000, 1000};
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; ++i) {
    AcceptBackoff::Pause p = b.Failed(static_cast<int64_t>(i) * 10);
    EXPECT_EQ(p.delay_ms, expected[i]) << i;
    EXPECT_EQ(p.episode_started, i == 0) << i;
  }
}

TEST(AcceptBackoff, ASuccessEndsTheEpisodeWithItsCountAndResetsTheDelay) {
  AcceptBackoff b;
  EXPECT_FALSE(b.Succeeded(0).has_value());
  b.Failed(1000);
  b.Failed(1050);
  b.Failed(1150);
  EXPECT_TRUE(b.in_episode());
  std::optional<AcceptBackoff::Episode> e = b.Succeeded(1400);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->failures, 3u);
  EXPECT_EQ(e->duration_ms, 400);
  EXPECT_FALSE(b.in_episode());
  EXPECT_FALSE(b.Succeeded(1500).has_value());
  AcceptBackoff::Pause p = b.Failed(2000);
  EXPECT_TRUE(p.episode_started);
  EXPECT_EQ(p.delay_ms, AcceptBackoff::kFirstDelayMs);
}

}  // namespace
}  // namespace tutti::server
