// The pure parts of the room music features: the tempo grid and its change rules
// (server/tempo.h) and link-quality validation and grading (server/link_quality.h).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "server/link_quality.h"
#include "server/tempo.h"

namespace tutti::server {
namespace {

TEST(TempoTest, StartPutsBeatZeroOneLeadAhead) {
  Tempo t;
  TempoLimits limits;
  TempoChange start;
  start.bpm = 60;
  start.transport = TempoChange::Transport::kStart;
  ASSERT_TRUE(t.Apply(start, limits, 1'000'000).ok());
  EXPECT_TRUE(t.running());
  EXPECT_EQ(t.anchor_us(), 1'000'000 + limits.start_lead_us);
  EXPECT_DOUBLE_EQ(t.BeatAt(1'000'000 + limits.start_lead_us), 0.0);
  EXPECT_DOUBLE_EQ(t.BeatAt(1'000'000), -0.5);  // the count-in
  EXPECT_DOUBLE_EQ(t.BeatAt(1'000'000 + limits.start_lead_us + 3'000'000), 3.0);
}

TEST(TempoTest, ChangesKeepThePhaseAndStopFreezesIt) {
  Tempo t;
  TempoLimits limits;
  limits.start_lead_us = 0;
  TempoChange start;
  start.bpm = 120;
  start.transport = TempoChange::Transport::kStart;
  ASSERT_TRUE(t.Apply(start, limits, 0).ok());
  TempoChange faster;
  faster.bpm = 240;
  ASSERT_TRUE(t.Apply(faster, limits, 2'000'000).ok());  // beat 4 reached
  EXPECT_DOUBLE_EQ(t.anchor_beat(), 4.0);
  EXPECT_DOUBLE_EQ(t.BeatAt(3'000'000), 8.0);
  TempoChange stop;
  stop.transport = TempoChange::Transport::kStop;
  ASSERT_TRUE(t.Apply(stop, limits, 3'000'000).ok());
  EXPECT_FALSE(t.running());
  EXPECT_DOUBLE_EQ(t.BeatAt(9'000'000), 8.0);
}

TEST(TempoTest, OutOfBoundsChangesAreRefusedAndChangeNothing) {
  Tempo t;
  TempoLimits limits;
  TempoChange bad;
  for (double bpm : {1.0, 1000.0, std::numeric_limits<double>::quiet_NaN(),
                     std::numeric_limits<double>::infinity(), -5.0}) {
    bad = {};
    bad.bpm = bpm;
    EXPECT_FALSE(t.Apply(bad, limits, 5).ok()) << bpm;
  }
  bad = {};
  bad.beats_per_bar = 33;
  EXPECT_FALSE(t.Apply(bad, limits, 5).ok());
  bad = {};
  bad.beat_unit = 3;
  EXPECT_FALSE(t.Apply(bad, limits, 5).ok());
  EXPECT_EQ(t.bpm(), 120.0);
  EXPECT_EQ(t.beats_per_bar(), 4u);
  EXPECT_EQ(t.anchor_us(), 0);  // not even re-anchored
}

// Another node's grid is taken whole, or not at all when no node could have set it.
TEST(TempoTest, RestoreTakesAGridThisServerCouldHaveSetAndNothingElse) {
  Tempo t;
  TempoLimits limits;
  ASSERT_TRUE(t.Restore(96, 3, 8, true, 5'000'000, 2.5, limits).ok());
  EXPECT_EQ(t.bpm(), 96);
  EXPECT_EQ(t.beats_per_bar(), 3u);
  EXPECT_EQ(t.beat_unit(), 8u);
  EXPECT_DOUBLE_EQ(t.BeatAt(5'000'000 + 625'000), 3.5);
  const double nan = std::nan("");
  EXPECT_FALSE(t.Restore(nan, 4, 4, true, 0, 0, limits).ok());
  EXPECT_FALSE(t.Restore(limits.max_bpm + 1, 4, 4, true, 0, 0, limits).ok());
  EXPECT_FALSE(t.Restore(120, 0, 4, true, 0, 0, limits).ok());
  EXPECT_FALSE(t.Restore(120, limits.max_beats_per_bar + 1, 4, true, 0, 0, limits).ok());
  EXPECT_FALSE(t.Restore(120, 4, 3, true, 0, 0, limits).ok());
  EXPECT_FALSE(t.Restore(120, 4, 4, true, 0, std::numeric_limits<double>::infinity(), limits).ok());
  EXPECT_EQ(t.bpm(), 96);  // unchanged by any of them
  EXPECT_EQ(t.anchor_us(), 5'000'000);
}

TEST(TempoTest, ParsesTheWordsOfSlashTempo) {
  auto c = ParseTempoWords("96.5 3/4 start");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->bpm, 96.5);
  EXPECT_EQ(c->beats_per_bar, 3u);
  EXPECT_EQ(c->beat_unit, 4u);
  EXPECT_EQ(c->transport, TempoChange::Transport::kStart);
  c = ParseTempoWords("STOP");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->transport, TempoChange::Transport::kStop);
  EXPECT_EQ(c->bpm, 0.0);
  for (const char* bad : {"", "fast", "3/0", "0/4", "x/4", "nan", "-3", "1/2/3"}) {
    EXPECT_FALSE(ParseTempoWords(bad).ok()) << bad;
  }
}

proto::ConnectionQuality Q(uint32_t rtt, uint32_t err, float late, float dropped) {
  proto::ConnectionQuality q;
  q.set_rtt_us(rtt);
  q.set_offset_error_us(err);
  q.set_late_percent(late);
  q.set_dropped_percent(dropped);
  return q;
}

TEST(LinkQualityTest, GradesFollowTheWorstFigure) {
  QualityThresholds t;
  EXPECT_EQ(GradeQuality(Q(0, 0, 0, 0), t), proto::QUALITY_GOOD);
  EXPECT_EQ(
      GradeQuality(
          Q(t.fair_rtt_us, t.fair_offset_error_us, t.fair_late_percent, t.fair_dropped_percent), t),
      proto::QUALITY_GOOD);  // at the threshold is not past it
  EXPECT_EQ(GradeQuality(Q(t.fair_rtt_us + 1, 0, 0, 0), t), proto::QUALITY_FAIR);
  EXPECT_EQ(GradeQuality(Q(0, t.fair_offset_error_us + 1, 0, 0), t), proto::QUALITY_FAIR);
  EXPECT_EQ(GradeQuality(Q(0, 0, 1.5f, 0), t), proto::QUALITY_FAIR);
  EXPECT_EQ(GradeQuality(Q(0, 0, 0, 0.6f), t), proto::QUALITY_FAIR);
  EXPECT_EQ(GradeQuality(Q(t.poor_rtt_us + 1, 0, 0, 0), t), proto::QUALITY_POOR);
  EXPECT_EQ(GradeQuality(Q(0, t.poor_offset_error_us + 1, 0, 0), t), proto::QUALITY_POOR);
  EXPECT_EQ(GradeQuality(Q(0, 0, 5.5f, 0), t), proto::QUALITY_POOR);
  EXPECT_EQ(GradeQuality(Q(0, 0, 0.5f, 2.5f), t), proto::QUALITY_POOR);
}

TEST(LinkQualityTest, ReportsOutOfBoundsAreRefused) {
  QualityThresholds t;
  EXPECT_TRUE(ValidateQuality(Q(t.max_rtt_us, t.max_offset_error_us, 100, 0), t).ok());
  EXPECT_FALSE(ValidateQuality(Q(t.max_rtt_us + 1, 0, 0, 0), t).ok());
  EXPECT_FALSE(ValidateQuality(Q(0, t.max_offset_error_us + 1, 0, 0), t).ok());
  EXPECT_FALSE(ValidateQuality(Q(0, 0, 100.5f, 0), t).ok());
  EXPECT_FALSE(ValidateQuality(Q(0, 0, -0.1f, 0), t).ok());
  EXPECT_FALSE(ValidateQuality(Q(0, 0, std::numeric_limits<float>::quiet_NaN(), 0), t).ok());
  EXPECT_FALSE(ValidateQuality(Q(0, 0, 0, std::numeric_limits<float>::infinity()), t).ok());
}

}  // namespace
}  // namespace tutti::server
