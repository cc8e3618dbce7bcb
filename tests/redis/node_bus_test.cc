// The node bus (rooms across nodes, docs/SCALE-OUT.md "Node bus"): one redis-server and
// two tutti-server processes, all started here on free loopback ports and stopped by
// PID, with real WebSocket clients on each. A server ban made on node A closes the
// banned member's session on node B and B refuses them; private messages and friend
// events cross the nodes; a node killed with SIGKILL drops out of the others' view
// within its presence TTL, one stopped cleanly at once (its farewell heard on the bus,
// even when a client of it never finishes the close handshake); bans made while a node is down
// reach it when it starts; the bus's metrics. Every wait is bounded by a deadline.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/redis/bus_listener.h"
#include "tests/redis/nodes_harness.h"
#include "tests/testing/raw_ws.h"

namespace tutti::testing {
namespace {

using namespace std::chrono_literals;

class NodeBusTest : public NodesTest {
 protected:
  // Waits until `n` nodes listen on the node bus's channel.
  bool WaitBusListeners(int64_t n) {
    return WaitRedisReply({"PUBSUB", "NUMSUB", "tutti:nodebus"}, [n](const redisReply* r) {
      int64_t seen = -1;
      return r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
             server::redis::ReplyInteger(r->element[1], &seen) && seen == n;
    });
  }

  // Starts both nodes with `extra` flags and waits until both hear the bus.
  void StartNodes(std::unique_ptr<ServerProcess>* a, std::unique_ptr<ServerProcess>* b,
                  const std::vector<std::string>& extra = {}) {
    std::vector<std::string> fa = NodeFlags(dir_a_), fb = NodeFlags(dir_b_);
    fa.insert(fa.end(), extra.begin(), extra.end());
    fb.insert(fb.end(), extra.begin(), extra.end());
    *a = std::make_unique<ServerProcess>(TUTTI_SERVER_BIN, dir_a_, fa);
    ASSERT_TRUE(StartNode(**a)) << (*a)->output();
    *b = std::make_unique<ServerProcess>(TUTTI_SERVER_BIN, dir_b_, fb);
    ASSERT_TRUE(StartNode(**b)) << (*b)->output();
    ASSERT_TRUE(WaitBusListeners(2));
  }

  static proto::ServerMessage Pm(const std::string& to, const std::string& text,
                                 const std::string& rid) {
    proto::ServerMessage m;
    m.mutable_private_message()->set_to_user_id(to);
    m.mutable_private_message()->set_message(text);
    m.set_request_id(rid);
    return m;
  }

  static proto::ServerMessage FriendMsg(proto::FriendAction action, const std::string& target,
                                        const std::string& rid) {
    proto::ServerMessage m;
    m.mutable_friend_request()->set_action(action);
    m.mutable_friend_request()->set_target_user_id(target);
    m.set_request_id(rid);
    return m;
  }

  // The answer carrying `rid`, within `timeout`.
  static std::optional<proto::ClientMessage> ReplyTo(client::Client& c, const std::string& rid,
                                                     std::chrono::milliseconds timeout = 10s) {
    return WaitMatching(
        c, [&rid](const proto::ClientMessage& m) { return m.request_id() == rid; }, timeout);
  }

  // Sends private messages to `to` until one is answered as `want` wants (the sender's
  // node learns of users on other nodes through the bus; it may not know them yet, or
  // may still know a killed node's). Each probe waits for its own answer up to 1 s: a
  // message relayed to a node that died is never answered. True when accepted.
  static bool ProbePm(client::Client& from, const std::string& to,
                      const std::function<bool(const proto::ClientMessage&)>& want,
                      std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
      const std::string rid = "probe" + std::to_string(i);
      if (!from.Send(Pm(to, "probe " + std::to_string(i), rid))) return false;
      auto answer = ReplyTo(from, rid, 1s);
      if (answer && want(*answer)) return true;
    }
    return false;
  }

