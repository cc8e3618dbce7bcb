// NodesTest: the fixture of the tests that run real tutti-server nodes against a real
// redis-server (rooms across nodes, Redis outages): a KeyedProcessTest (a temporary
// directory with a key set, made in SetUp, that is node A's data directory and both nodes'
// key set; member connections minted from it), a second data directory for node B, a
// redis-server started on a free loopback port in SetUp, node flags, the two nodes most
// tests run (StartNodes) and small waits. Every wait is bounded by a deadline; every
// process is started here and stopped by PID. The including test target defines
// TUTTI_SERVER_BIN (the tutti-server binary). Test code only; one test's thread.
#ifndef TUTTI_TESTS_REDIS_NODES_HARNESS_H_
#define TUTTI_TESTS_REDIS_NODES_HARNESS_H_

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "crypto/dev_connection.h"
#include "server/redis/redis_client.h"
#include "tests/testing/keyed_process_test.h"
#include "tests/testing/redis_process.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {

using namespace std::chrono_literals;

class NodesTest : public KeyedProcessTest {
 protected:
  NodesTest() : KeyedProcessTest("nodes") {}

  void SetUp() override {
    ASSERT_TRUE(RedisServerAvailable()) << "redis-server missing: run tools/setup.sh";
    ASSERT_NO_FATAL_FAILURE(KeyedProcessTest::SetUp());
    dir_a_ = dir_;
    char tmpl[] = "/tmp/tutti-nodes-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_b_ = tmpl;
    ASSERT_TRUE(redis_.Start());
  }
  void TearDown() override {
    // The nodes go before their data directories (SIGKILL unless the test stopped them).
    node_b_.reset();
    node_a_.reset();
    std::error_code ec;
    if (!dir_b_.empty()) std::filesystem::remove_all(dir_b_, ec);
    KeyedProcessTest::TearDown();
  }

  // Node flags: both nodes read node A's key set (made in SetUp) and keep their own store;
  // quotas high enough that the senders are never throttled.
  // The admin listener is on a free port (AdminPort reads it back; StartNode uses it).
  std::vector<std::string> NodeFlags(const std::string& data_dir,
                                     const std::string& admin = "127.0.0.1:0") {
    return {"--data",
            data_dir,
            "--keys",
            dir_a_,
            "--redis",
            redis_.address(),
            "--admin_listen",
            admin,
            "--chat_per_second",
            "1000",
            "--chat_burst",
            "1000",
            "--notes_per_second",
            "10000",
            "--note_burst",
            "10000"};
  }

  // Starts node A (data in dir_a_) and then node B (dir_b_), each with NodeFlags and then
  // `extra`, node B then `extra_b` (a flag given again takes the later value), and waits
  // until each is ready (StartNode). Call under ASSERT_NO_FATAL_FAILURE.
  void StartNodes(const std::vector<std::string>& extra = {},
                  const std::vector<std::string>& extra_b = {}) {
    const std::pair<std::unique_ptr<ServerProcess>*, const std::string*> nodes[] = {
        {&node_a_, &dir_a_}, {&node_b_, &dir_b_}};
    for (const auto& [node, dir] : nodes) {
      std::vector<std::string> flags = NodeFlags(*dir);
      flags.insert(flags.end(), extra.begin(), extra.end());
      if (node == &node_b_) flags.insert(flags.end(), extra_b.begin(), extra_b.end());
      *node = std::make_unique<ServerProcess>(TUTTI_SERVER_BIN, *dir, flags);
      if (node == &node_b_) (*node)->set_monotonic_offset_s(node_b_monotonic_offset_s_);
      ASSERT_TRUE(StartNode(**node)) << (*node)->output();
    }
  }

  // A signed-in member "u-<name>" on the node at `port`, past its Welcome (copied to
  // `welcome` when given). `resume`, when given, carries the resume fields of the payload.
  std::unique_ptr<client::Client> Connect(uint16_t port, const std::string& name,
                                          proto::Welcome* welcome = nullptr,
                                          const crypto::DevConnectionRequest* resume = nullptr) {
    crypto::DevConnectionRequest req = MemberRequest(port, name);
    if (resume != nullptr) {
      req.resume_token = resume->resume_token;
      req.resume_room = resume->resume_room;
      req.resume_epoch = resume->resume_epoch;
      req.resume_offset = resume->resume_offset;
    }
    auto c = std::make_unique<client::Client>();
    if (!c->Connect("127.0.0.1", port, Mint(req).resource).ok) return nullptr;
    auto w = c->WaitFor(proto::ClientMessage::kWelcome, 5s);
    if (!w) return nullptr;
    if (welcome != nullptr) *welcome = w->welcome();
    return c;
  }

  // Asks Redis `command` until `accept` takes the reply or 10 s pass (a probe connection
  // of its own). True when accepted.
  bool WaitRedisReply(const std::vector<std::string>& command,
                      const std::function<bool(const redisReply*)>& accept) {
    boost::asio::io_context io;
    server::redis::RedisClient probe(io, {"127.0.0.1", redis_.port()});
    probe.Start();
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    bool asked = false;
    bool done = false;
    std::vector<std::string_view> argv(command.begin(), command.end());
    while (!done && std::chrono::steady_clock::now() < deadline) {
      if (probe.connected() && !asked) {
        asked = true;
        probe.Command(argv, [&](const redisReply* r) {
          asked = false;
          done = accept(r);
        });
      }
      io.restart();
      io.run_for(5ms);
    }
    return done;
  }

