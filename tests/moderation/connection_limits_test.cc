// ConnectionLimits: the door's accounting, driven with a hand-held clock.
#include "server/moderation/connection_limits.h"

#include <gtest/gtest.h>

namespace tutti::server::moderation {
namespace {

using Refusal = ConnectionLimits::Refusal;

ConnectionLimits::Options Opts() {
  ConnectionLimits::Options o;
  o.max_connections = 100;
  o.max_per_address = 3;
  o.max_guests_per_address = 2;
  o.attempts_per_second = 1;
  o.attempt_burst = 4;
  return o;
}

TEST(ConnectionLimits, TheAddressCapCountsOpenConnectionsIncludingThisOne) {
  ConnectionLimits limits(Opts());
  std::vector<ConnectionLimits::Ticket> t;
  for (int i = 0; i < 3; ++i) {
    t.push_back(limits.Accepted("192.0.2.1", 0));
    EXPECT_TRUE(limits.CheckUpgrade(t.back(), 0).ok()) << i;
  }
  t.push_back(limits.Accepted("192.0.2.1", 0));
  EXPECT_EQ(limits.CheckUpgrade(t[3], 0).refusal, Refusal::kAddressFull);
  limits.Released(t[0], 0);
  EXPECT_TRUE(limits.CheckUpgrade(t[3], 0).ok());
  EXPECT_EQ(limits.stats().open, 3u);
}

// A proxy's connection is accepted unkeyed and counted toward its client's address
// once the upgrade names it; given back from that address when it goes.
TEST(ConnectionLimits, AttributeMovesAProxiedConnectionOntoItsClientsAddress) {
  ConnectionLimits limits(Opts());
  std::vector<ConnectionLimits::Ticket> t;
  for (int i = 0; i < 4; ++i) {
    t.push_back(limits.Accepted("", 0));  // from the trusted proxy
    EXPECT_TRUE(t.back().key.empty());
    limits.Attribute(t.back(), i < 3 ? "192.0.2.1" : "192.0.2.2", 0);
    EXPECT_FALSE(t.back().key.empty());
  }
  EXPECT_TRUE(limits.CheckUpgrade(t[2], 0).ok());
  ConnectionLimits::Ticket fourth_of_one = limits.Accepted("", 0);
  limits.Attribute(fourth_of_one, "192.0.2.1", 0);
  EXPECT_EQ(limits.CheckUpgrade(fourth_of_one, 0).refusal, Refusal::kAddressFull);
  EXPECT_TRUE(limits.CheckUpgrade(t[3], 0).ok());  // the other client is apart
  // A keyed ticket keeps its key.
  const std::string key = t[3].key;
  limits.Attribute(t[3], "192.0.2.1", 0);
  EXPECT_EQ(t[3].key, key);
  limits.Released(t[0], 0);
  EXPECT_TRUE(limits.CheckUpgrade(fourth_of_one, 0).ok());
  EXPECT_EQ(limits.stats().open, 4u);
}

TEST(ConnectionLimits, AcceptRefusesPastTheCapOrTheCeilingWithoutTakingAnAttempt) {
  ConnectionLimits::Options o = Opts();
  o.max_connections = 5;
  ConnectionLimits limits(o);
  std::vector<ConnectionLimits::Ticket> t;
  for (int i = 0; i < 3; ++i) {
    t.push_back(limits.Accepted("192.0.2.1", 0));
    EXPECT_TRUE(limits.CheckAccepted(t.back()).ok()) << i;
  }
  t.push_back(limits.Accepted("192.0.2.1", 0));
  EXPECT_EQ(limits.CheckAccepted(t[3]).refusal, Refusal::kAddressFull);
  limits.Released(t[3], 0);
  t.push_back(limits.Accepted("192.0.2.10", 0));
  t.push_back(limits.Accepted("192.0.2.11", 0));
  EXPECT_TRUE(limits.CheckAccepted(t[5]).ok());  // 5 open: at the ceiling, not past it
  t.push_back(limits.Accepted("192.0.2.12", 0));
  EXPECT_EQ(limits.CheckAccepted(t[6]).refusal, Refusal::kServerFull);
  // The bucket was not touched: four upgrades still pass for the first address.
  limits.Released(t[6], 0);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limits.CheckUpgrade(t[i], 0).ok()) << i;
}

TEST(ConnectionLimits, RetryAfterStaysWithinADayForATinyRate) {
  ConnectionLimits::Options o = Opts();
  o.attempts_per_second = 1e-12;
  o.attempt_burst = 1;
  ConnectionLimits limits(o);
  auto t = limits.Accepted("192.0.2.1", 0);
  EXPECT_TRUE(limits.CheckUpgrade(t, 0).ok());
  ConnectionLimits::Verdict v = limits.CheckUpgrade(t, 0);
  EXPECT_EQ(v.refusal, Refusal::kTooManyAttempts);
  EXPECT_EQ(v.retry_after_s, 86'400);
}

TEST(ConnectionLimits, IPv6AddressesOfOneSlash64ShareACount) {
  ConnectionLimits limits(Opts());
  std::vector<ConnectionLimits::Ticket> t;
  for (int i = 1; i <= 4; ++i) t.push_back(limits.Accepted("2001:db8::" + std::to_string(i), 0));
  EXPECT_EQ(limits.CheckUpgrade(t[3], 0).refusal, Refusal::kAddressFull);
  auto elsewhere = limits.Accepted("2001:db8:0:1::1", 0);
  EXPECT_TRUE(limits.CheckUpgrade(elsewhere, 0).ok());
}

TEST(ConnectionLimits, TheAttemptBucketRefillsWithTime) {
  ConnectionLimits limits(Opts());
  auto t = limits.Accepted("192.0.2.1", 0);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(limits.CheckUpgrade(t, 0).ok()) << i;
  ConnectionLimits::Verdict v = limits.CheckUpgrade(t, 0);
  EXPECT_EQ(v.refusal, Refusal::kTooManyAttempts);
  EXPECT_EQ(v.retry_after_s, 1);
  EXPECT_EQ(limits.CheckUpgrade(t, 500).refusal, Refusal::kTooManyAttempts);
  EXPECT_TRUE(limits.CheckUpgrade(t, 1000).ok());
  EXPECT_EQ(limits.stats().refused_attempts, 2u);
}

TEST(ConnectionLimits, TheCeilingComesFirstAndCountsEveryAddress) {
  ConnectionLimits::Options o = Opts();
  o.max_connections = 2;
  o.exempt = {*ParseCidr("10.0.0.0/8")};
  ConnectionLimits limits(o);
  auto a = limits.Accepted("192.0.2.1", 0);
  auto b = limits.Accepted("10.1.2.3", 0);
  auto c = limits.Accepted("", 0);
  EXPECT_EQ(limits.CheckUpgrade(c, 0).refusal, Refusal::kServerFull);
  EXPECT_EQ(limits.CheckUpgrade(a, 0).refusal, Refusal::kServerFull);
  limits.Released(c, 0);
  EXPECT_TRUE(limits.CheckUpgrade(b, 0).ok());
}

TEST(ConnectionLimits, GuestSlotsAreHeldUntilRelease) {
  ConnectionLimits limits(Opts());
  auto g1 = limits.Accepted("192.0.2.1", 0);
  auto g2 = limits.Accepted("192.0.2.1", 0);
  auto g3 = limits.Accepted("192.0.2.1", 0);
  EXPECT_TRUE(limits.ClaimGuest(g1).ok());
  EXPECT_TRUE(limits.ClaimGuest(g2).ok());
  EXPECT_EQ(limits.ClaimGuest(g3).refusal, Refusal::kGuestsFull);
  limits.Released(g1, 0);
  EXPECT_TRUE(limits.ClaimGuest(g3).ok());
}

TEST(ConnectionLimits, ExemptNetworksAreNotCountedPerAddress) {
  ConnectionLimits::Options o = Opts();
  o.exempt = *ConnectionLimits::ParseNetworks(" 127.0.0.0/8 ,::1");
  ConnectionLimits limits(o);
  std::vector<ConnectionLimits::Ticket> t;
  for (int i = 0; i < 10; ++i) {
    t.push_back(limits.Accepted("127.0.0.5", 0));
    EXPECT_TRUE(limits.CheckUpgrade(t.back(), 0).ok());
    EXPECT_TRUE(limits.ClaimGuest(t.back()).ok());
  }
  EXPECT_EQ(limits.stats().tracked, 0u);
  EXPECT_EQ(limits.stats().open, 10u);
}

TEST(ConnectionLimits, ReleaseTwiceIsHarmlessAndIdleEntriesGo) {
  ConnectionLimits limits(Opts());
  auto t = limits.Accepted("192.0.2.1", 0);
  EXPECT_TRUE(limits.CheckUpgrade(t, 0).ok());
  limits.Released(t, 0);
  limits.Released(t, 0);
  EXPECT_EQ(limits.stats().open, 0u);
  // Its bucket was not full yet: the entry stays until a sweep finds it idle.
  EXPECT_EQ(limits.stats().tracked, 1u);
  auto u = limits.Accepted("192.0.2.1", 5000);
  limits.Released(u, 5000);
  EXPECT_EQ(limits.stats().tracked, 0u);
}

TEST(ConnectionLimits, AFullTableLetsNewAddressesThroughUncounted) {
  ConnectionLimits::Options o = Opts();
  o.max_tracked = 2;
  ConnectionLimits limits(o);
  auto a = limits.Accepted("192.0.2.1", 0);
  auto b = limits.Accepted("192.0.2.2", 0);
  auto c = limits.Accepted("192.0.2.3", 0);
  EXPECT_TRUE(c.key.empty());
  EXPECT_TRUE(limits.CheckUpgrade(c, 0).ok());
  EXPECT_EQ(limits.stats().untracked, 1u);
  EXPECT_EQ(limits.stats().open, 3u);
}

TEST(ConnectionLimits, ParseNetworksNamesTheBadEntry) {
  auto bad = ConnectionLimits::ParseNetworks("127.0.0.0/8,300.1.1.1");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("300.1.1.1"), std::string::npos);
  auto empty = ConnectionLimits::ParseNetworks(" , ");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

}  // namespace
}  // namespace tutti::server::moderation
