// Every event a request causes for its sender echoes the request id: the RoomLeft of the
// room a switch leaves, and the actor's own ModerationNotice and ChatCleared.
#include <string>

#include <gtest/gtest.h>

#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

TEST(RequestIds, TheRoomLeftOfASwitchEchoesTheJoin) {
  TestServer ts(4);
  auto alice = ts.Connect("alice");
  ASSERT_TRUE(alice);
  ASSERT_TRUE(JoinRoom(*alice, "First"));
  ASSERT_TRUE(alice->Send(CreateMsg("Second", proto::PUBLIC, "", 0, "switch")));
  auto left = alice->WaitFor(proto::ClientMessage::kRoomLeft, 5s);
  ASSERT_TRUE(left);
  EXPECT_EQ(left->room_left().room_id(), "first");
  EXPECT_EQ(left->request_id(), "switch");
}

TEST(RequestIds, TheActorsNoticeAndClearEchoTheCommand) {
  TestServer ts(4);
  auto owner = ts.Connect("owner");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(owner && bob);
  ASSERT_TRUE(JoinRoom(*owner, "Echo"));
  ASSERT_TRUE(JoinRoom(*bob, "Echo"));

  ASSERT_TRUE(owner->Send(ChatMsg("/mod bob", "appoint")));
  auto mine = owner->WaitFor(proto::ClientMessage::kModerationNotice, 5s);
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->request_id(), "appoint");
  auto theirs = bob->WaitFor(proto::ClientMessage::kModerationNotice, 5s);
  ASSERT_TRUE(theirs);
  EXPECT_EQ(theirs->request_id(), "") << "another client's request id leaked";

  ASSERT_TRUE(owner->Send(ChatMsg("/clear", "wipe")));
  auto cleared = owner->WaitFor(proto::ClientMessage::kChatCleared, 5s);
  ASSERT_TRUE(cleared);
  EXPECT_EQ(cleared->request_id(), "wipe");
  auto seen = bob->WaitFor(proto::ClientMessage::kChatCleared, 5s);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->request_id(), "");
}

}  // namespace
}  // namespace tutti::testing
