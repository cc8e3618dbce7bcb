#include "midi/delay_estimator.h"

#include "gtest/gtest.h"

namespace tutti::midi {
namespace {

constexpr int64_t kMs = 1000;

// Feeds n samples at `every` spacing with a repeating transit pattern; returns the time after.
int64_t Feed(DelayEstimator* d, int64_t t, int n, int64_t every, std::initializer_list<int64_t> pat,
             int64_t ioi = 125 * kMs) {
  for (int i = 0; i < n; ++i, t += every) {
    d->AddSample(*(pat.begin() + i % pat.size()), t);
    d->TargetForBatch(ioi, t);
  }
  return t;
}

TEST(DelayEstimatorTest, TargetIsHighPercentilePlusMarginWithinBounds) {
  DelayEstimator d;
  Feed(&d, 0, 400, 100 * kMs, {40 * kMs, 42 * kMs, 45 * kMs, 50 * kMs});
  EXPECT_NEAR(d.target_us(), 50 * kMs + DelayOptions{}.render_margin_us, kMs);
  DelayOptions o;
  o.min_delay_us = 80 * kMs;
  d.set_options(o);
  EXPECT_GE(d.TargetForBatch(125 * kMs, 40000 * kMs), 80 * kMs);
  DelayEstimator tiny;
  Feed(&tiny, 0, 100, 100 * kMs, {100});
  EXPECT_EQ(tiny.target_us(), 5 * kMs) << "never below the 5 ms floor";
  DelayEstimator huge;
  Feed(&huge, 0, 100, 100 * kMs, {900 * kMs});
  EXPECT_EQ(huge.target_us(), 500 * kMs) << "never above the 500 ms ceiling";
}

TEST(DelayEstimatorTest, RisesAtOnce) {
  DelayEstimator d;
  int64_t t = Feed(&d, 0, 200, 100 * kMs, {40 * kMs});
  const int64_t before = d.target_us();
  // Jitter grows: a sample above the target but not an outlier raises it immediately once it
  // carries more than 1% of the weight.
  t = Feed(&d, t, 3, 100 * kMs, {60 * kMs});
  EXPECT_GE(d.target_us(), 60 * kMs);
  EXPECT_GT(d.target_us(), before);
}

TEST(DelayEstimatorTest, FallsOnlyAfterHoldAndByTwoPercentOfTheInterval) {
  DelayEstimator d;
  int64_t t = Feed(&d, 0, 100, 100 * kMs, {80 * kMs});
  const int64_t high = d.target_us();
  // Transit improves. Within the 3 s hold nothing moves.
  t = Feed(&d, t, 25, 100 * kMs, {30 * kMs});
  EXPECT_EQ(d.target_us(), high);
  // Let the old samples decay, then each batch may lower it by at most 2% of 125 ms.
  int64_t prev = d.target_us();
  for (int i = 0; i < 2000; ++i, t += 100 * kMs) {
    d.AddSample(30 * kMs, t);
    const int64_t now = d.TargetForBatch(125 * kMs, t);
    ASSERT_LE(prev - now, 2500) << i;
    ASSERT_LE(now, prev);
    prev = now;
  }
  EXPECT_NEAR(d.target_us(), 30 * kMs + DelayOptions{}.render_margin_us, kMs);
}

TEST(DelayEstimatorTest, FallsAtOnceAfterALongRest) {
  DelayEstimator d;
  int64_t t = Feed(&d, 0, 100, 100 * kMs, {80 * kMs});
  t = Feed(&d, t, 1200, 100 * kMs, {30 * kMs}, /*ioi=*/0);  // ioi 0: no fall allowed
  EXPECT_GT(d.target_us(), 70 * kMs);
  d.AddSample(30 * kMs, t);
  EXPECT_NEAR(d.TargetForBatch(2 * 1000 * kMs, t), 30 * kMs + DelayOptions{}.render_margin_us, kMs);
}

TEST(DelayEstimatorTest, IsolatedStallDoesNotInflateTheTarget) {
  DelayEstimator d;
  int64_t t = Feed(&d, 0, 300, 125 * kMs, {50 * kMs, 55 * kMs, 60 * kMs, 52 * kMs});
  const int64_t before = d.target_us();
  // A retransmission: one message 250 ms late and three queued behind it, all arriving in one
  // burst, then normal traffic.
  for (int64_t tr : {250 * kMs, 170 * kMs, 95 * kMs, 70 * kMs}) {
    d.AddSample(tr, t);
    d.TargetForBatch(125 * kMs, t);
    t += 500;
  }
  t = Feed(&d, t + 100 * kMs, 20, 125 * kMs, {50 * kMs, 55 * kMs});
  EXPECT_EQ(d.target_us(), before);
  EXPECT_EQ(d.stalls_discarded(), 1u);
}

TEST(DelayEstimatorTest, StallDuringWarmupIsDiscardedToo) {
  DelayEstimator d;
  int64_t t = Feed(&d, 0, 3, 125 * kMs, {50 * kMs});
  d.AddSample(260 * kMs, t);
  d.AddSample(150 * kMs, t + 100);
  t = Feed(&d, t + 125 * kMs, 30, 125 * kMs, {50 * kMs, 54 * kMs});
  EXPECT_LT(d.target_us(), 60 * kMs);
}

TEST(DelayEstimatorTest, SustainedStepIsAcceptedWithinHalfASecond) {
  DelayEstimator d;
  int64_t t = Feed(&d, 0, 300, 125 * kMs, {50 * kMs, 52 * kMs});
  t = Feed(&d, t, 5, 125 * kMs, {150 * kMs});  // 625 ms of the new path
  EXPECT_GE(d.target_us(), 150 * kMs);
  EXPECT_EQ(d.episodes_committed(), 1u);
}

TEST(DelayEstimatorTest, ResetForgetsSamples) {
  DelayEstimator d;
  Feed(&d, 0, 50, 100 * kMs, {50 * kMs});
  d.Reset();
  EXPECT_EQ(d.samples(), 0);
  d.AddSample(20 * kMs, 6000 * kMs);
  EXPECT_EQ(d.QuantileUs(0.99), 20 * kMs + 500);
}

TEST(DelayEstimatorTest, SmoothnessPresets) {
  EXPECT_LT(PercentileFor(Smoothness::kLowLatency), PercentileFor(Smoothness::kBalanced));
  EXPECT_LT(PercentileFor(Smoothness::kBalanced), PercentileFor(Smoothness::kSmooth));
  DelayOptions low;
  low.percentile = PercentileFor(Smoothness::kLowLatency);
  DelayEstimator a(low);
  DelayEstimator b;
  for (int i = 0; i < 1000; ++i) {
    const int64_t tr = 40 * kMs + (i * 7919 % 100) * 300;  // 40..70 ms
    a.AddSample(tr, i * 100 * kMs);
    b.AddSample(tr, i * 100 * kMs);
  }
  EXPECT_LT(a.candidate_us(), b.candidate_us());
}

}  // namespace
}  // namespace tutti::midi
