// The door under a hostile peer, against a real in-process server on loopback: the
// per-address connection cap (and its guest cap), the per-address bucket of upgrade
// attempts, the exempt networks, the global ceiling, control-frame floods, and what
// already held before them (silent and slowloris connections, protocol violations,
// giant headers, churn) so that it stays held. Counts what the server answered;
// never how fast.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/raw_ws.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

using namespace std::chrono_literals;

// A test's own server whose door is not exempted for loopback.
std::unique_ptr<TestServer> DoorServer(const std::function<void(server::ServerConfig&)>& more) {
  return std::make_unique<TestServer>(2, [&](server::ServerConfig& c) {
    c.exempt_networks = "";
    c.upgrades_per_second_per_address = 0;  // each test turns on what it tests
    c.max_connections_per_address = 0;
    c.max_guests_per_address = 0;
    if (more) more(c);
  });
}

UserSpec Member(const std::string& name) {
  UserSpec u;
  u.name = name;
  return u;
}

UserSpec Guest(const std::string& name) {
  UserSpec u;
  u.name = name;
  u.guest = true;
  u.member = false;
  return u;
}

// Opens a WebSocket from `source` (a loopback address) and returns the HTTP answer; the
// connection stays open in *out when it was upgraded.
HttpResponse OpenFrom(TestServer& server, const std::string& source, const UserSpec& user,
                      std::unique_ptr<RawWs>* out) {
  auto ws = std::make_unique<RawWs>();
  ws->set_source_address(source);
  HttpResponse r;
  if (!ws->ConnectTcp(server.port())) {
    ADD_FAILURE() << "connect from " << source << " failed";
    return r;
  }
  r = ws->Upgrade(server.Resource(user));
  if (out) *out = std::move(ws);
  return r;
}

// The door counts a connection until its object is gone, which follows the close by a
// loop turn or two: wait for the count, bounded.
bool WaitForOpenConnections(TestServer& server, size_t expected) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (server.server().connection_limits().stats().open == expected) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

TEST(DoorLimits, ConnectionPastTheAddressCapGets429WhileAnotherAddressIsServed) {
  auto server = DoorServer([](server::ServerConfig& c) { c.max_connections_per_address = 3; });
  std::vector<std::unique_ptr<RawWs>> held(3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(OpenFrom(*server, "127.0.0.1", Member("a" + std::to_string(i)), &held[i]).status,
              101);
  }
  HttpResponse refused = OpenFrom(*server, "127.0.0.1", Member("a3"), nullptr);
  EXPECT_EQ(refused.status, 429);
  EXPECT_FALSE(refused.headers["retry-after"].empty());
  EXPECT_NE(refused.body.find("too many connections from your address"), std::string::npos)
      << refused.body;
  std::unique_ptr<RawWs> other;
  EXPECT_EQ(OpenFrom(*server, "127.0.0.2", Member("b0"), &other).status, 101);

  // A slot given back is a slot to take again.
  held[0]->CloseSocket();
  ASSERT_TRUE(WaitForOpenConnections(*server, 3));
  EXPECT_EQ(OpenFrom(*server, "127.0.0.1", Member("a4"), &held[0]).status, 101);
}

// A TCP connection from `source` that sends nothing; returns what the server said
// before closing (empty if it said nothing within the deadline).
std::string SilentAnswerFrom(uint16_t port, const std::string& source) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  std::string answer;
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0 &&
      connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) == 0) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[512];
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      answer.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return answer;
}

TEST(DoorLimits, SilentConnectionsPastTheAddressCapAreRefusedAtAccept) {
  auto server = DoorServer([](server::ServerConfig& c) { c.max_connections_per_address = 3; });
  std::vector<std::unique_ptr<RawWs>> held(4);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(OpenFrom(*server, "127.0.0.1", Member("a" + std::to_string(i)), &held[i]).status,
              101);
  }
  // Without sending a byte, the next ones are answered and closed: they cannot sit on
  // descriptors until the handshake limit.
  for (int i = 0; i < 3; ++i) {
    const std::string answer = SilentAnswerFrom(server->port(), "127.0.0.1");
    EXPECT_EQ(answer.rfind("HTTP/1.1 429", 0), 0u) << answer;
    EXPECT_NE(answer.find("Retry-After: 5"), std::string::npos) << answer;
  }
  ASSERT_TRUE(WaitForOpenConnections(*server, 3));
  EXPECT_EQ(OpenFrom(*server, "127.0.0.2", Member("b0"), &held[3]).status, 101);
}

