#include "server/metrics/status_json.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace tutti::server::metrics {
namespace {

// Numbers only ever come from counters and /proc; NaN or infinity would break JSON.
std::string Num(double v) {
  if (!std::isfinite(v)) return "0";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string Int(uint64_t v) { return std::to_string(v); }

std::string Str(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

double CpuPercent(double cpu_before, double wall_before, double cpu_now, double wall_now) {
  const double wall = wall_now - wall_before;
  if (wall <= 0) return 0;
  const double pct = 100.0 * (cpu_now - cpu_before) / wall;
  return pct > 0 ? pct : 0;
}

std::string RenderStatusJson(const MetricsSnapshot& s, double cpu_percent) {
  uint64_t open = 0;
  for (const ShardSample& sh : s.shards) open += sh.connections_open;
  std::string j = "{";
  j += "\"version\":" + Str(s.version);
  j += ",\"uptime_seconds\":" + Num(s.uptime_seconds);
  j += ",\"ready\":" + std::string(s.ready() ? "true" : "false");
  j += ",\"draining\":" + std::string(s.draining ? "true" : "false");
  j += ",\"store_ok\":" + std::string(s.store_ok ? "true" : "false");
  if (s.redis_enabled) {
    j += ",\"redis_up\":" + std::string(s.redis_shards_down == 0 ? "true" : "false");
  }
  if (s.node_bus_enabled) {
    j += ",\"node_bus_up\":" + std::string(s.node_bus_up ? "true" : "false");
    j += ",\"node_bus_nodes\":" + Int(s.node_bus_nodes);
  }
  j += ",\"cpu_percent\":" + Num(cpu_percent);
  j += ",\"resident_memory_bytes\":" + Int(s.process.resident_bytes);
  j += ",\"open_fds\":" + Int(s.process.open_fds);
  j += ",\"max_fds\":" + Int(s.process.max_fds);
  j += ",\"connections\":" + Int(open);
  j += ",\"rooms\":" + Int(s.rooms);
  j += ",\"room_members\":" + Int(s.members);
  j += ",\"shards\":[";
  for (size_t i = 0; i < s.shards.size(); ++i) {
    const ShardSample& sh = s.shards[i];
    if (i > 0) j += ",";
    j += "{\"shard\":" + std::to_string(sh.shard);
    j += ",\"connections\":" + Int(sh.connections_open);
    j += ",\"loop_lag_ms\":" + Num(static_cast<double>(sh.loop_lag_last_us) / 1000.0);
    j += ",\"loop_lag_max_ms\":" + Num(static_cast<double>(sh.loop_lag_max_us) / 1000.0);
    j += "}";
  }
  j += "]}\n";
  return j;
}

}  // namespace tutti::server::metrics
