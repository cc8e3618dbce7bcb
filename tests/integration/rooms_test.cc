// Rooms over real sockets: create, join, passwords, limits, lobbies, list, leave, owner, shards.
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/ids.h"
#include "server/text.h"
#include "tests/testing/raw_ws.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

// Hashing a room password is slow on purpose (crypto_pwhash), more so under sanitizers.
constexpr auto kPasswordTimeout = 30s;

// The first RoomJoinedResponse or ErrorMessage; anything else is skipped.
std::optional<proto::ClientMessage> JoinOutcome(client::Client& c,
                                                std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto m = c.Next(left);
    if (!m) return std::nullopt;
    if (m->has_room_joined_response() || m->has_error_message()) return m;
  }
}

// Sends `msg` and expects to join; returns the response (success checked).
std::optional<proto::RoomJoinedResponse> ExpectJoin(client::Client& c, proto::ServerMessage msg,
                                                    std::chrono::milliseconds timeout = 5s) {
  const std::string rid = msg.request_id();
  EXPECT_TRUE(c.Send(std::move(msg)));
  auto m = JoinOutcome(c, timeout);
  if (!m) {
    ADD_FAILURE() << "no answer to the join";
    return std::nullopt;
  }
  if (m->has_error_message()) {
    ADD_FAILURE() << "join refused: " << proto::ErrorCode_Name(m->error_message().code()) << " "
                  << m->error_message().error_message();
    return std::nullopt;
  }
  EXPECT_TRUE(m->room_joined_response().success());
  EXPECT_EQ(m->request_id(), rid);
  return m->room_joined_response();
}

// Sends `msg` and expects a typed refusal; returns its code (and checks the request id).
proto::ErrorCode ExpectRefusal(client::Client& c, proto::ServerMessage msg,
                               std::chrono::milliseconds timeout = 5s) {
  const std::string rid = msg.request_id();
  EXPECT_TRUE(c.Send(std::move(msg)));
  auto m = JoinOutcome(c, timeout);
  if (!m) {
    ADD_FAILURE() << "no answer";
    return proto::ERROR_CODE_UNSPECIFIED;
  }
  if (!m->has_error_message()) {
    ADD_FAILURE() << "expected a refusal, joined "
                  << m->room_joined_response().room_info().room_id();
    return proto::ERROR_CODE_UNSPECIFIED;
  }
  EXPECT_EQ(m->request_id(), rid);
  EXPECT_EQ(m->error_message().error_code(), proto::ErrorCode_Name(m->error_message().code()));
  return m->error_message().code();
}

std::optional<proto::RoomList> ListRooms(client::Client& c, const std::string& rid = "list") {
  EXPECT_TRUE(c.Send(RoomListMsg(rid)));
  auto m = WaitForReply(c, proto::ClientMessage::kRoomList, rid);
  if (!m) return std::nullopt;
  return m->room_list();
}

const proto::RoomInfo* FindRoom(const proto::RoomList& list, const std::string& room_id) {
  for (const auto& r : list.rooms()) {
    if (r.room_id() == room_id) return &r;
  }
  return nullptr;
}

bool HasRole(const proto::UserInfo& u, proto::Role role) {
  for (int r : u.roles()) {
    if (r == role) return true;
  }
  return false;
}

// Nothing of case `which` arrives within `window`.
bool Silent(client::Client& c, proto::ClientMessage::MessageCase which,
            std::chrono::milliseconds window = 300ms) {
  return !c.WaitFor(which, window);
}

TEST(Rooms, CreatePublicAndPrivateRooms) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  auto pub = ExpectJoin(*alice, CreateMsg("  Open   Stage ", proto::PUBLIC, "", 0, "c1"));
  ASSERT_TRUE(pub);
  EXPECT_EQ(pub->room_info().room_id(), "open stage");
  EXPECT_EQ(pub->room_info().room_type(), proto::PUBLIC);
  EXPECT_EQ(pub->room_info().owner_id(), "u-alice");
  EXPECT_EQ(pub->room_info().user_count(), 1);
  EXPECT_FALSE(pub->room_info().has_password());
  ASSERT_EQ(pub->current_users_size(), 1);
  EXPECT_TRUE(HasRole(pub->you(), proto::ROLE_ROOM_OWNER));

  auto priv = ExpectJoin(*bob, CreateMsg("Back Room", proto::PRIVATE, "", 0, "c2"));
  ASSERT_TRUE(priv);
  EXPECT_EQ(priv->room_info().room_type(), proto::PRIVATE);
  EXPECT_EQ(priv->room_info().owner_id(), "u-bob");
  EXPECT_EQ(ts.server().rooms(), 2u);

  // Lobbies are the server's to make.
  EXPECT_EQ(ExpectRefusal(*bob, CreateMsg("Mine", proto::LOBBY, "", 0, "c3")),
            proto::INVALID_PARAMETERS);
  EXPECT_EQ(ExpectRefusal(*bob, CreateMsg("Lobby 7", proto::PUBLIC, "", 0, "c4")),
            proto::ALREADY_EXISTS);
  EXPECT_EQ(ExpectRefusal(*bob, CreateMsg(" \t ", proto::PUBLIC, "", 0, "c5")),
            proto::INVALID_PARAMETERS);
}

