// tutti-play end to end on real parts: a private jackd (dummy driver), a tutti-server child on
// 127.0.0.1, and two tutti-play processes in one room. A virtual keyboard plays into Alice;
// Bob's built-in synth renders to a file (fluidsynth's file driver) and the samples have sound
// where the note is and silence after its note-off. The same through MIDI out to a virtual synth
// port, across an unplug and replug of Alice's keyboard; and Bob, stopped by SIGTERM while a
// note sounds, releases it. Every wait is for a condition, bounded.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "midi/rtmidi_port.h"
#include "midi/smf_reader.h"
#include "tests/midi_io/jack_server.h"
#include "tests/play/play_process.h"
#include "tools/timing_harness/server_process.h"

namespace tutti::play {
namespace {

using testing::PlayProcess;
using testing::WaitFor;

constexpr int kRate = 48000;
constexpr size_t kFrameBytes = 4;  // s16 stereo

// RMS (0..1) of the s16le stereo samples in bytes [from, to).
double Rms(const std::string& raw, size_t from, size_t to) {
  from -= from % 2;
  to = std::min(to, raw.size()) & ~size_t{1};
  if (to <= from) return 0;
  double sum = 0;
  for (size_t i = from; i < to; i += 2) {
    const int16_t v = static_cast<int16_t>(static_cast<uint8_t>(raw[i]) |
                                           (static_cast<uint8_t>(raw[i + 1]) << 8));
    sum += (v / 32768.0) * (v / 32768.0);
  }
  return std::sqrt(sum / static_cast<double>((to - from) / 2));
}

// The loudest 50 ms window of the file from byte `from` on.
double LoudestWindow(const std::string& raw, size_t from) {
  const size_t window = kRate / 20 * kFrameBytes;
  double best = 0;
  for (size_t at = from; at + window <= raw.size(); at += window) {
    best = std::max(best, Rms(raw, at, at + window));
  }
  return best;
}

class PlayEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    jack_ = std::make_unique<testing::JackServer>();
    ASSERT_TRUE(jack_->ok()) << "JACK server did not start: " << jack_->error();
    char templ[] = "/tmp/tutti-play-test-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
    ASSERT_TRUE(server_.Start(TUTTI_SERVER_BINARY, dir_, 1).ok()) << server_.output();
    ASSERT_NO_FATAL_FAILURE(OpenKeys());
  }
  void TearDown() override {
    // The keyboard port feeds Alice: it leaves first (midi/rtmidi_port.h, the libjack caveat).
    keys_.reset();
    alice_.reset();
    bob_.reset();
    synth_.reset();
    midi::ReleaseJackProbe();
    server_.Stop();
    std::error_code ec;
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_, ec);
  }

  void OpenKeys() {
    auto keys = midi::MidiOutput::OpenVirtual("test-keys", "out");
    ASSERT_TRUE(keys.ok()) << keys.status();
    keys_ = std::move(*keys);
  }

  std::unique_ptr<PlayProcess> Play(const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> args = {
        TUTTI_PLAY_BINARY, "--server=127.0.0.1:" + std::to_string(server_.port()),
        "--name=" + name,  "--room=Jam",
        "--ui=line",       "--config_dir=none",
        "--midi_api=jack"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto p = std::make_unique<PlayProcess>(args, dir_ + "/" + name + ".log");
    p->set_before_kill([this] { keys_.reset(); });
    return p;
  }

  // Both players see each other in the room.
  void WaitTogether() {
    for (auto* p : {alice_.get(), bob_.get()}) {
      ASSERT_TRUE(WaitFor([&] {
        const std::string line = p->LastLine("* players in Jam:");
        return line.find("Alice") != std::string::npos && line.find("Bob") != std::string::npos;
      })) << p->Log();
    }
  }

  void Key(uint8_t status, uint8_t note, uint8_t velocity) {
    const uint8_t bytes[3] = {status, note, velocity};
    ASSERT_TRUE(keys_->Send(bytes, 3).ok());
  }

  // The "played N" (or "heard N") count on a player's last MIDI status line.
  static int Count(const PlayProcess& p, const std::string& word) {
    const std::string line = p.LastLine("MIDI: ");
    const size_t at = line.rfind(word + " ");
    return at == std::string::npos ? 0 : std::atoi(line.c_str() + at + word.size() + 1);
  }

  // Presses `note` on the keyboard until Alice has played it: a JACK connection made a moment
  // ago can miss the first cycle, so the press is repeated (bounded) until one gets through.
  bool PressUntilPlayed(uint8_t note) {
    const int before = Count(*alice_, "played");
    return WaitFor([&] {
      Key(0x90, note, 110);
      return WaitFor([&] { return Count(*alice_, "played") > before; },
                     std::chrono::milliseconds(500));
    });
  }

  std::unique_ptr<testing::JackServer> jack_;
  harness::ServerProcess server_;
  std::string dir_;
  std::unique_ptr<midi::MidiOutput> keys_;
  std::unique_ptr<midi::MidiInput> synth_;
  std::unique_ptr<PlayProcess> alice_;
  std::unique_ptr<PlayProcess> bob_;
};

