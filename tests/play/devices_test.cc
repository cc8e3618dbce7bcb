// tutti-play's MIDI devices on real ports: a private JACK server (dummy driver, as
// tests/midi_io) with a virtual keyboard that is played, unplugged and plugged back in, and a
// virtual synth fed through the MIDI-out path. The ALSA sequencer path runs where /dev/snd/seq
// exists (a Linux desktop) and says why it skips elsewhere. Waits are for conditions, bounded.
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <thread>

#include "RtMidi.h"
#include "gtest/gtest.h"
#include "midi/rtmidi_port.h"
#include "tests/midi_io/jack_recorder.h"
#include "tests/midi_io/jack_server.h"
#include "tools/play/midi_devices.h"
#include "tools/play/platform.h"

namespace tutti::play {
namespace {

using namespace std::chrono_literals;

bool WaitUntil(const std::function<bool()>& cond, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return cond();
}

TEST(PickPortTest, ByNumberNameStableNameOrPart) {
  const std::vector<std::string> ports = {"Midi Through:Midi Through Port-0 14:0",
                                          "USB Keyboard:USB Keyboard MIDI 1 24:0",
                                          "system:midi_capture_1"};
  EXPECT_EQ(PickPort(ports, "2"), 1u);
  EXPECT_EQ(PickPort(ports, "0"), std::nullopt);
  EXPECT_EQ(PickPort(ports, "4"), std::nullopt);
  EXPECT_EQ(PickPort(ports, "99999999999999999999"), std::nullopt);
  EXPECT_EQ(PickPort(ports, "system:midi_capture_1"), 2u);
  EXPECT_EQ(PickPort(ports, "USB Keyboard:USB Keyboard MIDI 1"), 1u);
  EXPECT_EQ(PickPort(ports, "usb keyboard"), 1u);
  EXPECT_EQ(PickPort(ports, "nothing like it"), std::nullopt);
  EXPECT_EQ(PickPort(ports, ""), std::nullopt);
}

TEST(PickPortTest, StableNameDropsAlsaNumbersOnly) {
  EXPECT_EQ(StableName("USB Keyboard:USB Keyboard MIDI 1 24:0"),
            "USB Keyboard:USB Keyboard MIDI 1");
  EXPECT_EQ(StableName("system:midi_capture_1"), "system:midi_capture_1");
  EXPECT_EQ(StableName("a b:c"), "a b:c");
  EXPECT_EQ(StableName("a 1:"), "a 1:");
}

TEST(ParseMidiApiTest, KnownNamesAndAClearError) {
  EXPECT_EQ(*ParseMidiApi("jack"), MidiApiChoice::kJack);
  EXPECT_EQ(*ParseMidiApi("alsa"), MidiApiChoice::kAlsa);
  EXPECT_EQ(*ParseMidiApi("none"), MidiApiChoice::kNone);
  auto bad = ParseMidiApi("oss");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("oss"), std::string::npos);
}

TEST(MidiDevicesTest, NoneListsNothingAndOpensNothing) {
  MidiDevices devices(MidiApiChoice::kNone, "tutti-play-test");
  EXPECT_FALSE(devices.enabled());
  EXPECT_TRUE(devices.Inputs().empty());
  KeyboardInput in(&devices, nullptr);
  EXPECT_FALSE(in.Choose("1").ok());
  EXPECT_EQ(in.state(), KeyboardInput::State::kNone);
}

class JackDevicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    jack_ = std::make_unique<testing::JackServer>();
    ASSERT_TRUE(jack_->ok()) << "JACK server did not start: " << jack_->error();
    devices_ = std::make_unique<MidiDevices>(MidiApiChoice::kJack, "tutti-play-test");
    ASSERT_TRUE(devices_->enabled()) << devices_->warning();
    EXPECT_EQ(devices_->api_name(), "jack");
  }
  void TearDown() override {
    // Feeders leave before what they feed (midi/rtmidi_port.h, the libjack caveat).
    keys_.reset();
    input_.reset();
    output_.reset();
    synth_.reset();
    devices_.reset();
    midi::ReleaseJackProbe();
  }

  void Plug() {
    auto keys = midi::MidiOutput::OpenVirtual("test-keys", "out");
    ASSERT_TRUE(keys.ok()) << keys.status();
    keys_ = std::move(*keys);
  }

  // Plays a note on the keyboard until the input has it (a JACK connection made a moment ago
  // may miss the first cycle): bounded.
  bool NoteArrives(uint8_t note) {
    std::vector<midi::InputMessage> got;
    return WaitUntil([&] {
      const uint8_t on[3] = {0x90, note, 100};
      (void)keys_->Send(on, 3);
      std::this_thread::sleep_for(20ms);
      input_->Drain(&got);
      for (const auto& m : got) {
        if (m.size == 3 && m.bytes[0] == 0x90 && m.bytes[1] == note) return true;
      }
      return false;
    });
  }

  // What the inputs' wake hooks touch lives in the fixture, declared before the inputs: a
  // hook runs on libjack's thread whenever a message arrives, and a message still in flight
  // when a test body returns arrives after the body's locals are gone (a hook that captured a
  // local condition variable by reference crashed libjack's thread under ASan). TearDown
  // closes the feeders, then the inputs, before any of this goes.
  std::atomic<int> wakes_{0};
  std::unique_ptr<testing::JackServer> jack_;
  std::unique_ptr<MidiDevices> devices_;
  std::unique_ptr<midi::MidiOutput> keys_;
  std::unique_ptr<KeyboardInput> input_;
  std::unique_ptr<ExternalOutput> output_;
  std::unique_ptr<midi::MidiInput> synth_;
};