TEST(Rooms, ARoomCreatedWithoutSettingsHasChatAndGuests) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  UserSpec visitor;
  visitor.name = "visitor";
  visitor.guest = true;
  auto guest = ts.Connect(visitor);
  ASSERT_TRUE(alice && bob && guest);
  proto::ServerMessage create;
  create.mutable_create_room_command()->set_room_name("Plain");
  create.set_request_id("plain");
  auto made = ExpectJoin(*alice, create);
  ASSERT_TRUE(made);
  EXPECT_TRUE(made->room_info().settings().allow_chat());
  EXPECT_TRUE(made->room_info().settings().allow_guests());
  ASSERT_TRUE(ExpectJoin(*bob, JoinMsg("Plain")));
  ASSERT_TRUE(ExpectJoin(*guest, JoinMsg("Plain")));
  ASSERT_TRUE(bob->Send(ChatMsg("hi all", "hi")));
  auto line = alice->WaitFor(proto::ClientMessage::kRoomChatMessage, 3s);
  ASSERT_TRUE(line) << "a member's chat in a room made without settings";
  EXPECT_EQ(line->room_chat_message().message(), "hi all");
  // Settings that are sent are kept as sent.
  proto::ServerMessage quiet = CreateMsg("Quiet", proto::PUBLIC, "", 0, "quiet");
  quiet.mutable_create_room_command()->mutable_settings()->set_allow_chat(false);
  auto q = ExpectJoin(*alice, quiet);
  ASSERT_TRUE(q);
  EXPECT_FALSE(q->room_info().settings().allow_chat());
}

TEST(Rooms, JoinByNameIsCaseAndSpaceInsensitive) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(ExpectJoin(*alice, CreateMsg("Jazz Club")));
  auto joined = ExpectJoin(*bob, JoinMsg("  jazz   CLUB", "", "j1"));
  ASSERT_TRUE(joined);
  EXPECT_EQ(joined->room_info().room_id(), "jazz club");
  EXPECT_EQ(joined->room_info().room_name(), "Jazz Club");
  EXPECT_EQ(joined->room_info().user_count(), 2);
  EXPECT_EQ(joined->current_users_size(), 2);
  EXPECT_EQ(joined->you().user_id(), "u-bob");
  EXPECT_FALSE(HasRole(joined->you(), proto::ROLE_ROOM_OWNER));
  auto seen = alice->WaitFor(proto::ClientMessage::kUserJoinedRoom, 3s);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->user_joined_room().user_info().user_id(), "u-bob");
  EXPECT_EQ(seen->user_joined_room().room_id(), "jazz club");

  // Joining the room you are in is a state error, not a second membership.
  EXPECT_EQ(ExpectRefusal(*bob, JoinMsg("Jazz Club", "", "j3")), proto::WRONG_STATE);
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(carol);
  EXPECT_EQ(ExpectRefusal(*carol, JoinMsg("Nowhere", "", "j2")), proto::NOT_FOUND);
}

// A refused join is a typed reply that loses nothing: the client stays where it was.
TEST(Rooms, RefusedJoinKeepsTheCurrentRoom) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(alice && bob && carol);
  ASSERT_TRUE(ExpectJoin(*alice, CreateMsg("Home")));
  ASSERT_TRUE(ExpectJoin(*bob, JoinMsg("Home")));
  ASSERT_TRUE(ExpectJoin(*carol, CreateMsg("Solo", proto::PUBLIC, "", 1)));
  ASSERT_TRUE(alice->WaitFor(proto::ClientMessage::kUserJoinedRoom, 3s));

  EXPECT_EQ(ExpectRefusal(*alice, JoinMsg("Nowhere", "", "nf")), proto::NOT_FOUND);
  EXPECT_EQ(ExpectRefusal(*alice, JoinMsg("Solo", "", "full")), proto::ROOM_FULL);
  EXPECT_EQ(ExpectRefusal(*alice, CreateMsg("solo", proto::PUBLIC, "", 0, "dup")),
            proto::ALREADY_EXISTS);
  // Still in Home: bob saw no departure, and the room's chat still reaches alice.
  EXPECT_FALSE(bob->WaitFor(proto::ClientMessage::kUserLeftRoom, 300ms))
      << "a refused join took alice out of her room";
  ASSERT_TRUE(bob->Send(ChatMsg("still with me?")));
  auto line = alice->WaitFor(proto::ClientMessage::kRoomChatMessage, 3s);
  ASSERT_TRUE(line) << "alice no longer hears her room";
  EXPECT_EQ(line->room_chat_message().message(), "still with me?");
}

TEST(Rooms, PasswordIsCheckedWrongThenRight) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  auto made =
      ExpectJoin(*alice, CreateMsg("Vault", proto::PRIVATE, "s3cret", 0, "mk"), kPasswordTimeout);
  ASSERT_TRUE(made);
  EXPECT_TRUE(made->room_info().has_password());
  EXPECT_EQ(ExpectRefusal(*bob, JoinMsg("vault", "wrong", "w1"), kPasswordTimeout),
            proto::WRONG_PASSWORD);
  EXPECT_EQ(ExpectRefusal(*bob, JoinMsg("vault", "", "w2"), kPasswordTimeout),
            proto::WRONG_PASSWORD);
  auto in = ExpectJoin(*bob, JoinMsg("vault", "s3cret", "ok"), kPasswordTimeout);
  ASSERT_TRUE(in);
  EXPECT_EQ(in->current_users_size(), 2);
}

