// Sessions follow their token, over real sockets: a session refreshed before expiry
// lives on with its new roles (a demoted moderator loses /kick at once), one that is not
// refreshed is closed at exp + leeway with 4004, and a token for another user is refused
// while the session keeps its old one. Expiry is driven by short token lifetimes with no
// leeway; every wait is for a condition, with a bounded deadline.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "crypto/jwt.h"
#include "server/clock.h"
#include "server/session.h"
#include "tests/testing/test_server.h"
#include "tools/client/connect_target.h"
#include "tools/client/token_refresher.h"

namespace tutti::testing {
namespace {

void NoLeeway(server::ServerConfig& c) {
  c.token_leeway_s = 0;
  c.token_expiry_notice_s = 1;
}

int64_t NowMs() { return server::SystemClock().UnixMs(); }

std::string FreshToken(TestServer& ts, const std::string& sub, const std::string& name,
                       std::vector<std::string> roles, int64_t ttl_s) {
  crypto::TokenClaims claims;
  claims.sub = sub;
  claims.name = name;
  claims.member = true;
  claims.roles = std::move(roles);
  claims.iss = "tutti-test";
  claims.iat = NowMs() / 1000;
  claims.exp = claims.iat + ttl_s;
  return crypto::MintToken(claims, ts.issuer());
}

proto::ServerMessage RefreshMsg(const std::string& token, const std::string& rid) {
  proto::ServerMessage m;
  m.mutable_server_command()->set_commandtype(proto::UPDATE_PERMISSIONS);
  (*m.mutable_server_command()->mutable_parameters())["token"] = token;
  m.set_request_id(rid);
  return m;
}

bool HasRole(const proto::UserInfo& u, proto::Role role) {
  for (int r : u.roles()) {
    if (r == role) return true;
  }
  return false;
}

// The heartbeat is answered: the session is open and served.
bool Alive(client::Client& c, const std::string& rid) {
  if (!c.Send(HeartbeatMsg(1, rid))) return false;
  return WaitForReply(c, proto::ClientMessage::kHeartbeatMessage, rid, 5s).has_value();
}

// Waits for the RoomJoinedResponse (or fails on an error).
bool Joined(client::Client& c, proto::ServerMessage msg) {
  EXPECT_TRUE(c.Send(std::move(msg)));
  auto m = c.WaitFor(proto::ClientMessage::kRoomJoinedResponse, 5s);
  return m && m->room_joined_response().success();
}

TEST(TokenRefresh, ARefreshedSessionLivesOnWithItsNewRoles) {
  TestServer ts(3, NoLeeway);
  UserSpec mod_spec = Named("mod");
  mod_spec.roles = {"moderator"};
  mod_spec.ttl_s = 3;
  proto::Welcome welcome;
  auto mod = ts.Connect(mod_spec, &welcome);
  auto bob = ts.Connect("bob");
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(mod && bob && carol);
  const int64_t old_close = welcome.session_expires_unix_ms();
  EXPECT_GT(old_close, 0);
  EXPECT_LE(old_close, NowMs() + 3000);
  EXPECT_TRUE(HasRole(welcome.user(), proto::ROLE_SERVER_MODERATOR));

  ASSERT_TRUE(Joined(*bob, CreateMsg("Stage")));
  ASSERT_TRUE(Joined(*carol, JoinMsg("Stage")));
  ASSERT_TRUE(Joined(*mod, JoinMsg("Stage")));
  // With the moderator token, /kick works.
  ASSERT_TRUE(mod->Send(ChatMsg("/kick carol", "k1")));
  auto kicked = carol->WaitFor(proto::ClientMessage::kRoomLeft, 5s);
  ASSERT_TRUE(kicked);
  EXPECT_EQ(kicked->room_left().reason(), "kicked");

  // The issuer withdrew the role: the new token has none, and lasts an hour.
  ASSERT_TRUE(mod->Send(RefreshMsg(FreshToken(ts, "u-mod", "mod", {}, 3600), "r1")));
  auto updated = WaitForReply(*mod, proto::ClientMessage::kPermissionsUpdated, "r1");
  ASSERT_TRUE(updated);
  EXPECT_FALSE(HasRole(updated->permissions_updated().user(), proto::ROLE_SERVER_MODERATOR));
  EXPECT_GT(updated->permissions_updated().session_expires_unix_ms(), NowMs() + 3000 * 1000);
  // The room sees the change in the user list.
  auto seen = bob->WaitFor(proto::ClientMessage::kPermissionsUpdated, 5s);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->permissions_updated().user().user_id(), "u-mod");
  EXPECT_EQ(seen->permissions_updated().room_id(), "stage");
  EXPECT_FALSE(HasRole(seen->permissions_updated().user(), proto::ROLE_SERVER_MODERATOR));

