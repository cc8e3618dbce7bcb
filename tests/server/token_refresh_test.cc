// ExpirySchedule: when member sessions are warned and closed for an expiring token.
#include "server/token_refresh.h"

#include <gtest/gtest.h>

namespace tutti::server {
namespace {

TEST(ExpirySchedule, NoticeThenCloseEachOnce) {
  ExpirySchedule s(60'000);
  s.Set(1, 100'000);
  EXPECT_TRUE(s.TakeDue(39'999).empty());
  auto notice = s.TakeDue(40'000);
  ASSERT_EQ(notice.size(), 1u);
  EXPECT_FALSE(notice[0].close);
  EXPECT_EQ(notice[0].close_at_ms, 100'000);
  EXPECT_TRUE(s.TakeDue(99'999).empty()) << "one notice only";
  auto close = s.TakeDue(100'000);
  ASSERT_EQ(close.size(), 1u);
  EXPECT_TRUE(close[0].close);
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(s.TakeDue(1'000'000).empty());
}

TEST(ExpirySchedule, ARefreshMovesTheCloseAndAllowsANewNotice) {
  ExpirySchedule s(60'000);
  s.Set(1, 100'000);
  ASSERT_EQ(s.TakeDue(50'000).size(), 1u);  // noticed
  s.Set(1, 500'000);                        // refreshed
  EXPECT_EQ(s.size(), 1u);
  EXPECT_TRUE(s.TakeDue(200'000).empty()) << "the old close is gone";
  auto notice = s.TakeDue(440'000);
  ASSERT_EQ(notice.size(), 1u);
  EXPECT_FALSE(notice[0].close);
  EXPECT_EQ(notice[0].close_at_ms, 500'000);
}

TEST(ExpirySchedule, PastDueGetsOnlyTheCloseAndErasedSessionsNothing) {
  ExpirySchedule s(60'000);
  s.Set(1, 10'000);
  s.Set(2, 20'000);
  s.Set(3, 30'000);
  s.Erase(2);
  auto due = s.TakeDue(1'000'000);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].session, 1u);
  EXPECT_TRUE(due[0].close);
  EXPECT_EQ(due[1].session, 3u);
  EXPECT_TRUE(due[1].close);
  EXPECT_TRUE(s.empty());
}

TEST(ExpirySchedule, CloseTimeSaturates) {
  EXPECT_EQ(SessionCloseAtMs(1000, 30), 1'030'000);
  EXPECT_GT(SessionCloseAtMs(INT64_MAX, 30), 0);
}

}  // namespace
}  // namespace tutti::server
