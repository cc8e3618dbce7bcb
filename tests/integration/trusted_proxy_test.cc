// Behind a reverse proxy, against a real in-process server on loopback: connections from
// a trusted proxy address (127.0.0.5) are limited, braked and banned by the client address
// the proxy names (127.0.0.21, 127.0.0.22), each apart; the same header from an untrusted
// peer is ignored, and a trusted proxy's header that does not parse is refused. Counts
// what the server answered, never how fast.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/raw_ws.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

constexpr char kProxy[] = "127.0.0.5";
constexpr char kAlice[] = "127.0.0.21";
constexpr char kBob[] = "127.0.0.22";

std::unique_ptr<TestServer> ProxiedServer(
    const std::function<void(server::ServerConfig&)>& more = nullptr) {
  return std::make_unique<TestServer>(2, [&](server::ServerConfig& c) {
    c.exempt_networks = "";
    c.upgrades_per_second_per_address = 0;
    c.max_connections_per_address = 0;
    c.max_guests_per_address = 0;
    c.trusted_proxies = std::string(kProxy) + "/32";
    if (more) more(c);
  });
}

// Opens a WebSocket from `source` with `headers` ("Name: value\r\n" lines) and `resource`
// (a fresh one for `name` when empty); the connection stays open in *out when upgraded.
HttpResponse OpenVia(TestServer& server, const std::string& source, const std::string& headers,
                     const std::string& name, std::unique_ptr<RawWs>* out = nullptr,
                     const std::string& resource = "") {
  auto ws = std::make_unique<RawWs>();
  ws->set_source_address(source);
  ws->set_extra_headers(headers);
  HttpResponse r;
  if (!ws->ConnectTcp(server.port())) {
    ADD_FAILURE() << "connect from " << source << " failed";
    return r;
  }
  r = ws->Upgrade(resource.empty() ? server.Resource(Named(name)) : resource);
  if (out) *out = std::move(ws);
  return r;
}

std::string Xff(const std::string& value) { return "X-Forwarded-For: " + value + "\r\n"; }

// Server-bans `target` through an admin's /sban and waits for the answer.
void ServerBan(TestServer& ts, const std::string& target) {
  UserSpec admin = Named("admin");
  admin.roles = {"admin"};
  auto c = ts.Connect(admin);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->Send(ChatMsg("/sban " + target + " 1h test", "ban")));
  auto r = WaitForReply(*c, proto::ClientMessage::kCommandResult, "ban");
  ASSERT_TRUE(r && r->command_result().ok()) << (r ? r->ShortDebugString() : "no answer");
}

TEST(TrustedProxy, TwoClientsBehindOneProxyHaveAnAddressCapEach) {
  auto ts = ProxiedServer([](server::ServerConfig& c) { c.max_connections_per_address = 2; });
  std::vector<std::unique_ptr<RawWs>> held(4);
  EXPECT_EQ(OpenVia(*ts, kProxy, Xff(kAlice), "a0", &held[0]).status, 101);
  EXPECT_EQ(OpenVia(*ts, kProxy, Xff(kAlice), "a1", &held[1]).status, 101);
  HttpResponse third = OpenVia(*ts, kProxy, Xff(kAlice), "a2");
  EXPECT_EQ(third.status, 429);
  EXPECT_NE(third.body.find("too many connections from your address"), std::string::npos)
      << third.body;
  // Bob, behind the same proxy, has his own two; the proxy itself is no one's address.
  EXPECT_EQ(OpenVia(*ts, kProxy, Xff(kBob), "b0", &held[2]).status, 101);
  EXPECT_EQ(OpenVia(*ts, kProxy, Xff(kBob), "b1", &held[3]).status, 101);
}

