// A real Prometheus server (Debian's prometheus package) scrapes the admin listener of a
// real Tutti server: the test writes a scrape config (1 s interval) into a temporary
// directory, starts prometheus on a free 127.0.0.1 port with its storage there, drives
// two members into a room, and asks Prometheus's HTTP API (PromQL) until the expected
// series come back, within a bounded deadline. Skipped, with the reason printed, only
// when the prometheus binary is missing or cannot start. Ends only the process it
// started, by PID.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "server/admin_listener.h"
#include "tests/testing/admin_http.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

// A port nothing listens on now (the kernel's pick for a socket bound and closed).
uint16_t FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::string UrlEncode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '_' || c == '-' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// prometheus as a child process; stopped (SIGTERM, then SIGKILL) by its PID.
class PrometheusProcess {
 public:
  ~PrometheusProcess() { Stop(); }

  bool Start(const std::string& dir, uint16_t port) {
    const std::string config = dir + "/prometheus.yml";
    log_ = dir + "/prometheus.log";
    pid_ = ::fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      const int out = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (out >= 0) {
        ::dup2(out, 1);
        ::dup2(out, 2);
      }
      const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(port);
      const std::string cfg = "--config.file=" + config;
      const std::string data = "--storage.tsdb.path=" + dir + "/data";
      ::execlp("prometheus", "prometheus", cfg.c_str(), data.c_str(), listen.c_str(),
               "--log.level=warn", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    return true;
  }
  bool Running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }
  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {  // up to 10 s for a clean exit
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string Log() const {
    std::ifstream in(log_);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

TEST(PrometheusScrape, ARealPrometheusScrapesTheAdminListenerAndAnswersPromQL) {
  if (std::system("command -v prometheus >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "prometheus not found (Debian package prometheus; tools/setup.sh installs it)";
  }
  TestServer ts(2);
  server::AdminListener admin(&ts.server());
  ASSERT_TRUE(admin.Start("127.0.0.1:0").ok());
  {
    std::ofstream yml(ts.dir() + "/prometheus.yml");
    yml << "global:\n"
           "  scrape_interval: 1s\n"
           "  scrape_timeout: 1s\n"
           "  evaluation_interval: 1s\n"
           "scrape_configs:\n"
           "  - job_name: tutti\n"
           "    static_configs:\n"
           "      - targets: ['127.0.0.1:"
        << admin.port() << "']\n";
  }
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(JoinRoom(*alice, "Scraped"));
  ASSERT_TRUE(JoinRoom(*bob, "Scraped"));
  ASSERT_TRUE(alice->Send(MidiMsg(std::string("\x90\x3c\x60", 3))));

  // The port is free when picked; should another process take it before prometheus
  // binds, prometheus exits and a second port is tried.
  PrometheusProcess prom;
  uint16_t port = 0;
  bool up = false;
  for (int attempt = 0; attempt < 2 && !up; ++attempt) {
    port = FreeLoopbackPort();
    ASSERT_NE(port, 0);
    ASSERT_TRUE(prom.Start(ts.dir(), port));
    // Up when its readiness endpoint answers 200 (bounded: 60 s on a loaded machine).
    up = WaitUntil([&] { return prom.Running() && AdminGet(port, "/-/ready").status == 200; }, 60s);
    if (!up) prom.Stop();
  }
  if (!up) GTEST_SKIP() << "prometheus did not start; its log:\n" << prom.Log();

  auto query = [&](const std::string& promql) {
    return AdminGet(port, "/api/v1/query?query=" + UrlEncode(promql)).body;
  };
  // The target is scraped and the series are there with the values the server has.
  std::string last;
  EXPECT_TRUE(WaitUntil(
      [&] {
        last = query("up{job=\"tutti\"}");
        return last.find("\"status\":\"success\"") != std::string::npos &&
               last.find("\"1\"]") != std::string::npos;
      },
      30s))
      << last << "\n"
      << prom.Log();
  EXPECT_TRUE(WaitUntil(
      [&] {
        last = query("tutti_room_members{job=\"tutti\"}");
        return last.find("\"__name__\":\"tutti_room_members\"") != std::string::npos &&
               last.find(",\"2\"]") != std::string::npos;
      },
      30s))
      << last;
  // A PromQL aggregation over a labelled family: MIDI frames in, by kind.
  EXPECT_TRUE(WaitUntil(
      [&] {
        last = query("sum by (kind) (tutti_frames_in_total{kind=\"midi_message\"})");
        return last.find("\"kind\":\"midi_message\"") != std::string::npos &&
               last.find(",\"1\"]") != std::string::npos;
      },
      30s))
      << last;
  // And a histogram the dashboard draws from.
  EXPECT_TRUE(WaitUntil(
      [&] {
        last = query("histogram_quantile(0.5, sum by (le) (tutti_join_latency_seconds_bucket))");
        return last.find("\"resultType\":\"vector\"") != std::string::npos &&
               last.find("\"value\":[") != std::string::npos;
      },
      30s))
      << last;
  prom.Stop();
}

}  // namespace
}  // namespace tutti::testing
