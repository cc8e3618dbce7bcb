// The real tutti-server binary with a configuration file (server/config_file.h): flags given
// on the command line override the file and --print-config shows the result; a refused file
// stops the start with EX_CONFIG naming its line; SIGHUP reloads a limit and the log level
// while connections stay open, and names what it could not reload.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "crypto/dev_connection.h"
#include "crypto/keys.h"
#include "server/clock.h"
#include "tests/testing/raw_ws.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_server.h"
#include "tools/client/client.h"

namespace tutti::testing {
namespace {

using namespace std::chrono_literals;

struct RunResult {
  int status = -1;
  std::string out;
};

// Runs the server binary with `args` (test constants, no shell metacharacters).
RunResult RunServer(const std::string& args) {
  RunResult r;
  FILE* p = ::popen((std::string(TUTTI_SERVER_BIN) + " " + args + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int raw = ::pclose(p);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

class ConfigReload : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tutti-config-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    file_ = dir_ + "/tutti.toml";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void Write(const std::string& text) {
    std::ofstream out(file_, std::ios::trunc);
    out << text;
  }
  std::unique_ptr<client::Client> Member(uint16_t port, const std::string& name) {
    auto issuer = crypto::LoadIssuerKeys(dir_);
    auto seal = crypto::LoadSealPublicKey(dir_);
    EXPECT_TRUE(issuer.ok() && seal.ok());
    if (!issuer.ok() || !seal.ok()) return nullptr;
    crypto::DevConnectionRequest req;
    req.user_id = "u-" + name;
    req.name = name;
    req.member = true;
    req.port = port;
    auto dev = crypto::MintDevConnection(req, &*issuer, *seal, server::SystemClock().UnixMs());
    auto c = std::make_unique<client::Client>();
    if (!dev.ok() || !c->Connect("127.0.0.1", port, dev->resource, 5s).ok) return nullptr;
    if (!c->WaitFor(proto::ClientMessage::kWelcome, 10s)) return nullptr;
    return c;
  }

  std::string dir_, file_;
};

TEST_F(ConfigReload, FlagsOverrideTheFileAndPrintConfigShowsTheResult) {
  Write("max_rooms = 77\nmax_chat_length = 99\nlisten_address = \"127.0.0.2\"\n");
  RunResult r = RunServer("--config " + file_ + " --max-rooms 5 --print-config");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("\nmax_rooms = 5  # (reload)\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nmax_chat_length = 99  # (reload)\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nlisten_address = \"127.0.0.2\"\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nchat_per_second = 2.0\n"), std::string::npos) << r.out;
  // What it prints is a configuration file that reads back.
  Write(r.out);
  RunResult again = RunServer("--config " + file_ + " --print-config");
  EXPECT_EQ(again.status, 0) << again.out;
  EXPECT_EQ(again.out, r.out);
}

TEST_F(ConfigReload, ResumeLimitsHaveKeysAndFlags) {
  Write("resume_grace_ms = 5000\nroom_history.max_events = 100\n");
  RunResult r = RunServer("--config " + file_ +
                          " --room-history-bytes 65536 --room-history-age-ms 7000 --print-config");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("\nresume_grace_ms = 5000\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nroom_history.max_events = 100\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nroom_history.max_bytes = 65536\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nroom_history.max_age_us = 7000000\n"), std::string::npos) << r.out;
  RunResult flag = RunServer("--config " + file_ + " --resume-grace-ms 0 --print-config");
  EXPECT_EQ(flag.status, 0) << flag.out;
  EXPECT_NE(flag.out.find("\nresume_grace_ms = 0\n"), std::string::npos) << flag.out;
  // Out of range: refused, by name, before anything starts.
  RunResult big = RunServer("--resume-grace-ms 3600001 --print-config");
  EXPECT_NE(big.status, 0) << big.out;
  EXPECT_NE(big.out.find("--resume-grace-ms"), std::string::npos) << big.out;
  RunResult huge = RunServer("--room-history-age-ms 9223372036854775807 --print-config");
  EXPECT_NE(huge.status, 0) << huge.out;
  EXPECT_NE(huge.out.find("--room-history-age-ms"), std::string::npos) << huge.out;
  Write("resume_grace_ms = -1\n");
  RunResult file = RunServer("--config " + file_ + " --print-config");
  EXPECT_EQ(file.status, 78) << file.out;
  EXPECT_NE(file.out.find("line 1"), std::string::npos) << file.out;
}

TEST_F(ConfigReload, RedisPrimariesAndPresenceTtlHaveKeysAndFlags) {
  Write("redis = \"127.0.0.1:6379,127.0.0.1:6380\"\nredis_presence_ttl_ms = 2000\n");
  RunResult r = RunServer("--config " + file_ + " --print-config");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("\nredis = \"127.0.0.1:6379,127.0.0.1:6380\"\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\nredis_presence_ttl_ms = 2000\n"), std::string::npos) << r.out;
  RunResult flag = RunServer("--config " + file_ + " --redis 127.0.0.1:7000 --print-config");
  EXPECT_EQ(flag.status, 0) << flag.out;
  EXPECT_NE(flag.out.find("\nredis = \"127.0.0.1:7000\"\n"), std::string::npos) << flag.out;
  // A primary that is not HOST:PORT is refused from the file as from the flag.
  Write("redis = \"127.0.0.1:6379,nohost\"\n");
  RunResult bad = RunServer("--config " + file_ + " --print-config");
  EXPECT_NE(bad.status, 0) << bad.out;
  EXPECT_NE(bad.out.find("wants HOST:PORT, not nohost"), std::string::npos) << bad.out;
  Write("redis_presence_ttl_ms = 100\n");
  RunResult low = RunServer("--config " + file_ + " --print-config");
  EXPECT_EQ(low.status, 78) << low.out;
  EXPECT_NE(low.out.find("line 1"), std::string::npos) << low.out;
}

TEST_F(ConfigReload, ARefusedFileStopsTheStartNamingTheLine) {
  Write("max_rooms = 5\nmax_room = 6\n");
  RunResult r = RunServer("--config " + file_ + " --dev --keys " + dir_ + " --data " + dir_);
  EXPECT_EQ(r.status, 78) << r.out;
  EXPECT_NE(r.out.find("line 2: unknown key 'max_room'"), std::string::npos) << r.out;
  RunResult missing = RunServer("--config " + dir_ + "/nope.toml --print-config");
  EXPECT_EQ(missing.status, 78) << missing.out;
  EXPECT_NE(missing.out.find("cannot read the config file"), std::string::npos) << missing.out;
}

TEST_F(ConfigReload, SighupChangesALimitWithoutDroppingAConnection) {
  Write("max_chat_length = 512\n");
  ServerProcess server(TUTTI_SERVER_BIN, dir_, {"--config", file_});
  ASSERT_TRUE(server.Start()) << server.output();
  auto alice = Member(server.port(), "alice");
  auto bob = Member(server.port(), "bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(JoinRoom(*alice, "Hall"));
  ASSERT_TRUE(JoinRoom(*bob, "Hall"));
  const std::string line = "0123456789abcdefghijklmnopqrstuvwxyz";
  ASSERT_TRUE(alice->Send(ChatMsg(line)));
  auto heard = bob->WaitFor(proto::ClientMessage::kRoomChatMessage, 10s);
  ASSERT_TRUE(heard);
  EXPECT_EQ(heard->room_chat_message().message(), line);

  // Chat is cut at 10 bytes from now on; idle_timeout_ms needs a restart.
  Write("max_chat_length = 10\nidle_timeout_ms = 120000\n");
  ASSERT_EQ(kill(server.pid(), SIGHUP), 0);
  ASSERT_TRUE(server.WaitForOutput("SIGHUP: reloaded max_chat_length;", 20000)) << server.output();
  EXPECT_TRUE(server.WaitForOutput("not reloaded (restart to apply): idle_timeout_ms", 5000))
      << server.output();
  ASSERT_TRUE(alice->Send(ChatMsg(line)));
  heard = bob->WaitFor(proto::ClientMessage::kRoomChatMessage, 10s);
  ASSERT_TRUE(heard);
  EXPECT_EQ(heard->room_chat_message().message(), "0123456789");
  EXPECT_TRUE(alice->is_open() && bob->is_open());

  // A broken file on SIGHUP changes nothing and says why; the server goes on.
  Write("max_chat_length = ten\n");
  ASSERT_EQ(kill(server.pid(), SIGHUP), 0);
  EXPECT_TRUE(server.WaitForOutput("configuration not reloaded: ", 20000)) << server.output();
  ASSERT_TRUE(alice->Send(ChatMsg(line)));
  heard = bob->WaitFor(proto::ClientMessage::kRoomChatMessage, 10s);
  ASSERT_TRUE(heard);
  EXPECT_EQ(heard->room_chat_message().message(), "0123456789");
  EXPECT_EQ(server.Stop(SIGTERM, 20000), 0) << server.output();
}

// log_level is reloaded: at info a connection's opening is written, after SIGHUP with
// "warn" it is not while a warn line (a refused upgrade) still is; the reload says it
// reloaded log_level (stdout and a structured config.reload line). A level that is not
// one is refused on SIGHUP and changes nothing.
TEST_F(ConfigReload, SighupChangesTheLogLevel) {
  Write("log_level = \"info\"\n");
  ServerProcess server(TUTTI_SERVER_BIN, dir_, {"--config", file_});
  ASSERT_TRUE(server.Start()) << server.output();
  auto alice = Member(server.port(), "alice");
  ASSERT_TRUE(alice);
  EXPECT_TRUE(server.WaitForOutput("user=u-alice", 10000)) << server.output();

  Write("log_level = \"warn\"\n");
  ASSERT_EQ(kill(server.pid(), SIGHUP), 0);
  ASSERT_TRUE(server.WaitForOutput("SIGHUP: reloaded log_level;", 20000)) << server.output();
  EXPECT_TRUE(server.WaitForOutput("event=config.reload reloaded=log_level", 5000))
      << server.output();
  auto bob = Member(server.port(), "bob");
  ASSERT_TRUE(bob);
  // A round trip on bob's connection: the upgrade's handler (which logs) has returned.
  ASSERT_TRUE(JoinRoom(*bob, "Hall"));
  // A warn line after it is written...
  RawWs raw;
  ASSERT_TRUE(raw.ConnectTcp(server.port()));
  EXPECT_EQ(raw.Upgrade("/api/websocket/AAAA").status, 400);
  ASSERT_TRUE(server.WaitForOutput("event=conn.refused", 10000)) << server.output();
  // ... bob's opening (info) was not.
  EXPECT_EQ(server.CountInOutput("user=u-bob"), 0u) << server.output();
  EXPECT_EQ(server.CountInOutput("event=conn.open"), 1u) << server.output();

  Write("log_level = \"loud\"\n");
  ASSERT_EQ(kill(server.pid(), SIGHUP), 0);
  EXPECT_TRUE(server.WaitForOutput("configuration not reloaded: log_level", 20000))
      << server.output();
  EXPECT_TRUE(alice->is_open() && bob->is_open());
  EXPECT_EQ(server.Stop(SIGTERM, 20000), 0) << server.output();
}

}  // namespace
}  // namespace tutti::testing
