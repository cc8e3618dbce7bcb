// Two or more real clients in a room: chat and MIDI relay with server times.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

const std::string kNoteOn60("\x90\x3c\x64", 3);
const std::string kNoteOff60("\x80\x3c\x00", 3);

TEST(ChatMidi, TwoClientsExchangeChatWithServerTimeAndIds) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(JoinRoom(*alice, "Jam"));
  proto::RoomJoinedResponse joined;
  ASSERT_TRUE(JoinRoom(*bob, "Jam", &joined));
  EXPECT_EQ(joined.current_users_size(), 2);
  EXPECT_EQ(joined.room_info().owner_id(), "u-alice");

  auto announced = alice->WaitFor(proto::ClientMessage::kUserJoinedRoom, 3s);
  ASSERT_TRUE(announced);
  EXPECT_EQ(announced->user_joined_room().user_info().username(), "bob");

  ASSERT_TRUE(alice->Send(ChatMsg("hello\x01 bob", "r1")));
  auto at_bob = bob->WaitFor(proto::ClientMessage::kRoomChatMessage, 3s);
  ASSERT_TRUE(at_bob);
  EXPECT_EQ(at_bob->room_chat_message().message(), "hello bob");  // control char stripped
  EXPECT_EQ(at_bob->room_chat_message().user_id(), "u-alice");
  EXPECT_GT(at_bob->room_chat_message().server_time(), 0);
  EXPECT_EQ(at_bob->request_id(), "");  // the shared copy carries no request id
  auto echo = alice->WaitFor(proto::ClientMessage::kRoomChatMessage, 3s);
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->request_id(), "r1");
  EXPECT_EQ(echo->message_type(), proto::ClientMessage::RoomChatMessage);
}

TEST(ChatMidi, MidiIsRelayedToOthersWithMonotonicRoomTime) {
  TestServer ts(4);
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(alice && bob && carol);
  ASSERT_TRUE(JoinRoom(*alice, "Band"));
  ASSERT_TRUE(JoinRoom(*bob, "Band"));
  ASSERT_TRUE(JoinRoom(*carol, "Band"));
  constexpr int kNotes = 200;
  for (int i = 0; i < kNotes; ++i) {
    ASSERT_TRUE(alice->Send(MidiMsg(i % 2 ? kNoteOff60 : kNoteOn60)));
    ASSERT_TRUE(bob->Send(MidiMsg(i % 2 ? kNoteOff60 : kNoteOn60)));
  }
  // Carol hears both players, every batch, in room order.
  int64_t last_room_time = 0;
  uint64_t last_seq[2] = {0, 0};
  int received = 0;
  while (received < 2 * kNotes) {
    auto m = carol->WaitFor(proto::ClientMessage::kMidiMessage, 5s);
    ASSERT_TRUE(m) << "only " << received << " MIDI messages arrived";
    const auto& midi = m->midi_message();
    EXPECT_GT(midi.room_time(), last_room_time);
    last_room_time = midi.room_time();
    int who = midi.user_id() == "u-alice" ? 0 : 1;
    EXPECT_EQ(midi.sequence(), last_seq[who] + 1);
    last_seq[who] = midi.sequence();
    EXPECT_GT(midi.timestamp(), 0);
    EXPECT_EQ(midi.flags() & proto::MIDI_FLAG_RESTAMPED, proto::MIDI_FLAG_RESTAMPED);
    ++received;
  }
  // Nobody hears their own notes.
  auto own = alice->WaitFor(proto::ClientMessage::kMidiMessage, 300ms);
  ASSERT_TRUE(own);
  EXPECT_EQ(own->midi_message().user_id(), "u-bob");
}

TEST(ChatMidi, InvalidMidiIsRefusedWithTypedError) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  ASSERT_TRUE(alice);
  ASSERT_TRUE(JoinRoom(*alice, "Solo"));
  ASSERT_TRUE(alice->Send(MidiMsg(std::string("\xF0\x7E\xF7", 3), 0, "sysex")));
  std::string rid;
  EXPECT_EQ(WaitError(*alice, 3s, &rid), proto::INVALID_PARAMETERS);
  EXPECT_EQ(rid, "sysex");
  ASSERT_TRUE(alice->Send(MidiMsg(std::string("\x90\x3c", 2), 0, "short")));
  EXPECT_EQ(WaitError(*alice), proto::INVALID_PARAMETERS);
}

