// Social across nodes (server/social_nodes.cc) with two Social actors joined by a fake
// node bus that hands each published message to both (the sender's own echo included,
// as Redis does), each over its own real SQLite store. Covers what the two-node test
// (redis.NodeBusTest) does not reach deterministically: blocks across nodes, a relayed
// message whose node dies before answering, the bus down, malformed bytes, bans.
#include <stdlib.h>

#include <deque>
#include <filesystem>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "server/ban_sync.h"
#include "server/envelope.h"
#include "server/node_bus.h"
#include "server/social.h"
#include "server/store/store.h"

namespace tutti::server {
namespace {

class Host : public SocialHost {
 public:
  Host() {
    char tmpl[] = "/tmp/tutti-social-nodes-XXXXXX";
    dir = mkdtemp(tmpl);
    auto opened = store::Store::Open(dir + "/t.db");
    EXPECT_TRUE(opened.ok()) << opened.status();
    db = std::move(*opened);
  }
  ~Host() override {
    db.reset();
    std::filesystem::remove_all(dir);
  }
  int64_t NowUs() override { return now_us; }
  int64_t UnixMs() override { return unix_ms; }
  void SendToSession(SessionId s, const Frame& f) override {
    proto::ClientMessage m;
    EXPECT_TRUE(m.ParseFromString(f->payload()));
    got[s].push_back(std::move(m));
  }
  bool Storage(std::function<void(store::Store&)> work, std::function<void()> then) override {
    work(*db);
    then();
    return true;
  }
  void ApplyProfile(SessionId, const proto::AvatarData&) override {}
  void ApplyRemoteBans(std::vector<BanChange> changes) override {
    for (BanChange& c : changes) bans.push_back(std::move(c));
  }
  // The last message session `s` got (an empty one when none).
  proto::ClientMessage Last(SessionId s) {
    return got[s].empty() ? proto::ClientMessage() : got[s].back();
  }

  std::string dir;
  std::unique_ptr<store::Store> db;
  int64_t now_us = 1'000'000;
  int64_t unix_ms = 1'700'000'000'000;
  std::map<SessionId, std::vector<proto::ClientMessage>> got;
  std::vector<std::pair<moderation::ServerBan, bool>> bans;
};

// The deployment's ban hash (target -> record), shared by the fake buses.
using BanHash = std::map<std::string, std::string>;

class FakeBus : public NodeBus {
 public:
  FakeBus(std::string id, BanHash* hash) : id_(std::move(id)), hash_(hash) {}
  const std::string& node_id() const override { return id_; }
  void Start(Handlers h) override { handlers = std::move(h); }
  bool up() const override { return is_up; }
  bool Publish(const std::string& bytes) override {
    if (!is_up) return false;
    outbox.push_back(bytes);
    return true;
  }
  void SetUser(const std::string& id, const std::string& record) override { users[id] = record; }
  void RemoveUser(const std::string& id) override { users.erase(id); }
  void SetRoom(const std::string& id, const std::string& record) override { rooms[id] = record; }
  void RemoveRoom(const std::string& id) override { rooms.erase(id); }
  // Written (and published) now when up, unless the hash keeps a change of the target at
  // least as new (RedisNodeBus's script does the same); else the latest per target waits
  // for Reconnect.
  void ShareBan(const std::string& target, const std::string& record, int64_t changed, int64_t,
                const std::string& message) override {
    if (!is_up) {
      waiting[target] = {record, message, changed};
      return;
    }
    auto at = times.find(target);
    if (at != times.end() && at->second >= changed) return;
    times[target] = changed;
    (*hash_)[target] = record;
    outbox.push_back(message);
  }
  int presence_ttl_ms() const override { return kTtlMs; }
  void Leave() override { left = true; }
  // The bus comes up again: what waited goes out, then the node reads the hash.
  void Reconnect() {
    is_up = true;
    for (const auto& [target, w] : waiting) ShareBan(target, w.record, w.changed, 0, w.message);
    waiting.clear();
    std::vector<std::string> records;
    for (const auto& [target, record] : *hash_) records.push_back(record);
    handlers.bans(records);
  }

  Handlers handlers;
  struct Waiting {
    std::string record, message;
    int64_t changed = 0;
  };
  std::map<std::string, Waiting> waiting;
  std::map<std::string, int64_t> times;  // per target: when the kept change was made
  std::deque<std::string> outbox;
  std::map<std::string, std::string> users;
  std::map<std::string, std::string> rooms;
  bool is_up = true;
  bool left = false;
  static constexpr int kTtlMs = 15000;

