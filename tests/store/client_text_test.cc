// What clients may be told about store results, and the store's failure episodes.
#include "server/store/client_text.h"

#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "server/store/sqlite_db.h"

namespace tutti::server::store {
namespace {

class ClientTextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tutti-clienttext-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto db = Db::Open(dir_ + "/t.db");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    ASSERT_TRUE(db_->Exec("CREATE TABLE t(k TEXT PRIMARY KEY)").ok());
  }
  void TearDown() override {
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string dir_;
  std::unique_ptr<Db> db_;
};

TEST_F(ClientTextTest, SqliteTextNeverReachesAClient) {
  ASSERT_TRUE(db_->Exec("INSERT INTO t VALUES ('a')").ok());
  absl::Status dup = db_->Exec("INSERT INTO t VALUES ('a')");
  ASSERT_TRUE(absl::IsAlreadyExists(dup)) << dup;
  EXPECT_NE(std::string(dup.message()).find("INSERT"), std::string::npos);  // the log's text
  EXPECT_TRUE(FromDatabase(dup));
  EXPECT_EQ(ClientText(dup), kStorageErrorText);
}

TEST_F(ClientTextTest, TheStoresOwnWordsPassThrough) {
  absl::Status mine = absl::NotFoundError("not banned");
  EXPECT_FALSE(FromDatabase(mine));
  EXPECT_EQ(ClientText(mine), "not banned");
}

TEST_F(ClientTextTest, AFailureEpisodeEndsAtTheNextDurableWrite) {
  EXPECT_EQ(db_->failures_in_episode(), 0u);
  // A constraint is the data saying no, not the store failing.
  ASSERT_TRUE(db_->Exec("INSERT INTO t VALUES ('b')").ok());
  EXPECT_FALSE(db_->Exec("INSERT INTO t VALUES ('b')").ok());
  EXPECT_EQ(db_->failures_in_episode(), 0u);
  EXPECT_FALSE(db_->Exec("INSERT INTO missing VALUES (1)").ok());
  EXPECT_FALSE(db_->Exec("INSERT INTO missing VALUES (2)").ok());
  EXPECT_EQ(db_->failures_in_episode(), 2u);
  ASSERT_TRUE(db_->Exec("BEGIN IMMEDIATE").ok());
  ASSERT_TRUE(db_->Exec("INSERT INTO t VALUES ('c')").ok());
  EXPECT_EQ(db_->failures_in_episode(), 2u);  // not durable yet
  ASSERT_TRUE(db_->Exec("COMMIT").ok());
  EXPECT_EQ(db_->failures_in_episode(), 0u);
}

}  // namespace
}  // namespace tutti::server::store
