// Server staff's views of server-wide moderation over real sockets: the paged BanList
// (ServerCommand LIST_BANS) and server-wide records in /log.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

proto::ServerMessage ListBansMsg(const std::string& offset, const std::string& limit,
                                 const std::string& rid) {
  proto::ServerMessage m;
  m.mutable_server_command()->set_commandtype(proto::LIST_BANS);
  if (!offset.empty()) (*m.mutable_server_command()->mutable_parameters())["offset"] = offset;
  if (!limit.empty()) (*m.mutable_server_command()->mutable_parameters())["limit"] = limit;
  m.set_request_id(rid);
  return m;
}

// The CommandResult, BanList, AuditLog or ErrorMessage answering `rid`.
proto::ClientMessage BanAnswer(client::Client& c, const std::string& rid) {
  return Answer(c, rid, {proto::ClientMessage::kBanList, proto::ClientMessage::kAuditLog});
}

TEST(ServerBans, StaffListServerBansInPages) {
  TestServer ts(3);
  auto admin = ts.Connect(Staff("admin", "admin"));
  auto mod = ts.Connect(Staff("mod", "moderator"));
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(admin && mod && bob);
  for (const char* target : {"u-x1", "u-x2", "u-x3", "192.0.2.0/24", "198.51.100.7"}) {
    std::string rid = std::string("ban ") + target;
    ASSERT_TRUE(admin->Send(ChatMsg(std::string("/sban ") + target + " 1h spam", rid)));
    ASSERT_TRUE(BanAnswer(*admin, rid).command_result().ok()) << target;
  }

  ASSERT_TRUE(bob->Send(ListBansMsg("", "", "nope")));
  EXPECT_EQ(BanAnswer(*bob, "nope").error_message().code(), proto::PERMISSION_DENIED);
  ASSERT_TRUE(mod->Send(ListBansMsg("", "0", "zero")));
  EXPECT_EQ(BanAnswer(*mod, "zero").error_message().code(), proto::INVALID_PARAMETERS);

  // A server moderator reads them, two at a time, in target order.
  std::vector<std::string> seen;
  uint32_t offset = 0;
  for (int page = 0; page < 5; ++page) {
    const std::string rid = "page" + std::to_string(page);
    ASSERT_TRUE(mod->Send(ListBansMsg(std::to_string(offset), "2", rid)));
    proto::ClientMessage a = BanAnswer(*mod, rid);
    ASSERT_TRUE(a.has_ban_list()) << a.ShortDebugString();
    EXPECT_EQ(a.ban_list().total(), 5u);
    EXPECT_LE(a.ban_list().bans_size(), 2);
    for (const auto& b : a.ban_list().bans()) {
      seen.push_back(b.target());
      EXPECT_EQ(b.actor_user_id(), "u-admin");
      EXPECT_EQ(b.reason(), "spam");
      EXPECT_GT(b.until_unix_ms(), b.created_unix_ms());
      EXPECT_EQ(b.room_id(), "");
    }
    offset = a.ban_list().next_offset();
    if (offset == 0) break;
  }
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
}

TEST(ServerBans, StaffLogShowsServerWideRecords) {
  TestServer ts(3);
  auto admin = ts.Connect(Staff("admin", "admin"));
  auto owner = ts.Connect("owner");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(admin && owner && bob);
  ASSERT_TRUE(JoinRoom(*owner, "Logged"));
  ASSERT_TRUE(JoinRoom(*bob, "Logged"));
  ASSERT_TRUE(owner->Send(ChatMsg("/mute bob", "m")));
  ASSERT_TRUE(BanAnswer(*owner, "m").command_result().ok());
  ASSERT_TRUE(admin->Send(ChatMsg("/sban u-ghost 1h", "s")));
  ASSERT_TRUE(BanAnswer(*admin, "s").command_result().ok());

  // Outside a room, staff read the whole server's log.
  ASSERT_TRUE(admin->Send(ChatMsg("/log", "all")));
  proto::ClientMessage all = BanAnswer(*admin, "all");
  ASSERT_TRUE(all.has_audit_log()) << all.ShortDebugString();
  ASSERT_EQ(all.audit_log().entries_size(), 2);
  EXPECT_EQ(all.audit_log().entries(0).action(), proto::MOD_MUTE);
  EXPECT_EQ(all.audit_log().entries(1).action(), proto::MOD_SERVER_BAN);
  EXPECT_EQ(all.audit_log().entries(1).target(), "u-ghost");

  // In a room, staff see the room's records and the server-wide ones; the owner only
  // the room's.
  ASSERT_TRUE(JoinRoom(*admin, "Logged"));
  ASSERT_TRUE(admin->Send(ChatMsg("/log", "room")));
  proto::ClientMessage room = BanAnswer(*admin, "room");
  ASSERT_TRUE(room.has_audit_log()) << room.ShortDebugString();
  EXPECT_EQ(room.audit_log().entries_size(), 2);
  ASSERT_TRUE(owner->Send(ChatMsg("/log", "own")));
  proto::ClientMessage own = BanAnswer(*owner, "own");
  ASSERT_TRUE(own.has_audit_log());
  ASSERT_EQ(own.audit_log().entries_size(), 1);
  EXPECT_EQ(own.audit_log().entries(0).action(), proto::MOD_MUTE);

  // Members outside a room are told to join one.
  ASSERT_TRUE(bob->Send(LeaveMsg("l")));
  ASSERT_TRUE(bob->WaitFor(proto::ClientMessage::kRoomLeft, 5s));
  ASSERT_TRUE(bob->Send(ChatMsg("/log", "b")));
  EXPECT_EQ(BanAnswer(*bob, "b").error_message().code(), proto::WRONG_STATE);
}

}  // namespace
}  // namespace tutti::testing
