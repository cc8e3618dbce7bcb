// A room's state across nodes: one redis-server and two tutti-server processes (started
// here on free loopback ports, stopped by PID), members of one room on both. A joiner on
// one node gets the chat lines said on the other, in the stream's order, and a clear
// made on one node ends them for joiners on both.
#include <signal.h>

#include <chrono>
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

}  // namespace
}  // namespace tutti::testing
