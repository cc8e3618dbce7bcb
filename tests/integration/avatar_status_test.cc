// Avatars and status from real clients: validation, relay to the room, and who may
// register a room.
#include <gtest/gtest.h>

#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

proto::ServerMessage Avatar(proto::AvatarAction action, float x, float y, const std::string& color,
                            const std::string& rid) {
  proto::ServerMessage m;
  auto* a = m.mutable_avatar_command();
  a->set_action(action);
  a->mutable_avatar_data()->set_x(x);
  a->mutable_avatar_data()->set_y(y);
  a->mutable_avatar_data()->set_color(color);
  m.set_request_id(rid);
  return m;
}

TEST(AvatarStatus, PositionsAndAppearanceAreValidatedAndRelayed) {
  TestServer ts(2);
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(JoinRoom(*alice, "Stage"));
  ASSERT_TRUE(JoinRoom(*bob, "Stage"));
  ASSERT_TRUE(alice->Send(Avatar(proto::UPDATE_POSITION, 1.5f, 0.2f, "", "p1")));
  std::string rid;
  EXPECT_EQ(WaitError(*alice, 3s, &rid), proto::INVALID_PARAMETERS);
  EXPECT_EQ(rid, "p1");
  ASSERT_TRUE(alice->Send(Avatar(proto::UPDATE_POSITION, 0.25f, 0.75f, "", "p2")));
  auto moved = bob->WaitFor(proto::ClientMessage::kAvatarCommand, 3s);
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->avatar_command().user_id(), "u-alice");
  EXPECT_FLOAT_EQ(moved->avatar_command().avatar_data().x(), 0.25f);
  ASSERT_TRUE(alice->Send(Avatar(proto::UPDATE_APPEARANCE, 0, 0, "red", "c1")));
  EXPECT_EQ(WaitError(*alice), proto::INVALID_PARAMETERS);
  ASSERT_TRUE(alice->Send(Avatar(proto::UPDATE_APPEARANCE, 0, 0, "#ff0080", "c2")));
  auto look = bob->WaitFor(proto::ClientMessage::kAvatarCommand, 3s);
  ASSERT_TRUE(look);
  EXPECT_EQ(look->avatar_command().avatar_data().color(), "#ff0080");
  // A newcomer sees the appearance in the member list.
  auto carol = ts.Connect("carol");
  proto::RoomJoinedResponse joined;
  ASSERT_TRUE(carol && JoinRoom(*carol, "Stage", &joined));
  bool seen = false;
  for (const auto& u : joined.current_users()) seen |= u.avatar().color() == "#ff0080";
  EXPECT_TRUE(seen);
}

TEST(AvatarStatus, ALookSetBeforeJoiningIsConfirmedAndShownOnJoin) {
  TestServer ts(2);
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(alice->Send(Avatar(proto::UPDATE_POSITION, 0.5f, 0.5f, "", "p")));
  EXPECT_EQ(WaitError(*alice), proto::WRONG_STATE) << "a position needs a room";
  ASSERT_TRUE(alice->Send(Avatar(proto::UPDATE_APPEARANCE, 0, 0, "#00ff7f", "look")));
  auto ack = alice->WaitFor(proto::ClientMessage::kAvatarCommand, 3s);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->request_id(), "look");
  EXPECT_EQ(ack->avatar_command().user_id(), "u-alice");
  EXPECT_EQ(ack->avatar_command().avatar_data().color(), "#00ff7f");
  ASSERT_TRUE(JoinRoom(*bob, "Gallery"));
  proto::RoomJoinedResponse joined;
  ASSERT_TRUE(JoinRoom(*alice, "Gallery", &joined));
  bool own = false;
  for (const auto& u : joined.current_users()) {
    own |= u.user_id() == "u-alice" && u.avatar().color() == "#00ff7f";
  }
  EXPECT_TRUE(own) << joined.ShortDebugString();
  auto arrival = bob->WaitFor(proto::ClientMessage::kUserJoinedRoom, 3s);
  ASSERT_TRUE(arrival);
  EXPECT_EQ(arrival->user_joined_room().user_info().avatar().color(), "#00ff7f");
}

