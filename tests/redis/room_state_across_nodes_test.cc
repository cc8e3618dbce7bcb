// A room's state across nodes: one redis-server and two tutti-server processes (started
// here on free loopback ports, stopped by PID), members of one room on both. A joiner on
// one node gets the chat lines said on the other, in the stream's order, and a clear
// made on one node ends them for joiners on both. The performer list is one too: a
// performer named on one node plays on the other, and the tempo is kept for a node where the
// room opens later. And nodes whose monotonic clocks count from different boots share one
// timeline.
#include <signal.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/redis/nodes_harness.h"

namespace tutti::testing {
namespace {

using namespace std::chrono_literals;

using RoomStateAcrossNodesTest = NodesTest;

std::vector<std::string> Lines(const proto::RoomJoinedResponse& r) {
  std::vector<std::string> out;
  for (const auto& l : r.chat_history()) out.push_back(l.message());
  return out;
}

// Reads `c` until it has seen the chat line `text` (bounded).
bool SawLine(client::Client& c, const std::string& text) {
  return NodesTest::WaitMatching(
             c,
             [&text](const proto::ClientMessage& m) {
               return m.has_room_chat_message() && m.room_chat_message().message() == text;
             },
             10s)
      .has_value();
}

TEST_F(RoomStateAcrossNodesTest, JoinersOnEitherNodeGetTheChatSaidOnBoth) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());

  // Said on A while the room exists on A only.
  auto ann = Connect(node_a_->port(), "ann");
  ASSERT_TRUE(ann);
  ASSERT_TRUE(JoinRoom(*ann, "Jam"));
  for (const char* text : {"before-1", "before-2", "before-3"}) {
    ASSERT_TRUE(ann->Send(ChatMsg(text)));
  }
  ASSERT_TRUE(SawLine(*ann, "before-3"));  // sequenced: the lines are in Redis

  // The room opens on B with its first joiner there.
  auto bob = Connect(node_b_->port(), "bob");
  ASSERT_TRUE(bob);
  proto::RoomJoinedResponse joined;
  ASSERT_TRUE(JoinRoom(*bob, "Jam", &joined));
  EXPECT_EQ(Lines(joined), (std::vector<std::string>{"before-1", "before-2", "before-3"}));
  ASSERT_TRUE(WaitNodesSubscribed("jam", 2));

  // Said on both nodes once the room is open on both: every joiner, on either node, gets
  // them in the order the members saw them.
  ASSERT_TRUE(ann->Send(ChatMsg("after-a")));
  ASSERT_TRUE(bob->Send(ChatMsg("after-b")));
  std::vector<std::string> seen;
  const auto got = WaitMatching(
      *bob,
      [&seen](const proto::ClientMessage& m) {
        if (m.has_room_chat_message()) seen.push_back(m.room_chat_message().message());
        return seen.size() == 2;
      },
      10s);
  ASSERT_TRUE(got);
  ASSERT_TRUE(SawLine(*ann, seen.back()));  // A delivered both too
  std::vector<std::string> want = {"before-1", "before-2", "before-3", seen[0], seen[1]};
  auto cay = Connect(node_b_->port(), "cay");
  ASSERT_TRUE(cay);
  ASSERT_TRUE(JoinRoom(*cay, "Jam", &joined));
  EXPECT_EQ(Lines(joined), want);
  // Each line has its own id, whichever node relayed it (every node's room object numbers
  // its lines from a random base of its own; from 1, B's first line took A's first id).
  std::set<uint64_t> ids;
  for (const auto& l : joined.chat_history()) ids.insert(l.message_id());
  EXPECT_EQ(ids.size(), want.size());
  auto dee = Connect(node_a_->port(), "dee");
  ASSERT_TRUE(dee);
  ASSERT_TRUE(JoinRoom(*dee, "Jam", &joined));
  EXPECT_EQ(Lines(joined), want);

