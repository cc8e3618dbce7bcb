// Social across nodes (server/social_nodes.cc) with two Social actors joined by a fake
// node bus (social_nodes_fixture.h), each over its own real SQLite store. Covers what the
// two-node test (redis.NodeBusTest) does not reach deterministically: blocks across
// nodes, a relayed message whose node dies before answering, the bus down, malformed
// bytes, other nodes' rooms, farewells. Server bans: social_bans_nodes_test.cc.
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "server/envelope.h"
#include "tests/server/listed_room.h"
#include "tests/server/social_nodes_fixture.h"

namespace tutti::server {
namespace {

using namespace social_nodes_testing;

TEST_F(SocialNodesTest, PrivateMessageIsDeliveredThereAndConfirmedHere) {
  BothOnline();
  a_.PrivateMessage(kAnn, "u-ann", "ann", Pm("BOB", "hi"), "r1");  // by name, any case
  Pump();
  ASSERT_FALSE(host_b_.got[kBob].empty());
  EXPECT_EQ(host_b_.Last(kBob).private_message().message(), "hi");
  EXPECT_EQ(host_b_.Last(kBob).private_message().from_user_id(), "u-ann");
  EXPECT_TRUE(host_b_.Last(kBob).request_id().empty());
  EXPECT_EQ(host_a_.Last(kAnn).request_id(), "r1");
  EXPECT_EQ(host_a_.Last(kAnn).private_message().to_user_id(), "u-bob");
}

TEST_F(SocialNodesTest, RecipientsBlockOnItsNodeIsHonoured) {
  BothOnline();
  // bob blocks ann on node B (his store; ann's profile is there from an earlier visit).
  store::Profile p;
  p.user_id = "u-ann";
  p.username = "ann";
  ASSERT_TRUE(host_b_.db->UpsertProfile(p).ok());
  proto::FriendRequest block;
  block.set_action(proto::BLOCK_USER);
  block.set_target_user_id("u-ann");
  b_.Friend(kBob, "u-bob", false, block, "b1");
  ASSERT_TRUE(host_b_.Last(kBob).has_friend_list()) << host_b_.Last(kBob).DebugString();
  a_.PrivateMessage(kAnn, "u-ann", "ann", Pm("u-bob", "hi"), "r1");
  Pump();
  EXPECT_EQ(host_a_.Last(kAnn).error_message().code(), proto::BLOCKED);
  EXPECT_EQ(host_a_.Last(kAnn).request_id(), "r1");
  for (const auto& m : host_b_.got[kBob]) EXPECT_FALSE(m.has_private_message());
}

TEST_F(SocialNodesTest, MessageToAKilledNodeIsSettledAsOfflineAtTheNextView) {
  BothOnline();
  bus_b_.is_up = false;  // node B dies: it hears nothing and answers nothing
  a_.PrivateMessage(kAnn, "u-ann", "ann", Pm("u-bob", "hi"), "r1");
  Pump();
  EXPECT_TRUE(host_a_.got[kAnn].empty()) << "no answer yet";
  View(bus_a_, {&bus_a_});  // B's presence expired
  EXPECT_EQ(host_a_.Last(kAnn).error_message().code(), proto::NOT_FOUND);
  EXPECT_EQ(a_.remote_users(), 0u);
  a_.PrivateMessage(kAnn, "u-ann", "ann", Pm("u-bob", "again"), "r2");
  EXPECT_EQ(host_a_.Last(kAnn).error_message().code(), proto::NOT_FOUND);
  EXPECT_EQ(host_a_.Last(kAnn).request_id(), "r2");
}

TEST_F(SocialNodesTest, UnansweredMessageTimesOutAsUnavailable) {
  BothOnline();
  bus_b_.is_up = false;
  a_.PrivateMessage(kAnn, "u-ann", "ann", Pm("u-bob", "hi"), "r1");
  Pump();
  View(bus_a_, {&bus_a_, &bus_b_});  // B still looks alive
  EXPECT_TRUE(host_a_.got[kAnn].empty());
  host_a_.now_us += 10'000'001;  // past Social::kPendingPmTimeoutUs (10 s)
  View(bus_a_, {&bus_a_, &bus_b_});
  EXPECT_EQ(host_a_.Last(kAnn).error_message().code(), proto::STREAM_UNAVAILABLE);
}

TEST_F(SocialNodesTest, BusDownRefusesWithATypedError) {
  BothOnline();
  bus_a_.is_up = false;
  a_.PrivateMessage(kAnn, "u-ann", "ann", Pm("u-bob", "hi"), "r1");
  EXPECT_EQ(host_a_.Last(kAnn).error_message().code(), proto::STREAM_UNAVAILABLE);
  EXPECT_EQ(host_a_.Last(kAnn).request_id(), "r1");
}

TEST_F(SocialNodesTest, MalformedBytesAreCountedAndDropped) {
  BothOnline();
  bus_b_.handlers.message("not a protobuf \xff\xff");
  bus_b_.handlers.message("");
  View(bus_b_, {&bus_a_, &bus_b_});
  bus_b_.handlers.view({"node-a", "node-b"}, {{"node-a", "\x0a\x00"}}, {});  // an empty user id
  EXPECT_EQ(b_.bus_malformed(), 3u);
  EXPECT_EQ(b_.remote_users(), 0u);
}

TEST_F(SocialNodesTest, FriendEventsReachTheOtherNodeAndOfflineIsToldOnce) {
  BothOnline();
  // A friendship in both stores (a shared store in production).
  for (Host* h : {&host_a_, &host_b_}) {
    for (const char* name : {"ann", "bob"}) {
      store::Profile p;
      p.user_id = std::string("u-") + name;
      p.username = name;
      ASSERT_TRUE(h->db->UpsertProfile(p).ok());
    }
    ASSERT_TRUE(h->db->SendFriendRequest("u-ann", "u-bob", 1).ok());
    ASSERT_TRUE(h->db->AcceptFriendRequest("u-bob", "u-ann", 2).ok());
  }
  // bob's next login on B loads the friendship and tells ann on A he is online.
  b_.SessionOffline(kBob, "u-bob");
  Pump();
  a_.SessionOffline(kAnn, "u-ann");
  a_.SessionOnline(kAnn, User("ann"));
  Pump();
  host_a_.got.clear();
  b_.SessionOnline(kBob, User("bob"));
  Pump();
  auto status = [&](proto::UserStatus want) {
    int n = 0;
    for (const auto& m : host_a_.got[kAnn]) {
      n += m.friend_event().kind() == proto::FRIEND_STATUS_CHANGED &&
           m.friend_event().friend_info().user_id() == "u-bob" &&
           m.friend_event().friend_info().status() == want;
    }
    return n;
  };
  EXPECT_EQ(status(proto::ONLINE), 1);
  // Killed: A notices at the view without B and tells ann once.
  bus_b_.is_up = false;
  View(bus_a_, {&bus_a_});
  EXPECT_EQ(status(proto::OFFLINE), 1);
  View(bus_a_, {&bus_a_});
  EXPECT_EQ(status(proto::OFFLINE), 1);
}

// What Social hands the room list (NodeRooms) of the bus: reports, views, goodbyes.
struct RoomsSeen : NodeRooms {
  void NodeRoomsChanged(const std::string& node,
                        const std::vector<proto::BusRoom>& rooms) override {
    for (const auto& r : rooms) changed.emplace_back(node, r.room_id());
  }
  void NodeRoomsView(
      const std::unordered_map<std::string, std::vector<proto::RoomInfo>>& by_node) override {
    views.push_back(by_node);
  }
  void NodeRoomsGone(const std::string& node) override { gone.push_back(node); }
  std::vector<std::pair<std::string, std::string>> changed;  // node, room
  std::vector<std::unordered_map<std::string, std::vector<proto::RoomInfo>>> views;
  std::vector<std::string> gone;
};

TEST_F(SocialNodesTest, OtherNodesRoomsReachTheRoomListCheckedAndNotAfterAFarewell) {
  RoomsSeen seen;
  Social c(&host_a_);
  FakeBus bus_c("node-c", &ban_hash_);
  c.AttachBus(&bus_c, &seen);
  // A room report of node B on the bus.
  proto::NodeBusMessage msg;
  msg.set_from_node("node-b");
  proto::BusRoom* room = msg.mutable_rooms()->add_rooms();
  room->set_room_id("jam");
  *room->mutable_info() = ListedRoom("jam", 2);
  bus_c.handlers.message(msg.SerializeAsString());
  ASSERT_EQ(seen.changed.size(), 1u);
  EXPECT_EQ(seen.changed[0], (std::pair<std::string, std::string>{"node-b", "jam"}));
  // A refresh: B lists jam and a malformed record (counted, dropped); C itself and a node
  // not alive are left out; a live node without rooms is in it, empty.
  bus_b_.rooms["jam"] = ListedRoom("jam", 2).SerializeAsString();
  bus_b_.rooms["bad"] = ListedRoom("Not Canonical", 1).SerializeAsString();
  bus_c.handlers.view({"node-a", "node-b", "node-c"}, {},
                      {{"node-b", bus_b_.rooms["jam"]},
                       {"node-b", bus_b_.rooms["bad"]},
                       {"node-dead", bus_b_.rooms["jam"]}});
  ASSERT_EQ(seen.views.size(), 1u);
  const auto& view = seen.views[0];
  EXPECT_EQ(view.size(), 2u);
  ASSERT_EQ(view.count("node-b"), 1u);
  ASSERT_EQ(view.at("node-b").size(), 1u);
  EXPECT_EQ(view.at("node-b")[0].room_id(), "jam");
  EXPECT_TRUE(view.at("node-a").empty());
  EXPECT_EQ(c.bus_malformed(), 1u);
  // B says goodbye: the room list hears it; a late report of B is not passed on, nor is B
  // in a refresh Redis ran before the farewell.
  bus_c.handlers.message(bus_b_.handlers.farewell);
  EXPECT_EQ(seen.gone, std::vector<std::string>{"node-b"});
  bus_c.handlers.message(msg.SerializeAsString());
  EXPECT_EQ(seen.changed.size(), 1u);
  bus_c.handlers.view({"node-b", "node-c"}, {}, {{"node-b", bus_b_.rooms["jam"]}});
  ASSERT_EQ(seen.views.size(), 2u);
  EXPECT_TRUE(seen.views[1].empty());
}

TEST_F(SocialNodesTest, ANodeThatStopsCleanlyTakesItsUsersOfflineAtOnce) {
  BothOnline();
  ASSERT_FALSE(bus_b_.handlers.farewell.empty());
  // B's farewell (its presence in Redis is gone already): A drops bob without a view.
  bus_a_.handlers.message(bus_b_.handlers.farewell);
  EXPECT_EQ(a_.remote_users(), 0u);
  EXPECT_EQ(a_.bus_stats().nodes.load(), 1u);
  a_.PrivateMessage(kAnn, "u-ann", "ann", Pm("u-bob", "hi"), "r1");
  EXPECT_EQ(host_a_.Last(kAnn).error_message().code(), proto::NOT_FOUND);
  EXPECT_EQ(a_.bus_malformed(), 0u);
}

TEST_F(SocialNodesTest, ARefreshAnsweredAfterAFarewellDoesNotBringTheNodeBack) {
  BothOnline();
  bus_a_.handlers.message(bus_b_.handlers.farewell);
  ASSERT_EQ(a_.remote_users(), 0u);
  // A refresh that Redis ran before B's farewell, answered after it: B and bob in it.
  View(bus_a_, {&bus_a_, &bus_b_});
  EXPECT_EQ(a_.remote_users(), 0u);
  EXPECT_EQ(a_.bus_stats().nodes.load(), 1u);
  a_.PrivateMessage(kAnn, "u-ann", "ann", Pm("bob", "hi"), "r1");
  EXPECT_EQ(host_a_.Last(kAnn).error_message().code(), proto::NOT_FOUND);
  // B's process starts again: a new node id, taken at once, its users with it.
  FakeBus again("node-b-again", &ban_hash_);
  again.users = bus_b_.users;
  View(bus_a_, {&bus_a_, &again});
  EXPECT_EQ(a_.remote_users(), 1u);
  EXPECT_EQ(a_.bus_stats().nodes.load(), 2u);
  // One TTL after the farewell no refresh can list B any more: the farewell is forgotten
  // (the memory is bounded) and a view is believed again.
  host_a_.now_us += int64_t{FakeBus::kTtlMs} * 1000 + 1;
  View(bus_a_, {&bus_a_, &bus_b_});
  EXPECT_EQ(a_.bus_stats().nodes.load(), 2u);
  EXPECT_EQ(a_.remote_users(), 1u);
}

TEST_F(SocialNodesTest, UsersDroppedFromAnotherNodeCannotBeFoundByAnyNameTheyHad) {
  BothOnline();
  b_.SessionOnline(33, User("carl"));
  Pump();
  ASSERT_EQ(a_.remote_users(), 2u);
  // bob shows up under a second name (a record from B naming him differently).
  proto::NodeBusMessage renamed;
  renamed.set_from_node("node-b");
  renamed.mutable_presence()->set_online(true);
  renamed.mutable_presence()->mutable_user()->set_user_id("u-bob");
  renamed.mutable_presence()->mutable_user()->set_username("Robert");
  bus_a_.handlers.message(renamed.SerializeAsString());
  b_.SessionOffline(kBob, "u-bob");
  Pump();
  EXPECT_EQ(a_.remote_users(), 1u);
  for (const char* name : {"bob", "robert"}) {
    a_.PrivateMessage(kAnn, "u-ann", "ann", Pm(name, "hi"), name);
    EXPECT_EQ(host_a_.Last(kAnn).error_message().code(), proto::NOT_FOUND) << name;
  }
  // carl is still found by his name, and dropped with his node.
  a_.PrivateMessage(kAnn, "u-ann", "ann", Pm("CARL", "hi"), "c1");
  Pump();
  EXPECT_EQ(host_a_.Last(kAnn).request_id(), "c1");
  EXPECT_TRUE(host_a_.Last(kAnn).has_private_message()) << host_a_.Last(kAnn).DebugString();
  bus_a_.handlers.message(bus_b_.handlers.farewell);
  a_.PrivateMessage(kAnn, "u-ann", "ann", Pm("carl", "hi"), "c2");
  EXPECT_EQ(host_a_.Last(kAnn).error_message().code(), proto::NOT_FOUND);
}

TEST_F(SocialNodesTest, StatsCountWhatCrossedTheBus) {
  EXPECT_TRUE(a_.bus_stats().attached.load());
  BothOnline();
  EXPECT_GE(a_.bus_stats().published.load(), 1u);  // ann's presence
  EXPECT_GE(a_.bus_stats().received.load(), 1u);   // bob's
  View(bus_a_, {&bus_a_, &bus_b_});
  EXPECT_EQ(a_.bus_stats().nodes.load(), 2u);
  bus_a_.handlers.availability(true);
  EXPECT_TRUE(a_.bus_stats().up.load());
  bus_a_.handlers.availability(false);
  EXPECT_FALSE(a_.bus_stats().up.load());
}

TEST_F(SocialNodesTest, InvalidUtf8IsDroppedWithoutALogLine) {
  BothOnline();
  // A private message whose text is not UTF-8, and a presence record whose username is
  // not, written by hand as a hostile process with access to Redis could.
  proto::NodeBusMessage msg;
  msg.set_from_node("node-a");
  msg.mutable_pm()->set_answer_node("node-b");
  msg.mutable_pm()->set_from_session(kAnn);
  *msg.mutable_pm()->mutable_pm() = Pm("u-bob", "PLACEHOLDER");
  std::string bytes = msg.SerializeAsString();
  bytes.replace(bytes.find("PLACEHOLDER"), 11, "bad \xc3\x28 text");
  proto::NodeUser user;
  user.set_user_id("u-eve");
  user.set_username("EVEEVE");
  std::string record = user.SerializeAsString();
  record.replace(record.find("EVEEVE"), 6, "\xed\xa0\x80xyz");  // a surrogate
  ::testing::internal::CaptureStderr();
  bus_b_.handlers.message(bytes);
  bus_b_.handlers.view({"node-a", "node-b"}, {{"node-a", record}}, {});
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(logged, "");
  EXPECT_EQ(b_.bus_malformed(), 2u);
  for (const auto& m : host_b_.got[kBob]) EXPECT_FALSE(m.has_private_message());
}

}  // namespace
}  // namespace tutti::server
