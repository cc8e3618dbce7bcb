// Friends, presence and blocks end to end: real clients on different shards.
#include <gtest/gtest.h>

#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

proto::ServerMessage FriendMsg(proto::FriendAction action, const std::string& target,
                               const std::string& rid) {
  proto::ServerMessage m;
  m.mutable_friend_request()->set_action(action);
  m.mutable_friend_request()->set_target_user_id(target);
  m.set_request_id(rid);
  return m;
}

proto::ServerMessage StatusMsg(proto::UserStatus status, const std::string& text) {
  proto::ServerMessage m;
  m.mutable_user_status_update()->set_status(status);
  m.mutable_user_status_update()->set_status_text(text);
  return m;
}

proto::ClientMessage ReplyTo(client::Client& c, const std::string& rid) {
  for (int i = 0; i < 100; ++i) {
    auto m = c.Next(5s);
    if (!m) break;
    if (m->request_id() == rid) return *m;
  }
  ADD_FAILURE() << "no reply for " << rid;
  return {};
}

// The next FriendEvent of `kind` about `friend_id`.
std::optional<proto::FriendEvent> NextEvent(client::Client& c, proto::FriendEventKind kind,
                                            const std::string& friend_id) {
  for (int i = 0; i < 100; ++i) {
    auto m = c.WaitFor(proto::ClientMessage::kFriendEvent, 5s);
    if (!m) return std::nullopt;
    const auto& e = m->friend_event();
    if (e.kind() == kind && e.friend_info().user_id() == friend_id) return e;
  }
  return std::nullopt;
}

// Connects `name` until the Welcome says it landed on a shard other than `avoid`.
std::unique_ptr<client::Client> ConnectAwayFrom(TestServer& ts, const std::string& name,
                                                uint32_t avoid) {
  for (int i = 0; i < 40; ++i) {
    proto::Welcome w;
    UserSpec spec;
    spec.name = name;
    auto c = ts.Connect(spec, &w);
    if (c && w.shard() != avoid) return c;
  }
  ADD_FAILURE() << "could not land on another shard";
  return nullptr;
}

TEST(Social, FriendsAcrossShardsWithPresence) {
  TestServer ts(4);
  proto::Welcome wa;
  UserSpec alice_spec;
  alice_spec.name = "alice";
  auto alice = ts.Connect(alice_spec, &wa);
  ASSERT_TRUE(alice);
  auto bob = ConnectAwayFrom(ts, "bob", wa.shard());
  ASSERT_TRUE(bob);

  ASSERT_TRUE(alice->Send(FriendMsg(proto::SEND_REQUEST, "u-bob", "s")));
  auto sent = ReplyTo(*alice, "s");
  ASSERT_TRUE(sent.has_friend_list()) << sent.ShortDebugString();
  ASSERT_EQ(sent.friend_list().friends_size(), 1);
  EXPECT_TRUE(sent.friend_list().friends(0).pending_outgoing());
  ASSERT_TRUE(NextEvent(*bob, proto::FRIEND_REQUEST_RECEIVED, "u-alice"));

  ASSERT_TRUE(bob->Send(FriendMsg(proto::ACCEPT_REQUEST, "u-alice", "a")));
  ASSERT_TRUE(ReplyTo(*bob, "a").has_friend_list());
  ASSERT_TRUE(NextEvent(*alice, proto::FRIEND_REQUEST_ACCEPTED, "u-bob"));

  ASSERT_TRUE(alice->Send(FriendMsg(proto::LIST_FRIENDS, "", "l")));
  auto list = ReplyTo(*alice, "l");
  ASSERT_EQ(list.friend_list().friends_size(), 1);
  EXPECT_EQ(list.friend_list().friends(0).user_id(), "u-bob");
  EXPECT_EQ(list.friend_list().friends(0).status(), proto::ONLINE);
  EXPECT_FALSE(list.friend_list().friends(0).pending_incoming());

  // Bob's room and status reach Alice on her shard.
  ASSERT_TRUE(JoinRoom(*bob, "Jam Session"));
  std::optional<proto::FriendEvent> e;
  do {
    e = NextEvent(*alice, proto::FRIEND_STATUS_CHANGED, "u-bob");
  } while (e && e->friend_info().room_id() != "jam session");
  ASSERT_TRUE(e);
  ASSERT_TRUE(bob->Send(StatusMsg(proto::AWAY, "brb")));
  do {
    e = NextEvent(*alice, proto::FRIEND_STATUS_CHANGED, "u-bob");
  } while (e && e->friend_info().status() != proto::AWAY);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->friend_info().status_text(), "brb");
  // Invisible looks offline to friends.
  ASSERT_TRUE(bob->Send(StatusMsg(proto::INVISIBLE, "")));
  do {
    e = NextEvent(*alice, proto::FRIEND_STATUS_CHANGED, "u-bob");
  } while (e && e->friend_info().status() != proto::OFFLINE);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->friend_info().room_id().empty());
  ASSERT_TRUE(alice->Send(FriendMsg(proto::LIST_FRIENDS, "", "l2")));
  EXPECT_EQ(ReplyTo(*alice, "l2").friend_list().friends(0).status(), proto::OFFLINE);

  // Removing ends it for both.
  ASSERT_TRUE(alice->Send(FriendMsg(proto::REMOVE_FRIEND, "u-bob", "r")));
  EXPECT_EQ(ReplyTo(*alice, "r").friend_list().friends_size(), 0);
  ASSERT_TRUE(NextEvent(*bob, proto::FRIEND_REMOVED, "u-alice"));
}

