// Room names over real sockets: lobby names are reserved on every path, and names that
// differ only by invisible characters are one room.
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

proto::ServerMessage CreateOrJoinMsg(const std::string& room, const std::string& password,
                                     const std::string& rid) {
  proto::ServerMessage m;
  m.mutable_server_command()->set_commandtype(proto::CREATE_OR_JOIN_ROOM);
  (*m.mutable_server_command()->mutable_parameters())["room_name"] = room;
  if (!password.empty()) (*m.mutable_server_command()->mutable_parameters())["password"] = password;
  m.set_request_id(rid);
  return m;
}

// The RoomJoinedResponse answering `rid`, or nullopt (with a failure) on an error.
std::optional<proto::RoomJoinedResponse> Joined(client::Client& c, const std::string& rid) {
  for (;;) {
    auto m = c.Next(10s);
    if (!m) {
      ADD_FAILURE() << "no answer to " << rid;
      return std::nullopt;
    }
    if (m->request_id() != rid) continue;
    if (m->has_error_message()) {
      ADD_FAILURE() << rid << " refused: " << m->error_message().error_message();
      return std::nullopt;
    }
    if (m->has_room_joined_response()) return m->room_joined_response();
  }
}

// The bridge's default and tutti-cli's printed line both create-or-join "Lobby": that
// must be the server's lobby, not an ordinary room its first user owns and can lock.
TEST(RoomNames, CreateOrJoinLobbyIsTheLobby) {
  TestServer ts(3, [](server::ServerConfig& c) { c.lobby_max_users = 2; });
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(alice && bob && carol);
  ASSERT_TRUE(alice->Send(CreateOrJoinMsg("Lobby", "secret", "coj")));
  auto in = Joined(*alice, "coj");
  ASSERT_TRUE(in);
  EXPECT_EQ(in->room_info().room_id(), "lobby");
  EXPECT_EQ(in->room_info().room_type(), proto::LOBBY);
  EXPECT_EQ(in->room_info().owner_id(), "") << "a lobby has no owner";
  EXPECT_FALSE(in->room_info().has_password()) << "a lobby takes no password";

  // Nobody can lock it: lobby settings are fixed.
  proto::ServerMessage lock;
  lock.mutable_update_room_command()->set_set_password(true);
  lock.mutable_update_room_command()->set_password("k3y");
  lock.set_request_id("lock");
  ASSERT_TRUE(alice->Send(lock));
  std::string rid;
  EXPECT_EQ(WaitError(*alice, 5s, &rid), proto::PERMISSION_DENIED);
  EXPECT_EQ(rid, "lock");

  // JoinNextAvailableLobby finds the same room.
  proto::ServerMessage lobby = LobbyMsg();
  lobby.set_request_id("next");
  ASSERT_TRUE(bob->Send(lobby));
  auto bin = Joined(*bob, "next");
  ASSERT_TRUE(bin);
  EXPECT_EQ(bin->room_info().room_id(), "lobby");
  EXPECT_EQ(bin->current_users_size(), 2);

  // A join by name of a full lobby walks on to the next one, as the lobby request does.
  ASSERT_TRUE(carol->Send(JoinMsg(" LOBBY ", "", "byname")));
  auto cin = Joined(*carol, "byname");
  ASSERT_TRUE(cin);
  EXPECT_EQ(cin->room_info().room_id(), "lobby 2");
  EXPECT_EQ(cin->room_info().room_type(), proto::LOBBY);
}

// Create-or-join "Lobby 3" opens lobby 3 on demand, again a lobby and not an owned room.
TEST(RoomNames, CreateOrJoinNumberedLobbyIsALobby) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  ASSERT_TRUE(alice);
  ASSERT_TRUE(alice->Send(CreateOrJoinMsg("lobby   3", "", "l3")));
  auto in = Joined(*alice, "l3");
  ASSERT_TRUE(in);
  EXPECT_EQ(in->room_info().room_id(), "lobby 3");
  EXPECT_EQ(in->room_info().room_name(), "Lobby 3");
  EXPECT_EQ(in->room_info().room_type(), proto::LOBBY);
  EXPECT_EQ(in->room_info().owner_id(), "");
}

// "Stage" with a zero-width space, a soft hyphen or a tag character in it looks like
// "Stage": it is "Stage", and the name others see carries none of them.
TEST(RoomNames, InvisibleCharactersNameTheSameRoom) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  auto carol = ts.Connect("carol");
  auto dave = ts.Connect("dave");
  ASSERT_TRUE(alice && bob && carol && dave);
  ASSERT_TRUE(
      alice->Send(CreateMsg("St\xE2\x80\x8B"
                            "age",
                            proto::PUBLIC, "", 0, "mk")));
  auto made = Joined(*alice, "mk");
  ASSERT_TRUE(made);
  EXPECT_EQ(made->room_info().room_id(), "stage");
  EXPECT_EQ(made->room_info().room_name(), "Stage") << "the shown name keeps an invisible";

  ASSERT_TRUE(bob->Send(CreateOrJoinMsg("Sta\xC2\xADge", "", "soft")));
  auto b = Joined(*bob, "soft");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->room_info().room_id(), "stage");
  EXPECT_EQ(b->current_users_size(), 2) << "a soft hyphen made a second room";

  ASSERT_TRUE(carol->Send(JoinMsg("Stage\xF3\xA0\x81\x81", "", "tag")));
  auto c = Joined(*carol, "tag");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->current_users_size(), 3) << "a tag character made a second room";

  // And a create of the look-alike is a duplicate, not a new room.
  ASSERT_TRUE(dave->Send(CreateMsg("\xEF\xBB\xBFStage", proto::PUBLIC, "", 0, "dup")));
  std::string rid;
  EXPECT_EQ(WaitError(*dave, 5s, &rid), proto::ALREADY_EXISTS);
  EXPECT_EQ(rid, "dup");
  EXPECT_EQ(ts.server().rooms(), 1u);
}

}  // namespace
}  // namespace tutti::testing