TEST_F(PlayEndToEndTest, BuiltInSynthSoundsTheOtherPlayersNoteAndItsReleaseEndsIt) {
  const std::string wav = dir_ + "/bob.raw";
  alice_ = Play("Alice", {"--input=test-keys", "--audio_driver=none"});
  const std::string mid = dir_ + "/bob.mid";
  bob_ = Play("Bob", {"--audio_driver=file", "--audio_file=" + wav, "--record=" + mid});
  ASSERT_NO_FATAL_FAILURE(WaitTogether());
  ASSERT_TRUE(alice_->WaitLog("MIDI: test-keys:out [jack]")) << alice_->Log();
  ASSERT_TRUE(bob_->WaitLog("sound: synth ")) << bob_->Log();
  ASSERT_TRUE(bob_->WaitLog("audio file")) << bob_->Log();
  // Both opened their linked connection (the default): Alice's notes go on both of hers, Bob
  // gets the room on both of his, and each note still counts once (checked at the end).
  ASSERT_TRUE(alice_->WaitLog(", link on")) << alice_->Log();
  ASSERT_TRUE(bob_->WaitLog(", link on")) << bob_->Log();

  const size_t before = testing::ReadFile(wav).size();
  // Nothing has played yet: what the file holds so far is silence.
  EXPECT_LT(LoudestWindow(testing::ReadFile(wav), 0), 0.002);
  ASSERT_TRUE(PressUntilPlayed(60)) << alice_->Log();  // local echo counts it
  ASSERT_TRUE(WaitFor([&] { return Count(*bob_, "heard") >= 1; })) << bob_->Log();
  double loud = 0;
  EXPECT_TRUE(WaitFor([&] {
    loud = LoudestWindow(testing::ReadFile(wav), before);
    return loud > 0.01;
  })) << "Bob's synth rendered no sound for Alice's note (loudest "
      << loud << ")";

  ASSERT_NO_FATAL_FAILURE(Key(0x80, 60, 0));
  // Everything Alice played (her presses and the release) has reached Bob.
  ASSERT_TRUE(WaitFor([&] {
    const int played = Count(*alice_, "played");
    return played >= 2 && Count(*bob_, "heard") == played;
  })) << alice_->Log()
      << bob_->Log();
  const size_t at_release = testing::ReadFile(wav).size();
  // Three seconds of audio after the note-off (a piano's release is shorter).
  ASSERT_TRUE(WaitFor(
      [&] { return testing::ReadFile(wav).size() >= at_release + 3 * kRate * kFrameBytes; }));
  const std::string raw = testing::ReadFile(wav);
  const double tail = Rms(raw, raw.size() - kRate / 2 * kFrameBytes, raw.size());
  EXPECT_LT(tail, 0.002) << "sound after the note-off ended (tail RMS " << tail << ", note " << loud
                         << ")";
  // Seconds later, no second copy of anything Alice played has reached Bob.
  EXPECT_EQ(Count(*bob_, "heard"), Count(*alice_, "played")) << alice_->Log() << bob_->Log();
  EXPECT_EQ(bob_->Stop(SIGTERM), 0) << bob_->Log();
  keys_.reset();  // the keyboard leaves before the player it feeds
  EXPECT_EQ(alice_->Stop(SIGTERM), 0) << alice_->Log();

  // Bob recorded the room from the start (--record): a track named Alice with her note.
  auto smf = midi::ReadSmf(testing::ReadFile(mid));
  ASSERT_TRUE(smf.ok()) << smf.status() << ": no readable " << mid << "\n" << bob_->Log();
  const midi::SmfTrackData* track = nullptr;
  for (const auto& t : smf->tracks) {
    if (t.name == "Alice") track = &t;
  }
  ASSERT_NE(track, nullptr) << bob_->Log();
  bool on = false, off_after = false;
  for (const auto& e : track->events) {
    const uint8_t kind = e.status & 0xF0;
    if (kind == 0x90 && e.data1 == 60 && e.data2 > 0) on = true;
    if (on && e.data1 == 60 && (kind == 0x80 || (kind == 0x90 && e.data2 == 0))) off_after = true;
  }
  EXPECT_TRUE(on && off_after) << "Alice's note and its release are not in Bob's recording";
}

