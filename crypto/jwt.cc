#include "crypto/jwt.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "crypto/base64url.h"
#include "crypto/json.h"
#include "crypto/sodium_init.h"

namespace tutti::crypto {
namespace {

constexpr char kHeaderJson[] = R"({"alg":"EdDSA","typ":"JWT"})";

// Bounds for individual claims: generous for real ids and names, small enough
// that a hostile issuer cannot make the server hold large strings per session.
constexpr size_t kMaxClaimBytes = 256;

JsonLimits HeaderLimits() {
  JsonLimits limits;
  limits.max_bytes = 1024;
  limits.max_members = 16;
  limits.max_string_bytes = 512;
  return limits;
}

JsonLimits ClaimsLimits() {
  JsonLimits limits;
  limits.max_bytes = kMaxTokenBytes;
  limits.max_members = 32;
  limits.max_array_items = 16;
  limits.max_string_bytes = 1024;
  return limits;
}

bool HeaderAcceptable(std::string_view header_b64) {
  std::optional<std::string> header = Base64UrlDecode(header_b64);
  if (!header) return false;
  absl::StatusOr<JsonObject> object = ParseFlatJsonObject(*header, HeaderLimits());
  if (!object.ok()) return false;
  std::string alg;
  // Only EdDSA with our Ed25519 key: "none", HS256 (key confusion) and every
  // other algorithm are refused by name before any crypto runs.
  if (!GetJsonString(*object, "alg", true, &alg).ok() || alg != "EdDSA") return false;
  std::string typ = "JWT";
  if (!GetJsonString(*object, "typ", false, &typ).ok() || !absl::EqualsIgnoreCase(typ, "JWT")) {
    return false;
  }
  // RFC 7515 4.1.11: a "crit" extension we do not understand must be refused.
  if (object->contains("crit")) return false;
  return true;
}

bool ParseClaims(std::string_view payload_b64, TokenClaims* claims) {
  std::optional<std::string> payload = Base64UrlDecode(payload_b64);
  if (!payload) return false;
  absl::StatusOr<JsonObject> object = ParseFlatJsonObject(*payload, ClaimsLimits());
  if (!object.ok()) return false;
  TokenClaims c;
  bool ok = GetJsonString(*object, "sub", true, &c.sub).ok() &&
            GetJsonString(*object, "name", false, &c.name).ok() &&
            GetJsonString(*object, "iss", false, &c.iss).ok() &&
            GetJsonString(*object, "jti", false, &c.jti).ok() &&
            GetJsonBool(*object, "member", false, &c.member).ok() &&
            GetJsonStringArray(*object, "roles", false, &c.roles).ok() &&
            GetJsonInt64(*object, "iat", false, &c.iat).ok() &&
            GetJsonInt64(*object, "nbf", false, &c.nbf).ok() &&
            GetJsonInt64(*object, "exp", true, &c.exp).ok();
  if (!ok || c.sub.empty()) return false;
  for (const std::string* s : {&c.sub, &c.name, &c.iss, &c.jti}) {
    if (s->size() > kMaxClaimBytes) return false;
  }
  *claims = std::move(c);
  return true;
}

}  // namespace

const char* TokenVerdictName(TokenVerdict verdict) {
  switch (verdict) {
    case TokenVerdict::kValid:
      return "valid";
    case TokenVerdict::kMalformed:
      return "malformed";
    case TokenVerdict::kBadSignature:
      return "bad_signature";
    case TokenVerdict::kExpired:
      return "expired";
    case TokenVerdict::kNotYetValid:
      return "not_yet_valid";
  }
  return "unknown";
}

std::string SignCompactJws(std::string_view header_json, std::string_view payload,
                           const IssuerKeys& issuer) {
  EnsureSodiumInitialized();
  if (issuer.secret_key.size() != crypto_sign_SECRETKEYBYTES) {
    // A programming error (an empty IssuerKeys), not bad input.
    std::fputs("tutti: SignCompactJws called without an issuer secret key\n", stderr);
    std::abort();
  }
  std::string out = absl::StrCat(Base64UrlEncode(header_json), ".", Base64UrlEncode(payload));
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(out.data()), out.size(),
                       issuer.secret_key.data());
  absl::StrAppend(
      &out, ".", Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(sig), sizeof sig)));
  return out;
}