TEST(AvatarStatus, StatusIsValidatedAndInvisibleLooksOnlineInTheRoom) {
  TestServer ts(2);
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(JoinRoom(*alice, "Quiet"));
  ASSERT_TRUE(JoinRoom(*bob, "Quiet"));
  proto::ServerMessage st;
  st.mutable_user_status_update()->set_status(proto::OFFLINE);
  st.set_request_id("s1");
  ASSERT_TRUE(alice->Send(st));
  EXPECT_EQ(WaitError(*alice), proto::INVALID_PARAMETERS);
  st.mutable_user_status_update()->set_status(proto::INVISIBLE);
  st.mutable_user_status_update()->set_status_text("shh");
  st.set_request_id("s2");
  ASSERT_TRUE(alice->Send(st));
  auto ack = alice->WaitFor(proto::ClientMessage::kUserStatusUpdate, 3s);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->request_id(), "s2");
  EXPECT_EQ(ack->user_status_update().status(), proto::INVISIBLE);
  auto seen = bob->WaitFor(proto::ClientMessage::kUserStatusUpdate, 3s);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->user_status_update().user_id(), "u-alice");
  EXPECT_EQ(seen->user_status_update().status(), proto::ONLINE);
}

TEST(AvatarStatus, HeartbeatFloodsAreRefusedLikeOtherRequests) {
  TestServer ts(1, [](server::ServerConfig& c) {
    c.requests_per_second = 0.001;  // no refill within the test, however slow the machine
    c.request_burst = 5;
  });
  auto alice = ts.Connect("alice");
  ASSERT_TRUE(alice);
  for (int i = 0; i < 10; ++i) {
    proto::ServerMessage hb;
    hb.mutable_heartbeat_message()->set_timestamp(i + 1);
    hb.set_request_id("hb" + std::to_string(i));
    ASSERT_TRUE(alice->Send(hb));
  }
  int answered = 0, refused = 0;
  for (int i = 0; i < 10; ++i) {
    auto m = alice->Next(3s);
    ASSERT_TRUE(m);
    if (m->has_heartbeat_message()) ++answered;
    if (m->has_error_message() && m->error_message().code() == proto::RATE_LIMITED) ++refused;
  }
  EXPECT_EQ(answered, 5);  // the burst
  EXPECT_EQ(refused, 5);
}

TEST(AvatarStatus, GuestsCannotRegisterRooms) {
  TestServer ts(2);
  UserSpec guest;
  guest.name = "visitor";
  guest.guest = true;
  auto g = ts.Connect(guest);
  ASSERT_TRUE(g);
  proto::ServerMessage create = CreateMsg("Mine Forever", proto::PUBLIC, "", 0, "c");
  create.mutable_create_room_command()->mutable_settings()->set_persistent(true);
  ASSERT_TRUE(g->Send(create));
  EXPECT_EQ(WaitError(*g), proto::PERMISSION_DENIED);
  // An ordinary room is fine for a guest.
  ASSERT_TRUE(g->Send(CreateMsg("Just Today", proto::PUBLIC, "", 0, "d")));
  EXPECT_TRUE(g->WaitFor(proto::ClientMessage::kRoomJoinedResponse, 3s));
}