TEST_F(JackDevicesTest, KeyboardByNameSurvivesUnplugAndReplug) {
  ASSERT_NO_FATAL_FAILURE(Plug());
  input_ = std::make_unique<KeyboardInput>(devices_.get(), [this] { ++wakes_; });
  ASSERT_TRUE(WaitUntil([&] {
    auto in = devices_->Inputs();
    return PickPort(in, "test-keys").has_value();
  })) << "the virtual keyboard never showed in the list";
  ASSERT_TRUE(input_->Choose("test-keys").ok());
  EXPECT_EQ(input_->state(), KeyboardInput::State::kOpen);
  EXPECT_EQ(input_->port(), "test-keys:out");
  ASSERT_TRUE(NoteArrives(60));
  EXPECT_GT(wakes_.load(), 0);

  keys_.reset();  // unplugged
  ASSERT_TRUE(WaitUntil([&] {
    input_->Poll();
    return input_->state() == KeyboardInput::State::kMissing;
  })) << "the unplug was not noticed";
  EXPECT_EQ(input_->wanted(), "test-keys");

  ASSERT_NO_FATAL_FAILURE(Plug());  // back in
  ASSERT_TRUE(WaitUntil([&] {
    input_->Poll();
    return input_->state() == KeyboardInput::State::kOpen;
  })) << "the replugged keyboard was not reopened";
  EXPECT_EQ(input_->opens(), 2u);
  EXPECT_TRUE(NoteArrives(62));
}

TEST_F(JackDevicesTest, KeyboardByNumberIsRememberedByName) {
  ASSERT_NO_FATAL_FAILURE(Plug());
  input_ = std::make_unique<KeyboardInput>(devices_.get(), nullptr);
  std::optional<size_t> at;
  ASSERT_TRUE(WaitUntil([&] {
    at = PickPort(devices_->Inputs(), "test-keys:out");
    return at.has_value();
  }));
  ASSERT_TRUE(input_->Choose(std::to_string(*at + 1)).ok());
  EXPECT_EQ(input_->wanted(), "test-keys:out");
  EXPECT_TRUE(NoteArrives(64));
}

TEST_F(JackDevicesTest, AKeyboardNotYetPluggedOpensWhenItAppears) {
  input_ = std::make_unique<KeyboardInput>(devices_.get(), nullptr);
  const absl::Status s = input_->Choose("test-keys");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(input_->state(), KeyboardInput::State::kMissing);
  ASSERT_NO_FATAL_FAILURE(Plug());
  ASSERT_TRUE(WaitUntil([&] {
    input_->Poll();
    return input_->state() == KeyboardInput::State::kOpen;
  }));
  EXPECT_TRUE(NoteArrives(65));
}

TEST_F(JackDevicesTest, MidiOutReachesAnExternalSynth) {
  auto synth = midi::MidiInput::OpenVirtual("test-synth", "in", [this] { ++wakes_; });
  ASSERT_TRUE(synth.ok()) << synth.status();
  synth_ = std::move(*synth);
  output_ = std::make_unique<ExternalOutput>(devices_.get());
  ASSERT_TRUE(WaitUntil([&] { return PickPort(devices_->Outputs(), "test-synth").has_value(); }));
  ASSERT_TRUE(output_->Choose("test-synth").ok());
  ASSERT_TRUE(output_->is_open());
  std::vector<midi::InputMessage> got;
  EXPECT_TRUE(WaitUntil([&] {
    output_->Send({0x90, 67, 80, 3});
    std::this_thread::sleep_for(20ms);
    synth_->Drain(&got);
    return !got.empty() && got[0].bytes[1] == 67;
  }));
  EXPECT_GT(wakes_.load(), 0);
}

