// The hiredis-on-Asio client against a real redis-server (started here on a free
// loopback port, stopped by PID): pipelined commands come back in order, binary-safe
// arguments, classic SUBSCRIBE, and a restart of Redis (down reported, commands refused,
// reconnect with backoff, the subscription restored), and a channel subscribed again while
// its UNSUBSCRIBE is in flight.
#include "server/redis/redis_client.h"

#include <signal.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/redis_process.h"
#include "tests/testing/run_loop.h"

namespace tutti::server::redis {
namespace {

using namespace std::chrono_literals;
using tutti::testing::RunLoopUntil;

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(testing::RedisServerAvailable()) << "redis-server missing: run tools/setup.sh";
    ASSERT_TRUE(redis_.Start());
    address_ = {"127.0.0.1", redis_.port()};
  }

  // The subscriber count Redis reports for `channel`, asked through `c`.
  int64_t NumSub(RedisClient& c, const std::string& channel) {
    int64_t n = -1;
    bool got = false;
    EXPECT_TRUE(c.Command({"PUBSUB", "NUMSUB", channel}, [&](const redisReply* r) {
      got = true;
      if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2) ReplyInteger(r->element[1], &n);
    }));
    EXPECT_TRUE(RunLoopUntil(io_, [&] { return got; }));
    return n;
  }

  boost::asio::io_context io_;
  testing::RedisProcess redis_;
  RedisAddress address_;
};

TEST(RedisAddressTest, Parses) {
  RedisAddress a;
  ASSERT_TRUE(ParseRedisAddress("127.0.0.1:6379", &a));
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 6379);
  EXPECT_EQ(a.ToString(), "127.0.0.1:6379");
  for (const char* bad : {"", ":6379", "host", "host:", "host:0", "host:65536", "host:12x"}) {
    EXPECT_FALSE(ParseRedisAddress(bad, &a)) << bad;
  }
}

TEST_F(RedisClientTest, PipelinedCommandsReplyInOrderAndAreBinarySafe) {
  RedisClient c(io_, address_);
  c.Start();
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return c.connected(); }));
  // A thousand commands queued in one loop turn leave together and come back in order.
  std::vector<int64_t> got;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(c.Command({"INCR", "counter"}, [&](const redisReply* r) {
      int64_t v = -1;
      EXPECT_TRUE(ReplyInteger(r, &v));
      got.push_back(v);
    }));
  }
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return got.size() == 1000; }));
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(got[static_cast<size_t>(i)], i + 1);

  const std::string value("a\0b\r\nc", 6);
  std::string read_back;
  bool done = false;
  ASSERT_TRUE(c.Command({"SET", "k", value}, nullptr));
  ASSERT_TRUE(c.Command({"GET", "k"}, [&](const redisReply* r) {
    read_back = std::string(ReplyString(r));
    done = true;
  }));
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return done; }));
  EXPECT_EQ(read_back, value);

  // An error reply is a reply, typed as one.
  bool error = false;
  done = false;
  ASSERT_TRUE(c.Command({"NOSUCHCOMMAND"}, [&](const redisReply* r) {
    error = ReplyIsError(r);
    done = true;
  }));
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return done; }));
  EXPECT_TRUE(error);
}

TEST_F(RedisClientTest, SubscribeGetsEveryMessageInOrder) {
  RedisClient sub(io_, address_);
  RedisClient pub(io_, address_);
  std::vector<std::string> messages;
  sub.Subscribe("room:x", [&](std::string_view channel, std::string_view payload) {
    EXPECT_EQ(channel, "room:x");
    messages.emplace_back(payload);
  });
  sub.Start();
  pub.Start();
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return sub.connected() && pub.connected(); }));
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return NumSub(pub, "room:x") == 1; }));
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(pub.Command({"PUBLISH", "room:x", "m" + std::to_string(i)}, nullptr));
  }
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return messages.size() == 200; }));
  for (int i = 0; i < 200; ++i)
    EXPECT_EQ(messages[static_cast<size_t>(i)], "m" + std::to_string(i));
  sub.Unsubscribe("room:x");
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return NumSub(pub, "room:x") == 0; }));
}

