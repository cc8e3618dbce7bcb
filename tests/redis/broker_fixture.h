// What the Redis engine tests share (redis_broker_test.cc, redis_room_state_test.cc): a
// recorder of what a room's subscriber is delivered, a chat event to publish, and the
// fixture that starts a real redis-server on a free loopback port, makes engines on it and
// runs plain commands on it.
// Owns: the test's io_context, clock and redis-server process. Thread affinity: the test's
// thread, which runs the loop. Owner: one test. Header only.
#ifndef TUTTI_TESTS_REDIS_BROKER_FIXTURE_H_
#define TUTTI_TESTS_REDIS_BROKER_FIXTURE_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "server/clock.h"
#include "server/redis/redis_broker.h"
#include "tests/testing/redis_process.h"
#include "tests/testing/run_loop.h"

namespace tutti::server::redis {

using tutti::testing::RunLoopUntil;

struct Recorder : StreamSubscriber {
  void OnPublication(const std::string&, const Publication& pub) override { got.push_back(pub); }
  std::vector<Publication> got;
};

inline PublishRequest Chat(const std::string& text, SessionId exclude = 0) {
  PublishRequest req;
  req.message.set_message_type(
      static_cast<proto::ClientMessage::MessageType>(proto::ClientMessage::kRoomChatMessage - 1));
  req.message.mutable_room_chat_message()->set_message(text);
  req.exclude = exclude;
  return req;
}

inline proto::ClientMessage Parse(const Publication& p) {
  proto::ClientMessage m;
  EXPECT_TRUE(m.ParseFromString(p.frame->payload()));
  return m;
}

class RedisBrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(testing::RedisServerAvailable()) << "redis-server missing: run tools/setup.sh";
    ASSERT_TRUE(redis_.Start());
  }

  std::unique_ptr<RedisBroker> Engine(HistoryLimits limits = {}, int presence_ttl_ms = 15'000,
                                      int64_t resume_window_ms = 0) {
    RedisBrokerOptions o;
    o.resume_window_ms = resume_window_ms;
    o.primaries = {{"127.0.0.1", redis_.port()}};
    o.limits = limits;
    o.presence_ttl_ms = presence_ttl_ms;
    o.backoff = {10, 100};
    auto b = std::make_unique<RedisBroker>(io_, &clock_, o);
    RedisBroker* raw = b.get();
    EXPECT_TRUE(RunLoopUntil(io_, [raw] { return raw->Available(); }));
    return b;
  }

  // Runs `command` on a client of the test's own (commands the engines never send, or
  // writes standing in for someone else with access to Redis) and waits for the reply,
  // which `read` (when given) sees. False when no reply came.
  bool Run(const std::vector<std::string>& command,
           const std::function<void(const redisReply*)>& read = nullptr) {
    if (!probe_) {
      probe_ = std::make_unique<RedisClient>(io_, RedisAddress{"127.0.0.1", redis_.port()});
      probe_->Start();
    }
    if (!RunLoopUntil(io_, [&] { return probe_->connected(); })) return false;
    const std::vector<std::string_view> args(command.begin(), command.end());
    bool got = false;
    probe_->Command(args, [&](const redisReply* r) {
      if (read) read(r);
      got = true;
    });
    return RunLoopUntil(io_, [&] { return got; });
  }

  // Waits until Redis counts `n` subscribers on the room's channel.
  void WaitSubscribers(const std::string& room, int64_t n) {
    int64_t seen = -1;
    ASSERT_TRUE(RunLoopUntil(io_, [&] {
      Run({"PUBSUB", "NUMSUB", "tutti:{" + room + "}"}, [&](const redisReply* r) {
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2)
          ReplyInteger(r->element[1], &seen);
      });
      return seen == n;
    }));
  }

  boost::asio::io_context io_;
  SystemClock clock_;
  testing::RedisProcess redis_;
  std::unique_ptr<RedisClient> probe_;  // Run's client, made at its first use
};

}  // namespace tutti::server::redis

#endif  // TUTTI_TESTS_REDIS_BROKER_FIXTURE_H_