 private:
  std::string id_;
  BanHash* hash_;
};

proto::UserInfo User(const std::string& name) {
  proto::UserInfo u;
  u.set_user_id("u-" + name);
  u.set_username(name);
  return u;
}

proto::PrivateMessage Pm(const std::string& to, const std::string& text) {
  proto::PrivateMessage pm;
  pm.set_to_user_id(to);
  pm.set_message(text);
  return pm;
}

constexpr SessionId kAnn = 11;
constexpr SessionId kBob = 22;

class SocialNodesTest : public ::testing::Test {
 protected:
  SocialNodesTest() : a_(&host_a_), b_(&host_b_) {
    a_.AttachBus(&bus_a_);
    b_.AttachBus(&bus_b_);
  }

  // Hands every published message to both nodes until nothing is left (bounded).
  void Pump() {
    for (int i = 0; i < 1000 && (!bus_a_.outbox.empty() || !bus_b_.outbox.empty()); ++i) {
      for (FakeBus* from : {&bus_a_, &bus_b_}) {
        if (from->outbox.empty()) continue;
        const std::string bytes = from->outbox.front();
        from->outbox.pop_front();
        if (bus_a_.is_up) bus_a_.handlers.message(bytes);
        if (bus_b_.is_up) bus_b_.handlers.message(bytes);
      }
    }
  }
  // A refresh on node `to`: the live nodes and their users, as the script returns them.
  static void View(FakeBus& to, const std::vector<FakeBus*>& live) {
    std::vector<std::string> nodes;
    std::vector<std::pair<std::string, std::string>> users, rooms;
    for (FakeBus* n : live) {
      nodes.push_back(n->node_id());
      if (n == &to) continue;
      for (const auto& [id, record] : n->users) users.emplace_back(n->node_id(), record);
      for (const auto& [id, record] : n->rooms) rooms.emplace_back(n->node_id(), record);
    }
    to.handlers.view(nodes, users, rooms);
  }
  void BothOnline() {
    a_.SessionOnline(kAnn, User("ann"));
    b_.SessionOnline(kBob, User("bob"));
    Pump();
    ASSERT_EQ(a_.remote_users(), 1u);
    ASSERT_EQ(b_.remote_users(), 1u);
  }