TEST(Rooms, FullRoomRefusesTheNextJoin) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(alice && bob && carol);
  auto made = ExpectJoin(*alice, CreateMsg("Duo", proto::PUBLIC, "", 2));
  ASSERT_TRUE(made);
  EXPECT_EQ(made->room_info().settings().max_users(), 2);
  ASSERT_TRUE(ExpectJoin(*bob, JoinMsg("Duo")));
  EXPECT_EQ(ExpectRefusal(*carol, JoinMsg("Duo", "", "full")), proto::ROOM_FULL);
  // Once someone leaves there is room again.
  ASSERT_TRUE(bob->Send(LeaveMsg()));
  ASSERT_TRUE(bob->WaitFor(proto::ClientMessage::kRoomLeft, 3s));
  ASSERT_TRUE(ExpectJoin(*carol, JoinMsg("Duo")));
}

TEST(Rooms, SettingsCannotRaiseCapacityAboveTheServerLimit) {
  TestServer ts(3, [](server::ServerConfig& c) { c.max_users_per_room = 2; });
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(alice && bob && carol);
  auto made = ExpectJoin(*alice, CreateMsg("Big", proto::PUBLIC, "", 50));
  ASSERT_TRUE(made);
  EXPECT_EQ(made->room_info().settings().max_users(), 2);
  ASSERT_TRUE(ExpectJoin(*bob, JoinMsg("Big")));
  EXPECT_EQ(ExpectRefusal(*carol, JoinMsg("Big")), proto::ROOM_FULL);
}

TEST(Rooms, LobbyOverflowsIntoLobby2) {
  TestServer ts(3, [](server::ServerConfig& c) { c.lobby_max_users = 2; });
  auto a = ts.Connect("a");
  auto b = ts.Connect("b");
  auto c = ts.Connect("c");
  ASSERT_TRUE(a && b && c);
  auto ja = ExpectJoin(*a, LobbyMsg());
  auto jb = ExpectJoin(*b, LobbyMsg());
  auto jc = ExpectJoin(*c, LobbyMsg());
  ASSERT_TRUE(ja && jb && jc);
  EXPECT_EQ(ja->room_info().room_name(), "Lobby");
  EXPECT_EQ(ja->room_info().room_type(), proto::LOBBY);
  EXPECT_EQ(jb->room_info().room_name(), "Lobby");
  EXPECT_EQ(jb->current_users_size(), 2);
  EXPECT_EQ(jc->room_info().room_name(), "Lobby 2");
  EXPECT_EQ(jc->room_info().room_id(), "lobby 2");
  EXPECT_EQ(jc->current_users_size(), 1);
  // Lobbies have no owner.
  EXPECT_EQ(ja->room_info().owner_id(), "");
  // Lobby 2's users do not hear Lobby's chat.
  ASSERT_TRUE(a->Send(ChatMsg("lobby one only")));
  ASSERT_TRUE(b->WaitFor(proto::ClientMessage::kRoomChatMessage, 3s));
  EXPECT_TRUE(Silent(*c, proto::ClientMessage::kRoomChatMessage));
}

TEST(Rooms, RoomListShowsPublicRoomsOnly) {
  TestServer ts(4);
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(alice && bob && carol);
  ASSERT_TRUE(ExpectJoin(*alice, CreateMsg("Listed Room", proto::PUBLIC)));
  ASSERT_TRUE(ExpectJoin(*bob, CreateMsg("Hidden Room", proto::PRIVATE)));
  ASSERT_TRUE(ExpectJoin(*carol, JoinMsg("Listed Room")));
  auto list = ListRooms(*carol, "rl");
  ASSERT_TRUE(list);
  const proto::RoomInfo* listed = FindRoom(*list, "listed room");
  ASSERT_NE(listed, nullptr);
  EXPECT_EQ(listed->user_count(), 2);
  EXPECT_EQ(listed->owner_id(), "u-alice");
  EXPECT_EQ(FindRoom(*list, "hidden room"), nullptr);
  // A private room is still joinable by name.
  ASSERT_TRUE(ExpectJoin(*carol, JoinMsg("hidden room")));
  // An empty list is still an answer.
  TestServer empty(2);
  auto d = empty.Connect("dave");
  ASSERT_TRUE(d);
  auto none = ListRooms(*d, "e");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->rooms_size(), 0);
}

