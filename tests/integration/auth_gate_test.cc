// The upgrade gate over real sockets: every auth failure is a 4xx; identity comes from the token.
#include <stdlib.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "crypto/authenticator.h"
#include "crypto/base64url.h"
#include "crypto/connect_payload.h"
#include "crypto/jwt.h"
#include "crypto/keys.h"
#include "crypto/sealed_box.h"
#include "server/clock.h"
#include "tests/testing/raw_ws.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

using crypto::AuthFailure;

int64_t NowMs() { return server::SystemClock().UnixMs(); }

// Keys of a stranger: another seal key pair and another token issuer.
class ForeignKeys {
 public:
  ForeignKeys() {
    char tmpl[] = "/tmp/tutti-foreign-XXXXXX";
    char* made = mkdtemp(tmpl);
    EXPECT_NE(made, nullptr);
    dir_ = made ? made : "";
    EXPECT_TRUE(crypto::GenerateKeyFiles(dir_, false).ok());
    auto issuer = crypto::LoadIssuerKeys(dir_);
    EXPECT_TRUE(issuer.ok());
    if (issuer.ok()) issuer_ = std::move(*issuer);
    auto seal = crypto::LoadSealPublicKey(dir_);
    EXPECT_TRUE(seal.ok());
    if (seal.ok()) seal_public_ = *seal;
  }
  ~ForeignKeys() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const crypto::IssuerKeys& issuer() const { return issuer_; }
  const crypto::PublicKey& seal_public() const { return seal_public_; }

 private:
  std::string dir_;
  crypto::IssuerKeys issuer_;
  crypto::PublicKey seal_public_{};
};

crypto::TokenClaims Claims(const std::string& sub, const std::string& name, bool member = true) {
  crypto::TokenClaims c;
  c.sub = sub;
  c.name = name;
  c.member = member;
  c.iss = "tutti-test";
  c.jti = crypto::RandomSocketId();
  c.iat = NowMs() / 1000;
  c.exp = c.iat + 3600;
  return c;
}

crypto::ConnectPayload Payload(const std::string& uuid, const std::string& token,
                               const std::string& username = "someone") {
  crypto::ConnectPayload p;
  p.username = username;
  p.uuid = uuid;
  p.token = token;
  p.is_member = true;
  p.socket_id = crypto::RandomSocketId();
  p.ts_ms = NowMs();
  return p;
}

std::string Sealed(const crypto::ConnectPayload& p, const crypto::PublicKey& seal) {
  return std::string(crypto::kConnectPathPrefix) +
         crypto::Base64UrlEncode(crypto::Seal(crypto::ConnectPayloadToJson(p), seal));
}

class AuthGate : public ::testing::Test {
 protected:
  // A well-formed payload for `sub` with a valid token from the server's issuer.
  crypto::ConnectPayload Good(const std::string& sub) {
    return Payload(sub, crypto::MintToken(Claims(sub, sub), ts_.issuer()));
  }
  std::string Resource(const crypto::ConnectPayload& p) { return Sealed(p, ts_.seal_public()); }

  // Connects with `resource` and expects the upgrade to be refused with `status` and
  // the gate's short reason for `failure`.
  void ExpectRefused(const std::string& resource, int status, const std::string& reason) {
    client::Client c;
    client::ConnectResult r = c.Connect("127.0.0.1", ts_.port(), resource);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.http_status, status) << r.error;
    EXPECT_EQ(r.error, reason);
    EXPECT_LT(r.error.size(), 80u) << "the reason should be short";
    EXPECT_FALSE(c.is_open());
  }
  void ExpectRefused(const std::string& resource, AuthFailure failure) {
    ExpectRefused(resource, crypto::AuthFailureHttpStatus(failure),
                  crypto::AuthFailureReason(failure));
  }

  TestServer ts_;
};

TEST_F(AuthGate, ValidPayloadIsAccepted) {
  client::Client c;
  client::ConnectResult r = c.Connect("127.0.0.1", ts_.port(), Resource(Good("u-ok")));
  ASSERT_TRUE(r.ok) << r.http_status << " " << r.error;
  auto w = c.WaitFor(proto::ClientMessage::kWelcome, 5s);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->welcome().user().user_id(), "u-ok");
}

TEST_F(AuthGate, NotBase64IsRefused) {
  ExpectRefused("/api/websocket/not*base64!", AuthFailure::kNotBase64);
  ExpectRefused("/api/websocket/A", AuthFailure::kNotBase64);  // impossible length
}

