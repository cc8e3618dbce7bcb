// RedisNodeBus's scripts against a real redis-server (started here on a free loopback
// port, stopped by PID): a ban change written after a newer one of the same target (one
// that waited on a node cut off from Redis) changes nothing and is not published; the
// rooms a node lists are kept under its expiring keys, reach the other nodes' views with
// its users, and go when it leaves.
#include "server/redis/redis_node_bus.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/redis_process.h"
#include "tests/testing/run_loop.h"

namespace tutti::server::redis {
namespace {

using namespace std::chrono_literals;
using tutti::testing::RunLoopUntil;

class RedisNodeBusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(testing::RedisServerAvailable()) << "redis-server missing: run tools/setup.sh";
    ASSERT_TRUE(redis_.Start());
    address_ = {"127.0.0.1", redis_.port()};
  }

  // HGET `key` `field` through a link of its own ("" when absent).
  std::string HGet(const std::string& key, const std::string& field) {
    RedisClient c(io_, address_);
    c.Start();
    EXPECT_TRUE(RunLoopUntil(io_, [&] { return c.connected(); }));
    std::string value;
    bool got = false;
    EXPECT_TRUE(c.Command({"HGET", key, field}, [&](const redisReply* r) {
      got = true;
      if (r != nullptr && r->type == REDIS_REPLY_STRING) value.assign(r->str, r->len);
    }));
    EXPECT_TRUE(RunLoopUntil(io_, [&] { return got; }));
    c.Stop();
    return value;
  }

  boost::asio::io_context io_;
  testing::RedisProcess redis_;
  RedisAddress address_;
};

TEST_F(RedisNodeBusTest, AnOlderBanChangeNeitherOverwritesNorIsPublished) {
  RedisNodeBus bus(io_, address_, RedisBackoff{}, 15000);
  std::vector<std::string> heard;
  NodeBus::Handlers h;
  h.message = [&](std::string_view bytes) { heard.emplace_back(bytes); };
  h.view = [](const auto&, const auto&, const auto&) {};
  h.availability = [](bool) {};
  h.bans = [](const std::vector<std::string>&) {};
  bus.Start(std::move(h));
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return bus.up(); }));

  bus.ShareBan("u-x", "lift-at-3000", 3000, 0, "published-lift");
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return !heard.empty(); }));
  // A ban made at 2000 on a node that was cut off, written only now; then one as old as
  // the kept change; then a newer one.
  bus.ShareBan("u-x", "ban-at-2000", 2000, 0, "published-old-ban");
  bus.ShareBan("u-y", "ban-of-y", 1000, 0, "published-y");  // another target is independent
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return heard.size() >= 2; }));
  bus.ShareBan("u-x", "same-time", 3000, 0, "published-same-time");
  bus.ShareBan("u-x", "ban-at-4000", 4000, 0, "published-newer");
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return heard.size() >= 3; }));
  // Messages come back in the order they were published: nothing else came between.
  EXPECT_EQ(heard, (std::vector<std::string>{"published-lift", "published-y", "published-newer"}));
  EXPECT_EQ(HGet(kNodeBusBansKey, "u-x"), "ban-at-4000");
  EXPECT_EQ(HGet(kNodeBusBanTimesKey, "u-x"), "4000");
  EXPECT_EQ(HGet(kNodeBusBansKey, "u-y"), "ban-of-y");
  bus.Stop();
}

TEST_F(RedisNodeBusTest, ANodesRoomsAreInTheOthersViewsAndGoWhenItLeaves) {
  RedisNodeBus a(io_, address_, RedisBackoff{}, 900), b(io_, address_, RedisBackoff{}, 900);
  // B's last view: (node, room record) pairs, and whether A was in it.
  std::vector<std::pair<std::string, std::string>> rooms_seen, users_seen;
  bool a_alive = false;
  int views = 0;
  auto start = [&](RedisNodeBus& bus, bool watch) {
    NodeBus::Handlers h;
    h.message = [](std::string_view) {};
    h.view = [&, watch](const std::vector<std::string>& nodes, const auto& users,
                        const auto& rooms) {
      if (!watch) return;
      ++views;
      rooms_seen = rooms;
      users_seen = users;
      a_alive = std::find(nodes.begin(), nodes.end(), a.node_id()) != nodes.end();
    };
    h.availability = [](bool) {};
    h.bans = [](const std::vector<std::string>&) {};
    bus.Start(std::move(h));
  };
  start(a, false);
  start(b, true);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return a.up() && b.up(); }));
  a.SetUser("u-ann", "ann-record");
  a.SetRoom("jam", "jam-record");
  a.SetRoom("solo", "solo-record");
  a.RemoveRoom("solo");
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  const Pairs want_rooms = {{a.node_id(), "jam-record"}};
  const Pairs want_users = {{a.node_id(), "ann-record"}};
  EXPECT_TRUE(RunLoopUntil(
      io_, [&] { return rooms_seen == want_rooms; }, 10s))
      << "B's views never listed A's room alone";
  EXPECT_EQ(users_seen, want_users);
  EXPECT_EQ(HGet(std::string(kNodeBusRoomsPrefix) + a.node_id(), "jam"), "jam-record");
  // B's own rooms are not in its views.
  b.SetRoom("mine", "mine-record");
  const int seen_before = views;
  EXPECT_TRUE(RunLoopUntil(
      io_, [&] { return views >= seen_before + 2; }, 10s));
  EXPECT_EQ(rooms_seen, want_rooms);
  EXPECT_EQ(HGet(std::string(kNodeBusRoomsPrefix) + b.node_id(), "mine"), "mine-record");
  // A leaves: its hash is gone and B's next views have neither A nor its room.
  a.Leave();
  EXPECT_TRUE(RunLoopUntil(
      io_, [&] { return !a_alive && rooms_seen.empty(); }, 10s));
  EXPECT_EQ(HGet(std::string(kNodeBusRoomsPrefix) + a.node_id(), "jam"), "");
  b.Stop();
}

}  // namespace
}  // namespace tutti::server::redis
