// What users were told was saved survives `kill -9` of the real server process: a
// server ban, a friendship, a registered room's settings and its room ban; on the
// embedded SQLite store and on PostgreSQL (--database, a server the test starts). Also:
// SIGTERM closes clients with 1001 and exits 0.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "crypto/authenticator.h"
#include "crypto/dev_connection.h"
#include "crypto/keys.h"
#include "server/clock.h"
#include "server/moderation/audit.h"
#include "server/store/store.h"
#include "tests/testing/keyed_process_test.h"
#include "tests/testing/loopback_port.h"
#include "tests/testing/pg_server.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

class DurabilityTest : public KeyedProcessTest {
 protected:
  DurabilityTest() : KeyedProcessTest("durability") {}

  // Acknowledged writes, kill -9, restart, every write still there; `extra` are the
  // server's store flags.
  void SurviveKillNine(const std::vector<std::string>& extra);
};

TEST_F(DurabilityTest, AcknowledgedWritesSurviveKillNine) { SurviveKillNine({}); }

TEST_F(DurabilityTest, AcknowledgedWritesSurviveKillNineOnPostgres) {
  if (std::string why = server::store::testing::PgServer::Unavailable(); !why.empty()) {
    GTEST_SKIP() << why;
  }
  server::store::testing::PgServer pg;
  absl::Status started = pg.Start();
  ASSERT_TRUE(started.ok()) << started;
  SurviveKillNine({"--database", pg.Url()});
  // It was PostgreSQL that kept them: no SQLite file was made, and the ban is there.
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/tutti.db"));
  auto store = server::store::Store::Open(pg.Url());
  ASSERT_TRUE(store.ok()) << store.status();
  auto bans = (*store)->ListServerBans(server::SystemClock().UnixMs());
  ASSERT_TRUE(bans.ok()) << bans.status();
  ASSERT_EQ(bans->size(), 1u);
  EXPECT_NE((*bans)[0].target.find("mallory"), std::string::npos);
}

TEST_F(DurabilityTest, UnreachablePostgresStopsTheStartWithAClearMessage) {
  // A loopback port with nothing listening: bound, never listened on.
  testing::LoopbackPort nobody(testing::LoopbackPort::Mode::kRefusing);
  ASSERT_NE(nobody.port(), 0);
  ServerProcess server(
      TUTTI_SERVER_BIN, dir_,
      {"--database", "postgres://tutti:hunter2secret@127.0.0.1:" + std::to_string(nobody.port()) +
                         "/tutti?connect_timeout=5"});
  EXPECT_FALSE(server.Start());
  nobody.Close();
  const int status = server.Stop(SIGKILL, 5000);
  ASSERT_TRUE(WIFEXITED(status)) << server.output();
  EXPECT_EQ(WEXITSTATUS(status), 1) << server.output();
  EXPECT_NE(server.output().find("cannot connect to PostgreSQL"), std::string::npos)
      << server.output();
  EXPECT_EQ(server.output().find("hunter2secret"), std::string::npos) << server.output();
}