TEST_F(PlayEndToEndTest, MidiOutAcrossAKeyboardReplugAndReleasedOnSigterm) {
  std::mutex mu;
  std::vector<midi::InputMessage> heard;
  auto synth = midi::MidiInput::OpenVirtual("test-synth", "in", nullptr);
  ASSERT_TRUE(synth.ok()) << synth.status();
  synth_ = std::move(*synth);
  auto heard_has = [&](uint8_t status, uint8_t data1) {
    synth_->Drain(&heard);
    for (const auto& m : heard) {
      if (m.bytes[0] == status && m.bytes[1] == data1) return true;
    }
    return false;
  };
  alice_ = Play("Alice", {"--input=test-keys", "--audio_driver=none"});
  bob_ = Play("Bob", {"--output=test-synth", "--audio_driver=none"});
  ASSERT_NO_FATAL_FAILURE(WaitTogether());
  ASSERT_TRUE(alice_->WaitLog("MIDI: test-keys:out [jack]")) << alice_->Log();
  ASSERT_TRUE(bob_->WaitLog("sound: MIDI out to test-synth:in")) << bob_->Log();

  // Alice is Bob's first remote player: channel 2 (status nibble 1).
  ASSERT_TRUE(PressUntilPlayed(62)) << alice_->Log();
  EXPECT_TRUE(WaitFor([&] { return heard_has(0x91, 62); })) << bob_->Log();
  ASSERT_NO_FATAL_FAILURE(Key(0x80, 62, 0));
  EXPECT_TRUE(WaitFor([&] { return heard_has(0x81, 62); })) << bob_->Log();

  keys_.reset();  // the keyboard is unplugged...
  ASSERT_TRUE(alice_->WaitLog("keyboard unplugged")) << alice_->Log();
  ASSERT_NO_FATAL_FAILURE(OpenKeys());  // ...and plugged back in
  ASSERT_TRUE(alice_->WaitLog("keyboard test-keys:out is back")) << alice_->Log();
  ASSERT_TRUE(PressUntilPlayed(64)) << alice_->Log();
  EXPECT_TRUE(WaitFor([&] { return heard_has(0x91, 64); })) << alice_->Log() << bob_->Log();

  // Bob stops while Alice's note sounds: he releases everything on his way out.
  heard.clear();
  EXPECT_EQ(bob_->Stop(SIGTERM), 0) << bob_->Log();
  EXPECT_TRUE(WaitFor([&] { return heard_has(0xB1, 123) || heard_has(0x81, 64); }))
      << "Bob left a note sounding";
  keys_.reset();
  EXPECT_EQ(alice_->Stop(SIGTERM), 0) << alice_->Log();
}

}  // namespace
}  // namespace tutti::play