TEST(DoorLimits, GuestsHaveTheirOwnTighterCap) {
  auto server = DoorServer([](server::ServerConfig& c) {
    c.max_connections_per_address = 10;
    c.max_guests_per_address = 2;
  });
  std::vector<std::unique_ptr<RawWs>> held(4);
  EXPECT_EQ(OpenFrom(*server, "127.0.0.1", Guest("g0"), &held[0]).status, 101);
  EXPECT_EQ(OpenFrom(*server, "127.0.0.1", Guest("g1"), &held[1]).status, 101);
  HttpResponse refused = OpenFrom(*server, "127.0.0.1", Guest("g2"), nullptr);
  EXPECT_EQ(refused.status, 429);
  EXPECT_NE(refused.body.find("too many guests"), std::string::npos) << refused.body;
  // Members from the same address are still welcome, and so are guests elsewhere.
  EXPECT_EQ(OpenFrom(*server, "127.0.0.1", Member("m0"), &held[2]).status, 101);
  EXPECT_EQ(OpenFrom(*server, "127.0.0.2", Guest("g3"), &held[3]).status, 101);
}

TEST(DoorLimits, TheAttemptBucketRefusesABurstBeforeAnyCrypto) {
  // One token per 1,000 s: the bucket cannot refill during the test, however slow.
  auto server = DoorServer([](server::ServerConfig& c) {
    c.upgrades_per_second_per_address = 0.001;
    c.upgrade_burst_per_address = 5;
  });
  for (int i = 0; i < 5; ++i) {
    RawWs ws;
    ASSERT_TRUE(ws.ConnectTcp(server->port()));
    // Failed attempts count too: it is the work of opening the box that is limited.
    EXPECT_EQ(ws.Upgrade("/api/websocket/not-a-payload").status, 400) << i;
  }
  RawWs ws;
  ASSERT_TRUE(ws.ConnectTcp(server->port()));
  // A payload that the gate would answer 400 gets 429: the bucket comes first.
  HttpResponse refused = ws.Upgrade("/api/websocket/not-a-payload");
  EXPECT_EQ(refused.status, 429);
  EXPECT_GE(std::stoi(refused.headers["retry-after"]), 1);
  EXPECT_EQ(server->server().connection_limits().stats().refused_attempts, 1u);
  // Another address has a bucket of its own.
  std::unique_ptr<RawWs> other;
  EXPECT_EQ(OpenFrom(*server, "127.0.0.2", Member("other"), &other).status, 101);
}

TEST(DoorLimits, ExemptNetworksHaveNoPerAddressLimits) {
  auto server = DoorServer([](server::ServerConfig& c) {
    c.max_connections_per_address = 1;
    c.max_guests_per_address = 1;
    c.upgrades_per_second_per_address = 0.001;
    c.upgrade_burst_per_address = 1;
    c.exempt_networks = "10.0.0.0/8, 127.0.0.3/32";
  });
  std::vector<std::unique_ptr<RawWs>> held(5);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(OpenFrom(*server, "127.0.0.3", Guest("x" + std::to_string(i)), &held[i]).status, 101);
  }
  EXPECT_EQ(OpenFrom(*server, "127.0.0.1", Member("y0"), &held[4]).status, 101);
  EXPECT_EQ(OpenFrom(*server, "127.0.0.1", Member("y1"), nullptr).status, 429);
}

TEST(DoorLimits, AServerBadlyConfiguredWithABadNetworkDoesNotStart) {
  char tmpl[] = "/tmp/tutti-door-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  server::ServerConfig config;
  config.port = 0;
  config.shards = 1;
  config.data_dir = tmpl;
  config.exempt_networks = "127.0.0.0/8, not-a-network";
  ASSERT_TRUE(crypto::GenerateKeyFiles(tmpl, false).ok());
  auto keys = crypto::LoadServerKeys(tmpl);
  ASSERT_TRUE(keys.ok());
  server::Server s(config, std::move(*keys), std::make_shared<server::SystemClock>());
  absl::Status st = s.Start();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("not-a-network"), std::string::npos) << st;

  // A rate with a burst below one token would refuse every upgrade forever.
  config.exempt_networks = "";
  config.upgrade_burst_per_address = 0;
  auto keys2 = crypto::LoadServerKeys(tmpl);
  ASSERT_TRUE(keys2.ok());
  server::Server s2(config, std::move(*keys2), std::make_shared<server::SystemClock>());
  st = s2.Start();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("upgrade_burst_per_address"), std::string::npos) << st;
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
}

