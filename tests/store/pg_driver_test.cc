// The PostgreSQL driver's own behaviour, on a real server: the dialect rewrite, error
// mapping, durable session settings, a failed transaction's COMMIT, losing and
// regaining the server, and two stores (two server nodes) on one database.
#include <memory>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "server/store/client_text.h"
#include "server/store/pg_db.h"
#include "server/store/store.h"
#include "tests/store/backend.h"
#include "tests/testing/loopback_port.h"
#include "tests/testing/pg_server.h"

namespace tutti::server::store {
namespace {

TEST(PgDialectTest, PlaceholdersAreRewrittenOutsideQuotes) {
  EXPECT_EQ(PgPlaceholders("SELECT ?1, '?2', \"?3\", ?10 WHERE a = ?2"),
            "SELECT $1, '?2', \"?3\", $10 WHERE a = $2");
  EXPECT_EQ(PgPlaceholders("SELECT 'it''s ?1' || ?1"), "SELECT 'it''s ?1' || $1");
  EXPECT_EQ(PgPlaceholders("a ? b"), "a ? b");  // not a placeholder of ours
}

TEST(PgStatusTest, MapsSqlstates) {
  EXPECT_EQ(PgStatus("23505", "x").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(PgStatus("23503", "x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(PgStatus("23514", "x").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PgStatus("22021", "x").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PgStatus("", "x").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(PgStatus("08006", "x").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(PgStatus("55P03", "x").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(PgStatus("57P01", "x").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(PgStatus("53100", "x").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(PgStatus("XX001", "x").code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(PgStatus("42501", "x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(PgStatus("42P01", "x").code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(FromDatabase(PgStatus("42P01", "x")));
  EXPECT_EQ(ClientText(PgStatus("42P01", "SELECT secret")), kStorageErrorText);
}

class PgDriverTest : public ::testing::Test {
 protected:
  void SetUp() override { TUTTI_REQUIRE_LOCATION(where_); }
  Location where_{Backend::kPostgres};
};

TEST_F(PgDriverTest, SessionCommitsDurably) {
  absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(where_.location);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ((*db)->dialect(), Db::Dialect::kPostgres);
  for (const char* setting : {"fsync", "synchronous_commit"}) {
    absl::StatusOr<Statement> stmt = (*db)->Prepare("SELECT current_setting(?1)");
    ASSERT_TRUE(stmt.ok()) << stmt.status();
    stmt->Bind(1, setting);
    ASSERT_TRUE(*stmt->Step());
    EXPECT_EQ(stmt->ColumnText(0), "on") << setting;
  }
}

TEST_F(PgDriverTest, CommitOfAFailedTransactionIsAnErrorNotAnAck) {
  absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(where_.location);
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t (x BIGINT)").ok());
  ASSERT_TRUE((*db)->BeginWrite().ok());
  ASSERT_TRUE((*db)->Exec("INSERT INTO t VALUES (1)").ok());
  EXPECT_FALSE((*db)->Exec("SELECT 1 / 0").ok());  // the transaction is now aborted
  EXPECT_FALSE((*db)->Commit().ok());
  absl::StatusOr<Statement> stmt = (*db)->Prepare("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(stmt.ok());
  ASSERT_TRUE(*stmt->Step());
  EXPECT_EQ(stmt->ColumnInt(0), 0);
}

TEST_F(PgDriverTest, TextThePostgresCannotHoldIsInvalidArgument) {
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(where_.location);
  ASSERT_TRUE(store.ok()) << store.status();
  // PostgreSQL text holds no NUL byte and only valid UTF-8: a typed refusal, no crash.
  const std::string nul("a\0b", 3);
  EXPECT_EQ((*store)->UpsertProfile(Profile{"u", nul, "", 0, "", 1}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*store)->UpsertProfile(Profile{"u", "\xff\xfe", "", 0, "", 1}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE((*store)->UpsertProfile(Profile{"u", "ok", "", 0, "", 1}).ok());
}

TEST_F(PgDriverTest, TwoNodesShareOneDatabase) {
  // Two servers starting at once migrate once between them and see each other's
  // writes.
  absl::StatusOr<std::unique_ptr<Store>> a, b;
  std::thread other([&] { b = Store::Open(where_.location); });
  a = Store::Open(where_.location);
  other.join();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*a)->schema_version(), (*b)->schema_version());
  ASSERT_TRUE((*a)->SendFriendRequest("ann", "bob", 1).ok());
  absl::StatusOr<FriendRequestResult> crossing = (*b)->SendFriendRequest("bob", "ann", 2);
  ASSERT_TRUE(crossing.ok()) << crossing.status();
  EXPECT_EQ(*crossing, FriendRequestResult::kAccepted);
  EXPECT_TRUE(*(*a)->AreFriends("ann", "bob"));
}

TEST(PgConnectTest, UnreachableServerIsUnavailableAndTheUrlsPasswordStaysOut) {
  // A port with nothing listening: bound, never listened on.
  tutti::testing::LoopbackPort nobody(tutti::testing::LoopbackPort::Mode::kRefusing);
  ASSERT_NE(nobody.port(), 0);
  const std::string url =
      "postgres://tutti:hunter2secret@127.0.0.1:" + std::to_string(nobody.port()) +
      "/tutti?connect_timeout=5";
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(url);
  nobody.Close();
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
  EXPECT_TRUE(FromDatabase(store.status()));
  EXPECT_EQ(std::string(store.status().message()).find("hunter2secret"), std::string::npos);
}

TEST(PgReconnectTest, WritesFailWhileTheServerIsDownAndWorkAfterItReturns) {
  if (std::string why = testing::PgServer::Unavailable(); !why.empty()) GTEST_SKIP() << why;
  testing::PgServer server;
  absl::Status started = server.Start();
  ASSERT_TRUE(started.ok()) << started;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(server.Url());
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->UpsertProfile(Profile{"u", "before", "", 0, "", 1}).ok());

  ASSERT_TRUE(server.Stop().ok());
  absl::Status down = (*store)->UpsertProfile(Profile{"u", "during", "", 0, "", 2});
  EXPECT_EQ(down.code(), absl::StatusCode::kUnavailable) << down;
  EXPECT_EQ(ClientText(down), kStorageErrorText);

  absl::Status restarted = server.Restart();
  ASSERT_TRUE(restarted.ok()) << restarted;
  absl::Status up = (*store)->UpsertProfile(Profile{"u", "after", "", 0, "", 3});
  ASSERT_TRUE(up.ok()) << up;
  absl::StatusOr<Profile> got = (*store)->GetProfile("u");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->username, "after");
  // A transaction after the reconnection works too (statements were re-prepared).
  EXPECT_TRUE(
      (*store)->SaveRoom(RoomRecord{"jam", "Jam", 0, "", "", "u", "", {"u"}, 4, {}, {}}).ok());
}

TEST(PgReconnectTest, ReconnectionsBackOffWhileTheServerIsDown) {
  if (std::string why = testing::PgServer::Unavailable(); !why.empty()) GTEST_SKIP() << why;
  testing::PgServer server;
  absl::Status started = server.Start();
  ASSERT_TRUE(started.ok()) << started;
  int64_t now_ms = 0;  // the backoff's clock, moved by hand
  PgDb::Options options;
  options.now_ms = [&now_ms] { return now_ms; };
  absl::StatusOr<std::unique_ptr<Db>> opened = PgDb::Open(server.Url(), options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  auto* db = static_cast<PgDb*>(opened->get());
  ASSERT_TRUE(db->Exec("SELECT 1").ok());

  ASSERT_TRUE(server.Stop().ok());
  EXPECT_FALSE(db->Exec("SELECT 1").ok());  // finds the connection gone
  EXPECT_EQ(db->Exec("SELECT 1").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(db->reconnect_attempts(), 1u);
  // Inside the backoff: refused at once, no attempt.
  now_ms = PgDb::kFirstBackoffMs - 1;
  EXPECT_EQ(db->Exec("SELECT 1").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(db->reconnect_attempts(), 1u);
  // Due: one more attempt, which fails and doubles the wait.
  now_ms = PgDb::kFirstBackoffMs;
  EXPECT_FALSE(db->Exec("SELECT 1").ok());
  EXPECT_EQ(db->reconnect_attempts(), 2u);

  absl::Status restarted = server.Restart();
  ASSERT_TRUE(restarted.ok()) << restarted;
  now_ms = 3 * PgDb::kFirstBackoffMs - 1;  // the server is back, the backoff not over
  EXPECT_FALSE(db->Exec("SELECT 1").ok());
  EXPECT_EQ(db->reconnect_attempts(), 2u);
  now_ms = 3 * PgDb::kFirstBackoffMs;
  absl::Status back = db->Exec("SELECT 1");
  EXPECT_TRUE(back.ok()) << back;
  EXPECT_EQ(db->reconnect_attempts(), 3u);
}

}  // namespace
}  // namespace tutti::server::store
