// The admin listener (server/admin_listener.h) against a real server on 127.0.0.1: real
// WebSocket clients join rooms, get refused at the door and send garbage, and a plain
// HTTP client scrapes /metrics, /status, /healthz and /readyz on the admin port and sees
// the counters move. promtool (Debian's prometheus package) checks a real scrape. The
// admin port refuses what it does not serve; the public port does not serve metrics.

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "server/admin_listener.h"
#include "tests/testing/admin_fixture.h"
#include "tests/testing/admin_http.h"
#include "tests/testing/raw_ws.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

// The shared admin-port client (tests/testing/admin_http.h), under this file's short names.
using Answer = AdminAnswer;
Answer Http(uint16_t port, const std::string& request) { return AdminRequest(port, request); }
Answer Get(uint16_t port, const std::string& path) { return AdminGet(port, path); }

class AdminListenerTest : public AdminListenerFixture {
 protected:
  void SetUp() override {
    server_ = std::make_unique<TestServer>(2, [](server::ServerConfig& c) {
      c.exempt_networks = "";  // loopback is exempt from the door's limits otherwise
      c.upgrades_per_second_per_address = 0;
      c.max_connections_per_address = 0;
      c.max_guests_per_address = 1;  // a second guest from one address is refused (429)
    });
    ASSERT_NO_FATAL_FAILURE(StartAdmin());
  }
  // Scrapes until `series` is at least `want`, for at most 10 s.
  bool WaitSeries(const std::string& series, double want) {
    return WaitUntil([&] { return Scrape()[series] >= want; }, std::chrono::seconds(10));
  }
};

TEST_F(AdminListenerTest, CountersMoveAsClientsJoinGetRefusedAndMisbehave) {
  const auto before = Scrape();
  EXPECT_EQ(before.at("tutti_shards"), 2);
  EXPECT_EQ(before.at("tutti_connections_opened_total"), 0);
  EXPECT_EQ(before.at("tutti_ready"), 1);

  // Two members meet in a room.
  auto alice = server_->Connect("alice");
  auto bob = server_->Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(JoinRoom(*alice, "Metrics"));
  ASSERT_TRUE(JoinRoom(*bob, "Metrics"));

  // A bad payload: 400 from the gate.
  RawWs bad;
  ASSERT_TRUE(bad.ConnectTcp(server_->port()));
  EXPECT_EQ(bad.Upgrade("/api/websocket/not-a-payload").status, 400);
  // Two guests from one address: the second is refused with 429.
  UserSpec g1{"g1", "", false, true, {}, 3600};
  UserSpec g2{"g2", "", false, true, {}, 3600};
  RawWs guest1, guest2;
  guest1.set_source_address("127.0.0.3");
  guest2.set_source_address("127.0.0.3");
  ASSERT_TRUE(guest1.ConnectTcp(server_->port()));
  EXPECT_EQ(guest1.Upgrade(server_->Resource(g1)).status, 101);
  ASSERT_TRUE(guest2.ConnectTcp(server_->port()));
  EXPECT_EQ(guest2.Upgrade(server_->Resource(g2)).status, 429);
  // Garbage from a session: a malformed strike, answered with MALFORMED_MESSAGE.
  ASSERT_TRUE(guest1.SendBinary("\xff\xff\xff garbage"));

  EXPECT_TRUE(WaitSeries("tutti_room_joins_total", 2));
  EXPECT_TRUE(WaitSeries("tutti_connections_opened_total", 3));
  EXPECT_TRUE(WaitSeries("tutti_upgrade_refusals_total{status=\"400\",reason=\"auth\"}", 1));
  EXPECT_TRUE(WaitSeries("tutti_upgrade_refusals_total{status=\"429\",reason=\"guests_full\"}", 1));
  EXPECT_TRUE(WaitSeries("tutti_malformed_messages_total", 1));
  EXPECT_TRUE(WaitSeries("tutti_errors_sent_total{code=\"MALFORMED_MESSAGE\"}", 1));
  EXPECT_TRUE(WaitSeries("tutti_frames_in_total{kind=\"server_command\"}", 2));
  EXPECT_TRUE(WaitSeries("tutti_bytes_in_total{kind=\"server_command\"}", 2));
  EXPECT_TRUE(WaitSeries("tutti_rooms", 1));
  EXPECT_TRUE(WaitSeries("tutti_room_members", 2));

  // A client leaves with a normal close: counted by the code the server sent back.
  alice.reset();
  EXPECT_TRUE(WaitSeries("tutti_connections_closed_total{code=\"1000\"}", 1));
  EXPECT_TRUE(WaitSeries("tutti_room_leaves_total", 1));

  // Every shard's loop probe runs, and the process figures are there.
  EXPECT_TRUE(WaitSeries("tutti_event_loop_probes_total{shard=\"0\"}", 1));
  EXPECT_TRUE(WaitSeries("tutti_event_loop_probes_total{shard=\"1\"}", 1));
  const auto after = Scrape();
  EXPECT_GT(after.at("process_open_fds"), 0);
  EXPECT_GT(after.at("process_resident_memory_bytes"), 0);
  EXPECT_EQ(after.count("tutti_event_loop_lag_seconds{shard=\"1\"}"), 1u);

  // The JSON status says the same.
  Answer status = Get(admin_->port(), "/status");
  ASSERT_EQ(status.status, 200);
  EXPECT_NE(status.head.find("application/json"), std::string::npos);
  EXPECT_NE(status.body.find("\"version\":\"tutti/"), std::string::npos) << status.body;
  EXPECT_NE(status.body.find("\"rooms\":1"), std::string::npos) << status.body;
  EXPECT_NE(status.body.find("{\"shard\":1,"), std::string::npos) << status.body;
  EXPECT_NE(status.body.find("\"loop_lag_ms\":"), std::string::npos) << status.body;
  EXPECT_NE(status.body.find("\"cpu_percent\":"), std::string::npos) << status.body;
}

