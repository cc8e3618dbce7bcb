#include "crypto/authenticator.h"

#include <sodium.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "crypto/base64url.h"
#include "crypto/connect_payload.h"
#include "crypto/jwt.h"
#include "crypto/sealed_box.h"
#include "crypto/sodium_init.h"

namespace tutti::crypto {
namespace {

std::string RandomHex(size_t bytes) {
  unsigned char buf[16];
  randombytes_buf(buf, bytes);
  char hex[33];
  sodium_bin2hex(hex, sizeof hex, buf, bytes);
  return std::string(hex, bytes * 2);
}

AuthFailure FromVerdict(TokenVerdict v) {
  switch (v) {
    case TokenVerdict::kValid:
      return AuthFailure::kNone;
    case TokenVerdict::kMalformed:
      return AuthFailure::kBadToken;
    case TokenVerdict::kBadSignature:
      return AuthFailure::kBadSignature;
    case TokenVerdict::kExpired:
      return AuthFailure::kExpired;
    case TokenVerdict::kNotYetValid:
      return AuthFailure::kNotYetValid;
  }
  return AuthFailure::kBadToken;
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return r;
}

int64_t FloorDiv1000(int64_t ms) { return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000); }

}  // namespace

Authenticator::Authenticator(ServerKeys keys, AuthenticatorOptions options,
                             std::function<int64_t()> unix_ms)
    : keys_(std::move(keys)),
      options_(options),
      // An empty clock would crash on the first connect; default to the real one.
      unix_ms_(unix_ms ? std::move(unix_ms) : std::function<int64_t()>(WallClockUnixMs)),
      replay_cache_(options.replay_cache_entries),
      token_cache_(options.token_cache_entries) {
  EnsureSodiumInitialized();
}

bool Authenticator::Authenticate(std::string_view resource, Identity* identity, AuthError* error) {
  return Finish(Check(resource, identity), error);
}

bool Authenticator::VerifyRefresh(std::string_view token, std::string_view expected_sub,
                                  Identity* identity, AuthError* error) {
  AuthFailure failure = AuthFailure::kBadToken;
  if (!token.empty() && !expected_sub.empty()) {
    Identity id;
    failure = CheckToken(token, expected_sub, unix_ms_(), &id);
    if (failure == AuthFailure::kNone) *identity = std::move(id);
  }
  return Finish(failure, error);
}

