// The real tutti-server binary tells its supervisor what it is doing over NOTIFY_SOCKET (the
// sd_notify protocol contrib/systemd/tutti.service relies on, Type=notify): READY=1 once it
// listens (and only then: the port it reports already takes connections), RELOADING=1 and
// READY=1 around a SIGHUP reload, STOPPING=1 when SIGTERM's drain starts. The socket is the
// test's own, on a private path.
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "tests/testing/raw_ws.h"
#include "tests/testing/server_process.h"

namespace tutti::testing {
namespace {

using namespace std::chrono_literals;

class ServiceNotify : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tutti-notify-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/notify";
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd_, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    ASSERT_LT(path_.size(), sizeof(addr.sun_path));
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    ASSERT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  }
  void TearDown() override {
    if (fd_ >= 0) close(fd_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // The next datagram, or "" when none comes within `timeout`.
  std::string Next(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return "";
    char buf[4096];
    const ssize_t n = recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

  std::string dir_, path_;
  int fd_ = -1;
};

TEST_F(ServiceNotify, ReadyAfterListeningReloadingAroundSighupStoppingOnDrain) {
  ServerProcess server(TUTTI_SERVER_BIN, dir_, {"--drain-grace-s=1"});
  // The child inherits the variable; this process does not keep it.
  ASSERT_EQ(setenv("NOTIFY_SOCKET", path_.c_str(), 1), 0);
  const bool started = server.Start();
  unsetenv("NOTIFY_SOCKET");
  ASSERT_TRUE(started) << server.output();

  const std::string ready = Next(20s);
  ASSERT_EQ(ready.rfind("READY=1\n", 0), 0u) << ready;
  EXPECT_NE(ready.find("STATUS=listening on port " + std::to_string(server.port())),
            std::string::npos)
      << ready;
  RawWs probe;  // ready means the port takes connections
  EXPECT_TRUE(probe.ConnectTcp(server.port()));

  ASSERT_EQ(kill(server.pid(), SIGHUP), 0);
  EXPECT_EQ(Next(20s), "RELOADING=1");
  EXPECT_EQ(Next(20s).rfind("READY=1\n", 0), 0u);

  ASSERT_EQ(kill(server.pid(), SIGTERM), 0);
  const std::string stopping = Next(20s);
  EXPECT_EQ(stopping.rfind("STOPPING=1\n", 0), 0u) << stopping;
  EXPECT_NE(stopping.find("draining"), std::string::npos) << stopping;
  EXPECT_EQ(server.Stop(0, 30000), 0) << server.output();
}

TEST_F(ServiceNotify, NothingIsSentWithoutNotifySocket) {
  unsetenv("NOTIFY_SOCKET");
  ServerProcess server(TUTTI_SERVER_BIN, dir_);
  ASSERT_TRUE(server.Start()) << server.output();
  ASSERT_TRUE(server.WaitForOutput("at most ", 10000)) << server.output();
  EXPECT_EQ(server.Stop(SIGTERM, 20000), 0);
  EXPECT_EQ(Next(100ms), "");  // the test's socket heard nothing
}

}  // namespace
}  // namespace tutti::testing