  // The owner (ann, who opened the room) clears the chat on A: B's room ends its lines
  // when the event reaches it, and so does the list kept in Redis.
  ASSERT_TRUE(ann->Send(ChatMsg("/clear")));
  ASSERT_TRUE(WaitMatching(
      *bob, [](const proto::ClientMessage& m) { return m.has_chat_cleared(); }, 10s));
  auto eve = Connect(node_b_->port(), "eve");
  ASSERT_TRUE(eve);
  ASSERT_TRUE(JoinRoom(*eve, "Jam", &joined));
  EXPECT_TRUE(Lines(joined).empty());
  EXPECT_TRUE(WaitRedisReply({"LLEN", "tutti:{jam}:chat"}, [](const redisReply* r) {
    return r != nullptr && r->type == REDIS_REPLY_INTEGER && r->integer == 0;
  }));

  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

// The performer list is one across nodes: in a performers-only room opened on A, the
// owner names bob, a member on node B, by name; bob's notes reach ann on A. Before
// that, B refused them.
TEST_F(RoomStateAcrossNodesTest, APerformerNamedOnOneNodePlaysOnTheOther) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());
  auto ann = Connect(node_a_->port(), "ann");
  ASSERT_TRUE(ann);
  ASSERT_TRUE(JoinRoom(*ann, "Stage"));
  proto::ServerMessage mode;
  auto* settings = mode.mutable_update_room_command()->mutable_settings();
  settings->set_allow_chat(true);
  settings->set_max_users(10);
  settings->set_play_mode(proto::PLAY_PERFORMERS_ONLY);
  mode.set_request_id("mode");
  ASSERT_TRUE(ann->Send(mode));
  ASSERT_TRUE(WaitForReply(*ann, proto::ClientMessage::kRoomUpdated, "mode", 10s));

  auto bob = Connect(node_b_->port(), "bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(JoinRoom(*bob, "Stage"));
  ASSERT_TRUE(WaitNodesSubscribed("stage", 2));
  const std::string note_on{'\x90', 64, 80};
  ASSERT_TRUE(bob->Send(MidiMsg(note_on, 0, "b1")));
  auto refused = WaitForReply(*bob, proto::ClientMessage::kErrorMessage, "b1", 10s);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->error_message().code(), proto::NOT_A_PERFORMER);

  ASSERT_TRUE(ann->Send(ChatMsg("/perform bob", "p1")));
  auto done = WaitForReply(*ann, proto::ClientMessage::kCommandResult, "p1", 10s);
  ASSERT_TRUE(done);
  EXPECT_TRUE(done->command_result().ok()) << done->DebugString();
  // B learns it from the event (its RoomUpdated shows bob listed), then lets him play.
  ASSERT_TRUE(WaitMatching(
      *bob,
      [](const proto::ClientMessage& m) {
        if (!m.has_room_updated()) return false;
        const auto& ids = m.room_updated().room_info().performer_ids();
        return ids.size() == 1 && ids[0] == "u-bob";
      },
      10s));
  ASSERT_TRUE(bob->Send(MidiMsg(note_on)));
  EXPECT_TRUE(WaitMatching(
      *ann,
      [&](const proto::ClientMessage& m) {
        return m.has_midi_message() && m.midi_message().user_id() == "u-bob" &&
               m.midi_message().midi_data() == note_on;
      },
      10s))
      << "bob's note, played on node B, never reached ann on node A";

  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

// The tempo is kept with the room's state: a tempo set on A before the room had an object
// on B is what B's first joiner is shown (before, B's room showed 120, 4/4, stopped until
// the next change). Once everybody left on both nodes, the next joiner opens a new life of
// the room, at the default tempo, and its open drops the old life's from Redis.
TEST_F(RoomStateAcrossNodesTest, ATempoSetBeforeTheRoomOpensOnANodeIsTheRoomsTempoThere) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());
  auto ann = Connect(node_a_->port(), "ann");
  ASSERT_TRUE(ann);
  ASSERT_TRUE(JoinRoom(*ann, "Jam"));
  ASSERT_TRUE(ann->Send(ChatMsg("/tempo 100 3/4 start", "tempo")));
  auto set = WaitForReply(*ann, proto::ClientMessage::kTempoState, "tempo", 10s);
  ASSERT_TRUE(set) << "ann's tempo change was not answered";
  const proto::TempoState& grid = set->tempo_state();
  ASSERT_EQ(grid.bpm(), 100);
  EXPECT_TRUE(WaitRedisReply({"HEXISTS", "tutti:{jam}:state", "tempo"}, [](const redisReply* r) {
    return r != nullptr && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
  }));

  // The room opens on B with its first joiner there.
  auto bob = Connect(node_b_->port(), "bob");
  ASSERT_TRUE(bob);
  proto::RoomJoinedResponse joined;
  ASSERT_TRUE(JoinRoom(*bob, "Jam", &joined));
  const proto::TempoState& shown = joined.room_info().tempo();
  EXPECT_EQ(shown.bpm(), 100) << "B's room does not show the tempo set on A";
  EXPECT_EQ(shown.beats_per_bar(), 3u);
  EXPECT_TRUE(shown.running());
  EXPECT_EQ(shown.anchor_server_time(), grid.anchor_server_time());
  EXPECT_EQ(shown.anchor_beat(), grid.anchor_beat());
  EXPECT_EQ(shown.changed_by_user_id(), "u-ann");
  EXPECT_EQ(shown.changed_unix_ms(), grid.changed_unix_ms());

  // Everybody leaves, on both nodes; the next joiner starts a new life of the room.
  ASSERT_TRUE(ann->Send(LeaveMsg("la")));
  ASSERT_TRUE(bob->Send(LeaveMsg("lb")));
  for (client::Client* c : {ann.get(), bob.get()}) {
    ASSERT_TRUE(WaitMatching(
        *c, [](const proto::ClientMessage& m) { return m.has_room_left(); }, 10s));
  }
  ASSERT_TRUE(WaitNodesSubscribed("jam", 0));
  auto cay = Connect(node_b_->port(), "cay");
  ASSERT_TRUE(cay);
  ASSERT_TRUE(JoinRoom(*cay, "Jam", &joined));
  EXPECT_EQ(joined.room_info().tempo().bpm(), 120);
  EXPECT_FALSE(joined.room_info().tempo().running());
  EXPECT_TRUE(WaitRedisReply({"HGET", "tutti:{jam}:state", "owner"}, [](const redisReply* r) {
    return r != nullptr && r->type == REDIS_REPLY_STRING && std::string(r->str, r->len) == "u-cay";
  }));
  EXPECT_TRUE(WaitRedisReply({"HEXISTS", "tutti:{jam}:state", "tempo"}, [](const redisReply* r) {
    return r != nullptr && r->type == REDIS_REPLY_INTEGER && r->integer == 0;
  })) << "the old life's tempo is still kept";

  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

