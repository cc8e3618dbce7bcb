#include "crypto/authenticator.h"

#include <atomic>
#include <cctype>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crypto/base64url.h"
#include "crypto/connect_payload.h"
#include "crypto/jwt.h"
#include "crypto/sealed_box.h"
#include "gtest/gtest.h"

namespace tutti::crypto {
namespace {

constexpr int64_t kStartMs = 1700000000000;

// prefix followed by exactly `hex_digits` lower-case hex digits.
bool MatchesHex(const std::string& s, const std::string& prefix, size_t hex_digits) {
  if (s.size() != prefix.size() + hex_digits || s.rfind(prefix, 0) != 0) return false;
  for (size_t i = prefix.size(); i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i])) && (s[i] < 'a' || s[i] > 'f')) {
      return false;
    }
  }
  return true;
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override { Rebuild(AuthenticatorOptions()); }

  void Rebuild(const AuthenticatorOptions& options) {
    ServerKeys keys;
    keys.seal_public = seal_public_;
    keys.seal_secret = SecretBytes(32);
    std::copy(seal_secret_copy_.begin(), seal_secret_copy_.end(), keys.seal_secret.data());
    keys.issuer_public = issuer_.public_key;
    auth_ = std::make_unique<Authenticator>(std::move(keys), options,
                                            [this] { return now_ms_.load(); });
  }

  TokenClaims MemberClaims(const std::string& sub = "user-1") const {
    TokenClaims c;
    c.sub = sub;
    c.name = "Ann";
    c.member = true;
    c.iat = kStartMs / 1000;
    c.exp = kStartMs / 1000 + 3600;
    return c;
  }

  ConnectPayload Payload(const std::string& token, const std::string& uuid = "user-1") const {
    ConnectPayload p;
    p.username = "Client Says";
    p.uuid = uuid;
    p.socket_id = RandomSocketId();
    p.token = token;
    p.ts_ms = now_ms_.load();
    return p;
  }

  std::string Resource(const ConnectPayload& p) const {
    return BuildConnectResource(p, seal_public_);
  }
  std::string SealedResource(std::string_view plaintext) const {
    return kConnectPathPrefix + Base64UrlEncode(Seal(plaintext, seal_public_));
  }

  AuthFailure Try(std::string_view resource, Identity* identity = nullptr) {
    Identity local;
    AuthError error;
    bool ok = auth_->Authenticate(resource, identity ? identity : &local, &error);
    EXPECT_EQ(ok, error.failure == AuthFailure::kNone);
    if (!ok) {
      EXPECT_EQ(error.http_status, AuthFailureHttpStatus(error.failure));
      EXPECT_FALSE(error.reason.empty());
    }
    return error.failure;
  }

  // Keys live outside the Authenticator so tests can rebuild it with new options.
  ServerKeys MakeKeys() { return GenerateServerKeys(PublicKey{}); }

  IssuerKeys issuer_ = GenerateIssuerKeys();
  ServerKeys source_keys_ = MakeKeys();
  PublicKey seal_public_ = source_keys_.seal_public;
  std::vector<uint8_t> seal_secret_copy_{source_keys_.seal_secret.data(),
                                         source_keys_.seal_secret.data() + 32};
  std::atomic<int64_t> now_ms_{kStartMs};
  std::unique_ptr<Authenticator> auth_;
};

TEST_F(AuthenticatorTest, AcceptsAMemberWithIdentityFromTheToken) {
  TokenClaims claims = MemberClaims();
  claims.roles = {"admin", "moderator", "dj"};
  ConnectPayload p = Payload(MintToken(claims, issuer_));
  Identity id;
  ASSERT_EQ(Try(Resource(p), &id), AuthFailure::kNone);
  EXPECT_EQ(id.user_id, "user-1");
  EXPECT_EQ(id.username, "Ann");  // the claim, not the payload's "Client Says"
  EXPECT_EQ(id.socket_id, p.socket_id);
  EXPECT_TRUE(id.is_member);
  EXPECT_FALSE(id.is_guest);
  EXPECT_TRUE(id.is_admin);
  EXPECT_TRUE(id.is_moderator);
  EXPECT_EQ(auth_->stats().accepted, 1u);
}

