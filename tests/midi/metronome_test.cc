// The client metronome (midi/metronome.h): clicks fall on the shared grid's integer beats,
// accented on each bar's first beat, and a client that polls late clicks once.
#include "midi/metronome.h"

#include <gtest/gtest.h>

namespace tutti::midi {
namespace {

TempoGrid Running(double bpm, uint32_t beats, int64_t anchor, double anchor_beat) {
  TempoGrid g;
  g.bpm = bpm;
  g.beats_per_bar = beats;
  g.running = true;
  g.anchor_server_us = anchor;
  g.anchor_beat = anchor_beat;
  return g;
}

TEST(MetronomeTest, ClicksOnTheGridWithBarsAndACountIn) {
  const TempoGrid g = Running(120, 3, 10'000'000, 0);
  EXPECT_EQ(TimeOfBeat(g, 4), 12'000'000);
  EXPECT_DOUBLE_EQ(BeatAt(g, 10'250'000), 0.5);
  Click c = ClickOf(g, 4);
  EXPECT_EQ(c.bar, 1);
  EXPECT_EQ(c.beat_in_bar, 1u);
  c = ClickOf(g, -1);  // the count-in's last beat
  EXPECT_EQ(c.bar, -1);
  EXPECT_EQ(c.beat_in_bar, 2u);

  Metronome m;
  m.SetGrid(g, 9'000'000);  // two beats before beat 0
  auto next = m.Next();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->beat, -2);
  EXPECT_FALSE(m.Poll(8'999'999));
  auto due = m.Poll(9'000'000);
  ASSERT_TRUE(due);
  EXPECT_EQ(due->beat, -2);
  // Asleep past three beats: one click, the latest.
  due = m.Poll(10'600'000);
  ASSERT_TRUE(due);
  EXPECT_EQ(due->beat, 1);
  EXPECT_EQ(m.Next()->beat, 2);
}

TEST(MetronomeTest, AStoppedGridNeverClicks) {
  TempoGrid g = Running(100, 4, 0, 7.25);
  g.running = false;
  Metronome m;
  m.SetGrid(g, 50'000'000);
  EXPECT_FALSE(m.Next());
  EXPECT_FALSE(m.Poll(99'000'000));
  EXPECT_DOUBLE_EQ(BeatAt(g, 99'000'000), 7.25);
}

TEST(MetronomeTest, ANewGridRestartsFromTheNextBeat) {
  Metronome m;
  m.SetGrid(Running(60, 4, 0, 0), 2'500'000);
  EXPECT_EQ(m.Next()->beat, 3);
  // Re-anchored at 2.5 s with beat 2.5, now twice as fast.
  m.SetGrid(Running(120, 4, 2'500'000, 2.5), 2'500'000);
  EXPECT_EQ(m.Next()->beat, 3);
  EXPECT_EQ(m.Next()->server_us, 2'750'000);
}

}  // namespace
}  // namespace tutti::midi
