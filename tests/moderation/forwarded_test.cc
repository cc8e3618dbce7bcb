// The client address behind a trusted reverse proxy (server/moderation/forwarded.h): the
// two headers' grammar, strictly, and the walk from the right that stops at the first
// address no trusted proxy owns.
#include "server/moderation/forwarded.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tutti::server::moderation {
namespace {

TrustedProxies Proxies(ForwardedHeader header = ForwardedHeader::kXForwardedFor) {
  std::vector<Cidr> nets = {*ParseCidr("127.0.0.5"), *ParseCidr("10.0.0.0/8")};
  return TrustedProxies(std::move(nets), header);
}

TEST(Forwarded, XForwardedForListsAddressesLeftToRight) {
  auto hops = ParseXForwardedFor("203.0.113.7 ,2001:DB8::1,\t[::1], unknown,::ffff:192.0.2.9");
  ASSERT_TRUE(hops.ok()) << hops.status();
  EXPECT_EQ(*hops,
            (std::vector<std::string>{"203.0.113.7", "2001:db8::1", "::1", "", "192.0.2.9"}));
}

TEST(Forwarded, XForwardedForRefusesWhatIsNoAddress) {
  for (const char* bad :
       {"", " ", "1.2.3.4,", ",1.2.3.4", "1.2.3.4,,5.6.7.8", "1.2.3.4:80", "[::1]:80",
        "example.com", "1.2.3", "010.1.1.1", "1.2.3.4 5.6.7.8", "_hidden"}) {
    EXPECT_FALSE(ParseXForwardedFor(bad).ok()) << bad;
  }
  std::string many;
  for (size_t i = 0; i <= kMaxForwardedHops; ++i) many += i ? ",1.2.3.4" : "1.2.3.4";
  EXPECT_FALSE(ParseXForwardedFor(many).ok());
}

TEST(Forwarded, ForwardedReadsForNodesOfEachElement) {
  auto hops = ParseForwarded(
      "for=192.0.2.60;proto=http;by=203.0.113.43, For=\"[2001:db8:cafe::17]:4711\","
      "for=unknown;host=\"a b\", for=_hidden, proto=https, for=\"198.51.100.1:_port\"");
  ASSERT_TRUE(hops.ok()) << hops.status();
  EXPECT_EQ(*hops, (std::vector<std::string>{"192.0.2.60", "2001:db8:cafe::17", "", "", "",
                                             "198.51.100.1"}));
}

TEST(Forwarded, ForwardedRefusesWhatTheGrammarDoesNot) {
  for (const char* bad : {
           "for=",                     // empty value
           "for",                      // no '='
           "for=[::1]",                // brackets need quotes
           "for=1.2.3.4:80",           // a port needs quotes
           "for=\"1.2.3.4",            // unterminated
           "for=\"[::1\"",             // unclosed bracket
           "for=\"[1.2.3.4]\"",        // IPv4 in brackets
           "for=\"::1\"",              // IPv6 without brackets
           "for=\"[::1]x\"",           // junk after ]
           "for=\"1.2.3.4:123456\"",   // port too long
           "for=1.2.3.4;for=5.6.7.8",  // "for" twice
           "for=1.2.3.4;proto=a;proto=b",
           "for=1.2.3.4,",  // empty element
           ",for=1.2.3.4",
           "for=1.2.3.4 for=5.6.7.8",  // missing separator
           "for=example.com",          // a name, not an address
           "for=\"1.2.3.4\x01\"",      // control character
       }) {
    EXPECT_FALSE(ParseForwarded(bad).ok()) << bad;
  }
}

TEST(Forwarded, AnUntrustedPeerIsTheClientWhateverItSends) {
  const TrustedProxies p = Proxies();
  EXPECT_EQ(*p.ClientAddress("127.0.0.7", "127.0.0.21"), "127.0.0.7");
  EXPECT_EQ(*p.ClientAddress("127.0.0.7", "garbage, really"), "127.0.0.7");
}

TEST(Forwarded, ATrustedPeerNamesTheNearestUntrustedHop) {
  const TrustedProxies p = Proxies();
  EXPECT_EQ(*p.ClientAddress("127.0.0.5", "127.0.0.21"), "127.0.0.21");
  // What the client wrote itself (left of what our proxies appended) is ignored.
  EXPECT_EQ(*p.ClientAddress("127.0.0.5", "6.6.6.6, 127.0.0.21"), "127.0.0.21");
  // A chain of our own proxies is walked through.
  EXPECT_EQ(*p.ClientAddress("127.0.0.5", "6.6.6.6, 127.0.0.21, 10.1.2.3"), "127.0.0.21");
  // No header: a health check from the proxy itself.
  EXPECT_EQ(*p.ClientAddress("127.0.0.5", ""), "127.0.0.5");
  // A hop that hides its client: the nearest address we trust is all there is.
  EXPECT_EQ(*p.ClientAddress("127.0.0.5", "127.0.0.21, unknown, 10.1.2.3"), "10.1.2.3");
  // Every hop ours: the farthest.
  EXPECT_EQ(*p.ClientAddress("127.0.0.5", "10.9.9.9, 10.1.2.3"), "10.9.9.9");
  // A trusted proxy's header that does not parse is an error, not the proxy's address.
  EXPECT_FALSE(p.ClientAddress("127.0.0.5", "127.0.0.21, nonsense").ok());
}

TEST(Forwarded, OnlyTheConfiguredHeaderIsRead) {
  const TrustedProxies fwd = Proxies(ForwardedHeader::kForwarded);
  EXPECT_EQ(*fwd.ClientAddress("127.0.0.5", "for=127.0.0.21;proto=https"), "127.0.0.21");
  // An X-Forwarded-For value is no Forwarded value.
  EXPECT_FALSE(fwd.ClientAddress("127.0.0.5", "127.0.0.21").ok());
  EXPECT_EQ(ForwardedHeaderName(ForwardedHeader::kForwarded), "Forwarded");
  EXPECT_EQ(*ParseForwardedHeaderName("X-Forwarded-For"), ForwardedHeader::kXForwardedFor);
  EXPECT_FALSE(ParseForwardedHeaderName("x-real-ip").ok());
}

}  // namespace
}  // namespace tutti::server::moderation
