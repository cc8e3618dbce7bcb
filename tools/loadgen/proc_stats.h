// ProcStats: CPU time and resident memory of a process from /proc (any thread, no state).
// The load generator samples the server by PID at the edges of its measurement window and
// itself the same way, to report CPU per delivery and to notice when it saturates first.
#ifndef TUTTI_TOOLS_LOADGEN_PROC_STATS_H_
#define TUTTI_TOOLS_LOADGEN_PROC_STATS_H_

#include <cstdint>

namespace tutti::loadgen {

struct ProcSample {
  bool ok = false;
  double cpu_seconds = 0;     // utime + stime of all threads
  double system_seconds = 0;  // stime alone: the kernel's share (syscalls, TCP)
  uint64_t rss_bytes = 0;     // VmRSS
  // Time its threads were runnable but waiting for a CPU (schedstat): on a shared machine
  // this shows when other jobs, not the process itself, set the pace.
  double run_wait_seconds = 0;
};

// pid 0 = this process.
ProcSample SampleProcess(int pid);

}  // namespace tutti::loadgen

#endif  // TUTTI_TOOLS_LOADGEN_PROC_STATS_H_