  Host host_a_, host_b_;
  BanHash ban_hash_;
  FakeBus bus_a_{"node-a", &ban_hash_}, bus_b_{"node-b", &ban_hash_};
  Social a_, b_;
};

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

TEST_F(SocialNodesTest, BansGoToTheOtherNodesHostOnly) {
  moderation::ServerBan ban;
  ban.target = "u-mallory";
  ban.reason = "spam";
  ban.actor = "u-admin";
  ban.until_unix_ms = 1'800'000'000'000;
  a_.PublishServerBan(ban, /*add=*/true);
  Pump();
  EXPECT_TRUE(host_a_.bans.empty()) << "its own message comes back and is ignored";
  ASSERT_EQ(host_b_.bans.size(), 1u);
  EXPECT_EQ(host_b_.bans[0].first.target, "u-mallory");
  EXPECT_EQ(host_b_.bans[0].first.until_unix_ms, 1'800'000'000'000);
  EXPECT_TRUE(host_b_.bans[0].second);
  // A target that is not in canonical form is not applied.
  ban.target = "192.0.2.1/24";
  a_.PublishServerBan(ban, /*add=*/true);
  Pump();
  EXPECT_EQ(host_b_.bans.size(), 1u);
  EXPECT_EQ(b_.bus_malformed(), 1u);
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

TEST_F(SocialNodesTest, BanMadeWhileANodeIsAwayReachesItWhenItsBusComesBack) {
  moderation::ServerBan ban;
  ban.target = "u-mallory";
  ban.reason = "spam";
  ban.actor = "u-admin";
  ban.created_unix_ms = 1'700'000'000'000;
  bus_b_.is_up = false;  // B is down or cut off: it hears nothing
  a_.PublishServerBan(ban, /*add=*/true);
  ban.target = "u-eve";
  a_.PublishServerBan(ban, /*add=*/true);
  host_a_.unix_ms += 60'000;
  a_.PublishServerBan(ban, /*add=*/false);  // eve's ban is lifted a minute later
  Pump();
  EXPECT_TRUE(host_b_.bans.empty());
  bus_b_.Reconnect();
  ASSERT_EQ(host_b_.bans.size(), 2u);
  std::map<std::string, BanChange> got;
  for (const BanChange& c : host_b_.bans) got[c.first.target] = c;
  EXPECT_TRUE(got["u-mallory"].second);
  EXPECT_EQ(got["u-mallory"].first.reason, "spam");
  EXPECT_FALSE(got["u-eve"].second);
  // The lift is dated when it happened (the host's clock), after the ban it lifts.
  EXPECT_EQ(got["u-eve"].first.created_unix_ms, ban.created_unix_ms + 60'000);
  EXPECT_TRUE(host_a_.bans.empty());
}

TEST_F(SocialNodesTest, BanMadeWhileThisNodeIsCutOffGoesOutWhenItIsBack) {
  moderation::ServerBan ban;
  ban.target = "u-mallory";
  ban.actor = "u-admin";
  bus_a_.is_up = false;
  a_.PublishServerBan(ban, /*add=*/true);
  Pump();
  EXPECT_TRUE(host_b_.bans.empty());
  EXPECT_TRUE(ban_hash_.empty());
  bus_a_.Reconnect();
  Pump();
  ASSERT_EQ(host_b_.bans.size(), 1u);
  EXPECT_EQ(host_b_.bans[0].first.target, "u-mallory");
  EXPECT_EQ(ban_hash_.size(), 1u);
}

TEST_F(SocialNodesTest, MalformedBanRecordsAreCountedAndSkipped) {
  moderation::ServerBan ban;
  ban.target = "u-mallory";
  ban.actor = "u-admin";
  a_.PublishServerBan(ban, /*add=*/true);
  Pump();
  host_b_.bans.clear();
  ban_hash_["junk"] = "\xff\xff";
  ban_hash_["empty"] = "";
  bus_b_.Reconnect();
  EXPECT_EQ(host_b_.bans.size(), 1u);
  EXPECT_EQ(b_.bus_malformed(), 2u);
}

TEST_F(SocialNodesTest, SyncKeepsTheLatestChangeOfATarget) {
  store::Store& st = *host_a_.db;
  const int64_t now = 1'700'000'000'000;
  moderation::ServerBan local;
  local.target = "u-mallory";
  local.reason = "newer";
  local.created_unix_ms = now - 1000;
  ASSERT_TRUE(st.AddServerBan(local).ok());
  moderation::ServerBan old = local;
  old.reason = "older";
  old.created_unix_ms = now - 5000;
  moderation::ServerBan expired;
  expired.target = "u-gone";
  expired.created_unix_ms = now - 9000;
  expired.until_unix_ms = now - 1;
  moderation::ServerBan fresh;
  fresh.target = "192.0.2.0/24";
  fresh.created_unix_ms = now - 10;
  // An older ban and an older lift of mallory change nothing; an expired ban is not
  // stored; a new one is.
  BanSyncResult r =
      SyncServerBans(st, {{old, true}, {old, false}, {expired, true}, {fresh, true}}, now);
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.applied.size(), 1u);
  EXPECT_EQ(r.applied[0].first.target, "192.0.2.0/24");
  // The same again: nothing to do.
  EXPECT_TRUE(SyncServerBans(st, {{fresh, true}}, now).applied.empty());
  // A lift newer than mallory's ban lifts it.
  moderation::ServerBan lift;
  lift.target = "u-mallory";
  lift.created_unix_ms = now;
  r = SyncServerBans(st, {{lift, false}}, now);
  ASSERT_EQ(r.applied.size(), 1u);
  auto listed = st.ListServerBans(now);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].target, "192.0.2.0/24");
  // A newer ban of the address that is over already replaced the permanent one: to this
  // node it is a lift. An older one that is over changes nothing.
  moderation::ServerBan shortened = fresh;
  shortened.created_unix_ms = now - 5;
  shortened.until_unix_ms = now - 1;
  moderation::ServerBan stale = fresh;
  stale.created_unix_ms = now - 20;
  stale.until_unix_ms = now - 1;
  EXPECT_TRUE(SyncServerBans(st, {{stale, true}}, now).applied.empty());
  r = SyncServerBans(st, {{shortened, true}}, now);
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.applied.size(), 1u);
  EXPECT_FALSE(r.applied[0].second);
  listed = st.ListServerBans(now);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
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

proto::RoomInfo ListedRoom(const std::string& id, int users) {
  proto::RoomInfo r;
  r.set_room_id(id);
  r.set_room_name(id);
  r.set_room_type(proto::PUBLIC);
  r.set_user_count(users);
  return r;
}

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
