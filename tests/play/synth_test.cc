// The built-in synth renders real audio from Debian's GM soundfont: a note sounds, its release
// ends it, and all-notes-off (disconnect, exit) silences even a held pedal. Rendered offline
// (no audio device), so nothing depends on timing.
#include "tools/play/synth.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <vector>

#include <unistd.h>

#include "gtest/gtest.h"

namespace tutti::play {
namespace {

constexpr int kRate = 48000;

double Rms(const std::vector<float>& s) {
  double sum = 0;
  for (float v : s) sum += static_cast<double>(v) * v;
  return s.empty() ? 0 : std::sqrt(sum / static_cast<double>(s.size()));
}

midi::ChannelMessage Msg(uint8_t status, uint8_t a, uint8_t b) { return {status, a, b, 3}; }

std::unique_ptr<Synth> Make() {
  SynthOptions o;
  o.audio_driver = "none";
  o.sample_rate = kRate;
  auto s = Synth::Create(o);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

// Renders `seconds` and returns the RMS of the last `tail_s` of it.
double RenderTail(Synth* s, double seconds, double tail_s) {
  std::vector<float> buf;
  const int total = static_cast<int>(seconds * kRate);
  const int tail = static_cast<int>(tail_s * kRate);
  std::vector<float> last;
  for (int done = 0; done < total; done += 512) {
    s->Render(std::min(512, total - done), &buf);
    if (done >= total - tail) last.insert(last.end(), buf.begin(), buf.end());
  }
  return Rms(last);
}

TEST(SynthTest, FindsADebianSoundfont) {
  auto sf = FindSoundfont();
  ASSERT_TRUE(sf.ok()) << sf.status() << " (tools/setup.sh installs timgm6mb-soundfont)";
  EXPECT_TRUE(std::ifstream(*sf).good());
}

TEST(SynthTest, NoteSoundsAndItsReleaseEndsIt) {
  auto s = Make();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->driver(), "");
  // Silence before anything plays.
  EXPECT_LT(RenderTail(s.get(), 0.1, 0.1), 1e-5);
  s->Play(Msg(0x90, 60, 100));
  const double on = RenderTail(s.get(), 0.3, 0.2);
  EXPECT_GT(on, 0.005) << "a held middle C must be audible";
  s->Play(Msg(0x80, 60, 0));
  // A piano's release is well under 3 s in TimGM6mb and FluidR3.
  EXPECT_LT(RenderTail(s.get(), 3.0, 0.25), on / 1000) << "the release must end the note";
}

TEST(SynthTest, NoteOnWithVelocityZeroReleases) {
  auto s = Make();
  ASSERT_NE(s, nullptr);
  s->Play(Msg(0x90, 64, 90));
  const double on = RenderTail(s.get(), 0.3, 0.2);
  ASSERT_GT(on, 0.005);
  s->Play(Msg(0x90, 64, 0));
  EXPECT_LT(RenderTail(s.get(), 3.0, 0.25), on / 1000);
}

TEST(SynthTest, AllNotesOffSilencesHeldNotesUnderThePedal) {
  auto s = Make();
  ASSERT_NE(s, nullptr);
  s->Play(Msg(0xB0, 64, 127));  // sustain pedal down on channel 1
  s->Play(Msg(0x91, 48, 100));
  s->Play(Msg(0x91, 48, 0));  // released under the pedal: rings on
  s->Play(Msg(0x90, 67, 100));
  const double on = RenderTail(s.get(), 0.3, 0.2);
  ASSERT_GT(on, 0.005);
  s->AllNotesOff();
  EXPECT_LT(RenderTail(s.get(), 3.0, 0.25), on / 1000);
}

TEST(SynthTest, ProgramChangeChangesTheSound) {
  // Same note on two channels, one switched to a different instrument: different waveforms.
  auto s = Make();
  ASSERT_NE(s, nullptr);
  s->Play(Msg(0xC1, 40, 0));  // violin on channel 2
  std::vector<float> piano, violin;
  s->Play(Msg(0x90, 60, 100));
  RenderTail(s.get(), 0.1, 0);
  s->Render(4800, &piano);
  s->AllNotesOff();
  RenderTail(s.get(), 3.0, 0);
  s->Play(Msg(0x91, 60, 100));
  RenderTail(s.get(), 0.1, 0);
  s->Render(4800, &violin);
  ASSERT_GT(Rms(piano), 0.005);
  ASSERT_GT(Rms(violin), 0.005);
  double diff = 0;
  for (size_t i = 0; i < piano.size(); ++i) diff += std::fabs(piano[i] - violin[i]);
  EXPECT_GT(diff / static_cast<double>(piano.size()), 0.001);
}

TEST(SynthTest, MissingSoundfontIsAClearError) {
  SynthOptions o;
  o.audio_driver = "none";
  o.soundfont = "/nonexistent/none.sf2";
  auto s = Synth::Create(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.status().message().find("none.sf2"), std::string::npos);
}

TEST(SynthTest, NotASoundfontIsAClearError) {
  char path[] = "/tmp/tutti-not-sf2-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "RIFFjunk", 8), 8);
  close(fd);
  SynthOptions o;
  o.audio_driver = "none";
  o.soundfont = path;
  auto s = Synth::Create(o);
  std::remove(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SynthTest, UnknownAudioDriverRunsWithoutSoundAndSaysWhy) {
  SynthOptions o;
  o.audio_driver = "no-such-driver";
  auto s = Synth::Create(o);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->driver(), "");
  EXPECT_NE((*s)->driver_error().find("no-such-driver"), std::string::npos);
}

}  // namespace
}  // namespace tutti::play
