// Social across nodes, server bans (server/social_nodes.cc, server/ban_sync.h): a ban made
// on one node reaches the other node's host (its store and sessions) only; a ban made
// while a node is away reaches it when its bus comes back, and one made while this node
// is cut off goes out when it is back; malformed ban records are counted and skipped; the
// sync keeps the latest change of a target. Two Social actors on a fake bus
// (social_nodes_fixture.h), each over its own real SQLite store.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/ban_sync.h"
#include "tests/server/social_nodes_fixture.h"

namespace tutti::server {
namespace {

using namespace social_nodes_testing;

TEST_F(SocialNodesTest, BansGoToTheOtherNodesHostOnly) {
  moderation::ServerBan ban;
  ban.target = "u-mallory";
  ban.reason = "spam";
  ban.actor = "u-admin";
  ban.until_unix_ms = 1'800'000'000'000;
  a_.PublishServerBan(ban, /*add=*/true);
  Pump();
  EXPECT_TRUE(host_a_.bans.empty()) << "its own message comes back and is ignored";
  ASSERT_EQ(host_b_.bans.size(), 1u);
  EXPECT_EQ(host_b_.bans[0].first.target, "u-mallory");
  EXPECT_EQ(host_b_.bans[0].first.until_unix_ms, 1'800'000'000'000);
  EXPECT_TRUE(host_b_.bans[0].second);
  // A target that is not in canonical form is not applied.
  ban.target = "192.0.2.1/24";
  a_.PublishServerBan(ban, /*add=*/true);
  Pump();
  EXPECT_EQ(host_b_.bans.size(), 1u);
  EXPECT_EQ(b_.bus_malformed(), 1u);
}

TEST_F(SocialNodesTest, BanMadeWhileANodeIsAwayReachesItWhenItsBusComesBack) {
  moderation::ServerBan ban;
  ban.target = "u-mallory";
  ban.reason = "spam";
  ban.actor = "u-admin";
  ban.created_unix_ms = 1'700'000'000'000;
  bus_b_.is_up = false;  // B is down or cut off: it hears nothing
  a_.PublishServerBan(ban, /*add=*/true);
  ban.target = "u-eve";
  a_.PublishServerBan(ban, /*add=*/true);
  host_a_.unix_ms += 60'000;
  a_.PublishServerBan(ban, /*add=*/false);  // eve's ban is lifted a minute later
  Pump();
  EXPECT_TRUE(host_b_.bans.empty());
  bus_b_.Reconnect();
  ASSERT_EQ(host_b_.bans.size(), 2u);
  std::map<std::string, BanChange> got;
  for (const BanChange& c : host_b_.bans) got[c.first.target] = c;
  EXPECT_TRUE(got["u-mallory"].second);
  EXPECT_EQ(got["u-mallory"].first.reason, "spam");
  EXPECT_FALSE(got["u-eve"].second);
  // The lift is dated when it happened (the host's clock), after the ban it lifts.
  EXPECT_EQ(got["u-eve"].first.created_unix_ms, ban.created_unix_ms + 60'000);
  EXPECT_TRUE(host_a_.bans.empty());
}

TEST_F(SocialNodesTest, BanMadeWhileThisNodeIsCutOffGoesOutWhenItIsBack) {
  moderation::ServerBan ban;
  ban.target = "u-mallory";
  ban.actor = "u-admin";
  bus_a_.is_up = false;
  a_.PublishServerBan(ban, /*add=*/true);
  Pump();
  EXPECT_TRUE(host_b_.bans.empty());
  EXPECT_TRUE(ban_hash_.empty());
  bus_a_.Reconnect();
  Pump();
  ASSERT_EQ(host_b_.bans.size(), 1u);
  EXPECT_EQ(host_b_.bans[0].first.target, "u-mallory");
  EXPECT_EQ(ban_hash_.size(), 1u);
}

TEST_F(SocialNodesTest, MalformedBanRecordsAreCountedAndSkipped) {
  moderation::ServerBan ban;
  ban.target = "u-mallory";
  ban.actor = "u-admin";
  a_.PublishServerBan(ban, /*add=*/true);
  Pump();
  host_b_.bans.clear();
  ban_hash_["junk"] = "\xff\xff";
  ban_hash_["empty"] = "";
  bus_b_.Reconnect();
  EXPECT_EQ(host_b_.bans.size(), 1u);
  EXPECT_EQ(b_.bus_malformed(), 2u);
}

TEST_F(SocialNodesTest, SyncKeepsTheLatestChangeOfATarget) {
  store::Store& st = *host_a_.db;
  const int64_t now = 1'700'000'000'000;
  moderation::ServerBan local;
  local.target = "u-mallory";
  local.reason = "newer";
  local.created_unix_ms = now - 1000;
  ASSERT_TRUE(st.AddServerBan(local).ok());
  moderation::ServerBan old = local;
  old.reason = "older";
  old.created_unix_ms = now - 5000;
  moderation::ServerBan expired;
  expired.target = "u-gone";
  expired.created_unix_ms = now - 9000;
  expired.until_unix_ms = now - 1;
  moderation::ServerBan fresh;
  fresh.target = "192.0.2.0/24";
  fresh.created_unix_ms = now - 10;
  // An older ban and an older lift of mallory change nothing; an expired ban is not
  // stored; a new one is.
  BanSyncResult r =
      SyncServerBans(st, {{old, true}, {old, false}, {expired, true}, {fresh, true}}, now);
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.applied.size(), 1u);
  EXPECT_EQ(r.applied[0].first.target, "192.0.2.0/24");
  // The same again: nothing to do.
  EXPECT_TRUE(SyncServerBans(st, {{fresh, true}}, now).applied.empty());
  // A lift newer than mallory's ban lifts it.
  moderation::ServerBan lift;
  lift.target = "u-mallory";
  lift.created_unix_ms = now;
  r = SyncServerBans(st, {{lift, false}}, now);
  ASSERT_EQ(r.applied.size(), 1u);
  auto listed = st.ListServerBans(now);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].target, "192.0.2.0/24");
  // A newer ban of the address that is over already replaced the permanent one: to this
  // node it is a lift. An older one that is over changes nothing.
  moderation::ServerBan shortened = fresh;
  shortened.created_unix_ms = now - 5;
  shortened.until_unix_ms = now - 1;
  moderation::ServerBan stale = fresh;
  stale.created_unix_ms = now - 20;
  stale.until_unix_ms = now - 1;
  EXPECT_TRUE(SyncServerBans(st, {{stale, true}}, now).applied.empty());
  r = SyncServerBans(st, {{shortened, true}}, now);
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.applied.size(), 1u);
  EXPECT_FALSE(r.applied[0].second);
  listed = st.ListServerBans(now);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
}

}  // namespace
}  // namespace tutti::server