  // Waits (bounded) until `connect` gives the answer `want` wants: the node applies what
  // the bus brings on its own time.
  static bool Eventually(const std::function<bool()>& want) {
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (want()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  // The node that announced `user_id` online on the bus ("" when none did within 10 s).
  static std::string NodeOf(BusListener& bus, const std::string& user_id) {
    auto heard = bus.WaitFor(
        [&user_id](const proto::NodeBusMessage& m) {
          return m.has_presence() && m.presence().online() &&
                 m.presence().user().user_id() == user_id;
        },
        10s);
    return heard ? heard->from_node() : "";
  }

  // True when `node`'s farewell was heard on the bus (within 10 s).
  static bool Farewell(BusListener& bus, const std::string& node) {
    return bus
        .WaitFor(
            [&node](const proto::NodeBusMessage& m) {
              return m.has_gone() && m.from_node() == node;
            },
            10s)
        .has_value();
  }

  // Waits until the nodes' set in Redis holds `want` nodes.
  bool NodesInRedis(int64_t want) {
    return WaitRedisReply({"ZCARD", "tutti:{nodebus}:nodes"}, [want](const redisReply* r) {
      int64_t n = 0;
      return server::redis::ReplyInteger(r, &n) && n == want;
    });
  }

  static bool Delivered(const proto::ClientMessage& m) { return m.has_private_message(); }
  static bool NotFound(const proto::ClientMessage& m) {
    return m.has_error_message() && m.error_message().code() == proto::NOT_FOUND;
  }
};

TEST_F(NodeBusTest, ServerBanOnOneNodeClosesAndRefusesOnTheOther) {
  std::unique_ptr<ServerProcess> a, b;
  ASSERT_NO_FATAL_FAILURE(StartNodes(&a, &b));
  auto admin = ConnectMember(a->port(), "admin", {"admin"});
  ASSERT_TRUE(admin);
  auto mallory = ConnectMember(b->port(), "mallory");
  ASSERT_TRUE(mallory);
  auto carol = ConnectMember(b->port(), "carol");
  ASSERT_TRUE(carol);

  ASSERT_TRUE(admin->Send(ChatMsg("/sban u-mallory 1h spam", "s")));
  auto done = ReplyTo(*admin, "s");
  ASSERT_TRUE(done && done->has_command_result()) << (done ? done->DebugString() : "no answer");
  EXPECT_TRUE(done->command_result().ok());

  // Node B closes her session as for a ban made there (4003), and refuses her upgrade.
  uint16_t code = 0;
  EXPECT_TRUE(mallory->WaitClosed(15s, &code));
  EXPECT_EQ(code, 4003);
  int http = 0;
  EXPECT_EQ(ConnectMember(b->port(), "mallory", {}, &http), nullptr);
  EXPECT_EQ(http, 403);
  // Nobody else on B was touched.
  EXPECT_TRUE(carol->is_open());

  // A network ban reaches B's ban list too (its admin listener lists it).
  ASSERT_TRUE(admin->Send(ChatMsg("/sban 192.0.2.0/24 1h spam", "n")));
  auto net = ReplyTo(*admin, "n");
  ASSERT_TRUE(net && net->has_command_result() && net->command_result().ok());
  const uint16_t admin_b = AdminPort(*b);
  ASSERT_NE(admin_b, 0);
  bool listed = false;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (!listed && std::chrono::steady_clock::now() < deadline) {
    listed = AdminGet(admin_b, "/bans").second.find("192.0.2.0/24") != std::string::npos;
    if (!listed) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(listed) << AdminGet(admin_b, "/bans").second;

  // Lifted on A: B lets her in again.
  ASSERT_TRUE(admin->Send(ChatMsg("/sunban u-mallory", "u")));
  auto lifted = ReplyTo(*admin, "u");
  ASSERT_TRUE(lifted && lifted->has_command_result() && lifted->command_result().ok());
  std::unique_ptr<client::Client> back;
  const auto back_deadline = std::chrono::steady_clock::now() + 15s;
  while (!back && std::chrono::steady_clock::now() < back_deadline) {
    back = ConnectMember(b->port(), "mallory", {}, &http);
    if (!back) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(back) << "still refused with " << http;
  EXPECT_EQ(a->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(b->Stop(SIGTERM, 10000), 0);
}

TEST_F(NodeBusTest, PrivateMessageReachesTheOtherNodeAndOfflineIsNotFound) {
  std::unique_ptr<ServerProcess> a, b;
  ASSERT_NO_FATAL_FAILURE(StartNodes(&a, &b));
  auto ann = ConnectMember(a->port(), "ann");
  ASSERT_TRUE(ann);
  auto bob = ConnectMember(b->port(), "bob");
  ASSERT_TRUE(bob);

  // Once A knows bob, ann's message is delivered on B and confirmed to her.
  ASSERT_TRUE(ProbePm(*ann, "u-bob", Delivered, 15s));
  ASSERT_TRUE(ann->Send(Pm("bob", "hello across nodes", "p1")));  // by name
  auto confirmed = ReplyTo(*ann, "p1");
  ASSERT_TRUE(confirmed && confirmed->has_private_message())
      << (confirmed ? confirmed->DebugString() : "no answer");
  EXPECT_EQ(confirmed->private_message().to_user_id(), "u-bob");
  auto got = WaitMatching(
      *bob,
      [](const proto::ClientMessage& m) {
        return m.has_private_message() && m.private_message().message() == "hello across nodes";
      },
      10s);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->private_message().from_user_id(), "u-ann");
  EXPECT_EQ(got->private_message().from_username(), "ann");
  EXPECT_TRUE(got->request_id().empty());  // the confirmation is the sender's only

  // And back.
  ASSERT_TRUE(ProbePm(*bob, "u-ann", Delivered, 15s));

  // Nobody by that name on any node: the same answer as on one node.
  ASSERT_TRUE(ann->Send(Pm("u-nobody", "hello?", "p2")));
  auto offline = ReplyTo(*ann, "p2");
  ASSERT_TRUE(offline && offline->has_error_message());
  EXPECT_EQ(offline->error_message().code(), proto::NOT_FOUND);

  // bob leaves B: he is offline for ann too.
  bob->Close();
  EXPECT_TRUE(ProbePm(*ann, "u-bob", NotFound, 15s));
  EXPECT_EQ(a->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(b->Stop(SIGTERM, 10000), 0);
}

TEST_F(NodeBusTest, FriendEventsCrossNodes) {
  // Friendships live in the store; the nodes share one (a SQLite file here).
  std::unique_ptr<ServerProcess> a, b;
  ASSERT_NO_FATAL_FAILURE(StartNodes(&a, &b, {"--database", dir_a_ + "/shared.db"}));
  auto ann = ConnectMember(a->port(), "ann");
  ASSERT_TRUE(ann);
  auto bob = ConnectMember(b->port(), "bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(ProbePm(*ann, "u-bob", Delivered, 15s));

  ASSERT_TRUE(ann->Send(FriendMsg(proto::SEND_REQUEST, "u-bob", "f1")));
  auto sent = ReplyTo(*ann, "f1");
  ASSERT_TRUE(sent && sent->has_friend_list()) << (sent ? sent->DebugString() : "no answer");
  auto received = WaitMatching(
      *bob,
      [](const proto::ClientMessage& m) {
        return m.has_friend_event() && m.friend_event().kind() == proto::FRIEND_REQUEST_RECEIVED;
      },
      10s);
  ASSERT_TRUE(received);
  EXPECT_EQ(received->friend_event().friend_info().user_id(), "u-ann");

  ASSERT_TRUE(bob->Send(FriendMsg(proto::ACCEPT_REQUEST, "u-ann", "f2")));
  auto accepted_list = ReplyTo(*bob, "f2");
  ASSERT_TRUE(accepted_list && accepted_list->has_friend_list());
  auto accepted = WaitMatching(
      *ann,
      [](const proto::ClientMessage& m) {
        return m.has_friend_event() && m.friend_event().kind() == proto::FRIEND_REQUEST_ACCEPTED;
      },
      10s);
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->friend_event().friend_info().user_id(), "u-bob");

  // bob goes away and comes back on B: ann on A sees both.
  auto status_of_bob = [](proto::UserStatus want) {
    return [want](const proto::ClientMessage& m) {
      return m.has_friend_event() && m.friend_event().kind() == proto::FRIEND_STATUS_CHANGED &&
             m.friend_event().friend_info().user_id() == "u-bob" &&
             (m.friend_event().friend_info().status() == proto::OFFLINE) ==
                 (want == proto::OFFLINE);
    };
  };
  bob->Close();
  EXPECT_TRUE(WaitMatching(*ann, status_of_bob(proto::OFFLINE), 10s));
  bob = ConnectMember(b->port(), "bob");
  ASSERT_TRUE(bob);
  EXPECT_TRUE(WaitMatching(*ann, status_of_bob(proto::ONLINE), 10s));

  // ann's friend list shows bob online (he is on B).
  ASSERT_TRUE(ann->Send(FriendMsg(proto::LIST_FRIENDS, "", "f3")));
  auto list = ReplyTo(*ann, "f3");
  ASSERT_TRUE(list && list->has_friend_list());
  ASSERT_EQ(list->friend_list().friends_size(), 1);
  EXPECT_EQ(list->friend_list().friends(0).user_id(), "u-bob");
  EXPECT_NE(list->friend_list().friends(0).status(), proto::OFFLINE);
  EXPECT_EQ(a->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(b->Stop(SIGTERM, 10000), 0);
}

TEST_F(NodeBusTest, KilledNodesUsersAreOfflineElsewhereWithinThePresenceTtl) {
  constexpr int kTtlMs = 1500;
  std::unique_ptr<ServerProcess> a, b;
  ASSERT_NO_FATAL_FAILURE(StartNodes(&a, &b, {"--redis_presence_ttl_ms", std::to_string(kTtlMs)}));
  auto ann = ConnectMember(a->port(), "ann");
  ASSERT_TRUE(ann);
  auto bob = ConnectMember(b->port(), "bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(ProbePm(*ann, "u-bob", Delivered, 15s));

  const int status = b->Stop(SIGKILL, 5000);
  ASSERT_TRUE(WIFSIGNALED(status));
  // bob's node cannot say goodbye: A drops him when B's presence expires (one TTL after
  // its last refresh, seen at A's next refresh, a third of the TTL later). The deadline
  // leaves room for a loaded machine; the TTL is what bounds it.
  EXPECT_TRUE(ProbePm(*ann, "u-bob", NotFound, 20s));
  // B is gone from the nodes' set in Redis as well.
  EXPECT_TRUE(WaitRedisReply({"ZCARD", "tutti:{nodebus}:nodes"}, [](const redisReply* r) {
    int64_t n = 0;
    return server::redis::ReplyInteger(r, &n) && n == 1;
  }));
  EXPECT_EQ(a->Stop(SIGTERM, 10000), 0);
}

TEST_F(NodeBusTest, BansMadeWhileANodeIsDownReachItWhenItStarts) {
  std::unique_ptr<ServerProcess> a, b;
  ASSERT_NO_FATAL_FAILURE(StartNodes(&a, &b));
  auto admin = ConnectMember(a->port(), "admin", {"admin"});
  ASSERT_TRUE(admin);
  auto command = [&admin](const std::string& text, const std::string& rid) {
    ASSERT_TRUE(admin->Send(ChatMsg(text, rid)));
    auto done = ReplyTo(*admin, rid);
    ASSERT_TRUE(done && done->has_command_result() && done->command_result().ok())
        << text << ": " << (done ? done->DebugString() : "no answer");
  };
  // eve is banned while B runs: B's own store has her ban.
  ASSERT_NO_FATAL_FAILURE(command("/sban u-eve 1h spam", "e1"));
  int http = 0;
  ASSERT_TRUE(
      Eventually([&] { return !ConnectMember(b->port(), "eve", {}, &http) && http == 403; }));
  ASSERT_EQ(b->Stop(SIGTERM, 10000), 0);

  // B is down: mallory is banned and eve's ban lifted, on A only.
  ASSERT_NO_FATAL_FAILURE(command("/sban u-mallory 1h spam", "m1"));
  ASSERT_NO_FATAL_FAILURE(command("/sunban u-eve", "e2"));

  // B starts again on its own store: it reads the deployment's bans from Redis.
  b = std::make_unique<ServerProcess>(TUTTI_SERVER_BIN, dir_b_, NodeFlags(dir_b_));
  ASSERT_TRUE(StartNode(*b)) << b->output();
  EXPECT_TRUE(Eventually([&] {
    return !ConnectMember(b->port(), "mallory", {}, &http) && http == 403;
  })) << "B still lets mallory in";
  std::unique_ptr<client::Client> eve;
  EXPECT_TRUE(Eventually([&] { return (eve = ConnectMember(b->port(), "eve")) != nullptr; }))
      << "B still refuses eve with " << http;
  EXPECT_EQ(a->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(b->Stop(SIGTERM, 10000), 0);
}

TEST_F(NodeBusTest, CleanStopTakesANodesUsersOfflineAtOnce) {
  // A presence TTL far longer than the waits below: only B's own removal explains them.
  std::unique_ptr<ServerProcess> a, b;
  ASSERT_NO_FATAL_FAILURE(StartNodes(&a, &b, {"--redis_presence_ttl_ms", "60000"}));
  BusListener bus(redis_.port());
  ASSERT_TRUE(bus.Listening());
  ASSERT_TRUE(WaitBusListeners(3));
  auto ann = ConnectMember(a->port(), "ann");
  ASSERT_TRUE(ann);
  auto bob = ConnectMember(b->port(), "bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(ProbePm(*ann, "u-bob", Delivered, 15s));
  const std::string node_b = NodeOf(bus, "u-bob");
  ASSERT_FALSE(node_b.empty()) << "B never announced bob";
  ASSERT_TRUE(NodesInRedis(2));

  ASSERT_EQ(b->Stop(SIGTERM, 10000), 0);
  // B said goodbye on the bus (bob's own session end would take him off A as well, so
  // the farewell is what this test is about).
  EXPECT_TRUE(Farewell(bus, node_b));
  EXPECT_TRUE(NodesInRedis(1));
  // Only A's presence hash is left (ann's).
  EXPECT_TRUE(WaitRedisReply({"KEYS", "tutti:{nodebus}:node:*"}, [](const redisReply* r) {
    return r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements == 1;
  }));
  EXPECT_TRUE(ProbePm(*ann, "u-bob", NotFound, 10s));
  EXPECT_EQ(a->Stop(SIGTERM, 10000), 0);
}

TEST_F(NodeBusTest, CleanStopSaysGoodbyeBeforeWaitingForADeafClient) {
  // B waits for close handshakes longer than its shutdown grace (3 s), and its client
  // never reads: the shutdown ends with that client still there. The farewell goes first.
  const std::string config = dir_b_ + "/slow-close.toml";
  {
    std::ofstream f(config);
    f << "close_timeout_ms = 60000\n";
  }
  std::unique_ptr<ServerProcess> a, b;
  ASSERT_NO_FATAL_FAILURE(
      StartNodes(&a, &b, {"--config", config, "--redis_presence_ttl_ms", "60000"}));
  BusListener bus(redis_.port());
  ASSERT_TRUE(bus.Listening());
  ASSERT_TRUE(WaitBusListeners(3));
  auto ann = ConnectMember(a->port(), "ann");
  ASSERT_TRUE(ann);
  const crypto::DevConnection dev = Mint(MemberRequest(b->port(), "deaf"));
  ASSERT_FALSE(dev.resource.empty());
  RawWs deaf;  // upgraded, then never reads a byte or answers a close
  ASSERT_TRUE(deaf.Open(b->port(), dev.resource));
  ASSERT_TRUE(ProbePm(*ann, "u-deaf", Delivered, 15s));
  const std::string node_b = NodeOf(bus, "u-deaf");
  ASSERT_FALSE(node_b.empty()) << "B never announced the deaf client";

  ASSERT_EQ(b->Stop(SIGTERM, 20000), 0) << b->output();
  EXPECT_TRUE(Farewell(bus, node_b)) << b->output();
  EXPECT_TRUE(NodesInRedis(1));
  // A dropped the deaf client's user with B, long before B's presence would expire.
  EXPECT_TRUE(ProbePm(*ann, "u-deaf", NotFound, 10s));
  EXPECT_EQ(a->Stop(SIGTERM, 10000), 0);
}

TEST_F(NodeBusTest, MetricsShowTheBusAndMalformedBytesAreDroppedWithoutALogLine) {
  std::unique_ptr<ServerProcess> a, b;
  ASSERT_NO_FATAL_FAILURE(StartNodes(&a, &b, {"--redis_presence_ttl_ms", "1500"}));
  auto ann = ConnectMember(a->port(), "ann");
  ASSERT_TRUE(ann);
  auto bob = ConnectMember(b->port(), "bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(ProbePm(*ann, "u-bob", Delivered, 15s));
  const uint16_t admin_a = AdminPort(*a);
  ASSERT_NE(admin_a, 0);
  std::string page;
  auto scrape = [&] { return page = AdminGet(admin_a, "/metrics").second; };
  EXPECT_TRUE(Eventually([&] {
    scrape();
    return Sample(page, "tutti_node_bus_up") == 1 && Sample(page, "tutti_node_bus_nodes") == 2;
  })) << page;
  // /status says the same.
  const std::string status = AdminGet(admin_a, "/status").second;
  EXPECT_NE(status.find("\"node_bus_up\":true,\"node_bus_nodes\":2"), std::string::npos) << status;
  EXPECT_GT(Sample(page, "tutti_node_bus_messages_published_total"), 0) << page;
  EXPECT_GT(Sample(page, "tutti_node_bus_messages_received_total"), 0) << page;
  EXPECT_EQ(Sample(page, "tutti_node_bus_malformed_total"), 0) << page;

  // A farewell whose node id is not UTF-8 (libprotobuf would log it), then bytes that
  // are no message at all: both dropped and counted, nothing in the log.
  const std::string bad_utf8("\x0a\x03\xff\xfe\xfd\x3a\x00", 7);
  for (const std::string& bytes : {bad_utf8, std::string("\xff\xff\xff junk")}) {
    ASSERT_TRUE(WaitRedisReply({"PUBLISH", "tutti:nodebus", bytes}, [](const redisReply* r) {
      int64_t n = 0;
      return server::redis::ReplyInteger(r, &n) && n == 2;
    }));
  }
  EXPECT_TRUE(Eventually([&] { return Sample(scrape(), "tutti_node_bus_malformed_total") == 2; }))
      << page;
  EXPECT_EQ(a->CountInOutput("UTF-8"), 0u) << a->output();
  EXPECT_EQ(a->CountInOutput("libprotobuf"), 0u) << a->output();
  // Bob is still known on A: nothing was applied.
  EXPECT_TRUE(ProbePm(*ann, "u-bob", Delivered, 15s));

  // Redis goes away: the bus is down.
  redis_.Stop(SIGKILL);
  EXPECT_TRUE(Eventually([&] { return Sample(scrape(), "tutti_node_bus_up") == 0; })) << page;
  EXPECT_NE(AdminGet(admin_a, "/status").second.find("\"node_bus_up\":false"), std::string::npos);
  EXPECT_EQ(a->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(b->Stop(SIGTERM, 10000), 0);
}

}  // namespace
}  // namespace tutti::testing
