// TokenRefresher: keeps a --keys client's session alive past its token's expiry. It
// learns when the server will close the session (Welcome and PermissionsUpdated carry
// session_expires_unix_ms; TokenExpiring says the time is near), mints a fresh token
// from the same key files and identity, and hands back the UPDATE_PERMISSIONS message
// to send. A --url client has no keys to mint from: it cannot refresh and reconnects.
// Owned by one tool's loop (tutti-cli's reader thread, tutti-midi-bridge's main loop);
// not thread-safe. Times are wall-clock unix ms, as the server's.
#ifndef TUTTI_TOOLS_CLIENT_TOKEN_REFRESHER_H_
#define TUTTI_TOOLS_CLIENT_TOKEN_REFRESHER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "protos/tutti.pb.h"
#include "tools/client/connect_target.h"

namespace tutti::client {

// A token for the identity ResolveConnectTarget connects as, lasting options.token_ttl_s.
absl::StatusOr<std::string> MintToken(const ConnectOptions& options);

int64_t WallClockUnixMs();

class TokenRefresher {
 public:
  explicit TokenRefresher(ConnectOptions options) : options_(std::move(options)) {}

  // False for guests and --url clients: nothing to refresh with.
  bool enabled() const { return !options_.guest && options_.url.empty() && !options_.keys.empty(); }

  // Feed every message the server sends.
  void OnMessage(const proto::ClientMessage& msg, int64_t now_unix_ms);
  // When the next refresh is due (INT64_MAX: none planned).
  int64_t NextRefreshUnixMs() const;
  // The UPDATE_PERMISSIONS to send now, if one is due. At most one is in flight: the
  // next waits for the answer (or kRetryMs).
  std::optional<proto::ServerMessage> Poll(int64_t now_unix_ms);
  // The last minting error, once, for the tool to print (empty when none).
  std::string TakeError() { return std::move(last_error_); }
  int refreshes() const { return refreshes_; }

  static constexpr int64_t kRetryMs = 5000;
  // Long sessions refresh this long before the close; short ones half-way.
  static constexpr int64_t kMarginMs = 120'000;

 private:
  void Plan(int64_t expires_unix_ms, int64_t now_unix_ms);

  ConnectOptions options_;
  int64_t refresh_at_ms_ = INT64_MAX;
  int64_t in_flight_until_ms_ = 0;
  int refreshes_ = 0;
  std::string last_error_;
};

}  // namespace tutti::client

#endif  // TUTTI_TOOLS_CLIENT_TOKEN_REFRESHER_H_
