// The WebSocket upgrade check: turns a request resource
// "/api/websocket/<payload>" into a verified Identity or a typed refusal.
//
// Owns: the server's keys, the replay cache, the verified-token cache, and
// counters. Steps: length -> path -> base64url -> open sealed box -> parse
// JSON -> freshness (ts, and not sealed before the server started) -> token (cache or verify;
// exp/nbf; sub == uuid) or guest rules -> single use of socket_id. Thread affinity: thread-safe
// after construction; every shard's validate handler calls Authenticate() concurrently and gets an
// answer synchronously. The caches use short striped mutexes; nothing blocks on I/O. Owner: the
// server (one instance shared by all shards).
//
// Never logs or returns payloads or tokens; reasons are fixed short strings.
#ifndef TUTTI_CRYPTO_AUTHENTICATOR_H_
#define TUTTI_CRYPTO_AUTHENTICATOR_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "crypto/keys.h"
#include "crypto/replay_cache.h"
#include "crypto/token_cache.h"

namespace tutti::crypto {

// Every way a connect can be refused. HTTP statuses (AuthFailureHttpStatus):
//   kPathTooLong                                         414
//   kBadPath, kNotBase64, kCannotOpen, kBadJson          400  malformed
//   kStale, kFromFuture, kBeforeStart                    401  rebuild the payload
//   kBadToken, kBadSignature, kExpired, kNotYetValid,
//   kSubjectMismatch                                     401  get a new token
//   kReplayed                                            409  socket_id already used
//   kGuestsNotAllowed                                    403
enum class AuthFailure {
  kNone,
  kPathTooLong,
  kBadPath,
  kNotBase64,
  kCannotOpen,
  kBadJson,
  kStale,
  kFromFuture,
  kReplayed,
  kBadToken,
  kBadSignature,
  kExpired,
  kNotYetValid,
  kSubjectMismatch,
  kGuestsNotAllowed,
  kBeforeStart  // sealed before this server process started (see not_before_unix_ms)
};

struct AuthError {
  AuthFailure failure = AuthFailure::kNone;
  int http_status = 0;
  std::string reason;  // short, fixed text; safe to send to the client
};

// What a connect payload asked to resume (docs/PROTOCOL.md §12): the previous session's
// resume token and the last room position the client saw. Empty token = a plain connect.
// The server redeems the token at the upgrade and drops it right after; it is never kept
// in a session or logged.
struct ResumeAsk {
  std::string token, room, epoch;
  int64_t offset = 0;
};

struct Identity {
  std::string user_id, username, socket_id;
  bool is_member = false, is_guest = false, is_admin = false, is_moderator = false;
  int64_t token_exp_s = 0;  // the token's exp (unix seconds); 0 for guests
  ResumeAsk resume;         // moved out by the upgrade gate before the session starts
  // A linked connection's credential (docs/PROTOCOL.md §16): this connection attaches to
  // that session instead of starting one. Checked by the session's shard, never logged.
  std::string link_token;
};

struct AuthenticatorOptions {
  // The whole resource; longer is refused (414) before any decoding.
  size_t max_resource_bytes = 2048;
  // A payload is fresh while now - max_age_ms <= ts <= now + max_future_ms.
  int64_t max_age_ms = 60000;
  int64_t max_future_ms = 5000;
  // Payloads sealed (ts) before this are refused (kBeforeStart); 0 = no floor. The
  // replay cache lives in memory, so a restarted server has forgotten every socket_id
  // it consumed: the server sets this to its start time, and a payload captured before
  // a restart cannot be used again after it, however young.
  int64_t not_before_unix_ms = 0;
  // Clock skew tolerated on the token's exp and nbf.
  int64_t token_leeway_s = 30;
  bool allow_guests = true;
  size_t token_cache_entries = 4096;     // 0 disables the cache
  size_t replay_cache_entries = 200000;  // see replay_cache.h for sizing
};

class Authenticator {
 public:
  // unix_ms: injected wall clock (tests pass a fake); it is called from the
  // threads that call Authenticate, so it must be thread-safe itself. An empty
  // function means WallClockUnixMs. Thread-safe after construction.
  Authenticator(ServerKeys keys, AuthenticatorOptions options, std::function<int64_t()> unix_ms);

  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // resource = the request's resource, e.g. "/api/websocket/<payload>" (a
  // query string, if any, is ignored). On success fills *identity and returns
  // true; otherwise fills *error and returns false, leaving *identity alone.
  // Both pointers must be non-null.
  // A successful call consumes the payload's socket_id for its window.
  bool Authenticate(std::string_view resource, Identity* identity, AuthError* error);

  // A fresh token for an open session (ServerCommand UPDATE_PERMISSIONS): the same token
  // checks as at the upgrade (cache or signature, exp/nbf with the same leeway, claims to
  // roles), with `sub` compared to the session's user id instead of the payload's uuid
  // (kSubjectMismatch when it differs). Fills *identity (socket_id left empty) or
  // *error, like Authenticate. No payload, so no freshness or replay step.
  bool VerifyRefresh(std::string_view token, std::string_view expected_sub, Identity* identity,
                     AuthError* error);

  struct Stats {
    uint64_t accepted, refused, token_cache_hits;
    uint64_t replay_evictions;  // live replay entries pushed out by a full cache
  };
  Stats stats() const;

  const AuthenticatorOptions& options() const { return options_; }

 private:
  AuthFailure Check(std::string_view resource, Identity* identity);
  // The token step shared by the upgrade and a refresh.
  AuthFailure CheckToken(std::string_view token, std::string_view expected_sub, int64_t now_ms,
                         Identity* id);
  bool Finish(AuthFailure failure, AuthError* error);

  const ServerKeys keys_;
  const AuthenticatorOptions options_;
  const std::function<int64_t()> unix_ms_;
  ReplayCache replay_cache_;
  TokenCache token_cache_;
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> refused_{0};
  std::atomic<uint64_t> token_cache_hits_{0};
};

const char* AuthFailureName(AuthFailure f);
int AuthFailureHttpStatus(AuthFailure f);
// The short reason text put in AuthError::reason.
const char* AuthFailureReason(AuthFailure f);

// The real wall clock in unix milliseconds, for production use of Authenticator.
int64_t WallClockUnixMs();

}  // namespace tutti::crypto

#endif  // TUTTI_CRYPTO_AUTHENTICATOR_H_
