// Joins across nodes (docs/SCALE-OUT.md, "Joins across nodes"): one redis-server and two
// tutti-server processes (NodesTest). What Redis keeps of a room decides a join on
// either node, not the joining node's copy of it: a ban and a password change that node
// B has not been delivered yet hold on B. Both are made by writing Redis directly, as
// another node's publish call would have, so that B's copy does not learn them from an
// event and nothing depends on timing.
// Every wait is bounded by a deadline; nothing depends on how long a step takes.
#include <signal.h>

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "tests/redis/nodes_harness.h"

namespace tutti::testing {
namespace {

using JoinsAcrossNodesTest = NodesTest;

// The answer to request `id`: an error, or the join's RoomJoinedResponse.
proto::ClientMessage Reply(client::Client& c, const std::string& id) {
  return Answer(c, id, {proto::ClientMessage::kRoomJoinedResponse});
}

proto::ErrorCode ErrorOf(const proto::ClientMessage& m) {
  return m.has_error_message() ? m.error_message().code() : proto::ERROR_CODE_UNSPECIFIED;
}

// Node B's room object of "Jam" with cay in it (it read what Redis keeps; its copy then
// follows the room's events), ann, the owner, on A.
TEST_F(JoinsAcrossNodesTest, ABanKeptInRedisThatNodeBHasNotSeenRefusesTheJoinOnB) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());
  auto ann = Connect(node_a_->port(), "ann");
  ASSERT_TRUE(ann);
  ASSERT_TRUE(JoinRoom(*ann, "Jam"));
  auto cay = Connect(node_b_->port(), "cay");
  ASSERT_TRUE(cay);
  ASSERT_TRUE(JoinRoom(*cay, "Jam"));

  // Bob banned in what Redis keeps, as A's /ban would have written it; no event of it.
  ASSERT_TRUE(
      WaitRedisReply({"ZADD", "tutti:{jam}:bans", "+inf", "u-bob"}, [](const redisReply* r) {
        return r != nullptr && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
      }));
  auto bob = Connect(node_b_->port(), "bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(bob->Send(JoinMsg("Jam", "", "join")));
  const proto::ClientMessage refused = Reply(*bob, "join");
  ASSERT_TRUE(refused.has_error_message()) << refused.ShortDebugString();
  EXPECT_EQ(refused.error_message().code(), proto::BANNED);
  EXPECT_EQ(refused.error_message().error_message(), "you are banned from this room");
  // No seat of his was written (a refused claim writes nothing).
  EXPECT_TRUE(WaitRedisReply({"HLEN", "tutti:{jam}:presence"}, [](const redisReply* r) {
    return r != nullptr && r->type == REDIS_REPLY_INTEGER && r->integer == 2;
  }));
  // B's copy read the kept bans: its next join is refused too, as is one on A.
  ASSERT_TRUE(bob->Send(JoinMsg("Jam", "", "again")));
  EXPECT_EQ(ErrorOf(Reply(*bob, "again")), proto::BANNED);
  auto bob_on_a = Connect(node_a_->port(), "bob");
  ASSERT_TRUE(bob_on_a);
  ASSERT_TRUE(bob_on_a->Send(JoinMsg("Jam", "", "on-a")));
  EXPECT_EQ(ErrorOf(Reply(*bob_on_a, "on-a")), proto::BANNED);

  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

// The room's password changed in what Redis keeps (settings version one on), as A's
// UpdateRoomCommand would have written it, with no RoomUpdated reaching B: a join on B
// with the old password, which B's copy accepts, is checked again against the kept
// password and refused; the new one lets the joiner in.
TEST_F(JoinsAcrossNodesTest, APasswordChangedInRedisThatNodeBHasNotSeenIsAskedOnB) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());
  auto ann = Connect(node_a_->port(), "ann");
  ASSERT_TRUE(ann);
  ASSERT_TRUE(ann->Send(CreateMsg("Jam", proto::PUBLIC, "old", 0, "create")));
  ASSERT_TRUE(Reply(*ann, "create").has_room_joined_response());
  // A hash of "new" as the server makes them: that of another room's password (created
  // by dan: ann stays in Jam).
  auto dan = Connect(node_a_->port(), "dan");
  ASSERT_TRUE(dan);
  ASSERT_TRUE(dan->Send(CreateMsg("Other", proto::PUBLIC, "new", 0, "other")));
  ASSERT_TRUE(Reply(*dan, "other").has_room_joined_response());
  std::string new_hash;
  ASSERT_TRUE(
      WaitRedisReply({"HGET", "tutti:{other}:state", "password_hash"}, [&](const redisReply* r) {
        if (r == nullptr || r->type != REDIS_REPLY_STRING) return false;
        new_hash = server::redis::ReplyString(r);
        return !new_hash.empty();
      }));
  // Jam's state is kept (its first join's write): B's room object will find it.
  ASSERT_TRUE(
      WaitRedisReply({"HEXISTS", "tutti:{jam}:state", "password_hash"}, [](const redisReply* r) {
        return r != nullptr && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
      }));
  auto cay = Connect(node_b_->port(), "cay");
  ASSERT_TRUE(cay);
  ASSERT_TRUE(cay->Send(JoinMsg("Jam", "old", "join")));
  const proto::ClientMessage cay_joined = Reply(*cay, "join");
  ASSERT_TRUE(cay_joined.has_room_joined_response()) << cay_joined.ShortDebugString();

  ASSERT_TRUE(WaitRedisReply(
      {"HSET", "tutti:{jam}:state", "password_hash", new_hash},
      [](const redisReply* r) { return r != nullptr && r->type == REDIS_REPLY_INTEGER; }));
  ASSERT_TRUE(WaitRedisReply(
      {"HINCRBY", "tutti:{jam}:state", "settings_version", "1"},
      [](const redisReply* r) { return r != nullptr && r->type == REDIS_REPLY_INTEGER; }));
  auto bob = Connect(node_b_->port(), "bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(bob->Send(JoinMsg("Jam", "old", "with-old")));
  const proto::ClientMessage refused = Reply(*bob, "with-old");
  ASSERT_TRUE(refused.has_error_message()) << refused.ShortDebugString();
  EXPECT_EQ(refused.error_message().code(), proto::WRONG_PASSWORD);
  ASSERT_TRUE(bob->Send(JoinMsg("Jam", "new", "with-new")));
  const proto::ClientMessage joined = Reply(*bob, "with-new");
  EXPECT_TRUE(joined.has_room_joined_response()) << joined.ShortDebugString();

  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

}  // namespace
}  // namespace tutti::testing
