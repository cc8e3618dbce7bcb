#include "tools/common/crash_report.h"

#include <execinfo.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>

namespace tutti::main_support {
namespace {

const char* g_program = "tutti";
// The handler may run because the stack overflowed: it needs a stack of its own.
alignas(16) char g_alt_stack[64 * 1024];

// Only async-signal-safe calls from here on: write(2), backtrace_symbols_fd, raise.
void Write(const char* s) {
  size_t left = std::strlen(s);
  while (left > 0) {
    const ssize_t n = write(STDERR_FILENO, s, left);
    if (n <= 0) return;
    s += n;
    left -= static_cast<size_t>(n);
  }
}

const char* SignalName(int sig) {
  switch (sig) {
    case SIGABRT:
      return "SIGABRT";
    case SIGSEGV:
      return "SIGSEGV";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGILL:
      return "SIGILL";
  }
  return "signal";
}

void OnFatalSignal(int sig) {
  // Signal numbers here are below 100: two digits at most, written without printf.
  const char number[3] = {static_cast<char>(sig >= 10 ? '0' + sig / 10 : '0' + sig),
                          static_cast<char>(sig >= 10 ? '0' + sig % 10 : '\0'), '\0'};
  Write(g_program);
  Write(": fatal signal ");
  Write(number);
  Write(" (");
  Write(SignalName(sig));
  Write("); stack:\n");
  void* frames[64];
  const int n = backtrace(frames, 64);
  backtrace_symbols_fd(frames, n, STDERR_FILENO);
  // SA_RESETHAND put the default action back: the process dies of this signal, as it would
  // have without the report (its exit status, a core dump where enabled).
  raise(sig);
}

}  // namespace

void InstallCrashReport(const char* program) {
  g_program = program;
  // backtrace(3) loads libgcc's unwinder on its first call, which allocates: done here, so
  // the handler itself never does.
  void* warm[2];
  backtrace(warm, 2);
  stack_t alt{};
  alt.ss_sp = g_alt_stack;
  alt.ss_size = sizeof(g_alt_stack);
  sigaltstack(&alt, nullptr);
  struct sigaction sa {};
  sa.sa_handler = OnFatalSignal;
  sa.sa_flags = SA_RESETHAND | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
#if defined(__SANITIZE_ADDRESS__)
  const int kSignals[] = {SIGABRT};
#else
  const int kSignals[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
#endif
  for (int sig : kSignals) sigaction(sig, &sa, nullptr);
}

}  // namespace tutti::main_support
