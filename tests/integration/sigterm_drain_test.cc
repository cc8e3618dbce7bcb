// The real tutti-server binary drains on SIGTERM (server/maintenance.h): every client, on
// every shard, hears the countdown with the configured grace, then is closed with 1001 and a
// reconnect hint, and the process exits 0; a second signal during the countdown stops it at
// once.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "crypto/dev_connection.h"
#include "crypto/keys.h"
#include "server/clock.h"
#include "tests/testing/server_process.h"
#include "tools/client/client.h"

namespace tutti::testing {
namespace {

using namespace std::chrono_literals;

class SigtermDrain : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tutti-drain-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // `n` members connected to the server (keys made by its --dev start), with their shards.
  std::vector<std::unique_ptr<client::Client>> Clients(uint16_t port, int n,
                                                       std::vector<uint32_t>* shards) {
    std::vector<std::unique_ptr<client::Client>> out;
    auto issuer = crypto::LoadIssuerKeys(dir_);
    auto seal = crypto::LoadSealPublicKey(dir_);
    EXPECT_TRUE(issuer.ok() && seal.ok());
    if (!issuer.ok() || !seal.ok()) return out;
    for (int i = 0; i < n; ++i) {
      crypto::DevConnectionRequest req;
      req.user_id = "u-p" + std::to_string(i);
      req.name = "p" + std::to_string(i);
      req.member = true;
      req.port = port;
      auto dev = crypto::MintDevConnection(req, &*issuer, *seal, server::SystemClock().UnixMs());
      EXPECT_TRUE(dev.ok());
      auto c = std::make_unique<client::Client>();
      EXPECT_TRUE(c->Connect("127.0.0.1", port, dev->resource, 5s).ok);
      auto welcome = c->WaitFor(proto::ClientMessage::kWelcome, 10s);
      EXPECT_TRUE(welcome);
      if (!welcome) return out;
      shards->push_back(welcome->welcome().shard());
      out.push_back(std::move(c));
    }
    return out;
  }

  std::string dir_;
};

TEST_F(SigtermDrain, ClientsHearTheGraceThenGo1001AndTheProcessExitsZero) {
  ServerProcess server(TUTTI_SERVER_BIN, dir_, {"--drain-grace-s=1"});
  ASSERT_TRUE(server.Start()) << server.output();
  std::vector<uint32_t> shards;
  auto clients = Clients(server.port(), 6, &shards);
  ASSERT_EQ(clients.size(), 6u);
  ASSERT_EQ(kill(server.pid(), SIGTERM), 0);
  for (auto& c : clients) {
    auto notice = c->WaitFor(proto::ClientMessage::kServerNotice, 10s);
    ASSERT_TRUE(notice) << server.output();
    EXPECT_EQ(notice->server_notice().kind(), proto::ServerNotice::DRAIN);
    EXPECT_EQ(notice->server_notice().message(), "the server is restarting");
    EXPECT_EQ(notice->server_notice().seconds_left(), 1);
    uint16_t code = 0;
    std::string reason;
    ASSERT_TRUE(c->WaitClosed(30s, &code, &reason));
    EXPECT_EQ(code, 1001);
    EXPECT_EQ(reason, "server maintenance; reconnect in 5 s");
  }
  // No second signal: the process ends by itself once the drain is over.
  const int status = server.Stop(0, 30000);
  ASSERT_TRUE(WIFEXITED(status)) << server.output();
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(server.CountInOutput("SIGTERM received, draining"), 1u) << server.output();
}

TEST_F(SigtermDrain, ASecondSignalDuringTheCountdownStopsAtOnce) {
  ServerProcess server(TUTTI_SERVER_BIN, dir_, {"--drain-grace-s=600"});
  ASSERT_TRUE(server.Start()) << server.output();
  std::vector<uint32_t> shards;
  auto clients = Clients(server.port(), 4, &shards);
  ASSERT_EQ(clients.size(), 4u);
  ASSERT_EQ(kill(server.pid(), SIGTERM), 0);
  for (auto& c : clients) {
    auto notice = c->WaitFor(proto::ClientMessage::kServerNotice, 10s);
    ASSERT_TRUE(notice) << server.output();
    EXPECT_EQ(notice->server_notice().seconds_left(), 600);
  }
  const int status = server.Stop(SIGTERM, 20000);
  ASSERT_TRUE(WIFEXITED(status)) << server.output();
  EXPECT_EQ(WEXITSTATUS(status), 0);
  for (auto& c : clients) {
    uint16_t code = 0;
    ASSERT_TRUE(c->WaitClosed(10s, &code));
    EXPECT_EQ(code, 1001);
  }
}

}  // namespace
}  // namespace tutti::testing