TEST_F(AuthenticatorTest, MembershipComesFromClaimsNotThePayload) {
  TokenClaims claims = MemberClaims();
  claims.member = false;
  ConnectPayload p = Payload(MintToken(claims, issuer_));
  p.is_member = true;  // the client lies
  Identity id;
  ASSERT_EQ(Try(Resource(p), &id), AuthFailure::kNone);
  EXPECT_FALSE(id.is_member);
  EXPECT_FALSE(id.is_admin);
  EXPECT_FALSE(id.is_moderator);
}

TEST_F(AuthenticatorTest, NamelessTokenFallsBackToTheSubject) {
  TokenClaims claims = MemberClaims("bob");
  claims.name = " \x01 ";
  Identity id;
  ASSERT_EQ(Try(Resource(Payload(MintToken(claims, issuer_), "bob")), &id), AuthFailure::kNone);
  EXPECT_EQ(id.username, "bob");
}

TEST_F(AuthenticatorTest, GuestsGetARandomIdAndASanitisedName) {
  ConnectPayload p = Payload("", "");
  p.username = "  Guest\tPlayer\x01 ";
  p.is_member = true;
  Identity id;
  ASSERT_EQ(Try(Resource(p), &id), AuthFailure::kNone);
  EXPECT_TRUE(MatchesHex(id.user_id, "guest:", 16)) << id.user_id;
  EXPECT_EQ(id.username, "Guest Player");
  EXPECT_TRUE(id.is_guest);
  EXPECT_FALSE(id.is_member);
  EXPECT_FALSE(id.is_admin);

  ConnectPayload nameless = Payload("", "");
  nameless.username = "\xe2\x80\x8b";
  Identity id2;
  ASSERT_EQ(Try(Resource(nameless), &id2), AuthFailure::kNone);
  EXPECT_TRUE(MatchesHex(id2.username, "Guest-", 4)) << id2.username;
  EXPECT_NE(id.user_id, id2.user_id);
}

TEST_F(AuthenticatorTest, GuestsCanBeRefused) {
  AuthenticatorOptions options;
  options.allow_guests = false;
  Rebuild(options);
  EXPECT_EQ(Try(Resource(Payload("", ""))), AuthFailure::kGuestsNotAllowed);
  EXPECT_EQ(AuthFailureHttpStatus(AuthFailure::kGuestsNotAllowed), 403);
  // Members still get in.
  EXPECT_EQ(Try(Resource(Payload(MintToken(MemberClaims(), issuer_)))), AuthFailure::kNone);
}

TEST_F(AuthenticatorTest, PathShapeAndLength) {
  std::string good = Resource(Payload(MintToken(MemberClaims(), issuer_)));
  EXPECT_EQ(Try(std::string(2049, 'a')), AuthFailure::kPathTooLong);
  EXPECT_EQ(Try(good + std::string(2049 - good.size(), 'a')), AuthFailure::kPathTooLong);
  EXPECT_EQ(Try(""), AuthFailure::kBadPath);
  EXPECT_EQ(Try("/"), AuthFailure::kBadPath);
  EXPECT_EQ(Try("/api/websocket"), AuthFailure::kBadPath);
  EXPECT_EQ(Try("/api/websocket/"), AuthFailure::kBadPath);
  EXPECT_EQ(Try("/api/websocket/?x=1"), AuthFailure::kBadPath);
  EXPECT_EQ(Try("/api/other/" + good.substr(15)), AuthFailure::kBadPath);
  EXPECT_EQ(Try(good + "/extra"), AuthFailure::kBadPath);
  EXPECT_EQ(Try("/API/websocket/" + good.substr(15)), AuthFailure::kBadPath);
  // A query string is ignored.
  EXPECT_EQ(Try(good + "?v=1&x=y"), AuthFailure::kNone);
}

