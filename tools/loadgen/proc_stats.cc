#include "tools/loadgen/proc_stats.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>

#include "server/metrics/proc_stat.h"

namespace tutti::loadgen {

ProcSample SampleProcess(int pid) {
  ProcSample s;
  const std::string base = pid == 0 ? "/proc/self" : "/proc/" + std::to_string(pid);
  const std::optional<server::metrics::ProcStat> stat =
      server::metrics::ReadProcStat(base + "/stat");
  if (!stat) return s;
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  s.cpu_seconds = static_cast<double>(stat->utime_ticks + stat->stime_ticks) / hz;
  s.system_seconds = static_cast<double>(stat->stime_ticks) / hz;
  FILE* f = std::fopen((base + "/status").c_str(), "r");
  if (!f) return s;
  char line[256];
  while (std::fgets(line, sizeof(line), f)) {
    unsigned long long kb;
    if (std::sscanf(line, "VmRSS: %llu kB", &kb) == 1) {
      s.rss_bytes = kb * 1024;
      break;
    }
  }
  std::fclose(f);
  if (DIR* d = opendir((base + "/task").c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      FILE* t = std::fopen((base + "/task/" + e->d_name + "/schedstat").c_str(), "r");
      if (!t) continue;
      unsigned long long run_ns = 0, wait_ns = 0;
      if (std::fscanf(t, "%llu %llu", &run_ns, &wait_ns) == 2) {
        s.run_wait_seconds += static_cast<double>(wait_ns) / 1e9;
      }
      std::fclose(t);
    }
    closedir(d);
  }
  s.ok = true;
  return s;
}

}  // namespace tutti::loadgen
