// Linked connections (docs/PROTOCOL.md §16) with the Redis engine: a real redis-server and
// two tutti-server nodes (started here on loopback, stopped by PID), a room with a member
// on each. A link on its session's node mirrors the room's events with the primary's stream
// positions, and MIDI sent on both connections reaches the other node's member once. A link
// token presented on the other node (as a load balancer without affinity would send it) is
// refused with AUTH_ERROR and the close 4006, also when that node runs fewer shards than the
// session's, and leaves the session alone (the token still attaches on its own node).
// Every wait is bounded by a deadline; nothing depends on how long a step takes.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/ids.h"
#include "tests/redis/nodes_harness.h"

namespace tutti::testing {
namespace {

constexpr auto kLong = 30s;  // a bound never reached when green
constexpr uint16_t kLinkRefused = 4006;

// Asks `primary`'s session for a link token (empty, with the failure recorded, if none).
std::string LinkToken(client::Client& primary, const std::string& rid) {
  proto::ServerMessage m;
  m.mutable_server_command()->set_commandtype(proto::LINK);
  m.set_request_id(rid);
  EXPECT_TRUE(primary.Send(m));
  auto r = WaitForReply(primary, proto::ClientMessage::kLinkStatus, rid, kLong);
  EXPECT_TRUE(r) << "no LinkStatus";
  return r ? r->link_status().link_token() : "";
}

bool IsChat(const proto::ClientMessage& m, const std::string& text) {
  return m.has_room_chat_message() && m.room_chat_message().message() == text;
}

// A numbered note-on batch (MidiMessage.sequence, as a client with a link sends).
proto::ServerMessage Numbered(uint64_t sequence, uint8_t note) {
  proto::ServerMessage m = MidiMsg(std::string{'\x90', static_cast<char>(note), '\x40'});
  m.mutable_midi_message()->set_sequence(sequence);
  return m;
}

// How many times the note-on of `note` occurs in `data`.
int CountNote(const std::string& data, uint8_t note) {
  const std::string want{'\x90', static_cast<char>(note), '\x40'};
  int n = 0;
  for (size_t at = data.find(want); at != std::string::npos; at = data.find(want, at + 1)) ++n;
  return n;
}

class LinksAcrossNodesTest : public NodesTest {
 protected:
  // Opens a connection to the node at `port` as member `name` presenting `token`: the
  // upgrade succeeds (the identity is valid); the link's fate is its first message.
  std::unique_ptr<client::Client> OpenLink(uint16_t port, const std::string& name,
                                           const std::string& token) {
    crypto::DevConnectionRequest req = MemberRequest(port, name);
    req.link_token = token;
    auto c = std::make_unique<client::Client>();
    const client::ConnectResult r = c->Connect("127.0.0.1", port, Mint(req).resource);
    if (!r.ok) {
      ADD_FAILURE() << "link upgrade failed: " << r.http_status << " " << r.error;
      return nullptr;
    }
    return c;
  }

  // The refusal of a link: an ErrorMessage with AUTH_ERROR, then the close 4006.
  static void ExpectRefused(client::Client& link) {
    auto m = link.Next(kLong);
    ASSERT_TRUE(m) << "no answer on the link";
    ASSERT_TRUE(m->has_error_message()) << m->ShortDebugString();
    EXPECT_EQ(m->error_message().code(), proto::AUTH_ERROR);
    uint16_t close = 0;
    std::string reason;
    EXPECT_TRUE(link.WaitClosed(kLong, &close, &reason)) << "the refused link stayed open";
    EXPECT_EQ(close, kLinkRefused) << reason;
  }

