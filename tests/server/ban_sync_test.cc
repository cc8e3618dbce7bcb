// What a node does after a ban sync (server/ban_sync.h, FollowUpBanSync) over a real
// SQLite store and a real ban snapshot: the whole ban hash read again after each Redis
// reconnect, all of it known already, neither rebuilds the snapshot nor rescans the
// sessions; a ban the store has but the snapshot lacks (a shared store the other node
// wrote) does both; a lift rebuilds without a rescan.
#include "server/ban_sync.h"

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/store/store.h"

namespace tutti::server {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

moderation::ServerBan Ban(const std::string& target, int64_t created, int64_t until = 0) {
  moderation::ServerBan b;
  b.target = target;
  b.actor = "u-admin";
  b.created_unix_ms = created;
  b.until_unix_ms = until;
  return b;
}

class BanSyncTest : public ::testing::Test {
 protected:
  BanSyncTest() {
    char tmpl[] = "/tmp/tutti-ban-sync-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto opened = store::Store::Open(dir_ + "/t.db");
    EXPECT_TRUE(opened.ok()) << opened.status();
    db_ = std::move(*opened);
  }
  ~BanSyncTest() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  // The snapshot as RepublishBans builds it from the store now.
  std::shared_ptr<const moderation::BanList> Snapshot() {
    auto listed = db_->ListServerBans(kNow);
    EXPECT_TRUE(listed.ok());
    return moderation::BanList::Build(std::move(*listed), kNow);
  }
  // One sync as Shard::ApplyRemoteBans runs it: the snapshot taken before.
  BanFollowUp Sync(const moderation::BanList& snapshot, const std::vector<BanChange>& changes) {
    BanSyncResult r = SyncServerBans(*db_, changes, kNow);
    EXPECT_TRUE(r.status.ok()) << r.status;
    return FollowUpBanSync(snapshot, changes, r, kNow);
  }

  std::string dir_;
  std::unique_ptr<store::Store> db_;
};

TEST_F(BanSyncTest, TheHashReadAgainAfterAReconnectChangesNothing) {
  // The deployment's hash: mallory banned, eve's ban lifted, an address ban over by now.
  const std::vector<BanChange> hash = {{Ban("u-mallory", kNow - 5000), true},
                                       {Ban("u-eve", kNow - 3000), false},
                                       {Ban("192.0.2.0/24", kNow - 9000, kNow - 1), true}};
  BanFollowUp first = Sync(*moderation::BanList::Empty(), hash);
  EXPECT_TRUE(first.republish);
  EXPECT_TRUE(first.close);
  // Every later reconnect reads the same hash: the store and the snapshot have it all.
  for (int reconnect = 0; reconnect < 3; ++reconnect) {
    BanFollowUp again = Sync(*Snapshot(), hash);
    EXPECT_FALSE(again.republish) << reconnect;
    EXPECT_FALSE(again.close) << reconnect;
  }
}

TEST_F(BanSyncTest, ABanTheSharedStoreHasButTheSnapshotLacksIsPublishedAndEnforced) {
  // The other node wrote it to the store both nodes share; this node's snapshot is older.
  const std::shared_ptr<const moderation::BanList> before = Snapshot();
  ASSERT_TRUE(db_->AddServerBan(Ban("u-mallory", kNow - 10)).ok());
  BanSyncResult r = SyncServerBans(*db_, {{Ban("u-mallory", kNow - 10), true}}, kNow);
  EXPECT_TRUE(r.applied.empty()) << "the store had it";
  BanFollowUp f = FollowUpBanSync(*before, {{Ban("u-mallory", kNow - 10), true}}, r, kNow);
  EXPECT_TRUE(f.republish);
  EXPECT_TRUE(f.close);
  // Its lift, likewise in the store already: a rebuild, no rescan.
  const std::shared_ptr<const moderation::BanList> banned = Snapshot();
  ASSERT_TRUE(db_->RemoveServerBan("u-mallory").ok());
  f = Sync(*banned, {{Ban("u-mallory", kNow), false}});
  EXPECT_TRUE(f.republish);
  EXPECT_FALSE(f.close);
}

TEST_F(BanSyncTest, OnlyWhatChangesTheSnapshotCounts) {
  ASSERT_TRUE(db_->AddServerBan(Ban("u-mallory", kNow - 1000)).ok());
  const std::shared_ptr<const moderation::BanList> snapshot = Snapshot();
  // An older ban and an older lift of mallory: nothing.
  BanFollowUp f = Sync(
      *snapshot, {{Ban("u-mallory", kNow - 2000), true}, {Ban("u-mallory", kNow - 2000), false}});
  EXPECT_FALSE(f.republish);
  EXPECT_FALSE(f.close);
  // A newer ban of mallory (a longer one): the snapshot takes it; a rescan finds her.
  f = Sync(*snapshot, {{Ban("u-mallory", kNow - 500), true}});
  EXPECT_TRUE(f.republish);
  EXPECT_TRUE(f.close);
  // A newer ban of mallory that is over: to this node a lift.
  f = Sync(*Snapshot(), {{Ban("u-mallory", kNow - 100, kNow - 1), true}});
  EXPECT_TRUE(f.republish);
  EXPECT_FALSE(f.close);
  EXPECT_EQ(Snapshot()->size(), 0u);
  // A lift of someone never banned here: nothing.
  f = Sync(*Snapshot(), {{Ban("u-nobody", kNow), false}});
  EXPECT_FALSE(f.republish);
  EXPECT_FALSE(f.close);
}

}  // namespace
}  // namespace tutti::server
