// Link tokens and the MIDI sequence window (server/link_token.h): a token names its session
// and is spent by its first presentation; a batch number is taken once, in any order within
// the window.
#include "server/link_token.h"

#include <string>

#include <gtest/gtest.h>

namespace tutti::server {
namespace {

TEST(LinkTokenTest, NamesItsSessionAndIsSpentByItsFirstPresentation) {
  LinkCredential cred;
  const SessionId session = MakeSessionId(123456789, 5);
  const std::string token = IssueLinkToken(session, 1000, &cred);
  EXPECT_EQ(token.rfind("lk1.", 0), 0u);
  ASSERT_TRUE(ParseLinkToken(token));
  EXPECT_EQ(*ParseLinkToken(token), session);
  EXPECT_TRUE(RedeemLinkToken(&cred, token, 2000));
  EXPECT_FALSE(RedeemLinkToken(&cred, token, 2000));  // used
}

TEST(LinkTokenTest, AWrongTokenIsRefusedAndLeavesTheRightOneOutstanding) {
  // Session ids are public, so a made-up token for someone's session must not cancel theirs.
  LinkCredential cred;
  const std::string token = IssueLinkToken(7 << 8, 0, &cred);
  std::string wrong = token;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(RedeemLinkToken(&cred, wrong, 1));
  EXPECT_FALSE(RedeemLinkToken(&cred, wrong, 1));
  EXPECT_TRUE(RedeemLinkToken(&cred, token, 1));
  EXPECT_FALSE(RedeemLinkToken(&cred, token, 1));  // used
}

TEST(LinkTokenTest, ALateTokenIsRefusedAndSpent) {
  LinkCredential cred;
  const std::string late = IssueLinkToken(7 << 8, 0, &cred);
  EXPECT_FALSE(RedeemLinkToken(&cred, late, kLinkTokenTtlUs));
  EXPECT_EQ(cred.expires_us, 0);  // nothing outstanding any more
}

TEST(LinkTokenTest, ANewerTokenReplacesTheOlderOne) {
  LinkCredential cred;
  const std::string first = IssueLinkToken(7 << 8, 0, &cred);
  const std::string second = IssueLinkToken(7 << 8, 0, &cred);
  EXPECT_FALSE(RedeemLinkToken(&cred, first, 1));
  EXPECT_TRUE(RedeemLinkToken(&cred, second, 1));
}

TEST(LinkTokenTest, ParseRefusesAnythingNotShapedLikeAToken) {
  LinkCredential cred;
  const std::string token = IssueLinkToken(0xabcdef01, 0, &cred);
  EXPECT_FALSE(ParseLinkToken(""));
  EXPECT_FALSE(ParseLinkToken(token.substr(1)));
  EXPECT_FALSE(ParseLinkToken(token + "A"));
  std::string upper = token;
  upper[5] = 'A';  // hex digits are lower-case
  EXPECT_FALSE(ParseLinkToken(upper));
  std::string dot = token;
  dot[4 + 16] = '-';
  EXPECT_FALSE(ParseLinkToken(dot));
  std::string secret = token;
  secret.back() = '+';
  EXPECT_FALSE(ParseLinkToken(secret));
  EXPECT_FALSE(ParseLinkToken("lk1.0000000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
}

// The issue quota: a burst, then one per refill interval, never more than the burst saved
// up; redeeming a token does not give one back.
TEST(LinkTokenTest, TheIssueQuotaGivesABurstThenOnePerInterval) {
  LinkCredential c;
  const int64_t t0 = 1'000'000'000;
  for (int i = 0; i < kLinkTokenBurst; ++i) EXPECT_TRUE(TakeLinkIssue(&c, t0)) << i;
  EXPECT_FALSE(TakeLinkIssue(&c, t0));
  const std::string token = IssueLinkToken(7, t0, &c);
  EXPECT_TRUE(RedeemLinkToken(&c, token, t0 + 1));
  EXPECT_FALSE(TakeLinkIssue(&c, t0 + kLinkTokenRefillUs - 1));
  EXPECT_TRUE(TakeLinkIssue(&c, t0 + kLinkTokenRefillUs));
  EXPECT_FALSE(TakeLinkIssue(&c, t0 + kLinkTokenRefillUs));
  // A long quiet spell refills the burst, not more.
  const int64_t later = t0 + 100 * kLinkTokenRefillUs;
  for (int i = 0; i < kLinkTokenBurst; ++i) EXPECT_TRUE(TakeLinkIssue(&c, later)) << i;
  EXPECT_FALSE(TakeLinkIssue(&c, later));
}

TEST(SequenceWindowTest, TakesEachNumberOnceInAnyOrderWithinTheWindow) {
  SequenceWindow w;
  EXPECT_TRUE(w.Take(1));
  EXPECT_TRUE(w.Take(3));   // 2 is late on the other connection
  EXPECT_FALSE(w.Take(3));  // the copy of 3
  EXPECT_TRUE(w.Take(2));   // 2 arrives: taken, not a duplicate
  EXPECT_FALSE(w.Take(2));
  EXPECT_FALSE(w.Take(1));
  EXPECT_TRUE(w.Take(0));  // unnumbered: always taken
  EXPECT_TRUE(w.Take(0));
  EXPECT_TRUE(w.Take(100));
  EXPECT_TRUE(w.Take(37));    // 63 below the highest: still in the window
  EXPECT_FALSE(w.Take(36));   // 64 below: too old to tell, dropped
  EXPECT_TRUE(w.Take(1000));  // a jump clears the window
  EXPECT_TRUE(w.Take(999));
  EXPECT_FALSE(w.Take(100));
}

}  // namespace
}  // namespace tutti::server
