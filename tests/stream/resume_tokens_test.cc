// Resume tokens: opaque, single-use, bound to a user and a session, valid while the
// session is connected and for the window after it drops, rotated on reissue, revoked.
#include "server/resume_tokens.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace tutti::server {
namespace {

using Outcome = ResumeTokens::Outcome;
constexpr int64_t kWindowUs = 120'000'000;

TEST(ResumeTokensTest, ATokenResumesItsSessionOnce) {
  FakeClock clock;
  ResumeTokens tokens(&clock, kWindowUs);
  const std::string t = tokens.Issue("ann", 42);
  EXPECT_EQ(t.rfind("rt1.", 0), 0u);
  EXPECT_EQ(t.size(), 4u + 43u);
  tokens.Detached(42);
  clock.AdvanceUs(kWindowUs - 1);
  ResumeTokens::Redemption r = tokens.Redeem(t, "ann");
  EXPECT_EQ(r.outcome, Outcome::kGranted);
  EXPECT_EQ(r.session, 42u);
  EXPECT_EQ(tokens.Redeem(t, "ann").outcome, Outcome::kUnknown);  // single use
  EXPECT_EQ(tokens.size(), 0u);
}

TEST(ResumeTokensTest, AConnectedSessionsTokenDoesNotExpire) {
  // The server may not have noticed the drop yet (a half-open socket): the token works.
  FakeClock clock;
  ResumeTokens tokens(&clock, kWindowUs);
  const std::string t = tokens.Issue("ann", 42);
  clock.AdvanceUs(10 * kWindowUs);
  EXPECT_EQ(tokens.Redeem(t, "ann").outcome, Outcome::kGranted);
}

TEST(ResumeTokensTest, ExpiredAfterTheWindowFromTheDrop) {
  FakeClock clock;
  ResumeTokens tokens(&clock, kWindowUs);
  const std::string t = tokens.Issue("ann", 42);
  clock.AdvanceUs(5 * kWindowUs);
  tokens.Detached(42);
  clock.AdvanceUs(kWindowUs);
  EXPECT_EQ(tokens.Redeem(t, "ann").outcome, Outcome::kExpired);
  EXPECT_EQ(tokens.Redeem(t, "ann").outcome, Outcome::kUnknown);
}

TEST(ResumeTokensTest, AnotherUserIsRefusedAndTheTokenIsBurnt) {
  FakeClock clock;
  ResumeTokens tokens(&clock, kWindowUs);
  const std::string t = tokens.Issue("ann", 42);
  ResumeTokens::Redemption r = tokens.Redeem(t, "mallory");
  EXPECT_EQ(r.outcome, Outcome::kWrongUser);
  EXPECT_EQ(r.session, 0u);
  EXPECT_EQ(tokens.Redeem(t, "ann").outcome, Outcome::kUnknown);
}

TEST(ResumeTokensTest, AGuestTokenResumesOnlyForAGuest) {
  FakeClock clock;
  ResumeTokens tokens(&clock, kWindowUs);
  const std::string guest = tokens.Issue("guest:0011223344556677", 9);
  ResumeTokens::Redemption g = tokens.Redeem(guest, "guest:ffffffffffffffff", /*guest=*/true);
  EXPECT_EQ(g.outcome, Outcome::kGranted);
  // The restored session answers to its old guest id, which only the token knows.
  EXPECT_EQ(g.user_id, "guest:0011223344556677");
  const std::string member = tokens.Issue("ann", 10);
  EXPECT_EQ(tokens.Redeem(member, "guest:ffffffffffffffff", /*guest=*/true).outcome,
            Outcome::kWrongUser);
  const std::string guest2 = tokens.Issue("guest:0011223344556677", 11);
  EXPECT_EQ(tokens.Redeem(guest2, "ann", /*guest=*/false).outcome, Outcome::kWrongUser);
}

TEST(ResumeTokensTest, ReissueRotatesAndRevokeForgets) {
  FakeClock clock;
  ResumeTokens tokens(&clock, kWindowUs);
  const std::string first = tokens.Issue("ann", 42);
  const std::string second = tokens.Issue("ann", 42);
  EXPECT_NE(first, second);
  EXPECT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens.Redeem(first, "ann").outcome, Outcome::kUnknown);
  tokens.Revoke(42);
  EXPECT_EQ(tokens.Redeem(second, "ann").outcome, Outcome::kUnknown);
  EXPECT_EQ(tokens.Redeem("", "ann").outcome, Outcome::kUnknown);
  EXPECT_EQ(tokens.Redeem("rt1.forged", "ann").outcome, Outcome::kUnknown);
}

TEST(ResumeTokensTest, ExpiredEntriesArePrunedSoTheRecordStaysBounded) {
  FakeClock clock;
  ResumeTokens tokens(&clock, kWindowUs);
  for (SessionId s = 1; s <= 1000; ++s) {
    tokens.Issue("u" + std::to_string(s), s);
    tokens.Detached(s);
  }
  EXPECT_EQ(tokens.size(), 1000u);
  clock.AdvanceUs(2 * kWindowUs);
  tokens.Issue("fresh", 5000);
  EXPECT_EQ(tokens.size(), 1u);
}

TEST(ResumeTokensTest, TokensAreDistinct) {
  FakeClock clock;
  ResumeTokens tokens(&clock, kWindowUs);
  std::set<std::string> seen;
  for (SessionId s = 1; s <= 500; ++s) seen.insert(tokens.Issue("ann", s));
  EXPECT_EQ(seen.size(), 500u);
}

}  // namespace
}  // namespace tutti::server