  // At once: the very next /kick is refused, and bob stays.
  ASSERT_TRUE(mod->Send(ChatMsg("/kick bob", "k2")));
  std::string rid;
  EXPECT_EQ(WaitError(*mod, 5s, &rid), proto::PERMISSION_DENIED);
  EXPECT_EQ(rid, "k2");
  EXPECT_FALSE(bob->WaitFor(proto::ClientMessage::kRoomLeft, 300ms));

  // Past the old token's expiry the session is still open and served.
  ASSERT_TRUE(WaitUntil([&] { return NowMs() > old_close + 1000; }, 10s));
  EXPECT_TRUE(Alive(*mod, "hb"));
  EXPECT_TRUE(mod->is_open());
}

TEST(TokenRefresh, AnUnrefreshedSessionIsClosedAtExpiryAndGuestsAreNot) {
  TestServer ts(3, NoLeeway);
  UserSpec short_lived = Named("brief");
  short_lived.ttl_s = 2;
  proto::Welcome welcome;
  auto member = ts.Connect(short_lived, &welcome);
  UserSpec guest_spec;
  guest_spec.name = "visitor";
  guest_spec.guest = true;
  proto::Welcome guest_welcome;
  auto guest = ts.Connect(guest_spec, &guest_welcome);
  ASSERT_TRUE(member && guest);
  const int64_t close_at = welcome.session_expires_unix_ms();
  ASSERT_GT(close_at, 0);
  EXPECT_EQ(guest_welcome.session_expires_unix_ms(), 0) << "guests have no token";

  // The warning comes first, naming the same time.
  auto warning = member->WaitFor(proto::ClientMessage::kTokenExpiring, 10s);
  ASSERT_TRUE(warning);
  EXPECT_EQ(warning->token_expiring().session_expires_unix_ms(), close_at);

  uint16_t code = 0;
  std::string reason;
  ASSERT_TRUE(member->WaitClosed(15s, &code, &reason));
  EXPECT_GE(NowMs(), close_at) << "closed before its time";
  EXPECT_EQ(code, server::kCloseTokenExpired);
  EXPECT_EQ(code, 4004);
  EXPECT_EQ(reason, "token expired: refresh");

  EXPECT_TRUE(Alive(*guest, "g"));
}

TEST(TokenRefresh, ATokenForAnotherUserIsRefusedAndTheOldOneStays) {
  TestServer ts(3, NoLeeway);
  UserSpec admin_spec = Named("admin");
  admin_spec.roles = {"admin"};
  admin_spec.ttl_s = 3;
  proto::Welcome welcome;
  auto admin = ts.Connect(admin_spec, &welcome);
  ASSERT_TRUE(admin);

  ASSERT_TRUE(
      admin->Send(RefreshMsg(FreshToken(ts, "u-mallory", "mallory", {"admin"}, 3600), "other")));
  auto refused = WaitForReply(*admin, proto::ClientMessage::kErrorMessage, "other");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->error_message().code(), proto::AUTH_ERROR);
  EXPECT_EQ(refused->error_message().error_details().at("reason"), "subject_mismatch");

