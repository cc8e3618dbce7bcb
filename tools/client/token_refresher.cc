#include "tools/client/token_refresher.h"

#include <algorithm>
#include <chrono>

#include "crypto/jwt.h"
#include "crypto/keys.h"
#include "crypto/sodium_init.h"

namespace tutti::client {

int64_t WallClockUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::StatusOr<std::string> MintToken(const ConnectOptions& o) {
  if (o.guest || o.keys.empty()) return absl::FailedPreconditionError("no key files to mint from");
  crypto::EnsureSodiumInitialized();
  auto issuer = crypto::LoadIssuerKeys(o.keys);
  if (!issuer.ok()) return issuer.status();
  crypto::TokenClaims claims;
  claims.sub = o.user_id.empty() ? o.id_prefix + o.name : o.user_id;
  claims.name = o.name;
  claims.member = true;
  claims.roles = o.roles;
  claims.iss = "tutti-token";
  claims.iat = WallClockUnixMs() / 1000;
  claims.exp = claims.iat + o.token_ttl_s;
  return crypto::MintToken(claims, *issuer);
}

void TokenRefresher::Plan(int64_t expires_unix_ms, int64_t now_unix_ms) {
  if (expires_unix_ms <= 0) {
    refresh_at_ms_ = INT64_MAX;  // a guest session: never closed for a token
    return;
  }
  const int64_t left = expires_unix_ms - now_unix_ms;
  // Well ahead of the close for long tokens; half-way for short ones (so a refresh of a
  // short token never turns into a loop of refreshes).
  refresh_at_ms_ = left > 2 * kMarginMs ? expires_unix_ms - kMarginMs : now_unix_ms + left / 2;
}

void TokenRefresher::OnMessage(const proto::ClientMessage& msg, int64_t now_unix_ms) {
  if (!enabled()) return;
  if (msg.has_welcome()) {
    in_flight_until_ms_ = 0;
    Plan(msg.welcome().session_expires_unix_ms(), now_unix_ms);
  } else if (msg.has_permissions_updated() && msg.permissions_updated().room_id().empty()) {
    // Our own refresh was accepted (the room's copy names a room and no expiry).
    in_flight_until_ms_ = 0;
    Plan(msg.permissions_updated().session_expires_unix_ms(), now_unix_ms);
  } else if (msg.has_token_expiring()) {
    refresh_at_ms_ = std::min(refresh_at_ms_, now_unix_ms);
  } else if (msg.has_error_message() && msg.request_id() == "token-refresh") {
    in_flight_until_ms_ = 0;
    refresh_at_ms_ = now_unix_ms + kRetryMs;  // refused: try again with a new token later
  }
}

int64_t TokenRefresher::NextRefreshUnixMs() const {
  if (!enabled()) return INT64_MAX;
  return std::max(refresh_at_ms_, in_flight_until_ms_);
}

std::optional<proto::ServerMessage> TokenRefresher::Poll(int64_t now_unix_ms) {
  if (!enabled() || now_unix_ms < NextRefreshUnixMs()) return std::nullopt;
  auto token = MintToken(options_);
  if (!token.ok()) {
    last_error_ = std::string(token.status().message());
    refresh_at_ms_ = now_unix_ms + kRetryMs;
    return std::nullopt;
  }
  last_error_.clear();
  in_flight_until_ms_ = now_unix_ms + kRetryMs;
  ++refreshes_;
  proto::ServerMessage m;
  m.mutable_server_command()->set_commandtype(proto::UPDATE_PERMISSIONS);
  (*m.mutable_server_command()->mutable_parameters())["token"] = *token;
  m.set_request_id("token-refresh");
  return m;
}

}  // namespace tutti::client
