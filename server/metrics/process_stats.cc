#include "server/metrics/process_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

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
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return p;
  // The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return p;
  std::istringstream rest(line.substr(close + 1));
  // Fields 3.. : state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
  // utime(14) stime(15) cutime cstime priority nice threads itrealvalue starttime(22)
  // vsize(23) rss(24, pages).
  std::string field;
  double utime = 0, stime = 0, starttime = 0, vsize = 0, rss_pages = 0;
  for (int i = 3; i <= 24 && rest >> field; ++i) {
    if (i == 14) utime = std::strtod(field.c_str(), nullptr);
    if (i == 15) stime = std::strtod(field.c_str(), nullptr);
    if (i == 22) starttime = std::strtod(field.c_str(), nullptr);
    if (i == 23) vsize = std::strtod(field.c_str(), nullptr);
    if (i == 24) rss_pages = std::strtod(field.c_str(), nullptr);
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  if (ticks <= 0 || page <= 0) return p;
  p.cpu_seconds = (utime + stime) / ticks;
  p.start_time_seconds = BootTimeSeconds() + starttime / ticks;
  p.virtual_bytes = static_cast<uint64_t>(vsize);
  p.resident_bytes = static_cast<uint64_t>(rss_pages * page);
  p.open_fds = CountOpenFds();
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    p.max_fds = static_cast<uint64_t>(limit.rlim_cur);
  }
  p.ok = true;
  return p;
}

}  // namespace tutti::server::metrics