TEST(ChatMidi, MidiOutsideARoomIsWrongState) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  ASSERT_TRUE(alice);
  ASSERT_TRUE(alice->Send(MidiMsg(kNoteOn60, 0, "x")));
  EXPECT_EQ(WaitError(*alice), proto::WRONG_STATE);
}

TEST(ChatMidi, DisconnectReleasesHeldNotesWithSyntheticNoteOffs) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(JoinRoom(*alice, "Keys"));
  ASSERT_TRUE(JoinRoom(*bob, "Keys"));
  // A chord with the sustain pedal down.
  ASSERT_TRUE(
      alice->Send(MidiMsg(std::string("\xB0\x40\x7F\x90\x3c\x64\x90\x40\x64\x90\x43\x64", 12))));
  ASSERT_TRUE(bob->WaitFor(proto::ClientMessage::kMidiMessage, 3s));
  alice.reset();  // the sender vanishes mid-chord
  auto off = bob->WaitFor(proto::ClientMessage::kMidiMessage, 5s);
  ASSERT_TRUE(off);
  EXPECT_TRUE(off->midi_message().flags() & proto::MIDI_FLAG_SYNTHETIC);
  const std::string& d = off->midi_message().midi_data();
  // Three note-offs and a sustain-off.
  int note_offs = 0, sustain_off = 0;
  for (size_t i = 0; i + 2 < d.size(); i += 3) {
    uint8_t st = static_cast<uint8_t>(d[i]);
    if ((st & 0xF0) == 0x80 || ((st & 0xF0) == 0x90 && d[i + 2] == 0)) ++note_offs;
    if ((st & 0xF0) == 0xB0 && d[i + 1] == 64 && d[i + 2] == 0) ++sustain_off;
  }
  EXPECT_EQ(note_offs, 3);
  EXPECT_EQ(sustain_off, 1);
  auto left = bob->WaitFor(proto::ClientMessage::kUserLeftRoom, 3s);
  ASSERT_TRUE(left);
  EXPECT_EQ(left->user_left_room().reason(), "disconnected");
}

// Every room's held notes are re-announced once per held_notes_snapshot_ms, whichever of
// the shard's tick slices the room falls in: receivers use the snapshot to release notes
// whose note-off they missed.
TEST(ChatMidi, EveryRoomGetsPeriodicHeldNotesSnapshots) {
  TestServer ts(1, [](server::ServerConfig& c) { c.held_notes_snapshot_ms = 200; });
  constexpr int kRooms = 12;
  std::vector<std::unique_ptr<client::Client>> players, listeners;
  for (int r = 0; r < kRooms; ++r) {
    const std::string room = "held-" + std::to_string(r);
    players.push_back(ts.Connect("p" + std::to_string(r)));
    listeners.push_back(ts.Connect("l" + std::to_string(r)));
    ASSERT_TRUE(players.back() && listeners.back());
    ASSERT_TRUE(JoinRoom(*players.back(), room));
    ASSERT_TRUE(JoinRoom(*listeners.back(), room));
    ASSERT_TRUE(players.back()->Send(MidiMsg(kNoteOn60)));  // held, never released
  }
  for (int r = 0; r < kRooms; ++r) {
    auto snap = listeners[r]->WaitFor(proto::ClientMessage::kHeldNotesSnapshot, 5s);
    ASSERT_TRUE(snap) << "room " << r << " got no held-notes snapshot";
    const auto& s = snap->held_notes_snapshot();
    EXPECT_EQ(s.user_id(), "u-p" + std::to_string(r));
    ASSERT_EQ(s.notes_size(), 1);
    EXPECT_EQ(s.notes(0).note(), 60u);
  }
}

}  // namespace
}  // namespace tutti::testing