TEST(Rooms, LeaveNotifiesLeaverAndOthers) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(ExpectJoin(*alice, CreateMsg("Exit")));
  ASSERT_TRUE(ExpectJoin(*bob, JoinMsg("Exit")));
  ASSERT_TRUE(bob->Send(LeaveMsg("bye")));
  auto left = WaitForReply(*bob, proto::ClientMessage::kRoomLeft, "bye", 3s);
  ASSERT_TRUE(left);
  EXPECT_EQ(left->room_left().room_id(), "exit");
  EXPECT_EQ(left->room_left().reason(), "left");
  auto other = alice->WaitFor(proto::ClientMessage::kUserLeftRoom, 3s);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->user_left_room().user_id(), "u-bob");
  EXPECT_EQ(other->user_left_room().room_id(), "exit");
  EXPECT_EQ(other->user_left_room().reason(), "left");
  // Out of the room: no chat, no second leave, and no more room traffic.
  ASSERT_TRUE(bob->Send(ChatMsg("hello?", "c")));
  std::string rid;
  EXPECT_EQ(WaitError(*bob, 3s, &rid), proto::WRONG_STATE);
  EXPECT_EQ(rid, "c");
  ASSERT_TRUE(bob->Send(LeaveMsg("again")));
  EXPECT_EQ(WaitError(*bob, 3s, &rid), proto::WRONG_STATE);
  EXPECT_EQ(rid, "again");
  ASSERT_TRUE(alice->Send(ChatMsg("anyone?")));
  EXPECT_TRUE(Silent(*bob, proto::ClientMessage::kRoomChatMessage));
}

TEST(Rooms, OwnerLeavingHandsOwnershipToTheNextMember) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(alice && bob && carol);
  ASSERT_TRUE(ExpectJoin(*alice, CreateMsg("Throne")));
  ASSERT_TRUE(ExpectJoin(*bob, JoinMsg("Throne")));
  ASSERT_TRUE(ExpectJoin(*carol, JoinMsg("Throne")));
  ASSERT_TRUE(alice->Send(LeaveMsg()));
  for (client::Client* c : {bob.get(), carol.get()}) {
    auto u = c->WaitFor(proto::ClientMessage::kRoomUpdated, 3s);
    ASSERT_TRUE(u);
    EXPECT_EQ(u->room_updated().room_info().owner_id(), "u-bob");
    EXPECT_EQ(u->room_updated().room_info().user_count(), 2);
  }
  // The new owner can change settings; the old one is just a visitor elsewhere.
  proto::ServerMessage upd;
  upd.mutable_update_room_command()->mutable_settings()->set_allow_chat(true);
  upd.mutable_update_room_command()->mutable_settings()->set_welcome_message("new rules");
  upd.set_request_id("u");
  ASSERT_TRUE(bob->Send(upd));
  auto ok = WaitForReply(*bob, proto::ClientMessage::kRoomUpdated, "u", 3s);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->room_updated().room_info().settings().welcome_message(), "new rules");
  // When the owner disconnects (not a clean leave) the same happens.
  bob.reset();
  bool handed = false;
  for (int i = 0; i < 10 && !handed; ++i) {
    auto u = carol->WaitFor(proto::ClientMessage::kRoomUpdated, 3s);
    ASSERT_TRUE(u) << "no RoomUpdated naming carol the owner";
    handed = u->room_updated().room_info().owner_id() == "u-carol";
  }
  EXPECT_TRUE(handed);
}

TEST(Rooms, EmptyRoomIsRemovedAndItsNameFreed) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(alice && bob && carol);
  EXPECT_EQ(ts.server().rooms(), 0u);
  ASSERT_TRUE(ExpectJoin(*alice, CreateMsg("Pop-up", proto::PUBLIC, "", 0)));
  ASSERT_TRUE(ExpectJoin(*bob, JoinMsg("pop-up")));
  EXPECT_EQ(ts.server().rooms(), 1u);
  ASSERT_TRUE(alice->Send(LeaveMsg()));
  ASSERT_TRUE(alice->WaitFor(proto::ClientMessage::kRoomLeft, 3s));
  EXPECT_EQ(ts.server().rooms(), 1u);  // bob is still there
  bob.reset();                         // the last member disconnects
  EXPECT_TRUE(WaitUntil([&] { return ts.server().rooms() == 0; }, 5s))
      << "rooms() = " << ts.server().rooms();
  auto again = ExpectJoin(*carol, CreateMsg("Pop-up", proto::PRIVATE, "", 0, "again"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->room_info().owner_id(), "u-carol");
  EXPECT_EQ(again->room_info().room_type(), proto::PRIVATE);
  EXPECT_EQ(again->current_users_size(), 1);
  EXPECT_EQ(again->chat_history_size(), 0);
  // Lobbies are not removed when empty.
  ASSERT_TRUE(ExpectJoin(*alice, LobbyMsg()));
  ASSERT_TRUE(alice->Send(LeaveMsg()));
  ASSERT_TRUE(alice->WaitFor(proto::ClientMessage::kRoomLeft, 3s));
  ASSERT_TRUE(WaitUntil([&] { return ts.server().rooms() == 2; }, 2s));
}

