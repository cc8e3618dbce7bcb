// ParseProcStat: the one reader of /proc/PID/stat lines (metrics scrape, GET_STATUS, the load
// generator). Lines are written here, plus this process's own to check it reads a real one.
#include "server/metrics/proc_stat.h"

#include <string>

#include <gtest/gtest.h>

namespace tutti::server::metrics {
namespace {

// Fields 3..24 after the name, with utime 14 = 250, stime 15 = 50, starttime 22 = 9000,
// vsize 23 = 123456789, rss 24 = 4321, and three more fields after.
const char kFields[] =
    " S 1 2 3 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 9000 123456789 4321 18446744073709551615 "
    "1 2\n";

TEST(ProcStat, ReadsTheFieldsAfterTheCommandName) {
  auto stat = ParseProcStat(std::string("4242 (tutti-server)") + kFields);
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->utime_ticks, 250u);
  EXPECT_EQ(stat->stime_ticks, 50u);
  EXPECT_EQ(stat->starttime_ticks, 9000u);
  EXPECT_EQ(stat->vsize_bytes, 123456789u);
  EXPECT_EQ(stat->rss_pages, 4321u);
}

// A process names itself (prctl PR_SET_NAME): spaces and parentheses in the name must not
// shift the fields.
TEST(ProcStat, ANameWithSpacesAndParenthesesDoesNotShiftTheFields) {
  auto stat = ParseProcStat(std::string("7 (a) 1 2 (b ))") + kFields);
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->utime_ticks, 250u);
  EXPECT_EQ(stat->rss_pages, 4321u);
}

TEST(ProcStat, RefusesWhatIsNotAStatLine) {
  EXPECT_FALSE(ParseProcStat("").has_value());
  EXPECT_FALSE(ParseProcStat("no name here 1 2 3").has_value());
  EXPECT_FALSE(ParseProcStat("1 (x) S 1 2 3").has_value()) << "too few fields";
  std::string bad = std::string("1 (x)") + kFields;
  bad.replace(bad.find(" 250 "), 5, " 2x0 ");
  EXPECT_FALSE(ParseProcStat(bad).has_value()) << "utime not a number";
  std::string negative = std::string("1 (x)") + kFields;
  negative.replace(negative.find(" 4321 "), 6, " -4321 ");
  EXPECT_FALSE(ParseProcStat(negative).has_value()) << "rss below zero";
}

TEST(ProcStat, ReadsThisProcess) {
  auto stat = ReadProcStat("/proc/self/stat");
  ASSERT_TRUE(stat.has_value());
  EXPECT_GT(stat->vsize_bytes, 0u);
  EXPECT_GT(stat->rss_pages, 0u);
  EXPECT_FALSE(ReadProcStat("/proc/self/no-such-file").has_value());
}

}  // namespace
}  // namespace tutti::server::metrics