TEST_F(AdminListenerTest, PromtoolAcceptsARealScrape) {
  auto alice = server_->Connect("alice");
  ASSERT_TRUE(alice);
  ASSERT_TRUE(JoinRoom(*alice, "Checked"));
  RawWs bad;
  ASSERT_TRUE(bad.ConnectTcp(server_->port()));
  EXPECT_EQ(bad.Upgrade("/api/websocket/not-a-payload").status, 400);
  ASSERT_TRUE(WaitSeries("tutti_upgrade_refusals_total{status=\"400\",reason=\"auth\"}", 1));
  std::string text;
  Scrape(&text);
  ASSERT_FALSE(text.empty());

  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool not found (Debian package prometheus; tools/setup.sh installs it)";
  }
  const std::string file = server_->dir() + "/scrape.txt";
  std::ofstream(file) << text;
  const std::string out_file = server_->dir() + "/promtool.out";
  const int rc =
      std::system(("promtool check metrics < '" + file + "' > '" + out_file + "' 2>&1").c_str());
  std::ifstream in(out_file);
  const std::string said((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0) << said << "\n--- scrape ---\n" << text;
}

TEST_F(AdminListenerTest, AnswersHealthAndRefusesWhatItDoesNotServe) {
  const uint16_t port = admin_->port();
  Answer health = Get(port, "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  EXPECT_EQ(Get(port, "/readyz").status, 200);
  EXPECT_EQ(Get(port, "/metrics?x=1").status, 200);

  EXPECT_EQ(Get(port, "/").status, 404);
  EXPECT_EQ(Get(port, "/metrics/").status, 404);
  EXPECT_EQ(Get(port, "/api/server-info").status, 404);
  Answer post = Http(port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(post.status, 405);
  EXPECT_NE(post.head.find("Allow: GET, HEAD"), std::string::npos) << post.head;
  EXPECT_EQ(Http(port, "DELETE /readyz HTTP/1.1\r\n\r\n").status, 405);
  Answer head = Http(port, "HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(Http(port, "hello\r\n\r\n").status, 400);
  EXPECT_EQ(Http(port, "GET metrics HTTP/1.1\r\n\r\n").status, 400);
  EXPECT_EQ(Http(port, "GET /metrics SPDY/3\r\n\r\n").status, 400);
  // A head past 8 KiB is refused, not buffered without end.
  EXPECT_EQ(
      Http(port, "GET /metrics HTTP/1.1\r\nX: " + std::string(10000, 'a') + "\r\n\r\n").status,
      400);
  // And the listener still serves after all that.
  EXPECT_EQ(Get(port, "/healthz").status, 200);
}

TEST_F(AdminListenerTest, ThePublicPortDoesNotServeMetricsOrStatus) {
  for (const char* path : {"/metrics", "/status", "/readyz"}) {
    Answer a = Get(server_->port(), path);
    EXPECT_NE(a.status, 200) << path;
    EXPECT_EQ(a.body.find("tutti_"), std::string::npos) << path;
  }
  // Nor may the admin listener be put on it.
  server::AdminListener clash(&server_->server());
  absl::Status st = clash.Start("127.0.0.1:" + std::to_string(server_->port()));
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  EXPECT_EQ(clash.Start("nonsense").code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AdminListenerTest, ReadyzTurnsFalseWhileDraining) {
  auto alice = server_->Connect("alice");  // keeps the drain going for its grace period
  ASSERT_TRUE(alice);
  EXPECT_EQ(Get(admin_->port(), "/readyz").status, 200);
  server_->server().Shutdown();
  Answer ready = Get(admin_->port(), "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("draining"), std::string::npos) << ready.body;
  // Liveness is another question: the process still answers.
  EXPECT_EQ(Get(admin_->port(), "/healthz").status, 200);
  EXPECT_EQ(ParseSamples(Get(admin_->port(), "/metrics").body)["tutti_draining"], 1);
}

}  // namespace
}  // namespace tutti::testing