TEST(DoorLimits, TheGlobalCeilingAnswers503WithRetryAfter) {
  auto server = DoorServer([](server::ServerConfig& c) { c.max_connections = 2; });
  std::vector<std::unique_ptr<RawWs>> held(3);
  EXPECT_EQ(OpenFrom(*server, "127.0.0.1", Member("a"), &held[0]).status, 101);
  EXPECT_EQ(OpenFrom(*server, "127.0.0.2", Member("b"), &held[1]).status, 101);
  HttpResponse refused = OpenFrom(*server, "127.0.0.3", Member("c"), nullptr);
  EXPECT_EQ(refused.status, 503);
  EXPECT_FALSE(refused.headers["retry-after"].empty());
  EXPECT_EQ(refused.body, "server full, try later\n");
  EXPECT_EQ(server->server().connection_limits().stats().refused_full, 1u);
  // One that says nothing is answered and closed all the same.
  const std::string silent = SilentAnswerFrom(server->port(), "127.0.0.4");
  EXPECT_EQ(silent.rfind("HTTP/1.1 503", 0), 0u) << silent;
  held[0]->CloseSocket();
  ASSERT_TRUE(WaitForOpenConnections(*server, 1));
  EXPECT_EQ(OpenFrom(*server, "127.0.0.3", Member("c"), &held[2]).status, 101);
}

TEST(DoorLimits, APingFloodIsClosedWith1008AndOthersAreServed) {
  // The burst as configured, and no refill that a slow run could add to it.
  auto server = DoorServer([](server::ServerConfig& c) {
    c.control_frames_per_second = 0.001;
    c.control_frame_burst = 20;
  });
  auto alice = server->Connect("alice");
  auto bob = server->Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(JoinRoom(*alice, "Flood"));
  ASSERT_TRUE(JoinRoom(*bob, "Flood"));

  RawWs flooder;
  ASSERT_TRUE(flooder.Open(server->port(), server->Resource(Member("flooder"))));
  std::string burst;
  for (int i = 0; i < 200; ++i) burst += EncodeClientFrame(kOpPing, "x");
  flooder.SendBytes(burst);  // may fail part-way once the server has closed: fine
  int pongs = 0;
  std::optional<WsFrame> close;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!close && std::chrono::steady_clock::now() < deadline) {
    std::optional<WsFrame> f = flooder.ReadFrame(1s);
    if (!f) break;
    if (f->opcode == kOpPong) ++pongs;
    if (f->opcode == kOpClose) close = f;
  }
  ASSERT_TRUE(close.has_value()) << "no close frame after " << pongs << " pongs";
  EXPECT_EQ(close->close_code(), 1008);
  EXPECT_LE(pongs, 20);  // the burst, never 200

  ASSERT_TRUE(alice->Send(ChatMsg("still here?")));
  auto heard = bob->WaitFor(proto::ClientMessage::kRoomChatMessage, 5s);
  ASSERT_TRUE(heard);
  EXPECT_EQ(heard->room_chat_message().message(), "still here?");
}

TEST(DoorLimits, PingsWithinTheBucketAreAnswered) {
  auto server = DoorServer(nullptr);
  RawWs ws;
  ASSERT_TRUE(ws.Open(server->port(), server->Resource(Member("pinger"))));
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(ws.SendFrame(kOpPing, "p" + std::to_string(i)));
    std::optional<WsFrame> f;
    do {
      f = ws.ReadFrame(5s);
    } while (f && f->opcode != kOpPong && f->opcode != kOpClose);
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->opcode, kOpPong);
    EXPECT_EQ(f->payload, "p" + std::to_string(i));
  }
}

}  // namespace
}  // namespace tutti::testing
