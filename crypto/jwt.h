// Compact JWTs signed with Ed25519 (JWS alg "EdDSA", RFC 8037): minting for the
// token tool and tests, verification for the server.
//
// Owns: the token format: header {"alg":"EdDSA","typ":"JWT"}, the claims Tutti
// reads (sub, name, member, roles, iss, jti, iat, nbf, exp) and their checks.
// Thread affinity: any thread (pure functions over immutable keys).
// Owner: the Authenticator verifies (behind its token cache); tutti-token mints.
//
// Verification order is chosen so that untrusted bytes are parsed as little
// as possible before the signature is checked: only the header is read first
// (to refuse any alg but EdDSA, including "none"), then the signature is
// verified over "header.payload", and only then are the claims parsed.
#ifndef TUTTI_CRYPTO_JWT_H_
#define TUTTI_CRYPTO_JWT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/keys.h"

namespace tutti::crypto {

struct TokenClaims {
  std::string sub, name, iss, jti;
  bool member = false;
  std::vector<std::string> roles;     // "admin", "moderator"; others are ignored
  int64_t iat = 0, nbf = 0, exp = 0;  // unix seconds; nbf/iat 0 = absent
};

// Tokens longer than this are refused unread; ours are a few hundred bytes.
inline constexpr size_t kMaxTokenBytes = 4096;

// Why a token was refused, for callers that map failures to distinct replies.
enum class TokenVerdict { kValid, kMalformed, kBadSignature, kExpired, kNotYetValid };
const char* TokenVerdictName(TokenVerdict verdict);

std::string MintToken(const TokenClaims& claims, const IssuerKeys& issuer);

// Verifies structure, alg, signature, and then exp/nbf against `now_unix_s`
// with `leeway_s` of tolerated clock skew. `exp` is required: a token that
// never expires is refused as malformed. Does not compare `sub` with anything;
// that is the caller's job. InvalidArgument for malformed tokens,
// Unauthenticated for signature and time failures.
absl::StatusOr<TokenClaims> VerifyToken(std::string_view jwt, const PublicKey& issuer_public,
                                        int64_t now_unix_s, int64_t leeway_s);

// The time-independent half of VerifyToken: structure, alg and signature, then
// claims into `*claims`. Returns kValid, kMalformed or kBadSignature. What it
// accepts can be cached; CheckTokenTimes must still run on every use.
TokenVerdict VerifyTokenSignature(std::string_view jwt, const PublicKey& issuer_public,
                                  TokenClaims* claims);

// kExpired when now - leeway >= exp; kNotYetValid when now + leeway < nbf.
TokenVerdict CheckTokenTimes(const TokenClaims& claims, int64_t now_unix_s, int64_t leeway_s);

// Signs arbitrary header JSON and payload bytes into "h.p.s". MintToken uses it
// with fixed header; tests use it to build hostile tokens with valid signatures.
std::string SignCompactJws(std::string_view header_json, std::string_view payload,
                           const IssuerKeys& issuer);

}  // namespace tutti::crypto

#endif  // TUTTI_CRYPTO_JWT_H_