  // Waits until Redis counts `n` subscribers (nodes) on the room's channel.
  bool WaitNodesSubscribed(const std::string& room, int64_t n) {
    boost::asio::io_context io;
    server::redis::RedisClient probe(io, {"127.0.0.1", redis_.port()});
    probe.Start();
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    int64_t seen = -1;
    bool asked = false;
    while (std::chrono::steady_clock::now() < deadline) {
      if (probe.connected() && !asked) {
        asked = true;
        probe.Command({"PUBSUB", "NUMSUB", "tutti:{" + room + "}"}, [&](const redisReply* r) {
          asked = false;
          if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
            server::redis::ReplyInteger(r->element[1], &seen);
          }
        });
      }
      if (seen == n) return true;
      io.restart();
      io.run_for(5ms);
    }
    return false;
  }

  // Static helpers, public so that free functions of a test can use them.
 public:
  // The admin listener's port a node printed at start (0 when it printed none).
  static uint16_t AdminPort(ServerProcess& node) {
    if (!node.WaitForOutput("admin listener on", 5000)) return 0;
    const std::string& out = node.output();
    const size_t at = out.find("(port ", out.find("admin listener on"));
    return at == std::string::npos ? 0 : static_cast<uint16_t>(std::atoi(out.c_str() + at + 6));
  }

  // The value of an unlabelled sample in a /metrics page (-1 when absent).
  static double Sample(const std::string& page, const std::string& name) {
    const size_t at = page.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::atof(page.c_str() + at + name.size() + 2);
  }

  // Starts `node` and waits until it is ready: /readyz says 200 once every shard reached
  // Redis (until then what needs Redis is refused with STREAM_UNAVAILABLE).
  static bool StartNode(ServerProcess& node) {
    if (!node.Start()) return false;
    const uint16_t admin = AdminPort(node);
    return admin != 0 && WaitReady(admin);
  }

  // Waits (bounded) until the node's /readyz says 200: each shard's engine reconnects on
  // its own backoff, so after an outage the node is ready only when the last one is back.
  static bool WaitReady(uint16_t admin) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (AdminGet(admin, "/readyz").first == 200) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  // One GET on the admin listener (HTTP/1.1, Connection: close): the status and the body,
  // or {0, ""} when the exchange fails.
  static std::pair<int, std::string> AdminGet(uint16_t port, const std::string& path) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket sock(io);
    boost::system::error_code ec;
    sock.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
    if (ec) return {0, ""};
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    boost::asio::write(sock, boost::asio::buffer(req), ec);
    if (ec) return {0, ""};
    std::string resp;
    char buf[4096];
    for (int i = 0; i < 1024; ++i) {  // bounded: the listener closes after one answer
      const size_t n = sock.read_some(boost::asio::buffer(buf), ec);
      resp.append(buf, n);
      if (ec) break;
    }
    if (resp.compare(0, 9, "HTTP/1.1 ") != 0) return {0, ""};
    const size_t body = resp.find("\r\n\r\n");
    return {std::atoi(resp.c_str() + 9), body == std::string::npos ? "" : resp.substr(body + 4)};
  }

  // Reads `c` until a message `want` accepts arrives (others are handed to `other`, when
  // given, and otherwise dropped) or the deadline passes.
  static std::optional<proto::ClientMessage> WaitMatching(
      client::Client& c, const std::function<bool(const proto::ClientMessage&)>& want,
      std::chrono::milliseconds timeout,
      const std::function<void(const proto::ClientMessage&)>& other = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto m = c.Next(200ms);
      if (!m) continue;
      if (want(*m)) return m;
      if (other) other(*m);
    }
    return std::nullopt;
  }

  // Reads `c` until it has seen `user` join (bounded).
  static bool SawJoin(client::Client& c, const std::string& user,
                      std::chrono::milliseconds timeout = 30s) {
    return WaitMatching(
               c,
               [&user](const proto::ClientMessage& m) {
                 return m.has_user_joined_room() &&
                        m.user_joined_room().user_info().user_id() == user;
               },
               timeout)
        .has_value();
  }

  // A chat command sent by `c` and answered "done" (a failure is recorded otherwise).
  static bool Done(client::Client& c, const std::string& command, const std::string& id) {
    if (!c.Send(ChatMsg(command, id))) return false;
    const proto::ClientMessage answer = Answer(c, id);
    EXPECT_TRUE(answer.has_command_result() && answer.command_result().ok())
        << command << ": " << answer.ShortDebugString();
    return answer.has_command_result() && answer.command_result().ok();
  }

 protected:
  RedisProcess redis_;
  std::string dir_a_;  // = dir_: node A's data and both nodes' key set
  std::string dir_b_;
  // The nodes StartNodes started (null before); tests may Stop them (SIGTERM or SIGKILL).
  std::unique_ptr<ServerProcess> node_a_;
  std::unique_ptr<ServerProcess> node_b_;
  // Set before StartNodes: node B's monotonic clock runs this far ahead of node A's, as
  // on another machine (ServerProcess::set_monotonic_offset_s).
  int64_t node_b_monotonic_offset_s_ = 0;
};

}  // namespace tutti::testing

#endif  // TUTTI_TESTS_REDIS_NODES_HARNESS_H_
