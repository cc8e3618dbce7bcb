// MIDI through a real server between real clients: every channel-message kind passes, batches
// with delays keep their spacing, controllers have their own quota, a departing or muted
// sender's controllers are reset, and a late joiner learns the sender's instrument. Server time
// is a FakeClock, so quotas and stamps do not depend on how busy the machine is.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "midi/midi_parse.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

// Every channel-message kind, on different channels.
const std::string kEveryKind(
    "\x90\x3c\x64"   // note on
    "\xA1\x3c\x20"   // poly aftertouch
    "\xB2\x07\x64"   // control change (volume)
    "\xC3\x05"       // program change
    "\xD4\x30"       // channel pressure
    "\xE5\x00\x60"   // pitch bend
    "\x80\x3c\x00",  // note off
    19);

std::vector<midi::ChannelMessage> Parse(const std::string& bytes) {
  std::vector<midi::ChannelMessage> out;
  EXPECT_TRUE(midi::ParseChannelMessages(bytes, 64, &out).ok());
  return out;
}

class MidiRelayTest : public ::testing::Test {
 protected:
  void Start(const std::function<void(server::ServerConfig&)>& tweak = nullptr) {
    ts_ = std::make_unique<TestServer>(3, tweak, clock_);
    alice_ = ts_->Connect("alice");
    bob_ = ts_->Connect("bob");
    ASSERT_TRUE(alice_ && bob_);
    ASSERT_TRUE(JoinRoom(*alice_, "relay"));
    ASSERT_TRUE(JoinRoom(*bob_, "relay"));
  }
  std::optional<proto::ClientMessage> HeardByBob() {
    return bob_->WaitFor(proto::ClientMessage::kMidiMessage, 5s);
  }

  std::shared_ptr<server::FakeClock> clock_ = NowFakeClock();
  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<client::Client> alice_, bob_;
};

TEST_F(MidiRelayTest, EveryChannelMessageKindPassesThrough) {
  Start();
  ASSERT_TRUE(alice_->Send(MidiMsg(kEveryKind, 0, "all")));
  auto m = HeardByBob();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->midi_message().midi_data(), kEveryKind);
  EXPECT_EQ(m->midi_message().user_id(), "u-alice");

  // The same kinds as single events with delays.
  proto::ServerMessage batch;
  const auto kinds = Parse(kEveryKind);
  for (size_t i = 0; i < kinds.size(); ++i) {
    auto* e = batch.mutable_midi_message()->add_events();
    std::string data;
    midi::AppendBytes(kinds[i], &data);
    e->set_data(data);
    e->set_delay_us(static_cast<uint32_t>(i * 25000));
  }
  ASSERT_TRUE(alice_->Send(batch));
  m = HeardByBob();
  ASSERT_TRUE(m);
  ASSERT_EQ(m->midi_message().events_size(), static_cast<int>(kinds.size()));
  for (int i = 0; i < m->midi_message().events_size(); ++i) {
    EXPECT_EQ(m->midi_message().events(i).data(), batch.midi_message().events(i).data());
    EXPECT_EQ(m->midi_message().events(i).delay_us(), static_cast<uint32_t>(i * 25000));
  }
}

// An unsynced sender's note-on, then a batch with a note-off at +100 ms and a CC at +150 ms:
// its anchor (arrival - 150 ms) falls before the note-on, so the server moves it later; the two
// events stay 50 ms apart.
TEST_F(MidiRelayTest, ABatchMovedByTheFloorKeepsItsSpacing) {
  Start();
  ASSERT_TRUE(alice_->Send(MidiMsg(std::string("\x90\x3c\x64", 3))));
  auto on = HeardByBob();
  ASSERT_TRUE(on);
  clock_->AdvanceUs(20000);
  proto::ServerMessage batch;
  auto* e = batch.mutable_midi_message()->add_events();
  e->set_data(std::string("\x80\x3c\x00", 3));
  e->set_delay_us(100000);
  e = batch.mutable_midi_message()->add_events();
  e->set_data(std::string("\xB0\x01\x00", 3));
  e->set_delay_us(150000);
  ASSERT_TRUE(alice_->Send(batch));
  auto m = HeardByBob();
  ASSERT_TRUE(m);
  const auto& midi = m->midi_message();
  EXPECT_EQ(midi.timestamp(), on->midi_message().timestamp()) << "starts on the previous end";
  ASSERT_EQ(midi.events_size(), 2);
  EXPECT_EQ(midi.events(0).delay_us(), 100000u);
  EXPECT_EQ(midi.events(1).delay_us(), 150000u);
}

TEST_F(MidiRelayTest, ControllersHaveTheirOwnQuota) {
  Start([](server::ServerConfig& c) {
    c.controllers_per_second = 1;  // the clock stands still: no refill
    c.controller_burst = 4;
  });
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(alice_->Send(MidiMsg(std::string("\xB0\x07\x64", 3), 0, "cc" + std::to_string(i))));
  }
  for (int i = 4; i < 6; ++i) {
    auto err = WaitForReply(*alice_, proto::ClientMessage::kErrorMessage, "cc" + std::to_string(i));
    ASSERT_TRUE(err) << i;
    EXPECT_EQ(err->error_message().code(), proto::RATE_LIMITED);
    EXPECT_EQ(err->error_message().error_message(), "controller quota exceeded");
  }
  // Notes are charged elsewhere and still pass.
  ASSERT_TRUE(alice_->Send(MidiMsg(std::string("\x90\x3c\x64", 3), 0, "note")));
  int ccs = 0;
  bool note = false;
  while (!note) {
    auto m = HeardByBob();
    ASSERT_TRUE(m) << "heard " << ccs << " CCs and no note";
    if (m->midi_message().midi_data()[0] == '\xB0') ++ccs;
    note = m->midi_message().midi_data()[0] == '\x90';
  }
  EXPECT_EQ(ccs, 4);
  // After a second of server time one more controller fits.
  clock_->AdvanceUs(1000000);
  ASSERT_TRUE(alice_->Send(MidiMsg(std::string("\xB0\x07\x10", 3), 0, "later")));
  auto later = HeardByBob();
  ASSERT_TRUE(later);
  EXPECT_EQ(later->midi_message().midi_data(), std::string("\xB0\x07\x10", 3));
}

