// Who inherits a room across nodes when the owner's last two sessions, on two nodes, leave
// at the same moment (docs/SCALE-OUT.md, "Owner, settings and moderators across nodes"):
// each node's leave runs while its roster still shows the other's session, so neither
// sees the owner gone everywhere when its own leave runs. Each waits for the other's
// leave, and the node whose leave came later in the stream hands the room on; the other
// does nothing; a node where no session of the owner left never does. A node left with
// nobody keeps its object until it knows which leave came first. Driven without
// Redis: a real in-process engine behind SpanningBroker, another node's events handed in
// with the stream position its engine would give them.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/envelope.h"
#include "server/room.h"
#include "tests/server/broker_room_host.h"
#include "tests/server/spanning_broker.h"

namespace tutti::server {
namespace {

using Host = BrokerRoomHost<SpanningBroker>;

constexpr SessionId kAnn = 1 << 8;       // the owner, on this node
constexpr SessionId kBob = 7 << 8;       // a member on this node
constexpr SessionId kAnnThere = 3 << 8;  // the owner's other session, on node B
constexpr SessionId kCay = 11 << 8;      // a member on node B

std::unique_ptr<Room> Make(Host* host, const ServerConfig* config) {
  proto::RoomSettings settings;
  settings.set_allow_chat(true);
  settings.set_max_users(10);
  return std::make_unique<Room>("jam", "Jam", proto::PUBLIC, settings, "", "ann", config, host);
}

// Node B's event, delivered here at `at`.
void FromB(Room& room, proto::ClientMessage msg, const StreamPosition& at) {
  StampType(&msg);
  Publication pub;
  pub.frame = MakeFrame(msg);
  pub.origin = "nodeB";
  pub.position = at;
  room.OnPublication("jam", pub);
}

proto::ClientMessage LeftOnB(SessionId s, const std::string& user) {
  proto::ClientMessage m;
  auto* l = m.mutable_user_left_room();
  l->set_user_id(user);
  l->set_session_id(s);
  l->set_room_id("jam");
  l->set_reason("left");
  return m;
}

// Where this node's engine sequenced the room's events.
struct Positions : StreamSubscriber {
  void OnPublication(const std::string&, const Publication& pub) override {
    at.push_back(pub.position);
  }
  std::vector<StreamPosition> at;
};

// A room on this node with ann (the owner) and bob here, and on node B ann's other session
// and cay; ann's session here leaves while B's is still on the roster. `left` is where
// this node's leave was sequenced.
struct OwnerLeftHere {
  ServerConfig config;
  Host host;
  std::unique_ptr<Room> room;
  Positions seen;
  StreamPosition left;

  void SetUp() {
    room = Make(&host, &config);
    room->Join(MemberJoin(kAnn, "ann", true), true);
    room->Join(MemberJoin(kBob, "bob"), true);
    FromB(*room, JoinedElsewhere(kAnnThere, "ann"), {});
    FromB(*room, JoinedElsewhere(kCay, "cay"), {});
    host.engine().Subscribe("jam", &seen);
    host.engine().states.clear();
    room->Leave(kAnn, "left", "");
    ASSERT_EQ(seen.at.size(), 1u);
    left = seen.at[0];
    ASSERT_FALSE(left.epoch.empty());
  }
};

TEST(RoomSuccessionNodesTest, TheNodeWhoseLeaveCameLastHandsTheRoomOn) {
  OwnerLeftHere a;
  ASSERT_NO_FATAL_FAILURE(a.SetUp());
  // The roster still shows ann on node B: nobody inherits yet.
  EXPECT_TRUE(a.host.engine().states.empty());
  EXPECT_EQ(a.room->owner_id(), "ann");
  // Node B's leave of ann was sequenced before this node's (it arrives only now): node B
  // saw this node's session when its own ran, so this node is the one to hand on.
  FromB(*a.room, LeftOnB(kAnnThere, "ann"), {a.left.epoch, a.left.offset - 1});
  ASSERT_EQ(a.host.engine().states.size(), 1u);
  const RoomStateChange& handed = a.host.engine().states[0];
  EXPECT_EQ(handed.kind, RoomStateChange::Kind::kOwner);
  EXPECT_EQ(handed.user, "bob");  // the longest-present registered member here
  EXPECT_EQ(handed.check, RoomStateChange::Check::kOwner);
  EXPECT_EQ(handed.actor, "ann");
  EXPECT_EQ(a.room->owner_id(), "bob");
}

TEST(RoomSuccessionNodesTest, TheNodeWhoseLeaveCameFirstLeavesItToTheOther) {
  OwnerLeftHere a;
  ASSERT_NO_FATAL_FAILURE(a.SetUp());
  // Node B's leave came after this node's: node B sees ann gone everywhere (or waits in
  // turn for a later leave) and hands on itself.
  FromB(*a.room, LeftOnB(kAnnThere, "ann"), {a.left.epoch, a.left.offset + 1});
  EXPECT_TRUE(a.host.engine().states.empty());
  EXPECT_EQ(a.room->owner_id(), "ann");
}

TEST(RoomSuccessionNodesTest, ALeaveArrivingBeforeThisNodesIsSequencedCountsAsEarlier) {
  // This node's leave is not sequenced yet when node B's arrives (held by the engine):
  // it will be sequenced after it, so this node hands on.
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config);
  room->Join(MemberJoin(kAnn, "ann", true), true);
  room->Join(MemberJoin(kBob, "bob"), true);
  FromB(*room, JoinedElsewhere(kAnnThere, "ann"), {});
  FromB(*room, JoinedElsewhere(kCay, "cay"), {});
  host.engine().states.clear();
  host.engine().hold_all = true;
  room->Leave(kAnn, "left", "");
  EXPECT_TRUE(host.engine().states.empty());
  FromB(*room, LeftOnB(kAnnThere, "ann"), {"e1", 40});
  ASSERT_EQ(host.engine().states.size(), 1u);
  EXPECT_EQ(host.engine().states[0].user, "bob");
  EXPECT_EQ(host.engine().states[0].check, RoomStateChange::Check::kOwner);
  host.engine().hold_all = false;
  host.engine().ReleaseChecked(/*refuse=*/false);
  EXPECT_EQ(room->owner_id(), "bob");
}

// This node had nobody but the owner: its object must outlive the leave until it knows
// whether node B's leave of the owner came first (then this node is the one to hand on).
struct OnlyTheOwnerHere {
  ServerConfig config;
  Host host;
  std::unique_ptr<Room> room;