std::string MintToken(const TokenClaims& claims, const IssuerKeys& issuer) {
  JsonObjectWriter w;
  w.String("sub", claims.sub);
  if (!claims.name.empty()) w.String("name", claims.name);
  if (!claims.iss.empty()) w.String("iss", claims.iss);
  if (!claims.jti.empty()) w.String("jti", claims.jti);
  w.Bool("member", claims.member);
  if (!claims.roles.empty()) w.StringArray("roles", claims.roles);
  if (claims.iat != 0) w.Int("iat", claims.iat);
  if (claims.nbf != 0) w.Int("nbf", claims.nbf);
  w.Int("exp", claims.exp);
  return SignCompactJws(kHeaderJson, w.Finish(), issuer);
}

TokenVerdict VerifyTokenSignature(std::string_view jwt, const PublicKey& issuer_public,
                                  TokenClaims* claims) {
  EnsureSodiumInitialized();
  if (jwt.empty() || jwt.size() > kMaxTokenBytes) return TokenVerdict::kMalformed;
  size_t dot1 = jwt.find('.');
  if (dot1 == std::string_view::npos) return TokenVerdict::kMalformed;
  size_t dot2 = jwt.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || jwt.find('.', dot2 + 1) != std::string_view::npos) {
    return TokenVerdict::kMalformed;
  }
  std::string_view header_b64 = jwt.substr(0, dot1);
  std::string_view payload_b64 = jwt.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string_view sig_b64 = jwt.substr(dot2 + 1);
  if (header_b64.empty() || payload_b64.empty() || sig_b64.empty()) {
    return TokenVerdict::kMalformed;
  }
  if (!HeaderAcceptable(header_b64)) return TokenVerdict::kMalformed;
  unsigned char sig[crypto_sign_BYTES];
  if (!Base64UrlDecodeInto(sig_b64, sig, sizeof sig)) return TokenVerdict::kMalformed;
  std::string_view signing_input = jwt.substr(0, dot2);
  if (crypto_sign_verify_detached(sig, reinterpret_cast<const unsigned char*>(signing_input.data()),
                                  signing_input.size(), issuer_public.data()) != 0) {
    return TokenVerdict::kBadSignature;
  }
  if (!ParseClaims(payload_b64, claims)) return TokenVerdict::kMalformed;
  return TokenVerdict::kValid;
}

TokenVerdict CheckTokenTimes(const TokenClaims& claims, int64_t now_unix_s, int64_t leeway_s) {
  // now and leeway are ours and small, so these forms cannot overflow whatever
  // values the (signed, but still external) claims hold.
  if (now_unix_s - leeway_s >= claims.exp) return TokenVerdict::kExpired;
  if (claims.nbf != 0 && now_unix_s + leeway_s < claims.nbf) return TokenVerdict::kNotYetValid;
  return TokenVerdict::kValid;
}

absl::StatusOr<TokenClaims> VerifyToken(std::string_view jwt, const PublicKey& issuer_public,
                                        int64_t now_unix_s, int64_t leeway_s) {
  TokenClaims claims;
  TokenVerdict verdict = VerifyTokenSignature(jwt, issuer_public, &claims);
  if (verdict == TokenVerdict::kValid) verdict = CheckTokenTimes(claims, now_unix_s, leeway_s);
  switch (verdict) {
    case TokenVerdict::kValid:
      return claims;
    case TokenVerdict::kMalformed:
      return absl::InvalidArgumentError("token malformed");
    case TokenVerdict::kBadSignature:
      return absl::UnauthenticatedError("token signature invalid");
    case TokenVerdict::kExpired:
      return absl::UnauthenticatedError("token expired");
    case TokenVerdict::kNotYetValid:
      return absl::UnauthenticatedError("token not yet valid");
  }
  return absl::InternalError("unreachable");
}

}  // namespace tutti::crypto