// On JACK the MIDI output is timed: each event lands at the frame of its time (measured on
// JACK's own clock by a recording client), so a late wake-up of tutti-play's loop no longer
// moves it; a release sent at once queues behind what was scheduled. A round in which a
// starved cycle made an event late (legal: played at once) proves nothing about the frames, so
// it is repeated, at most 5 times.
TEST_F(JackDevicesTest, MidiOutOnJackPlaysEachEventAtItsTime) {
  auto rec = std::make_unique<midi::Recorder>();
  ASSERT_TRUE(rec->ok());
  output_ = std::make_unique<ExternalOutput>(devices_.get());
  ASSERT_TRUE(WaitUntil([&] { return PickPort(devices_->Outputs(), "tutti-rec:in").has_value(); }));
  ASSERT_TRUE(output_->Choose("tutti-rec:in").ok());
  ASSERT_TRUE(output_->is_open());
  ASSERT_TRUE(output_->timed());
  bool on_time = false;
  size_t seen = 0;
  for (int round = 0; round < 5 && !on_time; ++round) {
    const uint8_t tag = static_cast<uint8_t>(round + 1);
    const int64_t base = midi::MonotonicNowUs() + 1000000;
    ASSERT_TRUE(output_->SendAt({0x90, 60, tag, 3}, base));
    ASSERT_TRUE(output_->SendAt({0x80, 60, tag, 3}, base + 50000));
    ASSERT_TRUE(output_->SendAt({0x90, 64, tag, 3}, base + 237777));
    ASSERT_TRUE(output_->Send({0xB0, 123, tag, 3}));  // at once: still after the note
    const std::vector<midi::Arrival> got = rec->WaitFor(seen + 4, 10s);
    ASSERT_EQ(got.size(), seen + 4);
    EXPECT_EQ(got[seen + 3].bytes[0], 0xB0) << "the release overtook a queued note";
    EXPECT_EQ(got[seen + 3].bytes[1], 123);
    const double t0 = got[seen].jack_time_us();
    const double d1 = got[seen + 1].jack_time_us() - t0;
    const double d2 = got[seen + 2].jack_time_us() - t0;
    // One frame is 20.8 us at 48 kHz; each cycle maps its own frames to time.
    on_time = std::fabs(d1 - 50000) < 100 && std::fabs(d2 - 237777) < 100;
    seen += 4;
  }
  EXPECT_TRUE(on_time) << "no round landed its events at their times";
  output_.reset();  // the recorder is fed by the output: it goes first
}

TEST(AlsaDevicesTest, KeyboardOnTheAlsaSequencer) {
  if (!AlsaSequencerPresent()) {
    GTEST_SKIP() << "no ALSA sequencer here (/dev/snd/seq is missing: no sound hardware or "
                    "snd-seq not loaded); this test runs on a Linux desktop";
  }
  MidiDevices devices(MidiApiChoice::kAlsa, "tutti-play-test");
  ASSERT_TRUE(devices.enabled()) << devices.warning();
  EXPECT_EQ(devices.api_name(), "alsa");
  auto keys = std::make_unique<RtMidiOut>(RtMidi::LINUX_ALSA, "tutti-test-keys");
  keys->openVirtualPort("out");
  KeyboardInput input(&devices, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return PickPort(devices.Inputs(), "tutti-test-keys").has_value(); }));
  ASSERT_TRUE(input.Choose("tutti-test-keys").ok());
  std::vector<midi::InputMessage> got;
  EXPECT_TRUE(WaitUntil([&] {
    const unsigned char on[3] = {0x90, 60, 100};
    keys->sendMessage(on, 3);
    std::this_thread::sleep_for(20ms);
    input.Drain(&got);
    return !got.empty();
  }));
  keys.reset();  // unplugged
  EXPECT_TRUE(WaitUntil([&] {
    input.Poll();
    return input.state() == KeyboardInput::State::kMissing;
  }));
  keys = std::make_unique<RtMidiOut>(RtMidi::LINUX_ALSA, "tutti-test-keys");
  keys->openVirtualPort("out");
  EXPECT_TRUE(WaitUntil([&] {
    input.Poll();
    return input.state() == KeyboardInput::State::kOpen;
  }));
}

}  // namespace
}  // namespace tutti::play
