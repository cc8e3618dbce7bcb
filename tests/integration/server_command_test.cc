// ServerCommand's room verbs (JOIN, LEAVE, ENTER_LOBBY, SYNC_STATE) through a real server, and
// the leave rate limit. Server time is a FakeClock so the limit counts exactly.
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

proto::ServerMessage Command(proto::ServerCommandType type, const std::string& rid,
                             const std::string& room = "") {
  proto::ServerMessage m;
  m.mutable_server_command()->set_commandtype(type);
  if (!room.empty()) (*m.mutable_server_command()->mutable_parameters())["room_name"] = room;
  m.set_request_id(rid);
  return m;
}

TEST(ServerCommandTest, JoinLeaveAndEnterLobbyAnswerWithTheirRequestIds) {
  TestServer ts(3);
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(JoinRoom(*alice, "Command Room"));

  ASSERT_TRUE(bob->Send(Command(proto::JOIN, "j1", "Command Room")));
  auto joined = WaitForReply(*bob, proto::ClientMessage::kRoomJoinedResponse, "j1");
  ASSERT_TRUE(joined);
  EXPECT_TRUE(joined->room_joined_response().success());
  EXPECT_EQ(joined->room_joined_response().room_info().room_name(), "Command Room");
  EXPECT_EQ(joined->room_joined_response().current_users_size(), 2);

  // JOIN does not create: an unknown room is NOT_FOUND.
  ASSERT_TRUE(bob->Send(Command(proto::JOIN, "j2", "No Such Room")));
  auto missing = WaitForReply(*bob, proto::ClientMessage::kErrorMessage, "j2");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->error_message().code(), proto::NOT_FOUND);

  ASSERT_TRUE(bob->Send(Command(proto::LEAVE, "l1")));
  auto left = WaitForReply(*bob, proto::ClientMessage::kRoomLeft, "l1");
  ASSERT_TRUE(left);
  EXPECT_EQ(left->room_left().reason(), "left");
  auto gone = alice->WaitFor(proto::ClientMessage::kUserLeftRoom, 5s);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->user_left_room().user_id(), "u-bob");

  // LEAVE outside a room is a typed refusal.
  ASSERT_TRUE(bob->Send(Command(proto::LEAVE, "l2")));
  auto not_in = WaitForReply(*bob, proto::ClientMessage::kErrorMessage, "l2");
  ASSERT_TRUE(not_in);
  EXPECT_EQ(not_in->error_message().code(), proto::WRONG_STATE);

  ASSERT_TRUE(bob->Send(Command(proto::ENTER_LOBBY, "lobby")));
  auto lobby = WaitForReply(*bob, proto::ClientMessage::kRoomJoinedResponse, "lobby");
  ASSERT_TRUE(lobby);
  EXPECT_EQ(lobby->room_joined_response().room_info().room_type(), proto::LOBBY);
}

TEST(ServerCommandTest, SyncStateAnswersWithTheRoomSnapshot) {
  TestServer ts(3);
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(JoinRoom(*alice, "Snap"));
  ASSERT_TRUE(JoinRoom(*bob, "Snap"));
  // Outside a room there is nothing to sync.
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(carol);
  ASSERT_TRUE(carol->Send(Command(proto::SYNC_STATE, "s0")));
  auto refused = WaitForReply(*carol, proto::ClientMessage::kErrorMessage, "s0");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->error_message().code(), proto::WRONG_STATE);

  // Alice holds a key; bob asks for the state.
  ASSERT_TRUE(alice->Send(MidiMsg(std::string("\x90\x3c\x64", 3))));
  ASSERT_TRUE(bob->WaitFor(proto::ClientMessage::kMidiMessage, 5s));
  ASSERT_TRUE(bob->Send(Command(proto::SYNC_STATE, "s1")));
  auto snap = WaitForReply(*bob, proto::ClientMessage::kRoomSnapshot, "s1");
  ASSERT_TRUE(snap);
  const auto& s = snap->room_snapshot();
  EXPECT_EQ(s.room_info().room_name(), "Snap");
  EXPECT_EQ(s.users_size(), 2);
  ASSERT_EQ(s.held_notes_size(), 1);
  EXPECT_EQ(s.held_notes(0).user_id(), "u-alice");
  ASSERT_EQ(s.held_notes(0).notes_size(), 1);
  EXPECT_EQ(s.held_notes(0).notes(0).note(), 60u);
}

TEST(ServerCommandTest, LeavesAreRateLimited) {
  auto clock = NowFakeClock();
  TestServer ts(
      3,
      [](server::ServerConfig& c) {
        c.leaves_per_second = 1;  // the clock stands still: the burst is all there is
        c.leave_burst = 2;
        c.join_burst = 100;
      },
      clock);
  auto alice = ts.Connect("alice");
  ASSERT_TRUE(alice);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(JoinRoom(*alice, "Revolving Door"));
    ASSERT_TRUE(alice->Send(LeaveMsg("ok" + std::to_string(i))));
    ASSERT_TRUE(WaitForReply(*alice, proto::ClientMessage::kRoomLeft, "ok" + std::to_string(i)));
  }
  ASSERT_TRUE(JoinRoom(*alice, "Revolving Door"));
  ASSERT_TRUE(alice->Send(LeaveMsg("third")));
  auto err = WaitForReply(*alice, proto::ClientMessage::kErrorMessage, "third");
  ASSERT_TRUE(err);
  EXPECT_EQ(err->error_message().code(), proto::RATE_LIMITED);
  // Through ServerCommand LEAVE as well; the refused leave kept her in the room.
  ASSERT_TRUE(alice->Send(Command(proto::LEAVE, "fourth")));
  err = WaitForReply(*alice, proto::ClientMessage::kErrorMessage, "fourth");
  ASSERT_TRUE(err);
  EXPECT_EQ(err->error_message().code(), proto::RATE_LIMITED);
  // A second of server time later she may leave again.
  clock->AdvanceUs(1000000);
  ASSERT_TRUE(alice->Send(LeaveMsg("later")));
  EXPECT_TRUE(WaitForReply(*alice, proto::ClientMessage::kRoomLeft, "later"));
}

}  // namespace
}  // namespace tutti::testing
