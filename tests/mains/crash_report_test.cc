// The crash report every main installs (tools/common/crash_report.h): a fatal signal names
// the program and the signal and prints the stack on stderr, and the process still dies of
// that signal (its exit status is unchanged).
#include "tools/common/crash_report.h"

#include <signal.h>

#include <cstdlib>

#include "gtest/gtest.h"

namespace tutti::main_support {
namespace {

// Not inlined, so that it is a frame of its own in the stack that is printed.
__attribute__((noinline)) void AbortHere() { std::abort(); }

TEST(CrashReportTest, AnAbortPrintsTheProgramTheSignalAndTheStackAndStillAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // The regex reads the report's first line and at least two frames after it; a frame is
  // what backtrace_symbols_fd prints: "binary(symbol+offset) [address]".
  EXPECT_EXIT(
      {
        InstallCrashReport("crash-report-test");
        AbortHere();
      },
      testing::KilledBySignal(SIGABRT),
      "crash-report-test: fatal signal 6 \\(SIGABRT\\); "
      "stack:\n.*\\[0x[0-9a-f]+\\]\n.*\\[0x[0-9a-f]+"
      "\\]");
}

#if !defined(__SANITIZE_ADDRESS__)
TEST(CrashReportTest, ASegfaultIsReportedAndStillKillsWithSigsegv) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        InstallCrashReport("crash-report-test");
        raise(SIGSEGV);
      },
      testing::KilledBySignal(SIGSEGV),
      "crash-report-test: fatal signal 11 \\(SIGSEGV\\); stack:\n");
}
#endif

TEST(CrashReportTest, WithoutItAnAbortPrintsNoReport) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // The same death without the handler: what the report adds is not printed by anything else.
  EXPECT_EXIT(AbortHere(), testing::KilledBySignal(SIGABRT), "^$");
}

}  // namespace
}  // namespace tutti::main_support