// A room closed and opened again on a node at once: its channel is unsubscribed and
// subscribed again (twice) before Redis answered. The last handler gets what is
// published, and nothing leaks (hiredis keeps one callback per channel: a SUBSCRIBE sent
// while the UNSUBSCRIBE was in flight replaced the pending callback's tag, which the
// ASan/UBSan build of this test reports).
TEST_F(RedisClientTest, ASubscribeWhileItsUnsubscribeIsInFlightWaitsForItsAnswer) {
  RedisClient sub(io_, address_);
  RedisClient pub(io_, address_);
  std::vector<std::string> first, last;
  int confirmed = 0;
  sub.Subscribe("room:y", [&](std::string_view, std::string_view p) { first.emplace_back(p); });
  sub.Start();
  pub.Start();
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return sub.connected() && pub.connected(); }));
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return NumSub(pub, "room:y") == 1; }));
  sub.Unsubscribe("room:y");
  sub.Subscribe("room:y", [&](std::string_view, std::string_view p) { first.emplace_back(p); });
  sub.Unsubscribe("room:y");
  sub.Subscribe(
      "room:y", [&](std::string_view, std::string_view p) { last.emplace_back(p); },
      [&] { ++confirmed; });
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return confirmed == 1; }));
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return NumSub(pub, "room:y") == 1; }));
  ASSERT_TRUE(pub.Command({"PUBLISH", "room:y", "after"}, nullptr));
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return last.size() == 1; }));
  EXPECT_EQ(last[0], "after");
  EXPECT_TRUE(first.empty());
  sub.Unsubscribe("room:y");
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return NumSub(pub, "room:y") == 0; }));
}

TEST_F(RedisClientTest, ReconnectsAfterRedisRestartsAndResubscribes) {
  RedisClient c(io_, address_, {10, 200});
  RedisClient pub(io_, address_, {10, 200});
  int ups = 0;
  int downs = 0;
  std::string why;
  c.set_on_up([&] { ++ups; });
  c.set_on_down([&](const std::string& w) {
    ++downs;
    why = w;
  });
  std::vector<std::string> messages;
  c.Subscribe("ch", [&](std::string_view, std::string_view p) { messages.emplace_back(p); });
  c.Start();
  pub.Start();
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return c.connected() && pub.connected(); }));
  EXPECT_EQ(ups, 1);

  redis_.Stop(SIGKILL);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return downs == 1 && !pub.connected(); }));
  EXPECT_FALSE(why.empty());
  EXPECT_FALSE(c.Command({"PING"}, [](const redisReply*) { ADD_FAILURE() << "ran while down"; }));

  ASSERT_TRUE(redis_.Start());  // the same port
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return c.connected() && pub.connected(); }));
  EXPECT_EQ(ups, 2);
  EXPECT_EQ(c.connects(), 2u);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return NumSub(pub, "ch") == 1; }));
  ASSERT_TRUE(pub.Command({"PUBLISH", "ch", "after"}, nullptr));
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return messages.size() == 1; }));
  EXPECT_EQ(messages[0], "after");
}

TEST_F(RedisClientTest, StopRunsNoCallbackAndRefusesCommands) {
  RedisClient c(io_, address_);
  c.Start();
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return c.connected(); }));
  bool called = false;
  ASSERT_TRUE(c.Command({"PING"}, [&](const redisReply*) { called = true; }));
  c.Stop();  // before the reply is read
  io_.restart();
  io_.run_for(50ms);
  EXPECT_FALSE(called);
  EXPECT_FALSE(c.connected());
  EXPECT_FALSE(c.Command({"PING"}, nullptr));
}

}  // namespace
}  // namespace tutti::server::redis