TEST_F(AuthGate, SealedToAnotherKeyIsRefused) {
  ForeignKeys foreign;
  ExpectRefused(Sealed(Good("u-x"), foreign.seal_public()), AuthFailure::kCannotOpen);
}

TEST_F(AuthGate, TamperedCiphertextIsRefused) {
  std::string sealed = crypto::Seal(crypto::ConnectPayloadToJson(Good("u-x")), ts_.seal_public());
  for (size_t at : {size_t{0}, size_t{40}, sealed.size() / 2, sealed.size() - 1}) {
    std::string bad = sealed;
    bad[at] = static_cast<char>(bad[at] ^ 0x01);
    ExpectRefused(std::string(crypto::kConnectPathPrefix) + crypto::Base64UrlEncode(bad),
                  AuthFailure::kCannotOpen);
  }
  // Truncated below the sealed-box overhead.
  ExpectRefused(
      std::string(crypto::kConnectPathPrefix) + crypto::Base64UrlEncode(sealed.substr(0, 20)),
      AuthFailure::kCannotOpen);
}

TEST_F(AuthGate, NotJsonInsideTheBoxIsRefused) {
  std::string sealed = crypto::Seal("{not json", ts_.seal_public());
  ExpectRefused(std::string(crypto::kConnectPathPrefix) + crypto::Base64UrlEncode(sealed),
                AuthFailure::kBadJson);
}

TEST_F(AuthGate, StalePayloadIsRefused) {
  crypto::ConnectPayload p = Good("u-x");
  p.ts_ms = NowMs() - 61000;
  ExpectRefused(Resource(p), AuthFailure::kStale);
  p.ts_ms = NowMs() - 3600 * 1000;
  ExpectRefused(Resource(p), AuthFailure::kStale);
}

TEST_F(AuthGate, PayloadFromTheFutureIsRefused) {
  crypto::ConnectPayload p = Good("u-x");
  p.ts_ms = NowMs() + 60000;
  ExpectRefused(Resource(p), AuthFailure::kFromFuture);
}

TEST_F(AuthGate, ReplayedPayloadIsRefused) {
  const std::string resource = Resource(Good("u-replay"));
  client::Client first;
  client::ConnectResult r = first.Connect("127.0.0.1", ts_.port(), resource);
  ASSERT_TRUE(r.ok) << r.http_status << " " << r.error;
  ExpectRefused(resource, AuthFailure::kReplayed);
  // Still refused after the first connection is gone.
  first.Close();
  ASSERT_TRUE(first.WaitClosed(3s));
  ExpectRefused(resource, AuthFailure::kReplayed);
}

TEST_F(AuthGate, TokenFromAnotherIssuerIsRefused) {
  ForeignKeys foreign;
  crypto::ConnectPayload p =
      Payload("u-x", crypto::MintToken(Claims("u-x", "x"), foreign.issuer()));
  ExpectRefused(Resource(p), AuthFailure::kBadSignature);
}

TEST_F(AuthGate, MalformedTokenIsRefused) {
  ExpectRefused(Resource(Payload("u-x", "not.a.jwt")), AuthFailure::kBadToken);
}

TEST_F(AuthGate, ExpiredTokenIsRefused) {
  crypto::TokenClaims c = Claims("u-x", "x");
  c.iat = NowMs() / 1000 - 7200;
  c.exp = NowMs() / 1000 - 3600;
  ExpectRefused(Resource(Payload("u-x", crypto::MintToken(c, ts_.issuer()))),
                AuthFailure::kExpired);
}

TEST_F(AuthGate, TokenNotYetValidIsRefused) {
  crypto::TokenClaims c = Claims("u-x", "x");
  c.nbf = NowMs() / 1000 + 3600;
  c.exp = c.nbf + 3600;
  ExpectRefused(Resource(Payload("u-x", crypto::MintToken(c, ts_.issuer()))),
                AuthFailure::kNotYetValid);
}

TEST_F(AuthGate, SubjectThatDiffersFromUuidIsRefused) {
  std::string token = crypto::MintToken(Claims("u-alice", "alice"), ts_.issuer());
  ExpectRefused(Resource(Payload("u-mallory", token)), AuthFailure::kSubjectMismatch);
  ExpectRefused(Resource(Payload("", token)), AuthFailure::kSubjectMismatch);
}

TEST_F(AuthGate, OversizePathIsRefusedWith414) {
  std::string resource = std::string(crypto::kConnectPathPrefix) + std::string(3000, 'A');
  ExpectRefused(resource, AuthFailure::kPathTooLong);
}

