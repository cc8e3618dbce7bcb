#include "server/moderation/ip_address.h"

#include "gtest/gtest.h"

namespace tutti::server::moderation {
namespace {

TEST(ParseIpTest, V4) {
  std::optional<IpAddress> a = ParseIp("192.0.2.1");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->family, IpFamily::kV4);
  EXPECT_EQ(a->bytes[0], 192);
  EXPECT_EQ(a->bytes[3], 1);
  EXPECT_EQ(a->ToString(), "192.0.2.1");
}

TEST(ParseIpTest, V6AndBrackets) {
  std::optional<IpAddress> a = ParseIp("2001:DB8:0:0::1");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->family, IpFamily::kV6);
  EXPECT_EQ(a->ToString(), "2001:db8::1");
  std::optional<IpAddress> b = ParseIp("[2001:db8::1]");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*a, *b);
}

TEST(ParseIpTest, MappedV4BecomesV4) {
  std::optional<IpAddress> mapped = ParseIp("::ffff:192.0.2.1");
  ASSERT_TRUE(mapped.has_value());
  EXPECT_EQ(mapped->family, IpFamily::kV4);
  EXPECT_EQ(*mapped, *ParseIp("192.0.2.1"));
}

TEST(ParseIpTest, Refusals) {
  for (const char* bad :
       {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4x", "example.com", "fe80::1%eth0",
        "1.2.3.4/24", ":::", "[1.2.3.4", " 1.2.3.4", "1:2:3:4:5:6:7:8:9"}) {
    EXPECT_FALSE(ParseIp(bad).has_value()) << bad;
  }
  EXPECT_FALSE(ParseIp(std::string(200, '1')).has_value());
}

TEST(MaskAddressTest, ClearsHostBits) {
  EXPECT_EQ(MaskAddress(*ParseIp("192.0.2.255"), 24).ToString(), "192.0.2.0");
  EXPECT_EQ(MaskAddress(*ParseIp("192.0.2.255"), 25).ToString(), "192.0.2.128");
  EXPECT_EQ(MaskAddress(*ParseIp("192.0.2.255"), 0).ToString(), "0.0.0.0");
  EXPECT_EQ(MaskAddress(*ParseIp("192.0.2.255"), 32).ToString(), "192.0.2.255");
  EXPECT_EQ(MaskAddress(*ParseIp("2001:db8:aaaa:bbbb:1:2:3:4"), 64).ToString(),
            "2001:db8:aaaa:bbbb::");
  EXPECT_EQ(MaskAddress(*ParseIp("2001:db8::ffff"), 121).ToString(), "2001:db8::ff80");
}

TEST(ParseCidrTest, V4Networks) {
  absl::StatusOr<Cidr> net = ParseCidr("192.0.2.0/24");
  ASSERT_TRUE(net.ok()) << net.status();
  EXPECT_EQ(net->prefix_len, 24);
  EXPECT_TRUE(net->Contains(*ParseIp("192.0.2.77")));
  EXPECT_TRUE(net->Contains(*ParseIp("::ffff:192.0.2.77")));
  EXPECT_FALSE(net->Contains(*ParseIp("192.0.3.1")));
  EXPECT_FALSE(net->Contains(*ParseIp("2001:db8::1")));
  EXPECT_EQ(net->ToString(), "192.0.2.0/24");
}

TEST(ParseCidrTest, HostBitsAreCleared) {
  absl::StatusOr<Cidr> net = ParseCidr("10.1.2.3/8");
  ASSERT_TRUE(net.ok());
  EXPECT_EQ(net->ToString(), "10.0.0.0/8");
  EXPECT_TRUE(net->Contains(*ParseIp("10.200.0.1")));
}

TEST(ParseCidrTest, BareAddressIsAFullPrefix) {
  absl::StatusOr<Cidr> one = ParseCidr("192.0.2.9");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->prefix_len, 32);
  EXPECT_EQ(one->ToString(), "192.0.2.9");
  EXPECT_TRUE(one->Contains(*ParseIp("192.0.2.9")));
  EXPECT_FALSE(one->Contains(*ParseIp("192.0.2.8")));
  absl::StatusOr<Cidr> v6 = ParseCidr("2001:db8::9");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->prefix_len, 128);
}

TEST(ParseCidrTest, V6Networks) {
  absl::StatusOr<Cidr> net = ParseCidr("2001:db8::/32");
  ASSERT_TRUE(net.ok());
  EXPECT_TRUE(net->Contains(*ParseIp("2001:db8:ffff::1")));
  EXPECT_FALSE(net->Contains(*ParseIp("2001:db9::1")));
  EXPECT_FALSE(net->Contains(*ParseIp("192.0.2.1")));
  EXPECT_EQ(ParseCidr("[2001:db8::]/48")->ToString(), "2001:db8::/48");
  absl::StatusOr<Cidr> all = ParseCidr("::/0");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->Contains(*ParseIp("2001:db8::1")));
}

TEST(ParseCidrTest, MappedNetworkBecomesV4) {
  absl::StatusOr<Cidr> net = ParseCidr("::ffff:192.0.2.0/120");
  ASSERT_TRUE(net.ok());
  EXPECT_EQ(net->base.family, IpFamily::kV4);
  EXPECT_EQ(net->prefix_len, 24);
  EXPECT_TRUE(net->Contains(*ParseIp("192.0.2.200")));
}

TEST(ParseCidrTest, Refusals) {
  for (const char* bad :
       {"192.0.2.0/33", "192.0.2.0/", "192.0.2.0/-1", "192.0.2.0/2a", "192.0.2.0/ 8",
        "2001:db8::/129", "2001:db8::/1000", "bob/24", "/24", "", "192.0.2/24"}) {
    absl::StatusOr<Cidr> net = ParseCidr(bad);
    EXPECT_FALSE(net.ok()) << bad;
    if (!net.ok()) {
      EXPECT_EQ(net.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace tutti::server::moderation