TEST(Rooms, OnlyTheOwnerMayUpdateTheRoom) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(alice && bob && carol);
  ASSERT_TRUE(ExpectJoin(*alice, CreateMsg("Studio")));
  ASSERT_TRUE(ExpectJoin(*bob, JoinMsg("Studio")));

  proto::ServerMessage upd;
  auto* s = upd.mutable_update_room_command()->mutable_settings();
  s->set_max_users(3);
  s->set_allow_chat(true);
  s->set_allow_guests(false);
  s->set_welcome_message("Welcome to the studio");
  upd.set_request_id("by-owner");
  ASSERT_TRUE(alice->Send(upd));
  auto mine = WaitForReply(*alice, proto::ClientMessage::kRoomUpdated, "by-owner", 3s);
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->room_updated().room_info().settings().max_users(), 3);
  EXPECT_EQ(mine->room_updated().room_info().settings().welcome_message(), "Welcome to the studio");
  auto theirs = bob->WaitFor(proto::ClientMessage::kRoomUpdated, 3s);
  ASSERT_TRUE(theirs);
  EXPECT_EQ(theirs->request_id(), "");
  EXPECT_EQ(theirs->room_updated().room_info().settings().max_users(), 3);
  // The welcome message greets the next joiner.
  auto joined = ExpectJoin(*carol, JoinMsg("Studio"));
  ASSERT_TRUE(joined);
  auto greet = carol->WaitFor(proto::ClientMessage::kRoomChatMessage, 3s);
  ASSERT_TRUE(greet);
  EXPECT_EQ(greet->room_chat_message().message(), "Welcome to the studio");
  EXPECT_EQ(greet->room_chat_message().message_type(), proto::SYSTEM_MESSAGE);

  proto::ServerMessage hijack;
  hijack.mutable_update_room_command()->mutable_settings()->set_max_users(1);
  hijack.set_request_id("by-bob");
  ASSERT_TRUE(bob->Send(hijack));
  std::string rid;
  EXPECT_EQ(WaitError(*bob, 3s, &rid), proto::PERMISSION_DENIED);
  EXPECT_EQ(rid, "by-bob");
  auto list = ListRooms(*bob);
  ASSERT_TRUE(list);
  const proto::RoomInfo* info = FindRoom(*list, "studio");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->settings().max_users(), 3);

  // Making the room private takes it off the list.
  proto::ServerMessage hide;
  hide.mutable_update_room_command()->set_set_room_type(true);
  hide.mutable_update_room_command()->set_room_type(proto::PRIVATE);
  hide.set_request_id("hide");
  ASSERT_TRUE(alice->Send(hide));
  ASSERT_TRUE(WaitForReply(*alice, proto::ClientMessage::kRoomUpdated, "hide", 3s));
  list = ListRooms(*bob);
  ASSERT_TRUE(list);
  EXPECT_EQ(FindRoom(*list, "studio"), nullptr);

  // Outside a room there is nothing to update.
  auto dave = ts.Connect("dave");
  ASSERT_TRUE(dave);
  ASSERT_TRUE(dave->Send(hijack));
  EXPECT_EQ(WaitError(*dave), proto::WRONG_STATE);
}

TEST(Rooms, OwnerCanSetAndClearThePassword) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(ExpectJoin(*alice, CreateMsg("Lockable")));
  proto::ServerMessage lock;
  lock.mutable_update_room_command()->set_set_password(true);
  lock.mutable_update_room_command()->set_password("k3y");
  lock.set_request_id("lock");
  ASSERT_TRUE(alice->Send(lock));
  auto locked = WaitForReply(*alice, proto::ClientMessage::kRoomUpdated, "lock", kPasswordTimeout);
  ASSERT_TRUE(locked);
  EXPECT_TRUE(locked->room_updated().room_info().has_password());
  EXPECT_EQ(ExpectRefusal(*bob, JoinMsg("Lockable", "", "no-key"), kPasswordTimeout),
            proto::WRONG_PASSWORD);
  ASSERT_TRUE(ExpectJoin(*bob, JoinMsg("Lockable", "k3y"), kPasswordTimeout));
  ASSERT_TRUE(bob->Send(LeaveMsg()));
  ASSERT_TRUE(bob->WaitFor(proto::ClientMessage::kRoomLeft, 3s));

  proto::ServerMessage unlock;
  unlock.mutable_update_room_command()->set_set_password(true);
  unlock.set_request_id("unlock");
  ASSERT_TRUE(alice->Send(unlock));
  auto open = WaitForReply(*alice, proto::ClientMessage::kRoomUpdated, "unlock", 3s);
  ASSERT_TRUE(open);
  EXPECT_FALSE(open->room_updated().room_info().has_password());
  ASSERT_TRUE(ExpectJoin(*bob, JoinMsg("Lockable")));
}

// A refused update must change nothing (every refusal loses nothing, principle 10).
TEST(Rooms, RefusedUpdateChangesNothing) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  ASSERT_TRUE(alice);
  ASSERT_TRUE(ExpectJoin(*alice, CreateMsg("Atomic", proto::PUBLIC, "", 10)));
  proto::ServerMessage bad;
  auto* cmd = bad.mutable_update_room_command();
  cmd->mutable_settings()->set_max_users(2);
  cmd->mutable_settings()->set_allow_chat(false);
  cmd->set_set_room_type(true);
  cmd->set_room_type(proto::LOBBY);
  bad.set_request_id("to-lobby");
  ASSERT_TRUE(alice->Send(bad));
  std::string rid;
  EXPECT_EQ(WaitError(*alice, 3s, &rid), proto::INVALID_PARAMETERS);
  EXPECT_EQ(rid, "to-lobby");
  auto list = ListRooms(*alice);
  ASSERT_TRUE(list);
  const proto::RoomInfo* info = FindRoom(*list, "atomic");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->settings().max_users(), 10) << "settings changed by a refused update";
  EXPECT_TRUE(info->settings().allow_chat()) << "settings changed by a refused update";
  EXPECT_EQ(info->room_type(), proto::PUBLIC);
}