TEST_F(AuthGate, UnknownPathIs404) {
  client::Client c;
  client::ConnectResult r = c.Connect("127.0.0.1", ts_.port(), "/somewhere/else");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.http_status, 404);
  EXPECT_FALSE(r.error.empty());
  EXPECT_LT(r.error.size(), 80u);
}

TEST_F(AuthGate, EmptyPayloadIsBadPath) { ExpectRefused("/api/websocket/", AuthFailure::kBadPath); }

// The refusal is plain HTTP: no 101, no Upgrade header, and the socket speaks no
// WebSocket afterwards.
TEST_F(AuthGate, RefusalHappensBeforeAnyUpgrade) {
  crypto::ConnectPayload p = Good("u-x");
  p.ts_ms = NowMs() - 120000;
  RawWs raw;
  ASSERT_TRUE(raw.ConnectTcp(ts_.port()));
  HttpResponse r = raw.Upgrade(Resource(p));
  EXPECT_EQ(r.status, 401) << r.status_line;
  EXPECT_EQ(r.headers.count("upgrade"), 0u);
  EXPECT_EQ(r.headers.count("sec-websocket-accept"), 0u);
  EXPECT_EQ(r.body, std::string(crypto::AuthFailureReason(AuthFailure::kStale)) + "\n");
  // A WebSocket frame now gets no WebSocket answer.
  raw.SendBinary(HeartbeatMsg(1).SerializeAsString());
  auto f = raw.ReadFrame(500ms);
  EXPECT_FALSE(f && (f->opcode == kOpBinary || f->opcode == kOpClose));
}

TEST_F(AuthGate, ServerKeepsServingAfterEveryKindOfRefusal) {
  // Someone connected before the barrage stays connected through it.
  auto early = ts_.Connect("early");
  ASSERT_TRUE(early);
  ASSERT_TRUE(JoinRoom(*early, "gate room"));
  ForeignKeys foreign;
  for (int round = 0; round < 3; ++round) {
    crypto::ConnectPayload stale = Good("u-x");
    stale.ts_ms = NowMs() - 120000;
    for (const std::string& resource :
         {std::string("/api/websocket/%%%"), Sealed(Good("u-x"), foreign.seal_public()),
          Resource(stale), std::string(crypto::kConnectPathPrefix) + std::string(3000, 'B'),
          Resource(Payload("u-x", crypto::MintToken(Claims("u-x", "x"), foreign.issuer()))),
          std::string("/nope")}) {
      client::Client c;
      client::ConnectResult r = c.Connect("127.0.0.1", ts_.port(), resource);
      EXPECT_FALSE(r.ok);
      EXPECT_GE(r.http_status, 400);
      EXPECT_LT(r.http_status, 500);
    }
  }
  auto late = ts_.Connect("late");
  ASSERT_TRUE(late);
  ASSERT_TRUE(JoinRoom(*late, "gate room"));
  ASSERT_TRUE(early->Send(ChatMsg("made it")));
  auto got = late->WaitFor(proto::ClientMessage::kRoomChatMessage, 5s);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->room_chat_message().message(), "made it");
  EXPECT_TRUE(early->is_open());
}

TEST_F(AuthGate, IdentityComesFromTokenClaimsNotThePayload) {
  // The token says alice, not a member, no roles; the payload claims otherwise.
  crypto::TokenClaims c = Claims("u-alice", "alice", /*member=*/false);
  crypto::ConnectPayload p = Payload("u-alice", crypto::MintToken(c, ts_.issuer()), "mallory");
  p.is_member = true;
  client::Client cl;
  client::ConnectResult r = cl.Connect("127.0.0.1", ts_.port(), Resource(p));
  ASSERT_TRUE(r.ok) << r.http_status << " " << r.error;
  auto w = cl.WaitFor(proto::ClientMessage::kWelcome, 5s);
  ASSERT_TRUE(w);
  const proto::UserInfo& u = w->welcome().user();
  EXPECT_EQ(u.user_id(), "u-alice");
  EXPECT_EQ(u.username(), "alice");
  EXPECT_FALSE(u.is_member());
  EXPECT_FALSE(u.is_guest());
  for (int role : u.roles()) {
    EXPECT_NE(role, proto::ROLE_SERVER_ADMIN);
    EXPECT_NE(role, proto::ROLE_SERVER_MODERATOR);
  }
  // And the member claim in the other direction.
  crypto::TokenClaims m = Claims("u-bob", "bob", /*member=*/true);
  crypto::ConnectPayload q = Payload("u-bob", crypto::MintToken(m, ts_.issuer()), "not bob");
  q.is_member = false;
  client::Client cl2;
  ASSERT_TRUE(cl2.Connect("127.0.0.1", ts_.port(), Resource(q)).ok);
  auto w2 = cl2.WaitFor(proto::ClientMessage::kWelcome, 5s);
  ASSERT_TRUE(w2);
  EXPECT_EQ(w2->welcome().user().username(), "bob");
  EXPECT_TRUE(w2->welcome().user().is_member());
}