  void SetUp() {
    room = Make(&host, &config);
    room->Join(MemberJoin(kAnn, "ann", true), true);
    FromB(*room, JoinedElsewhere(kAnnThere, "ann"), {});
    FromB(*room, JoinedElsewhere(kCay, "cay"), {});
    host.engine().states.clear();
    host.engine().hold_all = true;
    room->Leave(kAnn, "left", "");
  }
};

TEST(RoomSuccessionNodesTest, AnEmptiedNodeWhoseLeaveCameLastStaysToHandOn) {
  OnlyTheOwnerHere a;
  ASSERT_NO_FATAL_FAILURE(a.SetUp());
  // Nobody here, but the leave's place in the stream is not known yet: not closed.
  EXPECT_TRUE(a.host.emptied.empty());
  EXPECT_TRUE(a.host.engine().states.empty());
  // Node B's leave was sequenced first: this node hands on, to node B's member, and
  // then closes.
  FromB(*a.room, LeftOnB(kAnnThere, "ann"), {"e1", 40});
  ASSERT_EQ(a.host.engine().states.size(), 1u);
  EXPECT_EQ(a.host.engine().states[0].kind, RoomStateChange::Kind::kOwner);
  EXPECT_EQ(a.host.engine().states[0].user, "cay");
  EXPECT_EQ(a.host.engine().states[0].check, RoomStateChange::Check::kOwner);
  EXPECT_EQ(a.host.emptied, std::vector<std::string>{"jam"});
}

TEST(RoomSuccessionNodesTest, AnEmptiedNodeWhoseLeaveCameFirstClosesOnceItCameBack) {
  OnlyTheOwnerHere a;
  ASSERT_NO_FATAL_FAILURE(a.SetUp());
  // This node's leave is sequenced and delivered before any leave of node B's session:
  // that one, later, is node B's to hand on, so this node closes without a hand-on.
  a.host.engine().hold_all = false;
  a.host.engine().ReleaseChecked(/*refuse=*/false);
  EXPECT_EQ(a.host.emptied, std::vector<std::string>{"jam"});
  EXPECT_TRUE(a.host.engine().states.empty());
  EXPECT_EQ(a.room->owner_id(), "ann");
}

// This node's leave of the owner was sequenced, but its delivery was lost with the link
// (Redis went, then came back without the room's stream): no event of the room may come
// again. The resynchronisation after the outage settles the wait and the object closes.
TEST(RoomSuccessionNodesTest, AnEmptiedNodeWhoseLeaveWasNeverDeliveredClosesAtTheResync) {
  OnlyTheOwnerHere a;
  ASSERT_NO_FATAL_FAILURE(a.SetUp());
  const StreamPosition top = a.host.engine().Top("jam");
  std::vector<SpanningBroker::HeldPublish> held;
  held.swap(a.host.engine().held_checked);
  ASSERT_FALSE(held.empty());
  uint64_t offset = top.offset;
  for (SpanningBroker::HeldPublish& h : held) {
    Publication sequenced;  // answered by the script, never delivered
    sequenced.position = {top.epoch, ++offset};
    if (h.done) h.done(sequenced);
  }
  EXPECT_TRUE(a.host.emptied.empty()) << "closed before its leave was seen";
  a.host.engine().hold_all = false;
  a.host.engine().RemoveStream("jam");  // a new epoch
  a.room->OnResync("jam", a.host.engine().Top("jam"), "epoch changed");
  EXPECT_EQ(a.host.emptied, std::vector<std::string>{"jam"});
}

TEST(RoomSuccessionNodesTest, ANodeWhereNoSessionOfTheOwnerLeftNeverHandsOn) {
  // Node C: bob only; ann's sessions on A and B leave, one after the other.
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config);
  room->Join(MemberJoin(kBob, "bob"), true);
  FromB(*room, JoinedElsewhere(kAnn, "ann"), {"e1", 1});
  FromB(*room, JoinedElsewhere(kAnnThere, "ann"), {"e1", 2});
  host.engine().states.clear();
  FromB(*room, LeftOnB(kAnn, "ann"), {"e1", 3});
  FromB(*room, LeftOnB(kAnnThere, "ann"), {"e1", 4});
  EXPECT_TRUE(host.engine().states.empty());
  EXPECT_EQ(room->owner_id(), "ann");
}

}  // namespace
}  // namespace tutti::server
