// The built-in synth plays events at their times (Synth::PlayAt into fluidsynth's sequencer,
// whose clock is the rendered samples): rendered offline, with the caller's local clock
// injected as the rendered time, so every onset is found in the samples, never measured on a
// wall clock. A note handed over early sounds at its time; one handed over late (a late
// wake-up) sounds at once; a release outlasts what was queued; AllNotesOff drops the queue.
#include <cmath>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "tools/play/synth.h"

namespace tutti::play {
namespace {

constexpr int kRate = 48000;
constexpr int kChunk = 480;  // 10 ms

midi::ChannelMessage Msg(uint8_t status, uint8_t a, uint8_t b) { return {status, a, b, 3}; }

std::unique_ptr<Synth> Make() {
  SynthOptions o;
  o.audio_driver = "none";
  o.sample_rate = kRate;
  auto s = Synth::Create(o);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

// Offline rendering where local time is the rendered time (us since the first frame).
class Offline {
 public:
  explicit Offline(Synth* s) : s_(s) {
    std::vector<float> none;
    s_->Render(0, &none);  // offline from now on: the rendering is the sequencer's clock
  }
  int64_t now_us() const { return frames_ * 1000000 / kRate; }
  // Renders up to local time `until_us` in 10 ms chunks, keeping the left channel.
  void RenderTo(int64_t until_us) {
    std::vector<float> buf;
    while (now_us() < until_us) {
      s_->Render(kChunk, &buf);
      for (size_t i = 0; i < buf.size(); i += 2) left_.push_back(buf[i]);
      frames_ += kChunk;
    }
  }
  // The first frame whose sample exceeds `level`, as local time (us), or -1.
  int64_t Onset(double level, int64_t from_us = 0) const {
    for (size_t i = static_cast<size_t>(from_us * kRate / 1000000); i < left_.size(); ++i) {
      if (std::fabs(left_[i]) > level) return static_cast<int64_t>(i) * 1000000 / kRate;
    }
    return -1;
  }
  double Rms(int64_t from_us, int64_t to_us) const {
    const size_t a = static_cast<size_t>(from_us * kRate / 1000000);
    const size_t b = std::min(left_.size(), static_cast<size_t>(to_us * kRate / 1000000));
    double sum = 0;
    for (size_t i = a; i < b; ++i) sum += static_cast<double>(left_[i]) * left_[i];
    return b > a ? std::sqrt(sum / static_cast<double>(b - a)) : 0;
  }

 private:
  Synth* s_;
  int64_t frames_ = 0;
  std::vector<float> left_;
};

constexpr double kLevel = 1e-3;

TEST(SynthScheduleTest, ANoteHandedOverEarlySoundsAtItsTimeNotWhenItWasHandedOver) {
  for (int64_t handed_at_us : {0, 150000, 190000}) {
    auto s = Make();
    ASSERT_NE(s, nullptr);
    Offline o(s.get());
    o.RenderTo(handed_at_us);
    s->PlayAt(Msg(0x90, 60, 110), 200000, o.now_us());
    s->PlayAt(Msg(0x80, 60, 0), 400000, o.now_us());
    EXPECT_EQ(s->scheduled(), 2u);
    EXPECT_EQ(s->immediate(), 0u);
    o.RenderTo(1500000);
    const int64_t onset = o.Onset(kLevel);
    // The sequencer ticks in ms and runs every 64 samples (1.33 ms); the attack takes a moment.
    EXPECT_GE(onset, 200000) << "handed over at " << handed_at_us;
    EXPECT_LT(onset, 200000 + 6000) << "handed over at " << handed_at_us;
    EXPECT_GT(o.Rms(220000, 380000), 0.005) << "the note sounds until its note-off";
    EXPECT_LT(o.Rms(1300000, 1500000), o.Rms(220000, 380000) / 100) << "and ends after it";
  }
}

TEST(SynthScheduleTest, WithNoAudioOutputNothingIsQueuedUnplayed) {
  auto s = Make();  // no driver, and nobody renders
  ASSERT_NE(s, nullptr);
  s->PlayAt(Msg(0x90, 60, 110), 5000000, 0);
  EXPECT_EQ(s->scheduled(), 0u);
  EXPECT_EQ(s->immediate(), 1u);
}

TEST(SynthScheduleTest, AnEventWhoseTimeHasComePlaysAtOnce) {
  auto s = Make();
  ASSERT_NE(s, nullptr);
  Offline o(s.get());
  o.RenderTo(300000);
  s->PlayAt(Msg(0x90, 64, 110), 250000, o.now_us());  // the loop woke 50 ms late
  EXPECT_EQ(s->immediate(), 1u);
  o.RenderTo(600000);
  const int64_t onset = o.Onset(kLevel);
  EXPECT_GE(onset, 300000);
  EXPECT_LT(onset, 300000 + 6000);
}

TEST(SynthScheduleTest, AReleaseOutlastsWhatWasQueuedOnItsChannel) {
  auto s = Make();
  ASSERT_NE(s, nullptr);
  Offline o(s.get());
  o.RenderTo(100000);
  s->PlayAt(Msg(0x91, 60, 110), 300000, o.now_us());  // queued on channel 2
  s->Play(Msg(0xB1, 64, 0));                          // a release at once (disconnect, leave)
  s->Play(Msg(0xB1, 123, 0));
  o.RenderTo(1500000);
  // The note may start at its time, but the release queued after it ends it: nothing rings.
  EXPECT_LT(o.Rms(1000000, 1500000), 1e-4);
}

TEST(SynthScheduleTest, AllNotesOffDropsWhatWasScheduled) {
  auto s = Make();
  ASSERT_NE(s, nullptr);
  Offline o(s.get());
  o.RenderTo(100000);
  s->PlayAt(Msg(0x90, 60, 110), 300000, o.now_us());
  s->AllNotesOff();
  o.RenderTo(800000);
  EXPECT_EQ(o.Onset(kLevel), -1) << "a dropped note never sounds";
  // Scheduling works again afterwards.
  s->PlayAt(Msg(0x90, 62, 110), 900000, o.now_us());
  o.RenderTo(1200000);
  EXPECT_GE(o.Onset(kLevel), 900000);
}

TEST(SynthScheduleTest, ProgramChangesAreScheduledAheadOfTheirNotes) {
  // A program change (violin) and a note at the same time on channel 3, both handed over
  // ahead: the note sounds as a violin, not as the piano the same note is on channel 1.
  auto violin_synth = Make();
  auto piano_synth = Make();
  ASSERT_NE(violin_synth, nullptr);
  ASSERT_NE(piano_synth, nullptr);
  Offline v(violin_synth.get()), p(piano_synth.get());
  violin_synth->PlayAt(Msg(0xC2, 40, 0), 100000, v.now_us());
  violin_synth->PlayAt(Msg(0x92, 60, 100), 100000, v.now_us());
  piano_synth->PlayAt(Msg(0x90, 60, 100), 100000, p.now_us());
  v.RenderTo(500000);
  p.RenderTo(500000);
  EXPECT_EQ(violin_synth->scheduled(), 2u);
  ASSERT_GT(v.Rms(300000, 400000), 0.003);
  ASSERT_GT(p.Rms(300000, 400000), 0.003);
  const double ratio = v.Rms(300000, 400000) / p.Rms(300000, 400000);
  EXPECT_GE(v.Onset(kLevel), 100000);
  // A violin's sustained level differs from a decaying piano's; the same program would give
  // the same samples (ratio 1).
  EXPECT_TRUE(ratio < 0.9 || ratio > 1.1) << "ratio " << ratio;
}

}  // namespace
}  // namespace tutti::play
