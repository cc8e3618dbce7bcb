#include "server/moderation/ban_list.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace tutti::server::moderation {
namespace {

constexpr int64_t kNow = 1'800'000'000'000;  // some wall-clock instant
constexpr int64_t kHour = 3'600'000;

ServerBan Ban(std::string target, int64_t until = 0, std::string reason = "r") {
  ServerBan ban;
  ban.target = std::move(target);
  ban.reason = std::move(reason);
  ban.actor = "admin";
  ban.created_unix_ms = kNow - 1;
  ban.until_unix_ms = until;
  return ban;
}

TEST(CanonicalBanTargetTest, ClassifiesAndCanonicalises) {
  EXPECT_EQ(*CanonicalBanTarget("bob"), "bob");
  EXPECT_EQ(*CanonicalBanTarget("guest:abc"), "guest:abc");
  EXPECT_EQ(*CanonicalBanTarget("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(*CanonicalBanTarget("192.0.2.7/24"), "192.0.2.0/24");
  EXPECT_EQ(*CanonicalBanTarget("2001:DB8::1"), "2001:db8::1");
  EXPECT_EQ(*CanonicalBanTarget("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(*CanonicalBanTarget("192.0.2.7/32"), "192.0.2.7");
  EXPECT_EQ(CanonicalBanTarget("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CanonicalBanTarget("192.0.2.0/40").status().code(), absl::StatusCode::kInvalidArgument);
  // A slash after something that is no address is part of a user id.
  EXPECT_EQ(ClassifyBanTarget("team/bob"), BanTargetKind::kUser);
  EXPECT_EQ(ClassifyBanTarget("10.0.0.0/8"), BanTargetKind::kAddress);
}

TEST(BanListTest, EmptyMatchesNothing) {
  std::shared_ptr<const BanList> list = BanList::Empty();
  EXPECT_FALSE(list->Match("bob", "192.0.2.1", kNow).has_value());
  EXPECT_EQ(list->size(), 0u);
}

TEST(BanListTest, UserBan) {
  auto list = BanList::Build({Ban("bob", 0, "spam")}, kNow);
  std::optional<BanEntryView> hit = list->Match("bob", "198.51.100.1", kNow);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->kind, BanTargetKind::kUser);
  EXPECT_EQ(hit->target, "bob");
  EXPECT_EQ(hit->reason, "spam");
  EXPECT_EQ(hit->actor, "admin");
  EXPECT_EQ(hit->until_unix_ms, 0);
  EXPECT_FALSE(list->Match("bobby", "198.51.100.1", kNow).has_value());
  EXPECT_FALSE(list->Match("", "198.51.100.1", kNow).has_value());
}

TEST(BanListTest, AddressAndNetworkBans) {
  auto list = BanList::Build(
      {Ban("192.0.2.9"), Ban("198.51.100.0/24"), Ban("2001:db8:1::/48"), Ban("2001:db8::5")}, kNow);
  EXPECT_TRUE(list->Match("", "192.0.2.9", kNow).has_value());
  EXPECT_FALSE(list->Match("", "192.0.2.10", kNow).has_value());
  std::optional<BanEntryView> net = list->Match("carol", "198.51.100.200", kNow);
  ASSERT_TRUE(net.has_value());
  EXPECT_EQ(net->kind, BanTargetKind::kAddress);
  EXPECT_EQ(net->target, "198.51.100.0/24");
  EXPECT_FALSE(list->Match("carol", "198.51.101.1", kNow).has_value());
  EXPECT_TRUE(list->Match("", "2001:db8:1:ffff::1", kNow).has_value());
  EXPECT_FALSE(list->Match("", "2001:db8:2::1", kNow).has_value());
  EXPECT_TRUE(list->Match("", "2001:db8::5", kNow).has_value());
  EXPECT_FALSE(list->Match("", "2001:db8::6", kNow).has_value());
  // A dual-stack listener reports IPv4 peers as mapped IPv6 addresses.
  EXPECT_TRUE(list->Match("", "::ffff:198.51.100.3", kNow).has_value());
  // Garbage addresses are skipped, not matched.
  EXPECT_FALSE(list->Match("", "not-an-ip", kNow).has_value());
}

TEST(BanListTest, UserBanIsReportedBeforeAddressBan) {
  auto list = BanList::Build({Ban("192.0.2.0/24"), Ban("bob")}, kNow);
  std::optional<BanEntryView> hit = list->Match("bob", "192.0.2.1", kNow);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->kind, BanTargetKind::kUser);
}

TEST(BanListTest, ExpiryIsCheckedAtMatchTime) {
  auto list = BanList::Build({Ban("bob", kNow + kHour), Ban("10.0.0.0/8", kNow + 2 * kHour)}, kNow);
  EXPECT_TRUE(list->Match("bob", "", kNow + kHour - 1).has_value());
  EXPECT_FALSE(list->Match("bob", "", kNow + kHour).has_value());
  EXPECT_TRUE(list->Match("", "10.1.1.1", kNow + kHour).has_value());
  EXPECT_FALSE(list->Match("", "10.1.1.1", kNow + 2 * kHour).has_value());
  EXPECT_EQ(list->next_expiry_unix_ms(), kNow + kHour);
}

TEST(BanListTest, BuildDropsExpiredAndRejectsMalformed) {
  auto list =
      BanList::Build({Ban("old", kNow - 1), Ban("192.0.2.0/99"), Ban(""), Ban("new")}, kNow);
  EXPECT_EQ(list->size(), 1u);
  EXPECT_EQ(list->rejected(), 2u);
  EXPECT_EQ(list->entries()[0].target, "new");
  EXPECT_EQ(list->next_expiry_unix_ms(), 0);
}

TEST(BanListTest, DuplicateTargetsKeepTheLongerBan) {
  auto list =
      BanList::Build({Ban("bob", kNow + kHour, "short"), Ban("bob", 0, "forever"),
                      Ban("bob", kNow + 2 * kHour, "medium"), Ban("192.0.2.1/24", kNow + kHour),
                      Ban("192.0.2.0/24", kNow + 3 * kHour)},
                     kNow);
  EXPECT_EQ(list->size(), 2u);
  std::optional<BanEntryView> bob = list->Match("bob", "", kNow + 10 * kHour);
  ASSERT_TRUE(bob.has_value());
  EXPECT_EQ(bob->reason, "forever");
  std::optional<BanEntryView> net = list->Match("", "192.0.2.4", kNow + 2 * kHour);
  ASSERT_TRUE(net.has_value());
  EXPECT_EQ(net->until_unix_ms, kNow + 3 * kHour);
}

TEST(BanListTest, OverlappingNetworksFindAnActiveOne) {
  // The /32 ended; the /16 still holds.
  auto list = BanList::Build({Ban("10.1.2.3", kNow + kHour), Ban("10.1.0.0/16", 0)}, kNow);
  std::optional<BanEntryView> hit = list->Match("", "10.1.2.3", kNow + 2 * kHour);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->target, "10.1.0.0/16");
}

TEST(BanListTest, SharedSnapshotIsReadableFromManyThreads) {
  std::vector<ServerBan> bans;
  for (int i = 0; i < 200; ++i) bans.push_back(Ban("user" + std::to_string(i)));
  bans.push_back(Ban("203.0.113.0/24"));
  std::shared_ptr<const BanList> list = BanList::Build(std::move(bans), kNow);
  std::vector<std::thread> readers;
  std::vector<int> hits(4, 0);
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        if (list->Match("user" + std::to_string(i % 400), "203.0.113.5", kNow)) ++hits[t];
      }
    });
  }
  for (std::thread& reader : readers) reader.join();
  for (int h : hits) EXPECT_EQ(h, 2000);  // every lookup hits the network ban
}

}  // namespace
}  // namespace tutti::server::moderation