bool HasRole(const proto::UserInfo& u, proto::Role role) {
  for (int r : u.roles()) {
    if (r == role) return true;
  }
  return false;
}

TEST_F(AuthGate, RolesFromClaimsShowInWelcome) {
  UserSpec admin{"root", "u-root", true, false, {"admin"}};
  UserSpec mod{"warden", "u-warden", true, false, {"moderator"}};
  UserSpec both{"boss", "u-boss", true, false, {"admin", "moderator"}};
  UserSpec plain{"pleb", "u-pleb", true, false, {}};
  proto::Welcome w;
  auto a = ts_.Connect(admin, &w);
  ASSERT_TRUE(a);
  EXPECT_TRUE(HasRole(w.user(), proto::ROLE_SERVER_ADMIN));
  EXPECT_FALSE(HasRole(w.user(), proto::ROLE_SERVER_MODERATOR));
  EXPECT_TRUE(HasRole(w.user(), proto::ROLE_MEMBER));
  auto m = ts_.Connect(mod, &w);
  ASSERT_TRUE(m);
  EXPECT_TRUE(HasRole(w.user(), proto::ROLE_SERVER_MODERATOR));
  EXPECT_FALSE(HasRole(w.user(), proto::ROLE_SERVER_ADMIN));
  auto b = ts_.Connect(both, &w);
  ASSERT_TRUE(b);
  EXPECT_TRUE(HasRole(w.user(), proto::ROLE_SERVER_MODERATOR));
  EXPECT_TRUE(HasRole(w.user(), proto::ROLE_SERVER_ADMIN));
  auto p = ts_.Connect(plain, &w);
  ASSERT_TRUE(p);
  EXPECT_FALSE(HasRole(w.user(), proto::ROLE_SERVER_MODERATOR));
  EXPECT_FALSE(HasRole(w.user(), proto::ROLE_SERVER_ADMIN));
}

TEST_F(AuthGate, GuestsGetAGuestIdentity) {
  // A guest payload cannot borrow a user id or membership.
  crypto::ConnectPayload p = Payload("u-root", "", "Visitor");
  p.is_member = true;
  client::Client c;
  ASSERT_TRUE(c.Connect("127.0.0.1", ts_.port(), Resource(p)).ok);
  auto w = c.WaitFor(proto::ClientMessage::kWelcome, 5s);
  ASSERT_TRUE(w);
  const proto::UserInfo& u = w->welcome().user();
  EXPECT_EQ(u.user_id().rfind("guest:", 0), 0u) << u.user_id();
  EXPECT_GT(u.user_id().size(), 6u);
  EXPECT_TRUE(u.is_guest());
  EXPECT_FALSE(u.is_member());
  EXPECT_EQ(u.username(), "Visitor");
  EXPECT_TRUE(HasRole(u, proto::ROLE_GUEST));
  EXPECT_FALSE(HasRole(u, proto::ROLE_SERVER_ADMIN));
  // Two guests never share an id.
  proto::Welcome w2;
  UserSpec g;
  g.name = "Visitor";
  g.guest = true;
  auto c2 = ts_.Connect(g, &w2);
  ASSERT_TRUE(c2);
  EXPECT_EQ(w2.user().user_id().rfind("guest:", 0), 0u);
  EXPECT_NE(w2.user().user_id(), u.user_id());
}

TEST(AuthGateNoGuests, GuestsAreRefusedWhenDisallowed) {
  TestServer ts(2, [](server::ServerConfig& c) { c.allow_guests = false; });
  crypto::ConnectPayload p = Payload("", "", "Visitor");
  client::Client c;
  client::ConnectResult r = c.Connect("127.0.0.1", ts.port(), Sealed(p, ts.seal_public()));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.http_status, 403);
  EXPECT_EQ(r.error, crypto::AuthFailureReason(AuthFailure::kGuestsNotAllowed));
  // Members still get in.
  auto member = ts.Connect("member");
  ASSERT_TRUE(member);
  EXPECT_TRUE(ServerStillServes(ts, "noguests"));
}

}  // namespace
}  // namespace tutti::testing