TEST_F(AuthenticatorTest, PayloadEncodingAndContent) {
  EXPECT_EQ(Try("/api/websocket/%%%%"), AuthFailure::kNotBase64);
  EXPECT_EQ(Try("/api/websocket/Zg=="), AuthFailure::kNotBase64);
  EXPECT_EQ(Try("/api/websocket/A"), AuthFailure::kNotBase64);
  EXPECT_EQ(Try("/api/websocket/" + Base64UrlEncode("short")), AuthFailure::kCannotOpen);
  EXPECT_EQ(Try("/api/websocket/" + Base64UrlEncode(std::string(200, 'x'))),
            AuthFailure::kCannotOpen);
  ServerKeys other = GenerateServerKeys(PublicKey{});
  EXPECT_EQ(Try(BuildConnectResource(Payload(""), other.seal_public)), AuthFailure::kCannotOpen);
  EXPECT_EQ(Try(SealedResource("not json")), AuthFailure::kBadJson);
  EXPECT_EQ(Try(SealedResource(R"({"ts":1700000000000})")), AuthFailure::kBadJson);
  EXPECT_EQ(Try(SealedResource(R"({"socket_id":"s","ts":"now"})")), AuthFailure::kBadJson);
  EXPECT_EQ(Try(SealedResource(R"({"socket_id":"s","ts":1700000000000,"token":{}})")),
            AuthFailure::kBadJson);
}

TEST_F(AuthenticatorTest, FreshnessWindow) {
  ConnectPayload p = Payload("");
  p.ts_ms = kStartMs - 60001;
  EXPECT_EQ(Try(Resource(p)), AuthFailure::kStale);
  p.ts_ms = kStartMs - 60000;
  EXPECT_EQ(Try(Resource(p)), AuthFailure::kNone);
  p = Payload("");
  p.ts_ms = kStartMs + 5001;
  EXPECT_EQ(Try(Resource(p)), AuthFailure::kFromFuture);
  p.ts_ms = kStartMs + 5000;
  EXPECT_EQ(Try(Resource(p)), AuthFailure::kNone);
  // Extreme values cannot overflow the comparison.
  p = Payload("");
  p.ts_ms = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(Try(Resource(p)), AuthFailure::kStale);
  p.ts_ms = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(Try(Resource(p)), AuthFailure::kFromFuture);
  // The same blob goes stale as the clock moves on.
  std::string blob = Resource(Payload(""));
  now_ms_ += 60001;
  EXPECT_EQ(Try(blob), AuthFailure::kStale);
}

TEST_F(AuthenticatorTest, ReplayWithinTheWindowIsRefused) {
  std::string blob = Resource(Payload(MintToken(MemberClaims(), issuer_)));
  EXPECT_EQ(Try(blob), AuthFailure::kNone);
  EXPECT_EQ(Try(blob), AuthFailure::kReplayed);
  now_ms_ += 30000;
  EXPECT_EQ(Try(blob), AuthFailure::kReplayed);
  EXPECT_EQ(AuthFailureHttpStatus(AuthFailure::kReplayed), 409);
}

// A restarted authenticator has an empty replay cache: with its start as the floor, a
// payload used before the restart cannot be used again, however young.
TEST_F(AuthenticatorTest, PayloadSealedBeforeTheStartIsRefused) {
  std::string used = Resource(Payload(MintToken(MemberClaims(), issuer_)));
  EXPECT_EQ(Try(used), AuthFailure::kNone);
  now_ms_ += 1000;
  AuthenticatorOptions options;
  options.not_before_unix_ms = now_ms_.load();
  Rebuild(options);  // the restart
  EXPECT_EQ(Try(used), AuthFailure::kBeforeStart);
  // Anything sealed from the start on is fine, and the window is otherwise unchanged.
  ConnectPayload p = Payload("");
  p.ts_ms = options.not_before_unix_ms - 1;
  EXPECT_EQ(Try(Resource(p)), AuthFailure::kBeforeStart);
  p = Payload("");
  p.ts_ms = options.not_before_unix_ms;
  EXPECT_EQ(Try(Resource(p)), AuthFailure::kNone);
  // Without the floor (the default) the same replay would pass: the cache is empty.
  Rebuild(AuthenticatorOptions());
  EXPECT_EQ(Try(used), AuthFailure::kNone);
}