// AvatarCommand UPDATE_STATUS is the same status change as UserStatusUpdate: friends
// hear it through the social path, and INVISIBLE does not leak to the room.
TEST(AvatarStatus, AvatarStatusTakesTheOneStatusPath) {
  TestServer ts(2);
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  auto fan = ts.Connect("fan");
  ASSERT_TRUE(alice && bob && fan);
  proto::ServerMessage ask;
  ask.mutable_friend_request()->set_action(proto::SEND_REQUEST);
  ask.mutable_friend_request()->set_target_user_id("u-alice");
  ask.set_request_id("ask");
  ASSERT_TRUE(fan->Send(ask));
  ASSERT_TRUE(WaitForReply(*fan, proto::ClientMessage::kFriendList, "ask"));
  proto::ServerMessage accept;
  accept.mutable_friend_request()->set_action(proto::ACCEPT_REQUEST);
  accept.mutable_friend_request()->set_target_user_id("u-fan");
  accept.set_request_id("acc");
  ASSERT_TRUE(alice->Send(accept));
  ASSERT_TRUE(WaitForReply(*alice, proto::ClientMessage::kFriendList, "acc"));
  ASSERT_TRUE(JoinRoom(*alice, "Path"));
  ASSERT_TRUE(JoinRoom(*bob, "Path"));

  proto::ServerMessage busy;
  busy.mutable_avatar_command()->set_action(proto::UPDATE_STATUS);
  busy.mutable_avatar_command()->mutable_avatar_data()->set_status(proto::BUSY);
  busy.mutable_avatar_command()->mutable_avatar_data()->set_status_text("practising");
  busy.set_request_id("busy");
  ASSERT_TRUE(alice->Send(busy));
  auto ack = WaitForReply(*alice, proto::ClientMessage::kUserStatusUpdate, "busy");
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->user_status_update().status(), proto::BUSY);
  // The friend hears it.
  bool heard = false;
  for (int i = 0; i < 50 && !heard; ++i) {
    auto e = fan->WaitFor(proto::ClientMessage::kFriendEvent, 5s);
    if (!e) break;
    heard = e->friend_event().kind() == proto::FRIEND_STATUS_CHANGED &&
            e->friend_event().friend_info().user_id() == "u-alice" &&
            e->friend_event().friend_info().status() == proto::BUSY;
  }
  EXPECT_TRUE(heard) << "a friend never saw a status set by AvatarCommand";

  // INVISIBLE through AvatarCommand: the room sees ONLINE, never INVISIBLE.
  proto::ServerMessage hide = busy;
  hide.mutable_avatar_command()->mutable_avatar_data()->set_status(proto::INVISIBLE);
  hide.set_request_id("hide");
  ASSERT_TRUE(alice->Send(hide));
  ASSERT_TRUE(WaitForReply(*alice, proto::ClientMessage::kUserStatusUpdate, "hide"));
  bool seen_online = false;
  for (int i = 0; i < 50 && !seen_online; ++i) {
    auto m = bob->Next(5s);
    if (!m) break;
    ASSERT_FALSE(m->has_avatar_command() &&
                 m->avatar_command().avatar_data().status() == proto::INVISIBLE)
        << "INVISIBLE leaked to the room";
    if (m->has_user_status_update()) {
      EXPECT_NE(m->user_status_update().status(), proto::INVISIBLE);
      seen_online = m->user_status_update().status() == proto::ONLINE;
    }
  }
  EXPECT_TRUE(seen_online);
}

// Changing the look keeps the status the status path set.
TEST(AvatarStatus, AppearanceDoesNotOverwriteTheStatus) {
  TestServer ts(2);
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(alice && bob && carol);
  ASSERT_TRUE(JoinRoom(*alice, "Looks"));
  ASSERT_TRUE(JoinRoom(*bob, "Looks"));
  proto::ServerMessage away;
  away.mutable_user_status_update()->set_status(proto::AWAY);
  away.mutable_user_status_update()->set_status_text("brb");
  away.set_request_id("away");
  ASSERT_TRUE(alice->Send(away));
  ASSERT_TRUE(WaitForReply(*alice, proto::ClientMessage::kUserStatusUpdate, "away"));

  // A look sent with the proto default status (ONLINE) must not reset AWAY.
  ASSERT_TRUE(alice->Send(Avatar(proto::UPDATE_APPEARANCE, 0, 0, "#123456", "look")));
  auto relayed = bob->WaitFor(proto::ClientMessage::kAvatarCommand, 5s);
  ASSERT_TRUE(relayed);
  EXPECT_EQ(relayed->avatar_command().avatar_data().color(), "#123456");
  EXPECT_EQ(relayed->avatar_command().avatar_data().status(), proto::AWAY);
  EXPECT_EQ(relayed->avatar_command().avatar_data().status_text(), "brb");
  proto::RoomJoinedResponse joined;
  ASSERT_TRUE(JoinRoom(*carol, "Looks", &joined));
  bool found = false;
  for (const auto& u : joined.current_users()) {
    if (u.user_id() != "u-alice") continue;
    found = true;
    EXPECT_EQ(u.avatar().status(), proto::AWAY) << "a joiner sees the look reset the status";
    EXPECT_EQ(u.avatar().color(), "#123456");
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace tutti::testing