TEST(Rooms, DuplicateCreateIsAlreadyExists) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(ExpectJoin(*alice, CreateMsg("Unique")));
  EXPECT_EQ(ExpectRefusal(*bob, CreateMsg("unique", proto::PUBLIC, "", 0, "dup")),
            proto::ALREADY_EXISTS);
  EXPECT_EQ(ExpectRefusal(*bob, CreateMsg(" UNIQUE ", proto::PRIVATE, "", 0, "dup2")),
            proto::ALREADY_EXISTS);
  EXPECT_EQ(ts.server().rooms(), 1u);
  // The refused creator is free to join another room right away.
  ASSERT_TRUE(ExpectJoin(*bob, JoinMsg("Unique")));
}

TEST(Rooms, RoomsOnDifferentShardsAreIsolated) {
  constexpr int kShards = 3;
  TestServer ts(kShards);
  const std::string room_a = RoomNameOnShard("isle-a-", 0, kShards);
  const std::string room_b = RoomNameOnShard("isle-b-", 1, kShards);
  ASSERT_NE(server::HomeShardOfRoom(server::CanonicalRoomId(room_a, 64), kShards),
            server::HomeShardOfRoom(server::CanonicalRoomId(room_b, 64), kShards));
  auto a1 = ts.Connect("a1");
  auto a2 = ts.Connect("a2");
  auto b1 = ts.Connect("b1");
  auto b2 = ts.Connect("b2");
  ASSERT_TRUE(a1 && a2 && b1 && b2);
  ASSERT_TRUE(ExpectJoin(*a1, CreateMsg(room_a)));
  ASSERT_TRUE(ExpectJoin(*a2, JoinMsg(room_a)));
  ASSERT_TRUE(ExpectJoin(*b1, CreateMsg(room_b)));
  ASSERT_TRUE(ExpectJoin(*b2, JoinMsg(room_b)));

  ASSERT_TRUE(a1->Send(ChatMsg("for room a")));
  ASSERT_TRUE(b1->Send(ChatMsg("for room b")));
  ASSERT_TRUE(a1->Send(MidiMsg(std::string("\x90\x3c\x64", 3))));
  auto at_a2 = a2->WaitFor(proto::ClientMessage::kRoomChatMessage, 3s);
  ASSERT_TRUE(at_a2);
  EXPECT_EQ(at_a2->room_chat_message().message(), "for room a");
  auto at_b2 = b2->WaitFor(proto::ClientMessage::kRoomChatMessage, 3s);
  ASSERT_TRUE(at_b2);
  EXPECT_EQ(at_b2->room_chat_message().message(), "for room b");
  // Nothing else arrives on either side: not the other room's chat, not its MIDI.
  for (client::Client* c : {b1.get(), b2.get()}) {
    for (int i = 0; i < 50; ++i) {
      auto m = c->Next(300ms);
      if (!m) break;
      if (m->has_room_chat_message()) {
        EXPECT_EQ(m->room_chat_message().message(), "for room b");
      }
      EXPECT_FALSE(m->has_midi_message()) << "room b heard room a's MIDI";
      EXPECT_FALSE(m->has_user_joined_room() &&
                   m->user_joined_room().room_id() == server::CanonicalRoomId(room_a, 64));
    }
  }
  auto midi = a2->WaitFor(proto::ClientMessage::kMidiMessage, 3s);
  ASSERT_TRUE(midi);
  EXPECT_EQ(midi->midi_message().user_id(), "u-a1");
}

TEST(Rooms, JoiningASecondRoomLeavesTheFirst) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(alice && bob && carol);
  ASSERT_TRUE(ExpectJoin(*bob, CreateMsg("First")));
  ASSERT_TRUE(ExpectJoin(*carol, CreateMsg("Second")));
  ASSERT_TRUE(ExpectJoin(*alice, JoinMsg("First")));
  ASSERT_TRUE(bob->WaitFor(proto::ClientMessage::kUserJoinedRoom, 3s));

  ASSERT_TRUE(alice->Send(JoinMsg("Second", "", "move")));
  // Both the RoomLeft for the first room and the join of the second arrive, in either
  // order (they come from different rooms, possibly on different shards).
  bool left = false, joined = false;
  for (int i = 0; i < 10 && !(left && joined); ++i) {
    auto m = alice->Next(3s);
    ASSERT_TRUE(m) << "left=" << left << " joined=" << joined;
    if (m->has_room_left()) {
      EXPECT_EQ(m->room_left().room_id(), "first");
      left = true;
    }
    if (m->has_room_joined_response()) {
      EXPECT_EQ(m->room_joined_response().room_info().room_id(), "second");
      EXPECT_EQ(m->request_id(), "move");
      joined = true;
    }
    ASSERT_FALSE(m->has_error_message()) << m->error_message().error_message();
  }
  EXPECT_TRUE(left);
  EXPECT_TRUE(joined);
  auto gone = bob->WaitFor(proto::ClientMessage::kUserLeftRoom, 3s);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->user_left_room().user_id(), "u-alice");
  // First-room chat no longer reaches alice; second-room chat does.
  ASSERT_TRUE(bob->Send(ChatMsg("first only")));
  ASSERT_TRUE(carol->Send(ChatMsg("second only")));
  auto line = alice->WaitFor(proto::ClientMessage::kRoomChatMessage, 3s);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->room_chat_message().message(), "second only");
  EXPECT_TRUE(Silent(*alice, proto::ClientMessage::kRoomChatMessage));
  auto list = ListRooms(*alice);
  ASSERT_TRUE(list);
  ASSERT_NE(FindRoom(*list, "first"), nullptr);
  EXPECT_EQ(FindRoom(*list, "first")->user_count(), 1);
  ASSERT_NE(FindRoom(*list, "second"), nullptr);
  EXPECT_EQ(FindRoom(*list, "second")->user_count(), 2);
}

