// Private messages between clients on different shards: by id, by name, offline, echo.
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

constexpr int kShards = 4;

// Connects `name` until the server accepts it on a shard other than `avoid_shard`.
// The kernel spreads connections over the shards' listeners, so a few tries suffice.
std::unique_ptr<client::Client> ConnectOffShard(TestServer& ts, const std::string& name,
                                                uint32_t avoid_shard, proto::Welcome* welcome) {
  UserSpec spec;
  spec.name = name;
  for (int attempt = 0; attempt < 64; ++attempt) {
    auto c = ts.Connect(spec, welcome);
    if (!c) return nullptr;
    if (welcome->shard() != avoid_shard) return c;
  }
  ADD_FAILURE() << "every connection of " << name << " landed on shard " << avoid_shard;
  return nullptr;
}

class PrivateMessages : public ::testing::Test {
 protected:
  void SetUp() override {
    alice_ = ts_.Connect(Named("alice"), &alice_welcome_);
    ASSERT_TRUE(alice_);
    bob_ = ConnectOffShard(ts_, "Bob", alice_welcome_.shard(), &bob_welcome_);
    ASSERT_TRUE(bob_);
    ASSERT_NE(alice_welcome_.shard(), bob_welcome_.shard());
    ASSERT_LT(bob_welcome_.shard(), static_cast<uint32_t>(kShards));
  }

  // A roomier chat budget than the default, so the tests can send what they need; the
  // rate-limit test still overruns it. Server time stands still unless a test advances it, so
  // what the budget lets through does not depend on how fast the machine is.
  std::shared_ptr<server::FakeClock> clock_ = NowFakeClock();
  TestServer ts_{kShards,
                 [](server::ServerConfig& c) {
                   c.chat_per_second = 50;
                   c.chat_burst = 20;
                 },
                 clock_};
  proto::Welcome alice_welcome_, bob_welcome_;
  std::unique_ptr<client::Client> alice_, bob_;
};

TEST_F(PrivateMessages, ByUserIdAcrossShards) {
  ASSERT_TRUE(alice_->Send(PrivateMsg("u-Bob", "psst, bob", "pm1")));
  auto got = bob_->WaitFor(proto::ClientMessage::kPrivateMessage, 3s);
  ASSERT_TRUE(got);
  const auto& pm = got->private_message();
  EXPECT_EQ(pm.message(), "psst, bob");
  EXPECT_EQ(pm.from_user_id(), "u-alice");
  EXPECT_EQ(pm.from_username(), "alice");
  EXPECT_EQ(pm.to_user_id(), "u-Bob");
  EXPECT_GT(pm.server_time(), 0);
  EXPECT_EQ(got->request_id(), "") << "the recipient must not see the sender's request id";
  EXPECT_EQ(got->message_type(), proto::ClientMessage::PrivateMessage);

  auto echo = WaitForReply(*alice_, proto::ClientMessage::kPrivateMessage, "pm1", 3s);
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->private_message().message(), "psst, bob");
  EXPECT_EQ(echo->private_message().to_user_id(), "u-Bob");
  EXPECT_EQ(echo->private_message().from_user_id(), "u-alice");
}

TEST_F(PrivateMessages, ByUsernameCaseInsensitively) {
  ASSERT_TRUE(bob_->Send(PrivateMsg("ALICE", "hi alice", "pm2")));
  auto got = alice_->WaitFor(proto::ClientMessage::kPrivateMessage, 3s);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->private_message().message(), "hi alice");
  EXPECT_EQ(got->private_message().from_user_id(), "u-Bob");
  EXPECT_EQ(got->private_message().from_username(), "Bob");
  EXPECT_EQ(got->private_message().to_user_id(), "u-alice");  // resolved to the id
  auto echo = WaitForReply(*bob_, proto::ClientMessage::kPrivateMessage, "pm2", 3s);
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->private_message().to_user_id(), "u-alice");
  // And the other way, by the exact display name.
  ASSERT_TRUE(alice_->Send(PrivateMsg("Bob", "hi bob", "pm3")));
  auto back = bob_->WaitFor(proto::ClientMessage::kPrivateMessage, 3s);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->private_message().message(), "hi bob");
}

TEST_F(PrivateMessages, TextIsCleanedAndSenderCannotBeForged) {
  proto::ServerMessage m = PrivateMsg("u-Bob", "\x07hello\x1b[31m", "pm4");
  m.mutable_private_message()->set_from_user_id("u-admin");
  m.mutable_private_message()->set_from_username("admin");
  ASSERT_TRUE(alice_->Send(m));
  auto got = bob_->WaitFor(proto::ClientMessage::kPrivateMessage, 3s);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->private_message().message(), "hello[31m");
  EXPECT_EQ(got->private_message().from_user_id(), "u-alice");
  EXPECT_EQ(got->private_message().from_username(), "alice");
}

