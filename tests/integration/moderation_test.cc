// Moderation end to end: chat commands from real clients on different shards, server
// bans at the upgrade gate, and the failed-auth brake.
#include <gtest/gtest.h>

#include "crypto/base64url.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

class ModerationTest : public ::testing::Test {
 protected:
  ModerationTest() : ts(4) {}
  TestServer ts;
};

TEST_F(ModerationTest, OwnerKicksBansAndMutesFromChat) {
  std::unique_ptr<client::Client> owner, bob, carol;
  ASSERT_TRUE(ConnectInRoom(ts, "Mod Room", {{"owner", &owner}, {"bob", &bob}, {"carol", &carol}}));

  // A member may not kick.
  ASSERT_TRUE(bob->Send(ChatMsg("/kick carol", "b1")));
  EXPECT_EQ(Answer(*bob, "b1").error_message().code(), proto::PERMISSION_DENIED);

  // Mute: chat and MIDI refused with MUTED.
  ASSERT_TRUE(owner->Send(ChatMsg("/mute bob 5m too loud", "m1")));
  EXPECT_TRUE(Answer(*owner, "m1").command_result().ok());
  auto notice = bob->WaitFor(proto::ClientMessage::kModerationNotice, 3s);
  ASSERT_TRUE(notice);
  EXPECT_EQ(notice->moderation_notice().action(), proto::MOD_MUTE);
  EXPECT_EQ(notice->moderation_notice().reason(), "too loud");
  EXPECT_GT(notice->moderation_notice().until_unix_ms(), 0);
  ASSERT_TRUE(bob->Send(ChatMsg("hello?", "b2")));
  EXPECT_EQ(Answer(*bob, "b2").error_message().code(), proto::MUTED);
  ASSERT_TRUE(bob->Send(MidiMsg(std::string("\x90\x3c\x64", 3))));
  EXPECT_EQ(WaitError(*bob), proto::MUTED);
  ASSERT_TRUE(owner->Send(ChatMsg("/unmute bob", "m2")));
  EXPECT_TRUE(Answer(*owner, "m2").command_result().ok());

  // Kick: bob leaves at once, may come back.
  ASSERT_TRUE(owner->Send(ChatMsg("/kick bob behave", "k1")));
  EXPECT_TRUE(Answer(*owner, "k1").command_result().ok());
  auto left = bob->WaitFor(proto::ClientMessage::kRoomLeft, 3s);
  ASSERT_TRUE(left);
  EXPECT_EQ(left->room_left().reason(), "kicked");
  auto seen = carol->WaitFor(proto::ClientMessage::kUserLeftRoom, 3s);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->user_left_room().reason(), "kicked");
  ASSERT_TRUE(bob->Send(ChatMsg("still here?", "b3")));
  EXPECT_EQ(Answer(*bob, "b3").error_message().code(), proto::WRONG_STATE);
  ASSERT_TRUE(JoinRoom(*bob, "Mod Room"));

  // Ban through seed 003's structured command: bob cannot return.
  proto::ServerMessage ban;
  ban.mutable_room_chat_server_command()->set_command("ban");
  ban.mutable_room_chat_server_command()->set_target_user("bob");
  ban.mutable_room_chat_server_command()->set_reason("spam");
  ban.set_request_id("ban1");
  ASSERT_TRUE(owner->Send(ban));
  EXPECT_TRUE(Answer(*owner, "ban1").command_result().ok());
  ASSERT_TRUE(bob->WaitFor(proto::ClientMessage::kRoomLeft, 3s));
  ASSERT_TRUE(bob->Send(JoinMsg("Mod Room", "", "j")));
  EXPECT_EQ(WaitError(*bob), proto::BANNED);

  // The audit log shows it all, to moderators only.
  ASSERT_TRUE(carol->Send(ChatMsg("/log", "l0")));
  EXPECT_EQ(Answer(*carol, "l0").error_message().code(), proto::PERMISSION_DENIED);
  ASSERT_TRUE(owner->Send(ChatMsg("/log", "l1")));
  std::optional<proto::ClientMessage> log;
  for (int i = 0; i < 50 && !(log && log->has_audit_log()); ++i) log = owner->Next(3s);
  ASSERT_TRUE(log && log->has_audit_log());
  EXPECT_EQ(log->audit_log().entries_size(), 4);  // mute, unmute, kick, ban
}