TEST_F(AuthenticatorTest, SameSocketIdInANewPayload) {
  ConnectPayload p = Payload("");
  EXPECT_EQ(Try(Resource(p)), AuthFailure::kNone);
  // A freshly sealed payload reusing the id is still a replay inside the window.
  now_ms_ += 1000;
  p.ts_ms = now_ms_;
  EXPECT_EQ(Try(Resource(p)), AuthFailure::kReplayed);
  // After the first payload's window has passed, the id is free again.
  now_ms_ = kStartMs + 60001;
  p.ts_ms = now_ms_;
  EXPECT_EQ(Try(Resource(p)), AuthFailure::kNone);
}

TEST_F(AuthenticatorTest, ARefusedConnectDoesNotConsumeTheSocketId) {
  ConnectPayload p = Payload("not.a.token");
  EXPECT_EQ(Try(Resource(p)), AuthFailure::kBadToken);
  p.token = MintToken(MemberClaims(), issuer_);
  EXPECT_EQ(Try(Resource(p)), AuthFailure::kNone);
}

TEST_F(AuthenticatorTest, TokenFailures) {
  EXPECT_EQ(Try(Resource(Payload("garbage"))), AuthFailure::kBadToken);
  EXPECT_EQ(Try(Resource(Payload(SignCompactJws(R"({"alg":"none"})",
                                                R"({"sub":"user-1","exp":9999999999})", issuer_)))),
            AuthFailure::kBadToken);
  IssuerKeys stranger = GenerateIssuerKeys();
  EXPECT_EQ(Try(Resource(Payload(MintToken(MemberClaims(), stranger)))),
            AuthFailure::kBadSignature);

  TokenClaims expired = MemberClaims();
  expired.exp = kStartMs / 1000 - 31;  // beyond the 30 s leeway
  EXPECT_EQ(Try(Resource(Payload(MintToken(expired, issuer_)))), AuthFailure::kExpired);
  expired.exp = kStartMs / 1000 - 29;  // within it
  EXPECT_EQ(Try(Resource(Payload(MintToken(expired, issuer_)))), AuthFailure::kNone);

  TokenClaims early = MemberClaims();
  early.nbf = kStartMs / 1000 + 31;
  EXPECT_EQ(Try(Resource(Payload(MintToken(early, issuer_)))), AuthFailure::kNotYetValid);

  EXPECT_EQ(Try(Resource(Payload(MintToken(MemberClaims("user-1"), issuer_), "user-2"))),
            AuthFailure::kSubjectMismatch);
  EXPECT_EQ(Try(Resource(Payload(MintToken(MemberClaims("user-1"), issuer_), ""))),
            AuthFailure::kSubjectMismatch);
}

TEST_F(AuthenticatorTest, TokenCacheHitsAreCountedAndStillTimeChecked) {
  std::string token = MintToken(MemberClaims(), issuer_);
  EXPECT_EQ(Try(Resource(Payload(token))), AuthFailure::kNone);
  EXPECT_EQ(auth_->stats().token_cache_hits, 0u);
  Identity id;
  EXPECT_EQ(Try(Resource(Payload(token)), &id), AuthFailure::kNone);
  EXPECT_EQ(auth_->stats().token_cache_hits, 1u);
  EXPECT_TRUE(id.is_member);
  EXPECT_EQ(id.username, "Ann");
  // A cached token is still bound to its subject.
  EXPECT_EQ(Try(Resource(Payload(token, "someone-else"))), AuthFailure::kSubjectMismatch);
  EXPECT_EQ(auth_->stats().token_cache_hits, 2u);
  // Past exp + leeway the cache no longer vouches for it.
  now_ms_ = (kStartMs / 1000 + 3600 + 30) * 1000;
  EXPECT_EQ(Try(Resource(Payload(token))), AuthFailure::kExpired);
  EXPECT_EQ(auth_->stats().token_cache_hits, 2u);
}