void DurabilityTest::SurviveKillNine(const std::vector<std::string>& extra) {
  {
    ServerProcess server(TUTTI_SERVER_BIN, dir_, extra);
    ASSERT_TRUE(server.Start()) << server.output();
    auto admin = ConnectMember(server.port(), "admin", {"admin"});
    auto bob = ConnectMember(server.port(), "bob");
    ASSERT_TRUE(admin && bob);

    // A registered room, created, reconfigured and with a room ban.
    proto::ServerMessage create = CreateMsg("Hall", proto::PUBLIC, "", 0, "c");
    create.mutable_create_room_command()->mutable_settings()->set_persistent(true);
    ASSERT_TRUE(admin->Send(create));
    ASSERT_TRUE(ReplyTo(*admin, "c").has_room_joined_response());
    ASSERT_TRUE(JoinRoom(*bob, "Hall"));
    proto::ServerMessage update;
    auto* settings = update.mutable_update_room_command()->mutable_settings();
    settings->set_persistent(true);
    settings->set_allow_chat(true);
    settings->set_max_users(7);
    settings->set_welcome_message("Welcome back");
    update.set_request_id("u");
    ASSERT_TRUE(admin->Send(update));
    ASSERT_TRUE(ReplyTo(*admin, "u").has_room_updated());
    ASSERT_TRUE(admin->Send(ChatMsg("/ban bob", "b")));
    ASSERT_TRUE(ReplyTo(*admin, "b").command_result().ok());
    // A friendship, accepted by bob and acknowledged.
    auto alice = ConnectMember(server.port(), "alice");
    ASSERT_TRUE(alice);
    proto::ServerMessage req;
    req.mutable_friend_request()->set_action(proto::SEND_REQUEST);
    req.mutable_friend_request()->set_target_user_id("u-bob");
    req.set_request_id("f1");
    ASSERT_TRUE(alice->Send(req));
    ASSERT_TRUE(ReplyTo(*alice, "f1").has_friend_list());
    req.mutable_friend_request()->set_action(proto::ACCEPT_REQUEST);
    req.mutable_friend_request()->set_target_user_id("u-alice");
    req.set_request_id("f2");
    ASSERT_TRUE(bob->Send(req));
    ASSERT_TRUE(ReplyTo(*bob, "f2").has_friend_list());
    // A server ban, acknowledged last, then the process dies at once.
    ASSERT_TRUE(admin->Send(ChatMsg("/sban u-mallory 1d", "s")));
    ASSERT_TRUE(ReplyTo(*admin, "s").command_result().ok());
    pid_t pid = server.pid();
    ASSERT_GT(pid, 0);
    int status = server.Stop(SIGKILL, 5000);
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
  }

  ServerProcess server(TUTTI_SERVER_BIN, dir_, extra);
  ASSERT_TRUE(server.Start()) << server.output();
  int http = 0;
  EXPECT_EQ(ConnectMember(server.port(), "mallory", {}, &http), nullptr);
  EXPECT_EQ(http, 403);
  auto bob = ConnectMember(server.port(), "bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(bob->Send(JoinMsg("Hall", "", "j")));
  EXPECT_EQ(ReplyTo(*bob, "j").error_message().code(), proto::BANNED);
  proto::ServerMessage list;
  list.mutable_friend_request()->set_action(proto::LIST_FRIENDS);
  list.set_request_id("l");
  ASSERT_TRUE(bob->Send(list));
  auto friends = ReplyTo(*bob, "l");
  ASSERT_EQ(friends.friend_list().friends_size(), 1);
  EXPECT_EQ(friends.friend_list().friends(0).user_id(), "u-alice");
  EXPECT_FALSE(friends.friend_list().friends(0).pending_incoming());
  auto carol = ConnectMember(server.port(), "carol");
  ASSERT_TRUE(carol);
  ASSERT_TRUE(carol->Send(JoinMsg("hall", "", "j2")));
  auto joined = ReplyTo(*carol, "j2");
  ASSERT_TRUE(joined.has_room_joined_response());
  const auto& info = joined.room_joined_response().room_info();
  EXPECT_EQ(info.owner_id(), "u-admin");
  EXPECT_EQ(info.settings().max_users(), 7);
  EXPECT_EQ(info.settings().welcome_message(), "Welcome back");
  EXPECT_TRUE(info.settings().persistent());

  // SIGTERM: clients get 1001 and the process exits 0.
  int status = server.Stop(SIGTERM, 8000);
  ASSERT_TRUE(WIFEXITED(status)) << server.output();
  EXPECT_EQ(WEXITSTATUS(status), 0);
  uint16_t code = 0;
  EXPECT_TRUE(carol->WaitClosed(3s, &code));
  EXPECT_EQ(code, 1001);
}

// The audit log keeps audit_retention_days: older moderation records are deleted when
// the server starts (and hourly after), recent ones stay, and 0 keeps everything.
TEST_F(DurabilityTest, AuditRecordsPastTheRetentionArePruned) {
  const std::string db = dir_ + "/audit.db";
  const int64_t now_ms = server::SystemClock().UnixMs();
  const int64_t day_ms = int64_t{24} * 3600 * 1000;
  {
    auto st = server::store::Store::Open(db);
    ASSERT_TRUE(st.ok()) << st.status();
    for (int64_t age_days : {400, 40, 20, 1}) {
      server::moderation::AuditRecord r;
      r.unix_ms = now_ms - age_days * day_ms;
      r.actor = "u-mod";
      r.action = server::moderation::AuditAction::kKick;
      r.target = "u-" + std::to_string(age_days);
      r.room_id = "jam";
      ASSERT_TRUE((*st)->AppendAudit(r).ok());
    }
  }
  auto remaining = [&]() {
    std::vector<std::string> targets;
    auto st = server::store::Store::Open(db);
    EXPECT_TRUE(st.ok()) << st.status();
    if (!st.ok()) return targets;
    auto list = (*st)->ListAudit(std::nullopt, 100);
    EXPECT_TRUE(list.ok()) << list.status();
    if (list.ok()) {
      for (const auto& r : *list) targets.push_back(r.target);
    }
    return targets;
  };
  {  // retention 0: nothing is deleted
    TestServer ts(1, [&](server::ServerConfig& c) {
      c.store_path = db;
      c.audit_retention_days = 0;
    });
  }
  EXPECT_EQ(remaining(), (std::vector<std::string>{"u-400", "u-40", "u-20", "u-1"}));
  {  // the default year: the 400-day-old record goes
    TestServer ts(1, [&](server::ServerConfig& c) { c.store_path = db; });
  }
  EXPECT_EQ(remaining(), (std::vector<std::string>{"u-40", "u-20", "u-1"}));
  {  // 30 days
    TestServer ts(1, [&](server::ServerConfig& c) {
      c.store_path = db;
      c.audit_retention_days = 30;
    });
  }
  EXPECT_EQ(remaining(), (std::vector<std::string>{"u-20", "u-1"}));
}

}  // namespace
}  // namespace tutti::testing

