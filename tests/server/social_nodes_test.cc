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
#include <utility>
#include <vector>

#include <gtest/gtest.h>

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
  int64_t UnixMs() override { return 1'700'000'000'000; }
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
  void ApplyRemoteBan(const moderation::ServerBan& ban, bool add) override {
    bans.emplace_back(ban, add);
  }
  // The last message session `s` got (an empty one when none).
  proto::ClientMessage Last(SessionId s) {
    return got[s].empty() ? proto::ClientMessage() : got[s].back();
  }

  std::string dir;
  std::unique_ptr<store::Store> db;
  int64_t now_us = 1'000'000;
  std::map<SessionId, std::vector<proto::ClientMessage>> got;
  std::vector<std::pair<moderation::ServerBan, bool>> bans;
};

class FakeBus : public NodeBus {
 public:
  explicit FakeBus(std::string id) : id_(std::move(id)) {}
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

  Handlers handlers;
  std::deque<std::string> outbox;
  std::map<std::string, std::string> users;
  bool is_up = true;

 private:
  std::string id_;
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
    std::vector<std::pair<std::string, std::string>> users;
    for (FakeBus* n : live) {
      nodes.push_back(n->node_id());
      if (n == &to) continue;
      for (const auto& [id, record] : n->users) users.emplace_back(n->node_id(), record);
    }
    to.handlers.view(nodes, users);
  }
  void BothOnline() {
    a_.SessionOnline(kAnn, User("ann"));
    b_.SessionOnline(kBob, User("bob"));
    Pump();
    ASSERT_EQ(a_.remote_users(), 1u);
    ASSERT_EQ(b_.remote_users(), 1u);
  }

  Host host_a_, host_b_;
  FakeBus bus_a_{"node-a"}, bus_b_{"node-b"};
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
  bus_b_.handlers.view({"node-a", "node-b"}, {{"node-a", "\x0a\x00"}});  // an empty user id
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

}  // namespace
}  // namespace tutti::server