// Node B runs in a time namespace whose monotonic clock is three days ahead of node A's:
// two machines booted at different times. Server time is what clients sync to and what
// MIDI stamps and tempo anchors are in; a member of B hears A's notes and follows A's
// tempo grid by it. So the two nodes' server times must be one timeline (each node puts
// its monotonic clock on the wall clock at start). Before, B's clients were told A's
// stamps three days off. A tempo set on A is also B's room's tempo, for B's joiners.
TEST_F(RoomStateAcrossNodesTest, NodesWhoseMonotonicClocksDifferShareOneTimeline) {
  if (!ServerProcess::TimeNamespacesWork()) {
    GTEST_SKIP() << "this process may not make time namespaces (needs CAP_SYS_ADMIN)";
  }
  constexpr int64_t kMinute = 60'000'000;
  node_b_monotonic_offset_s_ = 3 * 86'400;
  ASSERT_NO_FATAL_FAILURE(StartNodes());
  proto::Welcome on_a, on_b;
  auto ann = Connect(node_a_->port(), "ann", &on_a);
  auto bob = Connect(node_b_->port(), "bob", &on_b);
  ASSERT_TRUE(ann && bob);
  // Welcomed one after the other, well within a minute, whatever the machine's load.
  EXPECT_LT(std::llabs(on_a.server_time() - on_b.server_time()), kMinute)
      << "A's server time " << on_a.server_time() << ", B's " << on_b.server_time();
  ASSERT_TRUE(JoinRoom(*ann, "Jam"));
  ASSERT_TRUE(JoinRoom(*bob, "Jam"));
  ASSERT_TRUE(WaitNodesSubscribed("jam", 2));

  ASSERT_TRUE(ann->Send(MidiMsg(std::string{'\x90', 60, 100}, 0, "note")));
  auto note = WaitMatching(
      *bob, [](const proto::ClientMessage& m) { return m.has_midi_message(); }, 10s);
  ASSERT_TRUE(note) << "bob never heard ann's note";
  EXPECT_LT(std::llabs(note->midi_message().timestamp() - on_b.server_time()), kMinute)
      << "A's note is stamped off B's timeline";

  ASSERT_TRUE(ann->Send(ChatMsg("/tempo 90 start", "tempo")));
  auto grid = WaitMatching(
      *bob, [](const proto::ClientMessage& m) { return m.has_tempo_state(); }, 10s);
  ASSERT_TRUE(grid) << "bob never got ann's tempo";
  EXPECT_EQ(grid->tempo_state().bpm(), 90);
  EXPECT_LT(std::llabs(grid->tempo_state().anchor_server_time() - on_b.server_time()), kMinute);

  auto cay = Connect(node_b_->port(), "cay");
  ASSERT_TRUE(cay);
  proto::RoomJoinedResponse joined;
  ASSERT_TRUE(JoinRoom(*cay, "Jam", &joined));
  EXPECT_EQ(joined.room_info().tempo().bpm(), 90) << "B's room kept its own tempo";
  EXPECT_TRUE(joined.room_info().tempo().running());

  // Each node tells the operator how far its timeline is from Redis's clock: on one
  // machine, well under a second for both (B's would be three days off the old way).
  for (ServerProcess* node : {node_a_.get(), node_b_.get()}) {
    const std::string page = AdminGet(AdminPort(*node), "/metrics").second;
    const double offset = Sample(page, "tutti_redis_clock_offset_seconds");
    EXPECT_LT(std::fabs(offset), 1.0) << "offset " << offset << " s";
  }
  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

}  // namespace
}  // namespace tutti::testing
