// Fuzz target: token parsing and verification (crypto/jwt.h) against a fixed issuer key.
//
// Input: one mode byte, then
//   even: a compact token "h.p.s", verified as the server would;
//   odd:  header JSON, '\n', claims bytes; the target signs them with the fixed issuer key
//         first, so the header check, the claims parser and the claim checks behind the
//         signature are reached with any content.
// Properties: a token signed with the issuer key is never kBadSignature; a valid token
// re-minted from its claims verifies to the same claims; VerifyToken agrees with
// VerifyTokenSignature followed by CheckTokenTimes.
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/jwt.h"
#include "crypto/keys.h"
#include "tests/fuzz/fuzz_keys.h"
#include "tests/fuzz/fuzz_target.h"

namespace crypto = tutti::crypto;

namespace {

constexpr int64_t kLeewayS = 30;

const crypto::IssuerKeys& Issuer() {
  static const crypto::IssuerKeys* keys = new crypto::IssuerKeys(tutti::fuzz::FuzzIssuerKeys());
  return *keys;
}

bool SameClaims(const crypto::TokenClaims& a, const crypto::TokenClaims& b) {
  return a.sub == b.sub && a.name == b.name && a.iss == b.iss && a.jti == b.jti &&
         a.member == b.member && a.roles == b.roles && a.iat == b.iat && a.nbf == b.nbf &&
         a.exp == b.exp;
}

void Verify(std::string_view token, bool signed_here) {
  const crypto::PublicKey& key = Issuer().public_key;
  crypto::TokenClaims claims;
  const crypto::TokenVerdict verdict = crypto::VerifyTokenSignature(token, key, &claims);
  if (signed_here) FUZZ_CHECK(verdict != crypto::TokenVerdict::kBadSignature);

  crypto::TokenVerdict expected = verdict;
  if (verdict == crypto::TokenVerdict::kValid) {
    FUZZ_CHECK(!claims.sub.empty());
    expected = crypto::CheckTokenTimes(claims, tutti::fuzz::kFuzzNowS, kLeewayS);
    const std::string again = crypto::MintToken(claims, Issuer());
    // Re-escaping can lengthen the claims past the size limit; only then may it differ.
    if (again.size() <= crypto::kMaxTokenBytes) {
      crypto::TokenClaims again_claims;
      FUZZ_CHECK(crypto::VerifyTokenSignature(again, key, &again_claims) ==
                 crypto::TokenVerdict::kValid);
      FUZZ_CHECK(SameClaims(claims, again_claims));
    }
  }
  absl::StatusOr<crypto::TokenClaims> full =
      crypto::VerifyToken(token, key, tutti::fuzz::kFuzzNowS, kLeewayS);
  FUZZ_CHECK(full.ok() == (expected == crypto::TokenVerdict::kValid));
  if (full.ok()) FUZZ_CHECK(SameClaims(*full, claims));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tutti::fuzz::FuzzInput input(data, size);
  if ((input.TakeByte() & 1) == 0) {
    Verify(input.Rest(), /*signed_here=*/false);
  } else {
    std::string_view header = input.TakeField('\n');
    Verify(crypto::SignCompactJws(header, input.Rest(), Issuer()), /*signed_here=*/true);
  }
  return 0;
}
