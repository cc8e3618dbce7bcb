// The fixture of the tests of Social across nodes (social_nodes_test.cc,
// social_bans_nodes_test.cc): two Social actors, each over its own real SQLite store in a
// temp dir and a fake host that records what it is asked to send, joined by a fake node
// bus (FakeBus) that hands each published message to both (the sender's own echo
// included, as Redis does) when the test pumps it, and keeps the deployment's ban hash
// (BanHash) and each node's users and rooms as the refresh script would return them.
// Owns: the two actors, their hosts and stores. Thread affinity: the test's thread.
// Owner: one test. Header only.
#ifndef TUTTI_TESTS_SERVER_SOCIAL_NODES_FIXTURE_H_
#define TUTTI_TESTS_SERVER_SOCIAL_NODES_FIXTURE_H_

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

namespace tutti::server::social_nodes_testing {

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

inline proto::UserInfo User(const std::string& name) {
  proto::UserInfo u;
  u.set_user_id("u-" + name);
  u.set_username(name);
  return u;
}

inline proto::PrivateMessage Pm(const std::string& to, const std::string& text) {
  proto::PrivateMessage pm;
  pm.set_to_user_id(to);
  pm.set_message(text);
  return pm;
}

inline constexpr SessionId kAnn = 11;
inline constexpr SessionId kBob = 22;

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

}  // namespace tutti::server::social_nodes_testing

#endif  // TUTTI_TESTS_SERVER_SOCIAL_NODES_FIXTURE_H_