  // Neither is a forged or expired token taken.
  std::string forged = FreshToken(ts, "u-admin", "admin", {"admin"}, 3600);
  char& c = forged[forged.size() - 10];  // inside the signature, not its padding bits
  c = c == 'A' ? 'B' : 'A';
  ASSERT_TRUE(admin->Send(RefreshMsg(forged, "forged")));
  auto bad = WaitForReply(*admin, proto::ClientMessage::kErrorMessage, "forged");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->error_message().code(), proto::AUTH_ERROR);
  ASSERT_TRUE(admin->Send(RefreshMsg(FreshToken(ts, "u-admin", "admin", {"admin"}, -10), "old")));
  auto old = WaitForReply(*admin, proto::ClientMessage::kErrorMessage, "old");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->error_message().error_details().at("reason"), "expired");

  // Still the admin it was...
  proto::ServerMessage status;
  status.mutable_server_command()->set_commandtype(proto::GET_STATUS);
  status.set_request_id("st");
  ASSERT_TRUE(admin->Send(status));
  EXPECT_TRUE(WaitForReply(*admin, proto::ClientMessage::kServerStatus, "st"));
  // ...with the old token's expiry: closed at its time.
  uint16_t code = 0;
  ASSERT_TRUE(admin->WaitClosed(15s, &code));
  EXPECT_GE(NowMs(), welcome.session_expires_unix_ms());
  EXPECT_EQ(code, server::kCloseTokenExpired);
}

// tutti-cli and tutti-midi-bridge renew their token with this code (TokenRefresher),
// minting from the same key files they connected with.
TEST(TokenRefresh, TheShippedClientsRenewTheirTokenOnTheirOwn) {
  TestServer ts(3, NoLeeway);
  client::ConnectOptions options;
  options.keys = ts.dir();
  options.port = ts.port();
  options.name = "player";
  options.token_ttl_s = 2;
  auto target = client::ResolveConnectTarget(options);
  ASSERT_TRUE(target.ok()) << target.status();
  client::Client c;
  ASSERT_TRUE(c.Connect("127.0.0.1", ts.port(), target->resource).ok);
  client::TokenRefresher refresher(options);
  ASSERT_TRUE(refresher.enabled());
  int64_t first_close = 0;
  int renewed = 0;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  // Run the client's loop until well past the first token's close time.
  while (std::chrono::steady_clock::now() < deadline && c.is_open()) {
    if (auto m = c.Next(50ms)) {
      refresher.OnMessage(*m, NowMs());
      if (m->has_welcome()) first_close = m->welcome().session_expires_unix_ms();
      if (m->has_permissions_updated()) ++renewed;
    }
    if (auto renew = refresher.Poll(NowMs())) {
      ASSERT_TRUE(c.Send(*renew));
    }
    EXPECT_TRUE(refresher.TakeError().empty());
    if (first_close > 0 && renewed >= 2 && NowMs() > first_close + 2000) break;
  }
  ASSERT_GT(first_close, 0);
  EXPECT_TRUE(c.is_open()) << "closed although the client renewed its token";
  EXPECT_GE(renewed, 2);
  EXPECT_GT(NowMs(), first_close + 2000);
  EXPECT_TRUE(Alive(c, "alive"));
}

TEST(TokenRefresh, GuestsAndEmptyTokensAreRefusedWithTypedErrors) {
  TestServer ts;
  UserSpec guest_spec;
  guest_spec.name = "visitor";
  guest_spec.guest = true;
  auto guest = ts.Connect(guest_spec);
  auto member = ts.Connect("m");
  ASSERT_TRUE(guest && member);
  ASSERT_TRUE(guest->Send(RefreshMsg(FreshToken(ts, "u-m", "m", {}, 60), "g")));
  std::string rid;
  EXPECT_EQ(WaitError(*guest, 5s, &rid), proto::WRONG_STATE);
  ASSERT_TRUE(member->Send(RefreshMsg("", "e")));
  EXPECT_EQ(WaitError(*member, 5s, &rid), proto::INVALID_PARAMETERS);
  ASSERT_TRUE(member->Send(RefreshMsg("not.a.token", "n")));
  EXPECT_EQ(WaitError(*member, 5s, &rid), proto::AUTH_ERROR);
  EXPECT_TRUE(ServerStillServes(ts));
}

}  // namespace
}  // namespace tutti::testing