  // The session goes on: a line from bob (node B) reaches ann's primary (node A), and the
  // token node B refused, never seen by node A, still attaches ann's link there.
  void ExpectSessionUnharmed(client::Client& ann, client::Client& bob, const std::string& line,
                             uint64_t ann_session, const std::string& token) {
    ASSERT_TRUE(bob.Send(ChatMsg(line)));
    EXPECT_TRUE(WaitMatching(
        ann, [&](const proto::ClientMessage& m) { return IsChat(m, line); }, kLong))
        << "ann's session no longer gets the room's events";
    auto link = OpenLink(node_a_->port(), "ann", token);
    ASSERT_TRUE(link);
    auto m = link->Next(kLong);
    ASSERT_TRUE(m && m->has_link_status() && m->link_status().attached())
        << (m ? m->ShortDebugString() : "nothing");
    EXPECT_EQ(m->link_status().session_id(), ann_session);
  }
};

// Room events read from `c` (those with a stream position) up to the chat line `end`.
std::vector<proto::ClientMessage> EventsUntilChat(client::Client& c, const std::string& end) {
  std::vector<proto::ClientMessage> events;
  NodesTest::WaitMatching(
      c,
      [&](const proto::ClientMessage& m) {
        if (m.has_stream()) events.push_back(m);
        return IsChat(m, end);
      },
      kLong);
  return events;
}

TEST_F(LinksAcrossNodesTest,
       ALinkOnItsSessionsNodeMirrorsTheRoomAndItsMidiReachesTheOtherNodeOnce) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());
  proto::Welcome ann_welcome;
  auto ann = Connect(node_a_->port(), "ann", &ann_welcome);
  auto bob = Connect(node_b_->port(), "bob");
  ASSERT_TRUE(ann && bob);
  ASSERT_TRUE(JoinRoom(*ann, "Jam"));
  ASSERT_TRUE(JoinRoom(*bob, "Jam"));
  ASSERT_TRUE(WaitNodesSubscribed("jam", 2));

  auto link = OpenLink(node_a_->port(), "ann", LinkToken(*ann, "link"));
  ASSERT_TRUE(link);
  auto attached = link->Next(kLong);
  ASSERT_TRUE(attached && attached->has_link_status() && attached->link_status().attached())
      << (attached ? attached->ShortDebugString() : "nothing");
  EXPECT_EQ(attached->link_status().session_id(), ann_welcome.user().session_id());

  // Bob's events, sequenced through Redis: the link gets each with the primary's position.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(bob->Send(MidiMsg(std::string{'\x90', static_cast<char>(60 + i), '\x50'})));
    ASSERT_TRUE(bob->Send(ChatMsg("line " + std::to_string(i))));
  }
  ASSERT_TRUE(bob->Send(ChatMsg("end")));
  const std::vector<proto::ClientMessage> primary = EventsUntilChat(*ann, "end");
  const std::vector<proto::ClientMessage> linked = EventsUntilChat(*link, "end");
  ASSERT_GE(primary.size(), 21u) << "ann's primary missed bob's events";
  ASSERT_EQ(linked.size(), primary.size());
  for (size_t i = 0; i < primary.size(); ++i) {
    EXPECT_EQ(linked[i].stream().epoch(), primary[i].stream().epoch()) << i;
    EXPECT_EQ(linked[i].stream().offset(), primary[i].stream().offset()) << i;
    EXPECT_EQ(linked[i].message_case(), primary[i].message_case()) << i;
  }

  // Ann sends each numbered batch on both connections, the order alternating.
  constexpr uint64_t kBatches = 20;
  for (uint64_t seq = 1; seq <= kBatches; ++seq) {
    client::Client& first = seq % 2 ? *ann : *link;
    client::Client& second = seq % 2 ? *link : *ann;
    ASSERT_TRUE(first.Send(Numbered(seq, static_cast<uint8_t>(20 + seq))));
    ASSERT_TRUE(second.Send(Numbered(seq, static_cast<uint8_t>(20 + seq))));
  }
  // The link's answer to a heartbeat comes after node A handled every copy sent on it
  // before; an unnumbered marker on the primary after that is relayed after every batch.
  ASSERT_TRUE(link->Send(HeartbeatMsg(1, "hb")));
  ASSERT_TRUE(WaitForReply(*link, proto::ClientMessage::kHeartbeatMessage, "hb", kLong));
  const uint8_t kMarker = 100;
  ASSERT_TRUE(ann->Send(MidiMsg(std::string{'\x90', static_cast<char>(kMarker), '\x40'})));
  std::map<uint8_t, int> heard;
  ASSERT_TRUE(WaitMatching(
      *bob,
      [&](const proto::ClientMessage& m) {
        if (!m.has_midi_message() || m.midi_message().user_id() != "u-ann") return false;
        for (uint64_t seq = 1; seq <= kBatches; ++seq) {
          const uint8_t note = static_cast<uint8_t>(20 + seq);
          heard[note] += CountNote(m.midi_message().midi_data(), note);
        }
        return CountNote(m.midi_message().midi_data(), kMarker) > 0;
      },
      kLong))
      << "bob never heard ann's marker";
  for (uint64_t seq = 1; seq <= kBatches; ++seq) {
    EXPECT_EQ(heard[static_cast<uint8_t>(20 + seq)], 1) << "batch " << seq;
  }
}