TEST_F(ModerationTest, OwnershipHandOverAndRoomModerators) {
  std::unique_ptr<client::Client> owner, bob, carol;
  ASSERT_TRUE(ConnectInRoom(ts, "Hand", {{"owner", &owner}, {"bob", &bob}, {"carol", &carol}}));
  ASSERT_TRUE(owner->Send(ChatMsg("/mod bob", "1")));
  EXPECT_TRUE(Answer(*owner, "1").command_result().ok());
  // The other members learn of the appointment at once, not on their next join.
  auto notice = carol->WaitFor(proto::ClientMessage::kModerationNotice, 3s);
  ASSERT_TRUE(notice);
  EXPECT_EQ(notice->moderation_notice().action(), proto::MOD_APPOINT_MODERATOR);
  EXPECT_EQ(notice->moderation_notice().target_user_id(), "u-bob");
  ASSERT_TRUE(bob->Send(ChatMsg("/kick owner", "2")));
  EXPECT_EQ(Answer(*bob, "2").error_message().code(), proto::PERMISSION_DENIED);
  ASSERT_TRUE(owner->Send(ChatMsg("/owner carol", "3")));
  EXPECT_TRUE(Answer(*owner, "3").command_result().ok());
  std::optional<proto::ClientMessage> upd;
  do {
    upd = bob->WaitFor(proto::ClientMessage::kRoomUpdated, 3s);
  } while (upd && upd->room_updated().room_info().owner_id() != "u-carol");
  ASSERT_TRUE(upd);
  // The new owner can now change settings; the old one cannot.
  proto::ServerMessage update;
  update.mutable_update_room_command()->mutable_settings()->set_max_users(5);
  update.set_request_id("u");
  ASSERT_TRUE(owner->Send(update));
  EXPECT_EQ(WaitError(*owner), proto::PERMISSION_DENIED);
  ASSERT_TRUE(carol->Send(update));
  auto ok = carol->WaitFor(proto::ClientMessage::kRoomUpdated, 3s);
  ASSERT_TRUE(ok);
}

TEST_F(ModerationTest, UnknownCommandsGetHelpAndHelpDependsOnRole) {
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(bob->Send(ChatMsg("/frobnicate", "u")));
  auto r = Answer(*bob, "u");
  ASSERT_TRUE(r.has_command_result());
  EXPECT_FALSE(r.command_result().ok());
  EXPECT_GT(r.command_result().lines_size(), 1);
  ASSERT_TRUE(bob->Send(ChatMsg("/kick", "bad")));
  EXPECT_EQ(Answer(*bob, "bad").error_message().code(), proto::INVALID_PARAMETERS);
  ASSERT_TRUE(JoinRoom(*bob, "Help"));
  ASSERT_TRUE(bob->Send(ChatMsg("/help", "h")));
  auto owner_help = Answer(*bob, "h");
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(carol && JoinRoom(*carol, "Help"));
  ASSERT_TRUE(carol->Send(ChatMsg("/help", "h")));
  auto member_help = Answer(*carol, "h");
  EXPECT_GT(owner_help.command_result().lines_size(), member_help.command_result().lines_size());
  // "//" escapes a literal slash.
  ASSERT_TRUE(carol->Send(ChatMsg("//not a command")));
  auto line = bob->WaitFor(proto::ClientMessage::kRoomChatMessage, 3s);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->room_chat_message().message(), "/not a command");
}