TEST_F(AuthenticatorTest, CacheCanBeDisabled) {
  AuthenticatorOptions options;
  options.token_cache_entries = 0;
  Rebuild(options);
  std::string token = MintToken(MemberClaims(), issuer_);
  EXPECT_EQ(Try(Resource(Payload(token))), AuthFailure::kNone);
  EXPECT_EQ(Try(Resource(Payload(token))), AuthFailure::kNone);
  EXPECT_EQ(auth_->stats().token_cache_hits, 0u);
}

TEST_F(AuthenticatorTest, StatsCountOutcomes) {
  Try(Resource(Payload("")));
  Try("/nope");
  Try("/api/websocket/!!");
  Authenticator::Stats s = auth_->stats();
  EXPECT_EQ(s.accepted, 1u);
  EXPECT_EQ(s.refused, 2u);
}

TEST_F(AuthenticatorTest, ReplayEvictionsAreReported) {
  AuthenticatorOptions options;
  options.replay_cache_entries = 16;
  Rebuild(options);
  for (int i = 0; i < 200; ++i) ASSERT_EQ(Try(Resource(Payload(""))), AuthFailure::kNone);
  EXPECT_GT(auth_->stats().replay_evictions, 0u);
}

TEST_F(AuthenticatorTest, ConcurrentCallsAcceptEachPayloadOnce) {
  constexpr int kThreads = 4;
  constexpr int kPayloads = 150;
  // Half share one token (cache contention), half are guests.
  std::string token = MintToken(MemberClaims(), issuer_);
  std::vector<std::string> blobs;
  for (int i = 0; i < kPayloads; ++i) blobs.push_back(Resource(Payload(i % 2 ? token : "")));
  std::atomic<int> accepted{0}, replayed{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPayloads; ++i) {
        const std::string& blob = blobs[(i * 7 + t * 13) % kPayloads];
        Identity id;
        AuthError error;
        if (auth_->Authenticate(blob, &id, &error)) {
          ++accepted;
        } else if (error.failure == AuthFailure::kReplayed) {
          ++replayed;
        } else {
          ++other;
        }
        now_ms_.fetch_add(1);  // the clock is read concurrently too
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(accepted.load(), kPayloads);
  EXPECT_EQ(replayed.load(), kPayloads * (kThreads - 1));
  EXPECT_EQ(other.load(), 0);
  Authenticator::Stats s = auth_->stats();
  EXPECT_EQ(s.accepted, static_cast<uint64_t>(kPayloads));
  EXPECT_EQ(s.refused, static_cast<uint64_t>(kPayloads * (kThreads - 1)));
  EXPECT_GT(s.token_cache_hits, 0u);
}

TEST(AuthenticatorClockTest, AnEmptyClockMeansTheWallClock) {
  ServerKeys keys = GenerateServerKeys(PublicKey{});
  PublicKey seal_public = keys.seal_public;
  Authenticator auth(std::move(keys), AuthenticatorOptions(), nullptr);
  ConnectPayload p;
  p.socket_id = RandomSocketId();
  p.ts_ms = WallClockUnixMs();
  Identity id;
  AuthError error;
  EXPECT_TRUE(auth.Authenticate(BuildConnectResource(p, seal_public), &id, &error)) << error.reason;
}

TEST(AuthFailureTest, EveryFailureHasANameStatusAndReason) {
  const std::vector<std::pair<AuthFailure, int>> expected = {
      {AuthFailure::kPathTooLong, 414},     {AuthFailure::kBadPath, 400},
      {AuthFailure::kNotBase64, 400},       {AuthFailure::kCannotOpen, 400},
      {AuthFailure::kBadJson, 400},         {AuthFailure::kStale, 401},
      {AuthFailure::kFromFuture, 401},      {AuthFailure::kReplayed, 409},
      {AuthFailure::kBadToken, 401},        {AuthFailure::kBadSignature, 401},
      {AuthFailure::kExpired, 401},         {AuthFailure::kNotYetValid, 401},
      {AuthFailure::kSubjectMismatch, 401}, {AuthFailure::kGuestsNotAllowed, 403},
      {AuthFailure::kBeforeStart, 401}};
  std::set<std::string> names;
  for (const auto& [failure, status] : expected) {
    EXPECT_EQ(AuthFailureHttpStatus(failure), status) << AuthFailureName(failure);
    EXPECT_STRNE(AuthFailureName(failure), "unknown");
    EXPECT_STRNE(AuthFailureReason(failure), "refused");
    names.insert(AuthFailureName(failure));
  }
  EXPECT_EQ(names.size(), expected.size());
}

}  // namespace
}  // namespace tutti::crypto