TEST(TrustedProxy, BansTargetTheClientBehindTheProxy) {
  auto ts = ProxiedServer();
  ServerBan(*ts, kAlice);
  HttpResponse alice = OpenVia(*ts, kProxy, Xff(kAlice), "alice");
  EXPECT_EQ(alice.status, 403);
  EXPECT_NE(alice.body.find("banned"), std::string::npos) << alice.body;
  std::unique_ptr<RawWs> bob;
  EXPECT_EQ(OpenVia(*ts, kProxy, Xff(kBob), "bob", &bob).status, 101);
  // What a client prepends itself does not hide it: the proxy appended the real address.
  EXPECT_EQ(OpenVia(*ts, kProxy, Xff(std::string(kBob) + ", " + kAlice), "alice2").status, 403);

  // A CIDR ban reaches both, a Forwarded-header deployment as well.
  auto fwd = ProxiedServer([](server::ServerConfig& c) { c.proxy_header = "forwarded"; });
  ServerBan(*fwd, "127.0.0.16/28");
  EXPECT_EQ(OpenVia(*fwd, kProxy, "Forwarded: for=127.0.0.22;proto=https\r\n", "b").status, 403);
  EXPECT_EQ(OpenVia(*fwd, kProxy, "Forwarded: for=\"127.0.0.33:4711\"\r\n", "c").status, 101);
  // In that deployment an X-Forwarded-For header is nobody's word: the proxy is the peer.
  EXPECT_EQ(OpenVia(*fwd, kProxy, Xff(kBob), "d").status, 101);
}

TEST(TrustedProxy, FailedAttemptsBrakeOnlyTheClientThatMadeThem) {
  auto ts = ProxiedServer([](server::ServerConfig& c) { c.auth_failure_limit = 3; });
  for (int i = 0; i < 3; ++i) {
    HttpResponse bad = OpenVia(*ts, kProxy, Xff(kAlice), "", nullptr, "/api/websocket/AAAA");
    EXPECT_GE(bad.status, 400) << i;
    EXPECT_NE(bad.status, 429) << i;
  }
  HttpResponse braked = OpenVia(*ts, kProxy, Xff(kAlice), "alice");
  EXPECT_EQ(braked.status, 429);
  EXPECT_NE(braked.body.find("too many failed attempts"), std::string::npos) << braked.body;
  std::unique_ptr<RawWs> bob;
  EXPECT_EQ(OpenVia(*ts, kProxy, Xff(kBob), "bob", &bob).status, 101);
}

TEST(TrustedProxy, ASpoofedHeaderFromAnUntrustedPeerIsIgnored) {
  auto ts = ProxiedServer([](server::ServerConfig& c) { c.max_connections_per_address = 1; });
  ServerBan(*ts, kAlice);
  // Alice herself, claiming to be a proxy for Bob: still Alice, still banned.
  EXPECT_EQ(OpenVia(*ts, kAlice, Xff(kBob), "alice").status, 403);
  // Someone else claiming to be Alice (banned) is judged by its own address.
  std::unique_ptr<RawWs> held;
  EXPECT_EQ(OpenVia(*ts, "127.0.0.7", Xff(kAlice), "carol", &held).status, 101);
  // ... and counted on it: a second connection is past that address's cap of one, even
  // when it names another client.
  EXPECT_EQ(OpenVia(*ts, "127.0.0.7", Xff(kBob), "carol2").status, 429);
  // A header that would not parse from a proxy is nothing from anyone else.
  std::unique_ptr<RawWs> dave;
  EXPECT_EQ(OpenVia(*ts, "127.0.0.8", Xff("not an address"), "dave", &dave).status, 101);
}

TEST(TrustedProxy, AMalformedHeaderFromTheProxyIsRefused) {
  auto ts = ProxiedServer();
  for (const std::string& value : {std::string("not an address"), std::string("127.0.0.21:80"),
                                   std::string("127.0.0.21,,127.0.0.22")}) {
    HttpResponse r = OpenVia(*ts, kProxy, Xff(value), "x");
    EXPECT_EQ(r.status, 400) << value;
    EXPECT_NE(r.body.find("bad forwarding header"), std::string::npos) << r.body;
  }
  // No header at all is the proxy speaking for itself (a health check).
  std::unique_ptr<RawWs> self;
  EXPECT_EQ(OpenVia(*ts, kProxy, "", "proxy-itself", &self).status, 101);
  EXPECT_TRUE(ServerStillServes(*ts));
}

}  // namespace
}  // namespace tutti::testing