TEST_F(ModerationTest, ServerBanClosesLiveSessionsAndRefusesTheUpgrade) {
  auto admin = ts.Connect(Admin());
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(admin && bob);
  // Members may not.
  ASSERT_TRUE(bob->Send(ChatMsg("/sban u-admin", "x")));
  EXPECT_EQ(Answer(*bob, "x").error_message().code(), proto::PERMISSION_DENIED);
  ASSERT_TRUE(admin->Send(ChatMsg("/sban u-bob 1h flooding", "s1")));
  EXPECT_TRUE(Answer(*admin, "s1").command_result().ok());
  uint16_t code = 0;
  EXPECT_TRUE(bob->WaitClosed(5s, &code));
  EXPECT_EQ(code, 4003);
  client::Client again;
  UserSpec bob_spec;
  bob_spec.name = "bob";
  auto refused = again.Connect("127.0.0.1", ts.port(), ts.Resource(bob_spec));
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(refused.http_status, 403);
  // Others are unaffected; unban lets bob back in.
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(carol);
  ASSERT_TRUE(admin->Send(ChatMsg("/sunban u-bob", "s2")));
  EXPECT_TRUE(Answer(*admin, "s2").command_result().ok());
  auto bob2 = ts.Connect("bob");
  EXPECT_TRUE(bob2);
}

TEST_F(ModerationTest, AddressBanAndFailedAuthBrake) {
  auto admin = ts.Connect(Admin());
  ASSERT_TRUE(admin);
  // Repeated failures from one address earn a short automatic ban (429), even for a
  // valid payload afterwards.
  int refused = 0;
  for (int i = 0; i < 25; ++i) {
    client::Client bad;
    auto r =
        bad.Connect("127.0.0.1", ts.port(), "/api/websocket/" + crypto::Base64UrlEncode("junk"));
    if (!r.ok) ++refused;
  }
  EXPECT_EQ(refused, 25);
  client::Client good;
  UserSpec dave;
  dave.name = "dave";
  auto r = good.Connect("127.0.0.1", ts.port(), ts.Resource(dave));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.http_status, 429);
  // The admin's live session was not affected.
  ASSERT_TRUE(admin->Send(ChatMsg("/help", "still")));
  EXPECT_TRUE(Answer(*admin, "still").has_command_result());
}

TEST_F(ModerationTest, ServerStatusIsForAdmins) {
  auto admin = ts.Connect(Admin());
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(admin && bob);
  ASSERT_TRUE(JoinRoom(*bob, "Status Room"));
  proto::ServerMessage get;
  get.mutable_server_command()->set_commandtype(proto::GET_STATUS);
  get.set_request_id("st");
  ASSERT_TRUE(bob->Send(get));
  EXPECT_EQ(WaitError(*bob), proto::PERMISSION_DENIED);
  ASSERT_TRUE(admin->Send(get));
  auto st = admin->WaitFor(proto::ClientMessage::kServerStatus, 5s);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->request_id(), "st");
  EXPECT_EQ(st->server_status().connections(), 2u);
  EXPECT_EQ(st->server_status().shards(), 4u);
  EXPECT_GE(st->server_status().rooms(), 1u);
  EXPECT_GT(st->server_status().rss_bytes(), 0u);
  EXPECT_GT(st->server_status().frames_in(), 0u);
}

TEST(ServerBanCidr, AddressBanRefusesEveryoneFromThatNetwork) {
  TestServer ts(2);
  auto admin = ts.Connect(Admin());
  ASSERT_TRUE(admin);
  ASSERT_TRUE(admin->Send(ChatMsg("/sban 127.0.0.0/8 10m test", "c")));
  EXPECT_TRUE(Answer(*admin, "c").command_result().ok());
  uint16_t code = 0;
  EXPECT_TRUE(admin->WaitClosed(5s, &code));  // the admin is on loopback too
  EXPECT_EQ(code, 4003);
  client::Client c;
  UserSpec eve;
  eve.name = "eve";
  auto r = c.Connect("127.0.0.1", ts.port(), ts.Resource(eve));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.http_status, 403);
}

}  // namespace
}  // namespace tutti::testing