TEST_F(LinksAcrossNodesTest, ALinkTokenPresentedOnTheOtherNodeIsRefusedAndTheSessionGoesOn) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());
  proto::Welcome ann_welcome;
  auto ann = Connect(node_a_->port(), "ann", &ann_welcome);
  auto bob = Connect(node_b_->port(), "bob");
  ASSERT_TRUE(ann && bob);
  ASSERT_TRUE(JoinRoom(*ann, "Jam"));
  ASSERT_TRUE(JoinRoom(*bob, "Jam"));
  ASSERT_TRUE(WaitNodesSubscribed("jam", 2));

  // Ann's token, sent by "the load balancer" to node B.
  const std::string token = LinkToken(*ann, "link");
  auto stray = OpenLink(node_b_->port(), "ann", token);
  ASSERT_TRUE(stray);
  ASSERT_NO_FATAL_FAILURE(ExpectRefused(*stray));
  ASSERT_NO_FATAL_FAILURE(
      ExpectSessionUnharmed(*ann, *bob, "after", ann_welcome.user().session_id(), token));
  // Node B serves on.
  EXPECT_TRUE(Connect(node_b_->port(), "cid")) << node_b_->output();
}

// Node A runs more shards than node B: the token names a shard node B does not have.
TEST_F(LinksAcrossNodesTest, ALinkTokenNamingAShardTheOtherNodeLacksIsRefusedThere) {
  ASSERT_NO_FATAL_FAILURE(StartNodes({"--shards", "4"}, {"--shards", "1"}));
  // Ann's session on one of node A's shards 1 to 3 (the kernel spreads connections over
  // the shards' listeners: a few tries find one; the odds of 40 misses are 4^-40).
  proto::Welcome ann_welcome;
  std::unique_ptr<client::Client> ann;
  for (int i = 0; i < 40 && !ann; ++i) {
    ann = Connect(node_a_->port(), "ann", &ann_welcome);
    ASSERT_TRUE(ann);
    if (server::ShardOfSession(ann_welcome.user().session_id()) == 0) ann.reset();
  }
  ASSERT_TRUE(ann) << "no session of ann on node A's shards 1 to 3";
  auto bob = Connect(node_b_->port(), "bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(JoinRoom(*ann, "Jam"));
  ASSERT_TRUE(JoinRoom(*bob, "Jam"));
  ASSERT_TRUE(WaitNodesSubscribed("jam", 2));

  const std::string token = LinkToken(*ann, "link");
  auto stray = OpenLink(node_b_->port(), "ann", token);
  ASSERT_TRUE(stray);
  EXPECT_NO_FATAL_FAILURE(ExpectRefused(*stray));
  // Node B serves on (its output tells why not).
  ASSERT_TRUE(Connect(node_b_->port(), "cid")) << node_b_->output();
  ASSERT_NO_FATAL_FAILURE(
      ExpectSessionUnharmed(*ann, *bob, "after", ann_welcome.user().session_id(), token));
}

}  // namespace
}  // namespace tutti::testing
