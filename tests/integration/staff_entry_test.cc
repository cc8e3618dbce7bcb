// Server staff's entry into rooms over real sockets: staff pass a room's password, its
// ban list, its capacity and members-only, and every such entry leaves an audit record
// (staff_entry) that the room's moderators read with /log (docs/MODERATION.md).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

// The AuditLog, CommandResult or ErrorMessage answering `rid`.
proto::ClientMessage LogAnswer(client::Client& c, const std::string& rid) {
  return Answer(c, rid, {proto::ClientMessage::kAuditLog});
}

bool Joined(client::Client& c, const std::string& rid) {
  auto r = WaitForReply(c, proto::ClientMessage::kRoomJoinedResponse, rid, 5s);
  return r && r->room_joined_response().success();
}

// The owner's /log; its staff_entry records, oldest first.
std::vector<proto::AuditEntry> StaffEntries(client::Client& owner, const std::string& rid) {
  std::vector<proto::AuditEntry> out;
  if (!owner.Send(ChatMsg("/log", rid))) return out;
  proto::ClientMessage log = LogAnswer(owner, rid);
  EXPECT_TRUE(log.has_audit_log()) << log.ShortDebugString();
  for (const auto& e : log.audit_log().entries()) {
    if (e.action() == proto::MOD_STAFF_ENTRY) out.push_back(e);
  }
  return out;
}

TEST(StaffEntry, StaffPassPasswordAndCapacityAndEachEntryIsAudited) {
  TestServer ts(3);
  auto owner = ts.Connect("owner");
  auto admin = ts.Connect(Staff("admin", "admin"));
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(owner && admin && bob);
  // A locked room for one: nobody else gets in.
  ASSERT_TRUE(owner->Send(CreateMsg("Locked", proto::PUBLIC, "secret", 1, "c")));
  ASSERT_TRUE(Joined(*owner, "c"));
  ASSERT_TRUE(bob->Send(JoinMsg("Locked", "secret", "b")));
  EXPECT_EQ(WaitError(*bob), proto::ROOM_FULL);

  // Staff come in without the password and past the capacity: both are recorded, with
  // what was passed as the reason, the staff member as actor and target, and the room.
  ASSERT_TRUE(admin->Send(JoinMsg("Locked", "", "a")));
  ASSERT_TRUE(Joined(*admin, "a"));
  // The record is queued for the store before the join is answered, and the store runs
  // its work in order: the owner's /log, sent after that answer, reads it.
  std::vector<proto::AuditEntry> entries = StaffEntries(*owner, "log");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].actor_user_id(), "u-admin");
  EXPECT_EQ(entries[0].target(), "u-admin");
  EXPECT_EQ(entries[0].room_id(), "locked");
  EXPECT_EQ(entries[0].reason(), "password, full");
}

TEST(StaffEntry, StaffPassARoomBanAndMembersOnlyAndAnOrdinaryEntryIsNotAudited) {
  TestServer ts(3);
  auto owner = ts.Connect("owner");
  auto mod_spec = Staff("mod", "moderator");
  mod_spec.member = false;  // not a paying member: members-only would refuse them
  auto mod = ts.Connect(mod_spec);
  ASSERT_TRUE(owner && mod);
  proto::ServerMessage create = CreateMsg("Club", proto::PUBLIC, "", 0, "c");
  create.mutable_create_room_command()->mutable_settings()->set_require_pro(true);
  ASSERT_TRUE(owner->Send(create));
  ASSERT_TRUE(Joined(*owner, "c"));
  // The owner bans the moderator from the room (a room ban names a user id).
  ASSERT_TRUE(owner->Send(ChatMsg("/ban u-mod", "ban")));
  proto::ClientMessage banned = LogAnswer(*owner, "ban");
  ASSERT_TRUE(banned.has_command_result()) << banned.ShortDebugString();

  ASSERT_TRUE(mod->Send(JoinMsg("Club", "", "m")));
  ASSERT_TRUE(Joined(*mod, "m"));
  std::vector<proto::AuditEntry> entries = StaffEntries(*owner, "log");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].actor_user_id(), "u-mod");
  EXPECT_EQ(entries[0].reason(), "banned, members-only");

  // Staff joining an open room pass nothing: no record.
  auto admin = ts.Connect(Staff("admin", "admin"));
  ASSERT_TRUE(admin);
  ASSERT_TRUE(owner->Send(CreateMsg("Open", proto::PUBLIC, "", 0, "o")));
  ASSERT_TRUE(Joined(*owner, "o"));
  ASSERT_TRUE(admin->Send(JoinMsg("Open", "", "a")));
  ASSERT_TRUE(Joined(*admin, "a"));
  // The admin's own /log in the room (staff read the room's and server-wide records) is
  // read after its join's record would have been written.
  ASSERT_TRUE(admin->Send(ChatMsg("/log", "alog")));
  proto::ClientMessage log = LogAnswer(*admin, "alog");
  ASSERT_TRUE(log.has_audit_log()) << log.ShortDebugString();
  for (const auto& e : log.audit_log().entries()) {
    EXPECT_FALSE(e.action() == proto::MOD_STAFF_ENTRY && e.room_id() == "open")
        << e.ShortDebugString();
  }
}

}  // namespace
}  // namespace tutti::testing