// A token handed over on an open session (UPDATE_PERMISSIONS) goes through the same token
// step as at the upgrade, with the session's user id in place of the payload's uuid.
namespace tutti::crypto {
namespace {

TEST_F(AuthenticatorTest, RefreshVerifiesTheTokenAsAtTheUpgrade) {
  TokenClaims claims = MemberClaims();
  claims.roles = {"moderator"};
  Identity id;
  AuthError error;
  ASSERT_TRUE(auth_->VerifyRefresh(MintToken(claims, issuer_), "user-1", &id, &error));
  EXPECT_EQ(id.user_id, "user-1");
  EXPECT_TRUE(id.is_moderator);
  EXPECT_FALSE(id.is_admin);
  EXPECT_EQ(id.token_exp_s, claims.exp);
  EXPECT_TRUE(id.socket_id.empty());

  // Another user's token: refused, *identity untouched.
  Identity untouched;
  untouched.user_id = "keep";
  EXPECT_FALSE(auth_->VerifyRefresh(MintToken(MemberClaims("user-2"), issuer_), "user-1",
                                    &untouched, &error));
  EXPECT_EQ(error.failure, AuthFailure::kSubjectMismatch);
  EXPECT_EQ(untouched.user_id, "keep");

  // Expiry with the same leeway as the upgrade (30 s by default).
  TokenClaims old = MemberClaims();
  old.exp = kStartMs / 1000 - 31;
  EXPECT_FALSE(auth_->VerifyRefresh(MintToken(old, issuer_), "user-1", &id, &error));
  EXPECT_EQ(error.failure, AuthFailure::kExpired);
  old.exp = kStartMs / 1000 - 29;
  EXPECT_TRUE(auth_->VerifyRefresh(MintToken(old, issuer_), "user-1", &id, &error));

  // Another issuer's signature, garbage and empty input.
  IssuerKeys other = GenerateIssuerKeys();
  EXPECT_FALSE(auth_->VerifyRefresh(MintToken(MemberClaims(), other), "user-1", &id, &error));
  EXPECT_EQ(error.failure, AuthFailure::kBadSignature);
  EXPECT_FALSE(auth_->VerifyRefresh("not.a.token", "user-1", &id, &error));
  EXPECT_FALSE(auth_->VerifyRefresh("", "user-1", &id, &error));
  EXPECT_FALSE(auth_->VerifyRefresh(MintToken(MemberClaims(), issuer_), "", &id, &error));
  EXPECT_EQ(auth_->stats().accepted, 2u);
}

}  // namespace
}  // namespace tutti::crypto
