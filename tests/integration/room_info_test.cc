// A room seen from outside over real sockets: GetRoomInfo for public, private,
// password-protected and unknown rooms; ServerCommand UPDATE_SETTINGS and RECONNECT.
#include <string>

#include <gtest/gtest.h>

#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

// Hashing a room password is slow on purpose (crypto_pwhash), more so under sanitizers.
constexpr auto kPasswordTimeout = 30s;

proto::ServerMessage InfoMsg(const std::string& room, const std::string& rid) {
  proto::ServerMessage m;
  m.mutable_get_room_info()->set_room_name(room);
  m.set_request_id(rid);
  return m;
}

// The answer to GetRoomInfo: the RoomInfo, or the error message with that request id.
std::optional<proto::ClientMessage> AskInfo(client::Client& c, const std::string& room,
                                            const std::string& rid) {
  EXPECT_TRUE(c.Send(InfoMsg(room, rid)));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto m = c.Next(left);
    if (!m) return std::nullopt;
    if (m->request_id() == rid && (m->has_room_info() || m->has_error_message())) return m;
  }
}

proto::ErrorCode InfoRefusal(client::Client& c, const std::string& room, const std::string& rid) {
  auto m = AskInfo(c, room, rid);
  if (!m) {
    ADD_FAILURE() << "no answer for " << room;
    return proto::ERROR_CODE_UNSPECIFIED;
  }
  if (!m->has_error_message()) {
    ADD_FAILURE() << "expected a refusal for " << room << ", got " << m->room_info().room_id();
    return proto::ERROR_CODE_UNSPECIFIED;
  }
  return m->error_message().code();
}

bool Joined(client::Client& c, proto::ServerMessage msg, std::chrono::milliseconds timeout = 5s) {
  EXPECT_TRUE(c.Send(std::move(msg)));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    auto m = c.Next(left);
    if (!m) return false;
    if (m->has_room_joined_response()) return true;
    if (m->has_error_message()) {
      ADD_FAILURE() << "join refused: " << m->error_message().error_message();
      return false;
    }
  }
}

proto::ServerMessage Command(proto::ServerCommandType type, const std::string& rid) {
  proto::ServerMessage m;
  m.mutable_server_command()->set_commandtype(type);
  m.set_request_id(rid);
  return m;
}

TEST(RoomInfo, PublicRoomIsDescribedToAnyoneWithoutJoining) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  proto::ServerMessage create = CreateMsg("Open Stage", proto::PUBLIC, "", 5, "c");
  create.mutable_create_room_command()->mutable_settings()->set_welcome_message("hello");
  ASSERT_TRUE(Joined(*alice, create));
  ASSERT_TRUE(alice->Send(ChatMsg("/topic Tonight: Bach", "t")));
  ASSERT_TRUE(alice->WaitFor(proto::ClientMessage::kRoomUpdated, 5s));

  auto m = AskInfo(*bob, "  open   STAGE", "i1");  // by name, in any spelling
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->has_room_info()) << m->error_message().error_message();
  EXPECT_EQ(m->message_type(), proto::ClientMessage::RoomInfo);
  const proto::RoomInfo& info = m->room_info();
  EXPECT_EQ(info.room_id(), "open stage");
  EXPECT_EQ(info.room_name(), "Open Stage");
  EXPECT_EQ(info.room_type(), proto::PUBLIC);
  EXPECT_EQ(info.owner_id(), "u-alice");
  EXPECT_EQ(info.user_count(), 1);
  EXPECT_EQ(info.settings().max_users(), 5);
  EXPECT_EQ(info.settings().welcome_message(), "hello");
  EXPECT_EQ(info.topic(), "Tonight: Bach");
  EXPECT_FALSE(info.has_password());
  // Bob asked from outside: he is not in the room.
  EXPECT_FALSE(bob->WaitFor(proto::ClientMessage::kRoomJoinedResponse, 200ms));

  // A lobby says it is one.
  ASSERT_TRUE(Joined(*bob, LobbyMsg()));
  auto lobby = AskInfo(*alice, "Lobby", "i2");
  ASSERT_TRUE(lobby && lobby->has_room_info());
  EXPECT_EQ(lobby->room_info().room_type(), proto::LOBBY);
  EXPECT_EQ(lobby->room_info().user_count(), 1);
}

TEST(RoomInfo, PasswordProtectedRoomSaysSoAndNeverShowsThePassword) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(
      Joined(*alice, CreateMsg("Vault", proto::PUBLIC, "s3cret-pass", 0, "c"), kPasswordTimeout));
  auto m = AskInfo(*bob, "vault", "i");
  ASSERT_TRUE(m && m->has_room_info());
  EXPECT_TRUE(m->room_info().has_password());
  const std::string wire = m->SerializeAsString();
  EXPECT_EQ(wire.find("s3cret-pass"), std::string::npos);
  EXPECT_EQ(wire.find("$argon2"), std::string::npos) << "the hash must not leak either";
}

