// Rooms across nodes: one redis-server and two tutti-server processes (all started here
// on free loopback ports, stopped by PID), clients of one room on both nodes, several
// senders on each. Every receiver sees the same sequence: per room offsets without a
// gap other than its own un-echoed MIDI, and for each offset the same bytes everywhere.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/redis/nodes_harness.h"

namespace tutti::testing {
namespace {

using namespace std::chrono_literals;

struct Receiver {
  std::string name;
  std::unique_ptr<client::Client> client;
  std::map<uint64_t, std::string> by_offset;  // offset -> the event without its position
  std::string epoch;
  std::set<std::string> chats;
  int midi = 0;
};

using RoomsAcrossNodesTest = NodesTest;

TEST_F(RoomsAcrossNodesTest, MembersOnTwoNodesSeeOneSequence) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());

  constexpr int kPerNode = 3;
  constexpr int kChats = 15;
  constexpr int kNotes = 15;
  std::vector<Receiver> rs;
  for (int i = 0; i < 2 * kPerNode; ++i) {
    const bool on_a = i < kPerNode;
    Receiver r;
    r.name = std::string(on_a ? "a" : "b") + std::to_string(i % kPerNode);
    r.client = Connect(on_a ? node_a_->port() : node_b_->port(), r.name);
    ASSERT_TRUE(r.client) << r.name;
    ASSERT_TRUE(JoinRoom(*r.client, "Jam")) << r.name;
    rs.push_back(std::move(r));
  }
  ASSERT_TRUE(WaitNodesSubscribed("jam", 2));

  // Every member sends chat lines and notes, interleaved.
  for (int k = 0; k < std::max(kChats, kNotes); ++k) {
    for (Receiver& r : rs) {
      if (k < kChats) {
        ASSERT_TRUE(r.client->Send(ChatMsg(r.name + "-c" + std::to_string(k))));
      }
      if (k < kNotes) {
        const std::string note = {'\x90', static_cast<char>(20 + k), '\x40'};
        ASSERT_TRUE(r.client->Send(MidiMsg(note)));
      }
    }
  }

  // Each receiver reads until it has every chat line (its own come back too) and every
  // other member's notes (a sender gets no echo of its own MIDI).
  const size_t all_chats = rs.size() * kChats;
  const int others_notes = static_cast<int>(rs.size() - 1) * kNotes;
  for (Receiver& r : rs) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while ((r.chats.size() < all_chats || r.midi < others_notes) &&
           std::chrono::steady_clock::now() < deadline) {
      auto m = r.client->Next(1s);
      if (!m) continue;
      if (m->has_room_chat_message() &&
          m->room_chat_message().message().find("-c") != std::string::npos) {
        r.chats.insert(m->room_chat_message().message());
      } else if (m->has_midi_message()) {
        ++r.midi;
      } else if (!m->has_stream()) {
        continue;
      }
      if (!m->has_stream()) {
        ADD_FAILURE() << r.name << ": a room event without a position";
        continue;
      }
      if (r.epoch.empty()) r.epoch = m->stream().epoch();
      EXPECT_EQ(m->stream().epoch(), r.epoch) << r.name;
      const uint64_t offset = m->stream().offset();
      m->clear_stream();
      m->clear_request_id();
      EXPECT_TRUE(r.by_offset.emplace(offset, m->SerializeAsString()).second)
          << r.name << " got offset " << offset << " twice";
    }
    EXPECT_EQ(r.chats.size(), all_chats) << r.name;
    EXPECT_EQ(r.midi, others_notes) << r.name;
  }

  // One sequence: the same epoch, and for every offset the same event wherever seen.
  std::map<uint64_t, std::string> merged;
  for (const Receiver& r : rs) {
    EXPECT_EQ(r.epoch, rs[0].epoch);
    for (const auto& [offset, bytes] : r.by_offset) {
      auto [it, fresh] = merged.emplace(offset, bytes);
      if (!fresh) {
        EXPECT_EQ(it->second, bytes) << r.name << " differs at offset " << offset;
      }
    }
  }
  // No gaps: from the first sent event on, each receiver holds every offset up to the
  // last it read except its own notes; every offset is held by someone; and the test's
  // events are all there once (other room events, e.g. held-notes snapshots, may fall
  // in between: they are checked like the rest).
  uint64_t first = UINT64_MAX;
  std::map<uint64_t, std::string> midi_sender;  // offset -> user id of a MIDI event
  size_t test_events = 0;
  for (const auto& [offset, bytes] : merged) {
    proto::ClientMessage m;
    ASSERT_TRUE(m.ParseFromString(bytes));
    const bool chat = m.has_room_chat_message() &&
                      m.room_chat_message().message().find("-c") != std::string::npos;
    if (chat || m.has_midi_message()) ++test_events;
    if (chat) first = std::min(first, offset);
    if (m.has_midi_message()) midi_sender[offset] = m.midi_message().user_id();
  }
  ASSERT_NE(first, UINT64_MAX);
  EXPECT_EQ(test_events, rs.size() * (kChats + kNotes));
  const uint64_t last = merged.rbegin()->first;
  for (uint64_t o = first; o <= last; ++o) EXPECT_TRUE(merged.count(o)) << "nobody got " << o;
  for (const Receiver& r : rs) {
    ASSERT_FALSE(r.by_offset.empty());
    int own_notes = 0;
    for (uint64_t o = first; o <= r.by_offset.rbegin()->first; ++o) {
      if (r.by_offset.count(o)) continue;
      auto it = midi_sender.find(o);
      EXPECT_TRUE(it != midi_sender.end() && it->second == "u-" + r.name)
          << r.name << " misses offset " << o << ", which is not its own note";
      ++own_notes;
    }
    EXPECT_LE(own_notes, kNotes) << r.name;
  }
  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

}  // namespace
}  // namespace tutti::testing
