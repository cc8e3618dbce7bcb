// Crash report for every Tutti main: a fatal signal (an abort, a segfault, a bus error, an
// arithmetic or illegal-instruction trap) prints one line naming the program and the signal,
// then the stack, on stderr, before the process dies of that same signal.
//
// Why: a client or server that dies in the field, or in a test that only keeps its log,
// otherwise leaves an exit status and nothing else; the stack is what tells where. The frames
// are printed as backtrace_symbols_fd(3) gives them (binary, symbol when exported, offset);
// `addr2line -C -f -e BINARY OFFSET` names the source line of a build with debug info.
//
// Owns: the process's handlers for those signals (installed once, reset to the default by
// the kernel as the handler starts, so a second fault in the report ends the process) and a
// static alternate stack for the installing thread. The exit status stays what it would have
// been: the handler re-raises the signal with the default action.
// Under AddressSanitizer only SIGABRT is taken: the sanitizer reports the other faults itself.
// Thread affinity: install once from main before other threads start (ParseFlags does).
// Owner: tools/common/main_flags.cc, for every main.
#ifndef TUTTI_TOOLS_COMMON_CRASH_REPORT_H_
#define TUTTI_TOOLS_COMMON_CRASH_REPORT_H_

namespace tutti::main_support {

// `program` must stay valid for the process's life (argv[0] or a literal).
void InstallCrashReport(const char* program);

}  // namespace tutti::main_support

#endif  // TUTTI_TOOLS_COMMON_CRASH_REPORT_H_