bool Authenticator::Finish(AuthFailure failure, AuthError* error) {
  if (failure == AuthFailure::kNone) {
    accepted_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  refused_.fetch_add(1, std::memory_order_relaxed);
  error->failure = failure;
  error->http_status = AuthFailureHttpStatus(failure);
  error->reason = AuthFailureReason(failure);
  return false;
}

AuthFailure Authenticator::Check(std::string_view resource, Identity* identity) {
  if (resource.size() > options_.max_resource_bytes) return AuthFailure::kPathTooLong;
  if (size_t q = resource.find('?'); q != std::string_view::npos) resource = resource.substr(0, q);
  std::string_view prefix = kConnectPathPrefix;
  if (resource.substr(0, prefix.size()) != prefix) return AuthFailure::kBadPath;
  std::string_view encoded = resource.substr(prefix.size());
  if (encoded.empty() || encoded.find('/') != std::string_view::npos) return AuthFailure::kBadPath;

  std::optional<std::string> sealed = Base64UrlDecode(encoded);
  if (!sealed) return AuthFailure::kNotBase64;
  absl::StatusOr<std::string> json = OpenSealed(*sealed, keys_);
  if (!json.ok()) return AuthFailure::kCannotOpen;
  absl::StatusOr<ConnectPayload> payload = ParseConnectPayloadJson(*json);
  if (!payload.ok()) return AuthFailure::kBadJson;

  // Freshness, written so that no ts value can overflow the arithmetic.
  const int64_t now_ms = unix_ms_();
  if (payload->ts_ms < SaturatingAdd(now_ms, -options_.max_age_ms)) return AuthFailure::kStale;
  if (payload->ts_ms > SaturatingAdd(now_ms, options_.max_future_ms)) {
    return AuthFailure::kFromFuture;
  }
  // The replay cache does not survive a restart; what it would have refused was sealed
  // before the start.
  if (payload->ts_ms < options_.not_before_unix_ms) return AuthFailure::kBeforeStart;

  Identity id;
  id.socket_id = payload->socket_id;
  id.resume = ResumeAsk{std::move(payload->resume_token), std::move(payload->resume_room),
                        std::move(payload->resume_epoch), payload->resume_offset};
  id.link_token = std::move(payload->link_token);
  if (payload->token.empty()) {
    if (!options_.allow_guests) return AuthFailure::kGuestsNotAllowed;
    id.is_guest = true;
    id.user_id = absl::StrCat("guest:", RandomHex(8));
    id.username = SanitizeUsername(payload->username);
    if (id.username.empty()) id.username = absl::StrCat("Guest-", RandomHex(2));
  } else {
    // The payload's uuid is the client's word; the token binds it to a user.
    AuthFailure token = CheckToken(payload->token, payload->uuid, now_ms, &id);
    if (token != AuthFailure::kNone) return token;
  }

  // Last, so only a connect that passed every other check consumes its
  // socket_id. The entry lives as long as a payload with this ts is fresh.
  int64_t expires_at = SaturatingAdd(SaturatingAdd(payload->ts_ms, options_.max_age_ms), 1);
  if (!replay_cache_.Insert(payload->socket_id, now_ms, expires_at)) return AuthFailure::kReplayed;

  *identity = std::move(id);
  return AuthFailure::kNone;
}

AuthFailure Authenticator::CheckToken(std::string_view token, std::string_view expected_sub,
                                      int64_t now_ms, Identity* id) {
  const int64_t now_s = FloorDiv1000(now_ms);
  TokenClaims claims;
  bool hit = token_cache_.Lookup(token, now_s, &claims);
  if (!hit) {
    TokenVerdict verdict = VerifyTokenSignature(token, keys_.issuer_public, &claims);
    if (verdict != TokenVerdict::kValid) return FromVerdict(verdict);
  }
  TokenVerdict times = CheckTokenTimes(claims, now_s, options_.token_leeway_s);
  if (times != TokenVerdict::kValid) return FromVerdict(times);
  if (hit) {
    token_cache_hits_.fetch_add(1, std::memory_order_relaxed);
  } else {
    token_cache_.Insert(token, claims, SaturatingAdd(claims.exp, options_.token_leeway_s), now_s);
  }
  if (claims.sub != expected_sub) return AuthFailure::kSubjectMismatch;
  id->user_id = claims.sub;
  id->username = SanitizeUsername(claims.name);
  if (id->username.empty()) id->username = SanitizeUsername(claims.sub);
  if (id->username.empty()) id->username = "User";
  id->is_member = claims.member;  // never the payload's is_member
  for (const std::string& role : claims.roles) {
    if (role == "admin") id->is_admin = true;
    if (role == "moderator") id->is_moderator = true;
  }
  id->token_exp_s = claims.exp;
  return AuthFailure::kNone;
}

Authenticator::Stats Authenticator::stats() const {
  Stats s;
  s.accepted = accepted_.load(std::memory_order_relaxed);
  s.refused = refused_.load(std::memory_order_relaxed);
  s.token_cache_hits = token_cache_hits_.load(std::memory_order_relaxed);
  s.replay_evictions = replay_cache_.evictions();
  return s;
}

const char* AuthFailureName(AuthFailure f) {
  switch (f) {
    case AuthFailure::kNone:
      return "none";
    case AuthFailure::kPathTooLong:
      return "path_too_long";
    case AuthFailure::kBadPath:
      return "bad_path";
    case AuthFailure::kNotBase64:
      return "not_base64";
    case AuthFailure::kCannotOpen:
      return "cannot_open";
    case AuthFailure::kBadJson:
      return "bad_json";
    case AuthFailure::kStale:
      return "stale";
    case AuthFailure::kFromFuture:
      return "from_future";
    case AuthFailure::kReplayed:
      return "replayed";
    case AuthFailure::kBadToken:
      return "bad_token";
    case AuthFailure::kBadSignature:
      return "bad_signature";
    case AuthFailure::kExpired:
      return "expired";
    case AuthFailure::kNotYetValid:
      return "not_yet_valid";
    case AuthFailure::kSubjectMismatch:
      return "subject_mismatch";
    case AuthFailure::kGuestsNotAllowed:
      return "guests_not_allowed";
    case AuthFailure::kBeforeStart:
      return "before_start";
  }
  return "unknown";
}

int AuthFailureHttpStatus(AuthFailure f) {
  switch (f) {
    case AuthFailure::kNone:
      return 101;  // the upgrade goes ahead
    case AuthFailure::kPathTooLong:
      return 414;
    case AuthFailure::kBadPath:
    case AuthFailure::kNotBase64:
    case AuthFailure::kCannotOpen:
    case AuthFailure::kBadJson:
      return 400;
    case AuthFailure::kStale:
    case AuthFailure::kFromFuture:
    case AuthFailure::kBeforeStart:
    case AuthFailure::kBadToken:
    case AuthFailure::kBadSignature:
    case AuthFailure::kExpired:
    case AuthFailure::kNotYetValid:
    case AuthFailure::kSubjectMismatch:
      return 401;
    case AuthFailure::kReplayed:
      return 409;
    case AuthFailure::kGuestsNotAllowed:
      return 403;
  }
  return 400;
}

const char* AuthFailureReason(AuthFailure f) {
  switch (f) {
    case AuthFailure::kNone:
      return "ok";
    case AuthFailure::kPathTooLong:
      return "connect path too long";
    case AuthFailure::kBadPath:
      return "expected /api/websocket/<payload>";
    case AuthFailure::kNotBase64:
      return "payload is not base64url";
    case AuthFailure::kCannotOpen:
      return "payload does not open with this server's key";
    case AuthFailure::kBadJson:
      return "payload content is malformed";
    case AuthFailure::kStale:
      return "payload too old; build a new one";
    case AuthFailure::kFromFuture:
      return "payload timestamp is in the future; check the clock";
    case AuthFailure::kReplayed:
      return "payload already used; build a new one";
    case AuthFailure::kBadToken:
      return "token malformed";
    case AuthFailure::kBadSignature:
      return "token signature invalid";
    case AuthFailure::kExpired:
      return "token expired";
    case AuthFailure::kNotYetValid:
      return "token not yet valid";
    case AuthFailure::kSubjectMismatch:
      return "token subject does not match uuid";
    case AuthFailure::kGuestsNotAllowed:
      return "guests are not allowed";
    case AuthFailure::kBeforeStart:
      return "payload sealed before the server started; build a new one";
  }
  return "refused";
}

int64_t WallClockUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace tutti::crypto
