#include "server/metrics/proc_stat.h"

#include <charconv>
#include <cstdio>

namespace tutti::server::metrics {

std::optional<ProcStat> ParseProcStat(std::string_view line) {
  const size_t close = line.rfind(')');
  if (close == std::string_view::npos || line.find('(') > close) return std::nullopt;
  std::string_view rest = line.substr(close + 1);
  ProcStat out;
  int field = 3;  // the first after the command name: state
  while (field <= 24) {
    const size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) return std::nullopt;  // too few fields
    rest.remove_prefix(start);
    size_t end = rest.find_first_of(" \n");
    if (end == std::string_view::npos) end = rest.size();
    const std::string_view token = rest.substr(0, end);
    uint64_t* into = nullptr;
    switch (field) {
      case 14:
        into = &out.utime_ticks;
        break;
      case 15:
        into = &out.stime_ticks;
        break;
      case 22:
        into = &out.starttime_ticks;
        break;
      case 23:
        into = &out.vsize_bytes;
        break;
      case 24:
        into = &out.rss_pages;
        break;
      default:
        break;
    }
    if (into != nullptr) {
      const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), *into);
      if (ec != std::errc() || ptr != token.data() + token.size()) return std::nullopt;
    }
    rest.remove_prefix(end);
    ++field;
  }
  return out;
}

std::optional<ProcStat> ReadProcStat(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return std::nullopt;
  // A stat line is a few hundred bytes; the command name is at most 64.
  char buf[2048];
  const size_t n = std::fread(buf, 1, sizeof(buf), f);
  std::fclose(f);
  return ParseProcStat(std::string_view(buf, n));
}

}  // namespace tutti::server::metrics