TEST_F(PrivateMessages, OfflineOrUnknownUserIsNotFound) {
  ASSERT_TRUE(alice_->Send(PrivateMsg("u-nobody", "hello?", "nf1")));
  std::string rid;
  EXPECT_EQ(WaitError(*alice_, 3s, &rid), proto::NOT_FOUND);
  EXPECT_EQ(rid, "nf1");
  ASSERT_TRUE(alice_->Send(PrivateMsg("", "to whom?", "nf2")));
  EXPECT_EQ(WaitError(*alice_, 3s, &rid), proto::INVALID_PARAMETERS);
  EXPECT_EQ(rid, "nf2");
  ASSERT_TRUE(alice_->Send(PrivateMsg("u-Bob", " \x01 ", "nf3")));
  EXPECT_EQ(WaitError(*alice_, 3s, &rid), proto::INVALID_PARAMETERS);

  // Bob goes offline: soon after, he is not found by id or by name.
  bob_.reset();
  int attempt = 0;
  bool not_found = false;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  for (; std::chrono::steady_clock::now() < deadline && !not_found; ++attempt) {
    clock_->AdvanceUs(100 * 1000);  // refills 5 lines of the chat budget per attempt
    const std::string id = "gone" + std::to_string(attempt);
    ASSERT_TRUE(alice_->Send(PrivateMsg("u-Bob", "still there?", id)));
    auto m = alice_->Next(3s);
    while (m && m->request_id() != id) m = alice_->Next(3s);
    ASSERT_TRUE(m) << "no answer to " << id;
    if (m->has_error_message()) {
      EXPECT_EQ(m->error_message().code(), proto::NOT_FOUND);
      not_found = true;
    } else {
      ASSERT_TRUE(m->has_private_message());  // the echo: bob was still registered
      std::this_thread::sleep_for(100ms);
    }
  }
  EXPECT_TRUE(not_found) << "an offline user still receives private messages";
  ASSERT_TRUE(alice_->Send(PrivateMsg("bob", "by name?", "gone-name")));
  EXPECT_EQ(WaitError(*alice_, 3s, &rid), proto::NOT_FOUND);
  EXPECT_EQ(rid, "gone-name");
}

TEST_F(PrivateMessages, EverySessionOfTheRecipientGetsItOnce) {
  proto::Welcome w;
  auto bob2 = ts_.Connect(Named("Bob"), &w);
  ASSERT_TRUE(bob2);
  ASSERT_TRUE(alice_->Send(PrivateMsg("u-Bob", "both of you", "multi")));
  for (client::Client* c : {bob_.get(), bob2.get()}) {
    auto got = c->WaitFor(proto::ClientMessage::kPrivateMessage, 3s);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->private_message().message(), "both of you");
    EXPECT_FALSE(c->WaitFor(proto::ClientMessage::kPrivateMessage, 300ms)) << "delivered twice";
  }
  auto echo = WaitForReply(*alice_, proto::ClientMessage::kPrivateMessage, "multi", 3s);
  ASSERT_TRUE(echo);
  EXPECT_FALSE(alice_->WaitFor(proto::ClientMessage::kPrivateMessage, 300ms));
}

TEST_F(PrivateMessages, PrivateMessagesShareTheChatRateLimit) {
  constexpr int kCount = 100;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(alice_->Send(PrivateMsg("u-Bob", "spam " + std::to_string(i), "s")));
  }
  int limited = 0, echoed = 0;
  while (limited + echoed < kCount) {
    auto m = alice_->Next(3s);
    ASSERT_TRUE(m) << "limited=" << limited << " echoed=" << echoed;
    if (m->has_error_message()) {
      EXPECT_EQ(m->error_message().code(), proto::RATE_LIMITED);
      EXPECT_EQ(m->request_id(), "s");
      ++limited;
    } else if (m->has_private_message()) {
      ++echoed;
    }
  }
  // The clock stands still: exactly the burst passes, however slowly the flood is read.
  EXPECT_EQ(echoed, 20);
  EXPECT_EQ(limited, kCount - 20);
  int received = 0;
  while (bob_->WaitFor(proto::ClientMessage::kPrivateMessage, 500ms)) ++received;
  EXPECT_EQ(received, echoed);
}

}  // namespace
}  // namespace tutti::testing
