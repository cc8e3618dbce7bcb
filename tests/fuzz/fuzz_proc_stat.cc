// Fuzz target: the /proc/PID/stat line parser (server/metrics/proc_stat.h). The kernel
// writes the line, but the command name in it is whatever the process named itself.
//
// Input: a stat line.
// Properties: parsing never fails on the name: a line that parses parses to the same fields
// with any other name (spaces and parentheses included) in front of its fields.
#include <string>
#include <string_view>

#include "server/metrics/proc_stat.h"
#include "tests/fuzz/fuzz_target.h"

namespace metrics = tutti::server::metrics;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line = tutti::fuzz::AsText(data, size);
  const auto stat = metrics::ParseProcStat(line);
  if (!stat) return 0;
  const std::string_view fields = line.substr(line.rfind(')') + 1);
  const auto renamed = metrics::ParseProcStat("99 (x) (y z) )" + std::string(fields));
  FUZZ_CHECK(renamed.has_value());
  FUZZ_CHECK(renamed->utime_ticks == stat->utime_ticks &&
             renamed->stime_ticks == stat->stime_ticks &&
             renamed->starttime_ticks == stat->starttime_ticks &&
             renamed->vsize_bytes == stat->vsize_bytes && renamed->rss_pages == stat->rss_pages);
  return 0;
}
