// How a room command finds its target, end to end: in the room, online anywhere, by id
// or a name the room remembers; nobody is NOT_FOUND and leaves no audit record; /bans
// shows names beside ids.
#include <string>

#include <gtest/gtest.h>

#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

// The room's audit log as the owner sees it.
proto::AuditLog Log(client::Client& owner, const std::string& rid) {
  EXPECT_TRUE(owner.Send(ChatMsg("/log", rid)));
  auto m = WaitForReply(owner, proto::ClientMessage::kAuditLog, rid);
  if (!m) {
    ADD_FAILURE() << "no audit log";
    return proto::AuditLog();
  }
  return m->audit_log();
}

TEST(CommandTargets, NobodyByThatNameIsNotFoundAndNotRecorded) {
  TestServer ts(4);
  auto owner = ts.Connect("owner");
  ASSERT_TRUE(owner);
  ASSERT_TRUE(JoinRoom(*owner, "Targets"));
  for (const char* line :
       {"/kick ghost", "/ban ghost 1h spam", "/mute ghost", "/unban ghost", "/mod ghost"}) {
    ASSERT_TRUE(owner->Send(ChatMsg(line, line)));
    proto::ClientMessage a = Answer(*owner, line);
    ASSERT_TRUE(a.has_error_message()) << line << " answered " << a.ShortDebugString();
    EXPECT_EQ(a.error_message().code(), proto::NOT_FOUND) << line;
  }
  EXPECT_EQ(Log(*owner, "log").entries_size(), 0) << "a command on nobody was audited";
}

TEST(CommandTargets, KickNeedsAMemberOfTheRoom) {
  TestServer ts(4);
  auto owner = ts.Connect("owner");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(owner && bob);
  ASSERT_TRUE(JoinRoom(*owner, "Kicks"));
  ASSERT_TRUE(JoinRoom(*bob, "Elsewhere"));
  ASSERT_TRUE(owner->Send(ChatMsg("/kick bob", "k")));
  EXPECT_EQ(Answer(*owner, "k").error_message().code(), proto::NOT_FOUND);
  EXPECT_EQ(Log(*owner, "log").entries_size(), 0);
}

// A user online in another room is found by name: the ban holds, /bans names them, and
// /unban by the same name lifts it (it used to answer "not banned").
TEST(CommandTargets, OnlineElsewhereIsFoundByName) {
  TestServer ts(4);
  auto owner = ts.Connect("owner");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(owner && bob);
  ASSERT_TRUE(JoinRoom(*owner, "Door"));
  ASSERT_TRUE(JoinRoom(*bob, "Elsewhere"));

  ASSERT_TRUE(owner->Send(ChatMsg("/ban BOB 1h rude", "b")));
  proto::ClientMessage banned = Answer(*owner, "b");
  ASSERT_TRUE(banned.has_command_result()) << banned.ShortDebugString();
  ASSERT_EQ(banned.command_result().lines_size(), 1);
  EXPECT_EQ(banned.command_result().lines(0), "ban bob (u-bob): done");
  ASSERT_TRUE(bob->Send(JoinMsg("Door", "", "j1")));
  std::string rid;
  EXPECT_EQ(WaitError(*bob, 5s, &rid), proto::BANNED);

  ASSERT_TRUE(owner->Send(ChatMsg("/bans", "list")));
  proto::ClientMessage list = Answer(*owner, "list");
  ASSERT_EQ(list.command_result().lines_size(), 1);
  EXPECT_EQ(list.command_result().lines(0).rfind("bob (u-bob) by u-owner until ", 0), 0u)
      << list.command_result().lines(0);

  ASSERT_TRUE(owner->Send(ChatMsg("/unban bob", "u")));
  proto::ClientMessage unbanned = Answer(*owner, "u");
  ASSERT_TRUE(unbanned.has_command_result()) << unbanned.ShortDebugString();
  ASSERT_TRUE(bob->Send(JoinMsg("Door", "", "j2")));
  auto joined = WaitForReply(*bob, proto::ClientMessage::kRoomJoinedResponse, "j2");
  EXPECT_TRUE(joined) << "unban by name did not lift the ban";
  EXPECT_EQ(Log(*owner, "log").entries_size(), 2);  // ban, unban
}

// Once the banned user is offline, the room still knows the name it banned.
TEST(CommandTargets, AGoneUserIsFoundByTheNameTheRoomRemembers) {
  TestServer ts(4);
  std::unique_ptr<client::Client> owner, bob;
  ASSERT_TRUE(ConnectInRoom(ts, "Memory", {{"owner", &owner}, {"bob", &bob}}));
  ASSERT_TRUE(owner->Send(ChatMsg("/ban bob", "b")));
  ASSERT_TRUE(Answer(*owner, "b").has_command_result());
  bob.reset();
  // bob is gone everywhere once the server says so: wait for that, not for time.
  ASSERT_TRUE(WaitUntil([&] {
    auto probe = ts.Connect("probe");
    if (!probe) return false;
    proto::ServerMessage pm = PrivateMsg("bob", "there?", "pm");
    probe->Send(pm);
    std::string r;
    return WaitError(*probe, 3s, &r) == proto::NOT_FOUND;
  }));
  ASSERT_TRUE(owner->Send(ChatMsg("/unban Bob", "u")));
  proto::ClientMessage a = Answer(*owner, "u");
  ASSERT_TRUE(a.has_command_result()) << a.ShortDebugString();
  EXPECT_EQ(a.command_result().lines(0), "unban bob (u-bob): done");
}

}  // namespace
}  // namespace tutti::testing
