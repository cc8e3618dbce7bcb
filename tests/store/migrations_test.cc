#include "server/store/migrations.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "server/store/sqlite_db.h"
#include "server/store/store.h"
#include "tests/store/backend.h"
#include "tests/store/temp_dir.h"

namespace tutti::server::store {
namespace {

bool TableExists(Db& db, const std::string& name) {
  absl::StatusOr<Statement> stmt =
      db.Prepare(db.dialect() == Db::Dialect::kSqlite
                     ? "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1"
                     : "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() "
                       "AND tablename = ?1");
  EXPECT_TRUE(stmt.ok());
  stmt->Bind(1, name);
  absl::StatusOr<bool> row = stmt->Step();
  return row.ok() && *row;
}

// The migration tests run on both drivers (INSTANTIATE_TEST_SUITE_P at the end).
class MigrationsTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { TUTTI_REQUIRE_LOCATION(where_); }
  Location where_{GetParam()};
};

TEST_P(MigrationsTest, EmptyDatabaseGetsTheWholeSchema) {
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(where_.location);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->schema_version(), static_cast<int>(SchemaMigrations().size()));
  EXPECT_EQ(*SchemaVersion((*store)->db()), (*store)->schema_version());
  for (const char* table :
       {"profiles", "friendships", "friend_requests", "blocks", "server_bans", "rooms",
        "room_moderators", "room_bans", "audit_log", "room_performers"}) {
    EXPECT_TRUE(TableExists((*store)->db(), table)) << table;
  }
}

TEST_P(MigrationsTest, ReopeningIsIdempotentAndKeepsData) {
  const std::string path = where_.location;
  {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->UpsertProfile(Profile{"u", "U", "", 0, "", 1}).ok());
  }
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ((*store)->schema_version(), static_cast<int>(SchemaMigrations().size()));
    EXPECT_TRUE((*store)->GetProfile("u").ok());
  }
}

TEST_P(MigrationsTest, DatabaseFromANewerServerIsRefused) {
  const std::string path = where_.location;
  {
    absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->SetSchemaVersion(999).ok());
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("999"), absl::string_view::npos);
}

TEST_P(MigrationsTest, UpgradeAppliesOnlyTheMissingSteps) {
  absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(where_.location);
  ASSERT_TRUE(db.ok());
  std::vector<Migration> v1 = {{"a", "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (7);"}};
  ASSERT_EQ(*ApplyMigrations(**db, v1), 1);
  std::vector<Migration> v2 = v1;
  v2.push_back({"b", "CREATE TABLE b (y INTEGER);"});
  // If step 1 ran again, CREATE TABLE a would fail.
  absl::StatusOr<int> version = ApplyMigrations(**db, v2);
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, 2);
  EXPECT_TRUE(TableExists(**db, "b"));
  absl::StatusOr<Statement> stmt = (*db)->Prepare("SELECT x FROM a");
  ASSERT_TRUE(stmt.ok());
  ASSERT_TRUE(*stmt->Step());
  EXPECT_EQ(stmt->ColumnInt(0), 7);
}

TEST_P(MigrationsTest, AFailedStepLeavesThePreviousVersion) {
  absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(where_.location);
  ASSERT_TRUE(db.ok());
  std::vector<Migration> broken = {
      {"a", "CREATE TABLE a (x INTEGER);"},
      {"b then nonsense", "CREATE TABLE b (y INTEGER); THIS IS NOT SQL;"},
  };
  absl::StatusOr<int> version = ApplyMigrations(**db, broken);
  ASSERT_FALSE(version.ok());
  EXPECT_NE(version.status().message().find("migration 2"), absl::string_view::npos);
  EXPECT_EQ(*SchemaVersion(**db), 1);
  EXPECT_TRUE(TableExists(**db, "a"));
  EXPECT_FALSE(TableExists(**db, "b"));  // rolled back with the failed step

  broken[1].sql = "CREATE TABLE b (y INTEGER);";
  EXPECT_EQ(*ApplyMigrations(**db, broken), 2);
  EXPECT_TRUE(TableExists(**db, "b"));
}

TEST_P(MigrationsTest, TransactionRollsBackUnlessCommitted) {
  absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(where_.location);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t (x INTEGER)").ok());
  {
    absl::StatusOr<std::unique_ptr<Transaction>> tx = Transaction::Begin(**db);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*db)->Exec("INSERT INTO t VALUES (1)").ok());
  }
  {
    absl::StatusOr<std::unique_ptr<Transaction>> tx = Transaction::Begin(**db);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*db)->Exec("INSERT INTO t VALUES (2)").ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  absl::StatusOr<Statement> stmt = (*db)->Prepare("SELECT COUNT(*), MAX(x) FROM t");
  ASSERT_TRUE(stmt.ok());
  ASSERT_TRUE(*stmt->Step());
  EXPECT_EQ(stmt->ColumnInt(0), 1);
  EXPECT_EQ(stmt->ColumnInt(1), 2);
}

INSTANTIATE_TEST_SUITE_P(Drivers, MigrationsTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);

TEST(SqliteStatusTest, MapsCodes) {
  EXPECT_TRUE(SqliteStatus(SQLITE_OK, nullptr, "x").ok());
  EXPECT_EQ(SqliteStatus(SQLITE_BUSY, nullptr, "x").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(SqliteStatus(SQLITE_FULL, nullptr, "x").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(SqliteStatus(SQLITE_CORRUPT, nullptr, "x").code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(SqliteStatus(SQLITE_NOTADB, nullptr, "x").code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(SqliteStatus(SQLITE_CANTOPEN, nullptr, "x").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(SqliteStatus(SQLITE_IOERR, nullptr, "x").code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace tutti::server::store
