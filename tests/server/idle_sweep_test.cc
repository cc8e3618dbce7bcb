// IdleDeadlines: the timer wheel behind the idle timeout. Times are plain numbers: no
// clock, no timer, no thread.
#include "server/idle_sweep.h"

#include <gtest/gtest.h>

namespace tutti::server {
namespace {

constexpr int64_t kSlot = 250'000;

TEST(IdleDeadlines, NothingFiledMeansNothingDue) {
  IdleDeadlines d(kSlot);
  EXPECT_FALSE(d.NextDueUs().has_value());
  EXPECT_TRUE(d.TakeDue(1'000'000'000).empty());
  EXPECT_EQ(d.size(), 0u);
}

TEST(IdleDeadlines, DueNoEarlierThanTheDeadlineAndAtMostOneSlotAfter) {
  IdleDeadlines d(kSlot);
  d.Add(7, 10'100'000);  // between slot times 10.0 s and 10.25 s
  ASSERT_TRUE(d.NextDueUs().has_value());
  EXPECT_EQ(*d.NextDueUs(), 10'250'000);
  EXPECT_TRUE(d.TakeDue(10'100'000).empty()) << "the slot is not due before its time";
  EXPECT_TRUE(d.TakeDue(10'249'999).empty());
  EXPECT_EQ(d.size(), 1u);
  std::vector<SessionId> due = d.TakeDue(10'250'000);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0], 7u);
  EXPECT_EQ(d.size(), 0u);
  EXPECT_FALSE(d.NextDueUs().has_value());
}

TEST(IdleDeadlines, ADeadlineOnASlotBoundaryIsDueAtIt) {
  IdleDeadlines d(kSlot);
  d.Add(1, 2 * kSlot);
  EXPECT_EQ(*d.NextDueUs(), 2 * kSlot);
  EXPECT_EQ(d.TakeDue(2 * kSlot).size(), 1u);
}

TEST(IdleDeadlines, TakesEveryDueSlotInTimeOrderAndLeavesTheRest) {
  IdleDeadlines d(kSlot);
  d.Add(3, 3 * kSlot);
  d.Add(1, 1 * kSlot);
  d.Add(2, 2 * kSlot);
  d.Add(4, 2 * kSlot);
  d.Add(9, 9 * kSlot);
  std::vector<SessionId> due = d.TakeDue(3 * kSlot);
  EXPECT_EQ(due, (std::vector<SessionId>{1, 2, 4, 3}));
  EXPECT_EQ(d.size(), 1u);
  EXPECT_EQ(*d.NextDueUs(), 9 * kSlot);
}

// The point of the wheel: many filed sessions cost nothing until their time comes. A
// sweep of every session (the old way) would look at all 10,000 at each call.
TEST(IdleDeadlines, ManySessionsAreNotLookedAtBeforeTheirTime) {
  IdleDeadlines d(kSlot);
  for (SessionId id = 1; id <= 10'000; ++id) d.Add(id, 60'000'000 + static_cast<int64_t>(id));
  for (int64_t now = 0; now < 60'000'000; now += kSlot) {
    ASSERT_TRUE(d.TakeDue(now).empty()) << "at " << now;
  }
  EXPECT_EQ(d.size(), 10'000u);
  EXPECT_EQ(d.TakeDue(60'000'000 + kSlot).size(), 10'000u);
}

}  // namespace
}  // namespace tutti::server
