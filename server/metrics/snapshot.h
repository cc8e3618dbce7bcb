// MetricsSnapshot: what one scrape saw — the shards' counters summed, per-shard values
// where they matter (connections, event-loop lag), the process's resources and the
// server's state. Plain values, made by the thread that serves the scrape (the admin
// listener's) and owned by it; rendering it (prometheus_text.h, status_json.h) touches
// nothing else.
#ifndef TUTTI_SERVER_METRICS_SNAPSHOT_H_
#define TUTTI_SERVER_METRICS_SNAPSHOT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tutti::server::metrics {

// A labelled count: ("4001", 3), ("429", 12), ("RATE_LIMITED", 5).
using LabelledCounts = std::vector<std::pair<std::string, uint64_t>>;

struct ShardSample {
  int shard = 0;
  uint64_t connections_open = 0;  // opened - closed, this shard's sessions
  uint64_t loop_lag_last_us = 0;  // lateness of the last probe timer
  uint64_t loop_lag_max_us = 0;   // the worst lateness since start
  uint64_t loop_probes = 0;       // probe timers that fired
};

struct ProcessSample {
  double cpu_seconds = 0;       // user + system since start
  uint64_t resident_bytes = 0;  // RSS
  uint64_t virtual_bytes = 0;
  uint64_t open_fds = 0;
  uint64_t max_fds = 0;           // RLIMIT_NOFILE soft limit
  double start_time_seconds = 0;  // Unix time the process started
  bool ok = false;                // false when /proc could not be read
};

struct MetricsSnapshot {
  std::string version;
  double uptime_seconds = 0;
  bool draining = false;
  bool store_ok = true;
  uint64_t rooms = 0;
  uint64_t members = 0;  // room memberships (joins - leaves)
  std::vector<ShardSample> shards;
  ProcessSample process;

  // Summed over the shards.
  uint64_t connections_opened = 0;
  uint64_t connections_closed = 0;
  LabelledCounts closes_by_code;      // the close code the server sent (or 1006)
  LabelledCounts refusals_by_status;  // upgrade refusals by HTTP status
  LabelledCounts errors_by_code;      // protocol ErrorMessages sent, by ErrorCode name
  LabelledCounts quality_by_grade;    // link-quality reports, by grade ("good", "poor")
  uint64_t frames_in = 0;
  uint64_t bytes_in = 0;
  uint64_t frames_out = 0;
  uint64_t frames_dropped = 0;  // droppable frames shed at the soft limit
  uint64_t slow_consumers_closed = 0;
  uint64_t malformed = 0;
  uint64_t members_joined = 0;
  uint64_t members_left = 0;

  // The storage thread (server/store/storage_thread.h).
  uint64_t store_queue_depth = 0;
  uint64_t store_completed = 0;
  uint64_t store_rejected = 0;
  double store_wait_seconds = 0;  // summed queue wait of the completed operations
  double store_run_seconds = 0;   // summed run time of the completed operations

  bool ready() const { return !draining && store_ok; }
};

}  // namespace tutti::server::metrics

#endif  // TUTTI_SERVER_METRICS_SNAPSHOT_H_