TEST(RoomInfo, UnknownRoomIsNotFound) {
  TestServer ts;
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(bob);
  EXPECT_EQ(InfoRefusal(*bob, "Nowhere", "n1"), proto::NOT_FOUND);
  EXPECT_EQ(InfoRefusal(*bob, " \t ", "n2"), proto::INVALID_PARAMETERS);
  EXPECT_EQ(InfoRefusal(*bob, std::string(1000, 'x'), "n3"), proto::INVALID_PARAMETERS);
}

TEST(RoomInfo, PrivateRoomIsShownToMembersOwnerAndStaffOnly) {
  TestServer ts;
  auto owner = ts.Connect("owner");
  auto guest_of_owner = ts.Connect("friend");
  auto outsider = ts.Connect("outsider");
  UserSpec mod_spec = Named("mod");
  mod_spec.roles = {"moderator"};
  auto staff = ts.Connect(mod_spec);
  ASSERT_TRUE(owner && guest_of_owner && outsider && staff);
  ASSERT_TRUE(Joined(*owner, CreateMsg("Back Room", proto::PRIVATE, "", 0, "c")));
  ASSERT_TRUE(Joined(*guest_of_owner, JoinMsg("Back Room")));

  // An outsider cannot tell it from a room that does not exist.
  EXPECT_EQ(InfoRefusal(*outsider, "back room", "o"), proto::NOT_FOUND);

  auto member_view = AskInfo(*guest_of_owner, "Back Room", "m");
  ASSERT_TRUE(member_view && member_view->has_room_info());
  EXPECT_EQ(member_view->room_info().room_type(), proto::PRIVATE);
  EXPECT_EQ(member_view->room_info().user_count(), 2);

  auto staff_view = AskInfo(*staff, "Back Room", "s");
  ASSERT_TRUE(staff_view && staff_view->has_room_info());

  // An owner who leaves hands the room on (the remaining member owns it) and is an
  // outsider again.
  ASSERT_TRUE(owner->Send(LeaveMsg("l")));
  ASSERT_TRUE(owner->WaitFor(proto::ClientMessage::kRoomLeft, 5s));
  auto owner_view = AskInfo(*owner, "Back Room", "w");
  ASSERT_TRUE(owner_view);
  EXPECT_EQ(owner_view->has_error_message() ? owner_view->error_message().code()
                                            : proto::ERROR_CODE_UNSPECIFIED,
            proto::NOT_FOUND);
  auto new_owner_view = AskInfo(*guest_of_owner, "Back Room", "w2");
  ASSERT_TRUE(new_owner_view && new_owner_view->has_room_info());
  EXPECT_EQ(new_owner_view->room_info().owner_id(), "u-friend");
}

TEST(RoomInfo, UpdateSettingsServerCommandTakesTheUpdateRoomPath) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(Joined(*alice, CreateMsg("Club", proto::PUBLIC, "", 0, "c")));
  ASSERT_TRUE(Joined(*bob, JoinMsg("Club")));

  proto::ServerMessage update = Command(proto::UPDATE_SETTINGS, "u1");
  auto& p = *update.mutable_server_command()->mutable_parameters();
  p["max_users"] = "7";
  p["allow_chat"] = "true";
  p["allow_guests"] = "false";
  p["welcome_message"] = "be nice";
  ASSERT_TRUE(alice->Send(update));
  auto mine = WaitForReply(*alice, proto::ClientMessage::kRoomUpdated, "u1");
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->room_updated().room_info().settings().max_users(), 7);
  EXPECT_FALSE(mine->room_updated().room_info().settings().allow_guests());
  EXPECT_EQ(mine->room_updated().room_info().settings().welcome_message(), "be nice");
  auto seen = bob->WaitFor(proto::ClientMessage::kRoomUpdated, 5s);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->room_updated().room_info().settings().max_users(), 7);

  // The same permission rule as UpdateRoomCommand: only the owner.
  proto::ServerMessage by_bob = Command(proto::UPDATE_SETTINGS, "u2");
  (*by_bob.mutable_server_command()->mutable_parameters())["allow_chat"] = "false";
  ASSERT_TRUE(bob->Send(by_bob));
  std::string rid;
  EXPECT_EQ(WaitError(*bob, 5s, &rid), proto::PERMISSION_DENIED);
  EXPECT_EQ(rid, "u2");

  // A key or value it does not know is refused, not guessed.
  proto::ServerMessage bad = Command(proto::UPDATE_SETTINGS, "u3");
  (*bad.mutable_server_command()->mutable_parameters())["max_users"] = "many";
  ASSERT_TRUE(alice->Send(bad));
  EXPECT_EQ(WaitError(*alice, 5s, &rid), proto::INVALID_PARAMETERS);
  EXPECT_EQ(rid, "u3");
}

}  // namespace
}  // namespace tutti::testing
