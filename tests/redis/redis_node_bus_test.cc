// RedisNodeBus's ban script against a real redis-server (started here on a free loopback
// port, stopped by PID): a ban change written after a newer one of the same target (one
// that waited on a node cut off from Redis) changes nothing and is not published.
#include "server/redis/redis_node_bus.h"

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
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
  h.view = [](const auto&, const auto&) {};
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

}  // namespace
}  // namespace tutti::server::redis