namespace tutti::testing {
namespace {

// The replay cache is memory only: a payload used before a restart, still young enough
// to be fresh, must not open a session after it (docs/AUTH.md, "Freshness and single
// use"). The server refuses payloads sealed before it started.
TEST_F(DurabilityTest, APayloadUsedBeforeARestartIsRefusedAfterIt) {
  crypto::DevConnectionRequest req;
  req.user_id = "u-alice";
  req.name = "alice";
  req.member = true;
  int64_t sealed_ms = 0;
  absl::StatusOr<crypto::DevConnection> dev;
  {
    ServerProcess server(TUTTI_SERVER_BIN, dir_);
    ASSERT_TRUE(server.Start()) << server.output();
    // Sealed while this run is up (after its start), used once on it.
    sealed_ms = server::SystemClock().UnixMs();
    dev = crypto::MintDevConnection(req, &issuer_, seal_, sealed_ms);
    ASSERT_TRUE(dev.ok());
    client::Client first;
    ASSERT_TRUE(first.Connect("127.0.0.1", server.port(), dev->resource).ok);
    ASSERT_TRUE(first.WaitFor(proto::ClientMessage::kWelcome, 5s));
    // On the same run, the cache refuses it.
    client::Client again;
    EXPECT_EQ(again.Connect("127.0.0.1", server.port(), dev->resource).http_status, 409);
    int status = server.Stop(SIGKILL, 5000);
    ASSERT_TRUE(WIFSIGNALED(status));
  }
  // The next start must come after the payload's ts (its floor is strict): at least a
  // millisecond later on the wall clock.
  ASSERT_TRUE(WaitUntil([&] { return server::SystemClock().UnixMs() > sealed_ms; }));
  ServerProcess server(TUTTI_SERVER_BIN, dir_);
  ASSERT_TRUE(server.Start()) << server.output();
  client::Client replay;
  client::ConnectResult r = replay.Connect("127.0.0.1", server.port(), dev->resource);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.http_status, 401);
  // Refused because it predates the start; only on a machine so slow that the restart
  // took longer than the whole freshness window could it be refused as stale instead.
  const bool past_window = server::SystemClock().UnixMs() - sealed_ms > 60000;
  if (past_window) {
    EXPECT_EQ(r.error, crypto::AuthFailureReason(crypto::AuthFailure::kStale)) << r.error;
  } else {
    EXPECT_EQ(r.error, crypto::AuthFailureReason(crypto::AuthFailure::kBeforeStart)) << r.error;
  }
  // A payload sealed now connects as usual.
  EXPECT_NE(ConnectMember(server.port(), "alice"), nullptr);
}

}  // namespace
}  // namespace tutti::testing
