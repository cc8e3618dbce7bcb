#include "crypto/jwt.h"

#include <string>

#include "crypto/base64url.h"
#include "gtest/gtest.h"

namespace tutti::crypto {
namespace {

constexpr int64_t kNow = 1700000000;
constexpr int64_t kLeeway = 30;
constexpr char kHeader[] = R"({"alg":"EdDSA","typ":"JWT"})";

TokenClaims SampleClaims() {
  TokenClaims c;
  c.sub = "user-1";
  c.name = "Ann \"the pianist\"";
  c.iss = "tests";
  c.jti = "j1";
  c.member = true;
  c.roles = {"admin", "moderator"};
  c.iat = kNow;
  c.nbf = kNow - 10;
  c.exp = kNow + 3600;
  return c;
}

TokenVerdict Verdict(std::string_view jwt, const PublicKey& key) {
  TokenClaims claims;
  return VerifyTokenSignature(jwt, key, &claims);
}

class JwtTest : public ::testing::Test {
 protected:
  IssuerKeys issuer_ = GenerateIssuerKeys();
};

// RFC 8037 appendix A.4: the Ed25519 JWS example, byte for byte.
TEST(JwtVectorTest, Rfc8037Example) {
  std::optional<std::string> seed = Base64UrlDecode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
  ASSERT_TRUE(seed.has_value());
  IssuerKeys keys = IssuerKeysFromSeed(reinterpret_cast<const uint8_t*>(seed->data()));
  EXPECT_EQ(Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(keys.public_key.data()),
                                             keys.public_key.size())),
            "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
  std::string jws = SignCompactJws(R"({"alg":"EdDSA"})", "Example of Ed25519 signing", keys);
  EXPECT_EQ(
      jws,
      "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
      "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg");
  // The signature checks out; only the payload (not JSON claims) is refused.
  EXPECT_EQ(Verdict(jws, keys.public_key), TokenVerdict::kMalformed);
  std::string flipped = jws;
  flipped[flipped.find('.') + 1] ^= 0x01;  // 'R' -> 'S'
  EXPECT_EQ(Verdict(flipped, keys.public_key), TokenVerdict::kBadSignature);
}

TEST_F(JwtTest, MintThenVerifyRoundTrips) {
  std::string jwt = MintToken(SampleClaims(), issuer_);
  EXPECT_EQ(jwt.rfind(Base64UrlEncode(kHeader) + ".", 0), 0u) << jwt;
  absl::StatusOr<TokenClaims> c = VerifyToken(jwt, issuer_.public_key, kNow, kLeeway);
  ASSERT_TRUE(c.ok()) << c.status();
  TokenClaims want = SampleClaims();
  EXPECT_EQ(c->sub, want.sub);
  EXPECT_EQ(c->name, want.name);
  EXPECT_EQ(c->iss, want.iss);
  EXPECT_EQ(c->jti, want.jti);
  EXPECT_EQ(c->member, want.member);
  EXPECT_EQ(c->roles, want.roles);
  EXPECT_EQ(c->iat, want.iat);
  EXPECT_EQ(c->nbf, want.nbf);
  EXPECT_EQ(c->exp, want.exp);
}

TEST_F(JwtTest, TamperedHeaderPayloadOrSignatureIsRefused) {
  std::string jwt = MintToken(SampleClaims(), issuer_);
  size_t dot1 = jwt.find('.');
  size_t dot2 = jwt.rfind('.');
  std::string header = jwt.substr(0, dot1);
  std::string payload = jwt.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string sig = jwt.substr(dot2 + 1);

  // A different (still acceptable) header under the old signature.
  std::string other_header = Base64UrlEncode(R"({"typ":"JWT","alg":"EdDSA"})");
  EXPECT_EQ(Verdict(other_header + "." + payload + "." + sig, issuer_.public_key),
            TokenVerdict::kBadSignature);

  // Claims edited to grant membership.
  TokenClaims c = SampleClaims();
  c.member = false;
  std::string plain = MintToken(c, issuer_);
  std::string plain_payload =
      plain.substr(plain.find('.') + 1, plain.rfind('.') - plain.find('.') - 1);
  std::optional<std::string> decoded = Base64UrlDecode(plain_payload);
  ASSERT_TRUE(decoded);
  std::string forged = *decoded;
  forged.replace(forged.find("\"member\":false"), 14, "\"member\":true");
  EXPECT_EQ(
      Verdict(header + "." + Base64UrlEncode(forged) + "." + plain.substr(plain.rfind('.') + 1),
              issuer_.public_key),
      TokenVerdict::kBadSignature);

  // Every signature byte matters.
  std::optional<std::string> raw_sig = Base64UrlDecode(sig);
  ASSERT_TRUE(raw_sig && raw_sig->size() == 64);
  for (size_t i = 0; i < raw_sig->size(); ++i) {
    std::string bad = *raw_sig;
    bad[i] ^= 0x04;
    EXPECT_EQ(Verdict(header + "." + payload + "." + Base64UrlEncode(bad), issuer_.public_key),
              TokenVerdict::kBadSignature)
        << "byte " << i;
  }
  // A signature of the wrong length is malformed, not merely wrong.
  EXPECT_EQ(Verdict(header + "." + payload + "." + Base64UrlEncode(raw_sig->substr(0, 63)),
                    issuer_.public_key),
            TokenVerdict::kMalformed);
}

TEST_F(JwtTest, WrongKeyIsRefused) {
  std::string jwt = MintToken(SampleClaims(), issuer_);
  IssuerKeys other = GenerateIssuerKeys();
  EXPECT_EQ(Verdict(jwt, other.public_key), TokenVerdict::kBadSignature);
  EXPECT_EQ(VerifyToken(jwt, other.public_key, kNow, kLeeway).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(JwtTest, OnlyEdDsaIsAccepted) {
  const std::string claims = R"({"sub":"user-1","exp":1700003600})";
  for (const char* header :
       {R"({"alg":"none"})", R"({"alg":"none","typ":"JWT"})", R"({"alg":"HS256","typ":"JWT"})",
        R"({"alg":"RS256"})", R"({"alg":"ES256"})", R"({"alg":"eddsa"})", R"({"alg":"Ed25519"})",
        R"({"alg":""})", R"({"typ":"JWT"})", R"({"alg":["EdDSA"]})", R"({"alg":null})",
        R"({"alg":"EdDSA","typ":"JOSE+JSON"})", R"({"alg":"EdDSA","crit":["exp"]})",
        R"({"alg":"EdDSA","alg":"EdDSA"})", "not json"}) {
    // A valid signature over a hostile header must not help it through.
    EXPECT_EQ(Verdict(SignCompactJws(header, claims, issuer_), issuer_.public_key),
              TokenVerdict::kMalformed)
        << header;
  }
  // Unsigned "none" tokens in both usual shapes.
  std::string none = Base64UrlEncode(R"({"alg":"none"})") + "." + Base64UrlEncode(claims);
  EXPECT_EQ(Verdict(none + ".", issuer_.public_key), TokenVerdict::kMalformed);
  EXPECT_EQ(Verdict(none, issuer_.public_key), TokenVerdict::kMalformed);
  // Accepted header variations: no typ, lower-case typ, an ignored kid.
  for (const char* header :
       {R"({"alg":"EdDSA"})", R"({"alg":"EdDSA","typ":"jwt"})", R"({"kid":"k1","alg":"EdDSA"})"}) {
    EXPECT_EQ(Verdict(SignCompactJws(header, claims, issuer_), issuer_.public_key),
              TokenVerdict::kValid)
        << header;
  }
}

TEST_F(JwtTest, ExpiryHonoursLeeway) {
  TokenClaims c = SampleClaims();
  c.nbf = 0;
  c.exp = kNow - kLeeway - 1;
  EXPECT_EQ(
      VerifyToken(MintToken(c, issuer_), issuer_.public_key, kNow, kLeeway).status().message(),
      "token expired");
  c.exp = kNow - kLeeway;  // exp is exclusive: at exp + leeway it is already dead
  EXPECT_FALSE(VerifyToken(MintToken(c, issuer_), issuer_.public_key, kNow, kLeeway).ok());
  c.exp = kNow - kLeeway + 1;
  EXPECT_TRUE(VerifyToken(MintToken(c, issuer_), issuer_.public_key, kNow, kLeeway).ok());
  c.exp = kNow;
  EXPECT_FALSE(VerifyToken(MintToken(c, issuer_), issuer_.public_key, kNow, 0).ok());
  EXPECT_EQ(CheckTokenTimes(c, kNow, 0), TokenVerdict::kExpired);
}

TEST_F(JwtTest, NotBeforeHonoursLeeway) {
  TokenClaims c = SampleClaims();
  c.nbf = kNow + kLeeway + 1;
  absl::StatusOr<TokenClaims> r =
      VerifyToken(MintToken(c, issuer_), issuer_.public_key, kNow, kLeeway);
  EXPECT_EQ(r.status().message(), "token not yet valid");
  EXPECT_EQ(CheckTokenTimes(c, kNow, kLeeway), TokenVerdict::kNotYetValid);
  c.nbf = kNow + kLeeway;
  EXPECT_TRUE(VerifyToken(MintToken(c, issuer_), issuer_.public_key, kNow, kLeeway).ok());
}

TEST_F(JwtTest, ClaimsMustHaveTheRightShape) {
  for (const char* claims : {
           R"({"exp":1700003600})",                                 // no sub
           R"({"sub":"","exp":1700003600})",                        // empty sub
           R"({"sub":"u"})",                                        // no exp
           R"({"sub":"u","exp":"1700003600"})",                     // exp as string
           R"({"sub":"u","exp":1700003600.5})",                     // exp not integral
           R"({"sub":"u","exp":1700003600,"member":"true"})",       // member as string
           R"({"sub":"u","exp":1700003600,"roles":"admin"})",       // roles not an array
           R"({"sub":"u","exp":1700003600,"roles":[1]})",           // roles of numbers
           R"({"sub":7,"exp":1700003600})",                         // sub as number
           R"({"sub":"u","exp":1700003600,"nested":{"a":1}})",      // nested object
           R"({"sub":"u","exp":1700003600,"name":"x","name":"y"})"  // duplicate claim
       }) {
    EXPECT_EQ(Verdict(SignCompactJws(kHeader, claims, issuer_), issuer_.public_key),
              TokenVerdict::kMalformed)
        << claims;
  }
  std::string long_sub = R"({"sub":")" + std::string(300, 'u') + R"(","exp":1700003600})";
  EXPECT_EQ(Verdict(SignCompactJws(kHeader, long_sub, issuer_), issuer_.public_key),
            TokenVerdict::kMalformed);
  // Unknown claims are ignored.
  EXPECT_EQ(Verdict(SignCompactJws(kHeader, R"({"sub":"u","exp":1,"aud":"x","extra":[]})", issuer_),
                    issuer_.public_key),
            TokenVerdict::kValid);
}

TEST_F(JwtTest, MalformedSegmentsAreRefused) {
  std::string jwt = MintToken(SampleClaims(), issuer_);
  size_t dot1 = jwt.find('.');
  size_t dot2 = jwt.rfind('.');
  for (std::string bad :
       {std::string(), std::string("a"), std::string("a.b"), std::string("a.b.c.d"),
        jwt.substr(0, dot2), jwt + ".", "." + jwt,
        jwt.substr(0, dot1) + ".." + jwt.substr(dot2 + 1), jwt.substr(0, dot2 + 1),
        jwt.substr(dot1), jwt + "=", jwt.substr(0, dot1) + "=" + jwt.substr(dot1),
        std::string("eyJ+.eyJ.abc"), std::string(kMaxTokenBytes + 1, 'a'),
        jwt.substr(0, dot1) + " " + jwt.substr(dot1)}) {
    EXPECT_EQ(Verdict(bad, issuer_.public_key), TokenVerdict::kMalformed) << bad;
    EXPECT_EQ(VerifyToken(bad, issuer_.public_key, kNow, kLeeway).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST(JwtNamesTest, VerdictNames) {
  EXPECT_STREQ(TokenVerdictName(TokenVerdict::kValid), "valid");
  EXPECT_STREQ(TokenVerdictName(TokenVerdict::kBadSignature), "bad_signature");
}

}  // namespace
}  // namespace tutti::crypto
