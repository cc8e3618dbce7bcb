// ProcStat: the fields of a Linux /proc/PID/stat line that Tutti reads (CPU time, start time,
// memory), parsed in one place for the metrics scrape, the admin status (GET_STATUS) and the
// load generator. ParseProcStat is pure; ReadProcStat is one small blocking file read. No
// state: any thread (keep the read off hot loops).
#ifndef TUTTI_SERVER_METRICS_PROC_STAT_H_
#define TUTTI_SERVER_METRICS_PROC_STAT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tutti::server::metrics {

// Fields by their number in proc(5): utime (14), stime (15), starttime (22), vsize (23),
// rss (24). Times are in clock ticks (sysconf(_SC_CLK_TCK)), rss in pages.
struct ProcStat {
  uint64_t utime_ticks = 0;
  uint64_t stime_ticks = 0;
  uint64_t starttime_ticks = 0;
  uint64_t vsize_bytes = 0;
  uint64_t rss_pages = 0;
};

// nullopt unless the line has a command name in parentheses followed by at least fields
// 3..24 with numbers where the fields above are. The command name may hold spaces and
// parentheses, so the fields are read after the last ')'.
std::optional<ProcStat> ParseProcStat(std::string_view line);

// Reads and parses `path` ("/proc/self/stat", "/proc/<pid>/stat"); nullopt when it cannot.
std::optional<ProcStat> ReadProcStat(const std::string& path);

}  // namespace tutti::server::metrics

#endif  // TUTTI_SERVER_METRICS_PROC_STAT_H_