TEST(Rooms, RequestIdIsEchoedOnRepliesAndErrors) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  ASSERT_TRUE(alice);
  EXPECT_EQ(ExpectRefusal(*alice, JoinMsg("Nope", "", "rid-missing")), proto::NOT_FOUND);
  auto made = ExpectJoin(*alice, CreateMsg("Echo", proto::PUBLIC, "", 0, "rid-create"));
  ASSERT_TRUE(made);
  EXPECT_EQ(ExpectRefusal(*alice, JoinMsg("Echo", "", "rid-same")), proto::WRONG_STATE);
  ASSERT_TRUE(ListRooms(*alice, "rid-list"));
  ASSERT_TRUE(alice->Send(ChatMsg("hi", "rid-chat")));
  auto echo = WaitForReply(*alice, proto::ClientMessage::kRoomChatMessage, "rid-chat", 3s);
  ASSERT_TRUE(echo);
  ASSERT_TRUE(alice->Send(HeartbeatMsg(42, "rid-hb")));
  ASSERT_TRUE(WaitForReply(*alice, proto::ClientMessage::kHeartbeatMessage, "rid-hb", 3s));
  ASSERT_TRUE(alice->Send(LeaveMsg("rid-leave")));
  ASSERT_TRUE(WaitForReply(*alice, proto::ClientMessage::kRoomLeft, "rid-leave", 3s));
  // A 64-byte id is fine; a longer one is refused.
  const std::string max_id(64, 'r');
  ASSERT_TRUE(alice->Send(HeartbeatMsg(1, max_id)));
  ASSERT_TRUE(WaitForReply(*alice, proto::ClientMessage::kHeartbeatMessage, max_id, 3s));
  ASSERT_TRUE(alice->Send(HeartbeatMsg(1, std::string(65, 'r'))));
  EXPECT_EQ(WaitError(*alice), proto::INVALID_PARAMETERS);
}

TEST(Rooms, JoinsAreRateLimited) {
  TestServer ts(3, [](server::ServerConfig& c) {
    c.joins_per_second = 0.05;  // no refill worth speaking of during the test
    c.join_burst = 3;
  });
  auto alice = ts.Connect("alice");
  ASSERT_TRUE(alice);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ExpectRefusal(*alice, JoinMsg("ghost-" + std::to_string(i), "", "j")),
              proto::NOT_FOUND)
        << "join " << i;
  }
  EXPECT_EQ(ExpectRefusal(*alice, JoinMsg("ghost-x", "", "limited")), proto::RATE_LIMITED);
  EXPECT_EQ(ExpectRefusal(*alice, CreateMsg("new", proto::PUBLIC, "", 0, "limited2")),
            proto::RATE_LIMITED);
  EXPECT_EQ(ExpectRefusal(*alice, LobbyMsg()), proto::RATE_LIMITED);
  // The limit is per session: someone else joins fine.
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(ExpectJoin(*bob, CreateMsg("new")));
}

TEST(Rooms, MaxRoomsIsEnforcedAndFreedByRemoval) {
  TestServer ts(3, [](server::ServerConfig& c) { c.max_rooms = 2; });
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(alice && bob && carol);
  ASSERT_TRUE(ExpectJoin(*alice, CreateMsg("One")));
  ASSERT_TRUE(ExpectJoin(*bob, CreateMsg("Two")));
  EXPECT_EQ(ExpectRefusal(*carol, CreateMsg("Three", proto::PUBLIC, "", 0, "lim")),
            proto::LIMIT_REACHED);
  EXPECT_EQ(ExpectRefusal(*carol, LobbyMsg()), proto::LIMIT_REACHED);
  EXPECT_EQ(ts.server().rooms(), 2u);
  // Existing rooms still take members.
  ASSERT_TRUE(ExpectJoin(*carol, JoinMsg("One")));
  ASSERT_TRUE(bob->Send(LeaveMsg()));
  ASSERT_TRUE(WaitUntil([&] { return ts.server().rooms() == 1; }, 5s));
  ASSERT_TRUE(ExpectJoin(*bob, CreateMsg("Three")));
}