// What the server sends for a sender that left with everything down and bent.
std::vector<midi::ChannelMessage> ExpectedRelease() {
  return {midi::MakeNoteOff(0, 60),
          midi::MakeControlChange(0, midi::kCcSustain, 0),
          midi::MakeControlChange(0, midi::kCcSostenuto, 0),
          midi::MakeControlChange(0, midi::kCcSoft, 0),
          midi::MakeControlChange(0, midi::kCcModWheel, 0),
          midi::MakePitchBend(0, midi::kPitchBendCenter)};
}

const std::string kEverythingDown(
    "\xE0\x00\x60"   // bend up
    "\xB0\x01\x40"   // mod wheel
    "\xB0\x40\x7F"   // sustain
    "\xB0\x42\x7F"   // sostenuto
    "\xB0\x43\x7F"   // soft
    "\x90\x3c\x64",  // a key
    18);

std::vector<midi::ChannelMessage> SyntheticReleaseHeardBy(client::Client& c) {
  for (;;) {
    auto m = c.WaitFor(proto::ClientMessage::kMidiMessage, 5s);
    if (!m) return {};
    if (m->midi_message().flags() & proto::MIDI_FLAG_SYNTHETIC) {
      return Parse(m->midi_message().midi_data());
    }
  }
}

TEST_F(MidiRelayTest, ALeavingSenderIsReleasedPedalsBendAndModWheelIncluded) {
  Start();
  ASSERT_TRUE(alice_->Send(MidiMsg(kEverythingDown)));
  ASSERT_TRUE(HeardByBob());
  ASSERT_TRUE(alice_->Send(LeaveMsg("bye")));
  EXPECT_EQ(SyntheticReleaseHeardBy(*bob_), ExpectedRelease());
}

TEST_F(MidiRelayTest, AKilledSenderIsReleasedPedalsBendAndModWheelIncluded) {
  Start();
  ASSERT_TRUE(alice_->Send(MidiMsg(kEverythingDown)));
  ASSERT_TRUE(HeardByBob());
  alice_.reset();  // the connection goes away without a leave
  EXPECT_EQ(SyntheticReleaseHeardBy(*bob_), ExpectedRelease());
}

TEST_F(MidiRelayTest, AMutedSenderIsReleasedAndItsRefusalEchoesTheRequestId) {
  Start();
  // alice created the room: she owns it and mutes bob.
  ASSERT_TRUE(bob_->Send(MidiMsg(kEverythingDown)));
  ASSERT_TRUE(alice_->WaitFor(proto::ClientMessage::kMidiMessage, 5s));
  ASSERT_TRUE(alice_->Send(ChatMsg("/mute bob 5m", "m1")));
  EXPECT_EQ(SyntheticReleaseHeardBy(*alice_), ExpectedRelease());
  ASSERT_TRUE(bob_->Send(MidiMsg(std::string("\x90\x3e\x64", 3), 0, "muted-midi")));
  auto err = WaitForReply(*bob_, proto::ClientMessage::kErrorMessage, "muted-midi");
  ASSERT_TRUE(err) << "the MUTED refusal lost its request id";
  EXPECT_EQ(err->error_message().code(), proto::MUTED);
}

TEST_F(MidiRelayTest, ALateJoinerLearnsTheSendersInstrumentBendAndPedals) {
  Start();
  // Program 5 on channel 3, bend down, soft pedal; no key held.
  ASSERT_TRUE(alice_->Send(MidiMsg(std::string("\xC3\x05\xE3\x00\x20\xB3\x43\x7F", 8))));
  ASSERT_TRUE(HeardByBob());
  auto carol = ts_->Connect("carol");
  ASSERT_TRUE(carol);
  proto::RoomJoinedResponse joined;
  ASSERT_TRUE(JoinRoom(*carol, "relay", &joined));
  const proto::HeldNotesSnapshot* alice = nullptr;
  for (const auto& h : joined.held_notes()) {
    if (h.user_id() == "u-alice") alice = &h;
  }
  ASSERT_NE(alice, nullptr) << "no snapshot for a sender holding only controller state";
  EXPECT_EQ(alice->notes_size(), 0);
  EXPECT_EQ(alice->soft_channels(), 1u << 3);
  ASSERT_EQ(alice->controllers_size(), 1);
  EXPECT_EQ(alice->controllers(0).channel(), 3u);
  EXPECT_TRUE(alice->controllers(0).has_program());
  EXPECT_EQ(alice->controllers(0).program(), 5u);
  EXPECT_EQ(alice->controllers(0).pitch_bend(), 0x20u << 7);
}

}  // namespace
}  // namespace tutti::testing