TEST(Social, BlocksRefusePrivateMessagesAndRequests) {
  TestServer ts(3);
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  proto::ServerMessage pm;
  pm.mutable_private_message()->set_to_user_id("bob");
  pm.mutable_private_message()->set_message("hi");
  pm.set_request_id("p1");
  ASSERT_TRUE(alice->Send(pm));
  EXPECT_TRUE(ReplyTo(*alice, "p1").has_private_message());
  ASSERT_TRUE(bob->WaitFor(proto::ClientMessage::kPrivateMessage, 3s));

  ASSERT_TRUE(bob->Send(FriendMsg(proto::BLOCK_USER, "u-alice", "b")));
  ASSERT_TRUE(ReplyTo(*bob, "b").has_friend_list());
  pm.set_request_id("p2");
  ASSERT_TRUE(alice->Send(pm));
  EXPECT_EQ(ReplyTo(*alice, "p2").error_message().code(), proto::BLOCKED);
  ASSERT_TRUE(alice->Send(FriendMsg(proto::SEND_REQUEST, "u-bob", "f")));
  EXPECT_EQ(ReplyTo(*alice, "f").error_message().code(), proto::BLOCKED);
  ASSERT_TRUE(bob->Send(FriendMsg(proto::UNBLOCK_USER, "u-alice", "u")));
  ASSERT_TRUE(ReplyTo(*bob, "u").has_friend_list());
  pm.set_request_id("p3");
  ASSERT_TRUE(alice->Send(pm));
  EXPECT_TRUE(ReplyTo(*alice, "p3").has_private_message());
}

TEST(Social, GuestsHaveNoFriendsButCanChat) {
  TestServer ts(2);
  UserSpec guest_spec;
  guest_spec.name = "visitor";
  guest_spec.guest = true;
  auto guest = ts.Connect(guest_spec);
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(guest && bob);
  ASSERT_TRUE(guest->Send(FriendMsg(proto::SEND_REQUEST, "u-bob", "g")));
  EXPECT_EQ(ReplyTo(*guest, "g").error_message().code(), proto::PERMISSION_DENIED);
  ASSERT_TRUE(JoinRoom(*guest, "Open"));
  ASSERT_TRUE(JoinRoom(*bob, "Open"));
  ASSERT_TRUE(guest->Send(ChatMsg("hello from a guest")));
  ASSERT_TRUE(bob->WaitFor(proto::ClientMessage::kRoomChatMessage, 3s));
}

}  // namespace
}  // namespace tutti::testing