// Password hashing is expensive and runs on a small shared pool. One client's flood of
// password-protected creates must be refused by its own join limit, not fill that pool
// and lock everybody else out of password rooms.
TEST(Rooms, OneClientsPasswordFloodDoesNotLockOthersOut) {
  TestServer ts;
  auto owner = ts.Connect("owner");
  auto flooder = ts.Connect("flooder");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(owner && flooder && bob);
  ASSERT_TRUE(
      ExpectJoin(*owner, CreateMsg("Vault", proto::PUBLIC, "open sesame", 0), kPasswordTimeout));
  constexpr int kFlood = 80;
  for (int i = 0; i < kFlood; ++i) {
    ASSERT_TRUE(flooder->Send(
        CreateMsg("flood " + std::to_string(i), proto::PUBLIC, "pw", 0, "f" + std::to_string(i))));
  }
  // The flooder's frames are handled in order: once this answer is back, every create
  // above has been dispatched.
  ASSERT_TRUE(flooder->Send(HeartbeatMsg(1, "sync")));
  ASSERT_TRUE(WaitForReply(*flooder, proto::ClientMessage::kHeartbeatMessage, "sync", 10s));
  ASSERT_TRUE(bob->Send(JoinMsg("Vault", "open sesame", "bob")));
  auto m = JoinOutcome(*bob, kPasswordTimeout);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->has_room_joined_response()) << "bob was refused because of someone else's flood: "
                                             << proto::ErrorCode_Name(m->error_message().code())
                                             << " " << m->error_message().error_message();
  // Let the pool drain before the server is torn down (bounded by the flood size).
  flooder.reset();
}

// A client that disconnects while its password is being checked must not end up a
// member: nobody could ever remove it, and it would count against the room forever.
TEST(Rooms, DisconnectDuringPasswordCheckLeavesNoGhostMember) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(ExpectJoin(*alice, CreateMsg("Locked", proto::PUBLIC, "pw", 3), kPasswordTimeout));
  {
    UserSpec ghost;
    ghost.name = "ghost";
    RawWs raw;
    ASSERT_TRUE(raw.Open(ts.port(), ts.Resource(ghost)));
    proto::ServerMessage join = JoinMsg("Locked", "pw");
    client::StampServerMessageType(&join);
    ASSERT_TRUE(raw.SendBinary(join.SerializeAsString()));
    raw.ShutdownWrite();  // gone before the (slow) password check can finish
    ASSERT_TRUE(raw.WaitEof(5s));
  }
  // Bob's check runs after the ghost's on the same slow-work queue.
  auto joined = ExpectJoin(*bob, JoinMsg("Locked", "pw"), kPasswordTimeout);
  ASSERT_TRUE(joined);
  std::set<std::string> users;
  for (const auto& u : joined->current_users()) users.insert(u.user_id());
  EXPECT_EQ(users.count("u-ghost"), 0u) << "a disconnected client is still a member";
  EXPECT_EQ(joined->current_users_size(), 2);
  // Whatever alice saw, the ghost must not stay: its join is either never announced or
  // followed by its departure.
  auto list = ListRooms(*alice);
  ASSERT_TRUE(list);
  const proto::RoomInfo* info = FindRoom(*list, "locked");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->user_count(), 2);
}

// Same for a client that disconnects while its lobby request walks on to Lobby 2. Without
// a resume grace: a ghost whose join was answered before its drop was seen would otherwise
// (rightly) keep its seat as `reconnecting` for the grace (resume_test covers that path).
TEST(Rooms, DisconnectDuringLobbyOverflowLeavesNoGhostMember) {
  TestServer ts(3, [](server::ServerConfig& c) {
    c.lobby_max_users = 1;
    c.resume_grace_ms = 0;
  });
  auto first = ts.Connect("first");
  ASSERT_TRUE(first);
  ASSERT_TRUE(ExpectJoin(*first, LobbyMsg()));
  for (int i = 0; i < 5; ++i) {
    UserSpec ghost;
    ghost.name = "ghost" + std::to_string(i);
    RawWs raw;
    ASSERT_TRUE(raw.Open(ts.port(), ts.Resource(ghost)));
    proto::ServerMessage lobby = LobbyMsg();
    client::StampServerMessageType(&lobby);
    ASSERT_TRUE(raw.SendBinary(lobby.SerializeAsString()));
    raw.ShutdownWrite();
    ASSERT_TRUE(raw.WaitEof(5s));
  }
  // Every ghost is gone; the lobbies it reached must be empty again.
  auto second = ts.Connect("second");
  ASSERT_TRUE(second);
  bool empty = WaitUntil(
      [&] {
        auto list = ListRooms(*second);
        if (!list) return false;
        for (const auto& r : list->rooms()) {
          if (r.room_type() == proto::LOBBY && r.room_id() != "lobby" && r.user_count() != 0) {
            return false;
          }
        }
        return true;
      },
      5s);
  EXPECT_TRUE(empty) << "a disconnected client stayed in an overflow lobby";
  auto joined = ExpectJoin(*second, LobbyMsg());
  ASSERT_TRUE(joined);
  EXPECT_EQ(joined->room_info().room_name(), "Lobby 2");
  EXPECT_EQ(joined->current_users_size(), 1);
}

}  // namespace
}  // namespace tutti::testing
