#include "server/metrics/process_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <string>

#include "server/metrics/proc_stat.h"

namespace tutti::server::metrics {
namespace {

uint64_t CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  uint64_t n = 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n > 0 ? n - 1 : 0;  // less the descriptor opendir itself holds
}

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime") {
      in >> value;
      return value;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

}  // namespace

ProcessSample ReadProcessStats() {
  ProcessSample p;
  const std::optional<ProcStat> stat = ReadProcStat("/proc/self/stat");
  if (!stat) return p;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  if (ticks <= 0 || page <= 0) return p;
  p.cpu_seconds = static_cast<double>(stat->utime_ticks + stat->stime_ticks) / ticks;
  p.start_time_seconds = BootTimeSeconds() + static_cast<double>(stat->starttime_ticks) / ticks;
  p.virtual_bytes = stat->vsize_bytes;
  p.resident_bytes = static_cast<uint64_t>(static_cast<double>(stat->rss_pages) * page);
  p.open_fds = CountOpenFds();
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    p.max_fds = static_cast<uint64_t>(limit.rlim_cur);
  }
  p.ok = true;
  return p;
}

}  // namespace tutti::server::metrics
