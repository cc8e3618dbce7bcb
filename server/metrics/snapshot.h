// MetricsSnapshot: what one scrape saw — the shards' counters summed, per-shard values
// where they matter (connections, event-loop lag), the process's resources and the
// server's state. Plain values, made by the thread that serves the scrape (the admin
// listener's) and owned by it; rendering it (prometheus_text.h, status_json.h) touches
// nothing else.
#ifndef TUTTI_SERVER_METRICS_SNAPSHOT_H_
#define TUTTI_SERVER_METRICS_SNAPSHOT_H_

#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace tutti::server::metrics {

// A labelled count: ("4001", 3), ("429", 12), ("RATE_LIMITED", 5).
using LabelledCounts = std::vector<std::pair<std::string, uint64_t>>;
// A count with two labels: ("429", "address_full", 3).
using LabelPairCounts = std::vector<std::tuple<std::string, std::string, uint64_t>>;

// A histogram summed over its writers, in the exported unit (seconds, receivers).
struct HistogramSample {
  std::vector<double> bounds;    // upper bounds, ascending; +Inf is implied
  std::vector<uint64_t> counts;  // per bucket, NOT cumulative: bounds.size() + 1 of them
  double sum = 0;
  uint64_t count() const {
    uint64_t n = 0;
    for (uint64_t c : counts) n += c;
    return n;
  }
};

struct ShardSample {
  int shard = 0;
  uint64_t connections_open = 0;      // opened - closed, this shard's sessions
  uint64_t loop_lag_last_us = 0;      // lateness of the last probe timer
  uint64_t loop_lag_max_us = 0;       // the worst lateness since start
  uint64_t loop_probes = 0;           // probe timers that fired
  uint64_t outbound_queue_bytes = 0;  // queued to its sessions, at the last probe
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
  LabelledCounts closes_by_code;    // the close code the server sent (or 1006)
  LabelPairCounts refusals;         // upgrade refusals by (HTTP status, reason class)
  LabelledCounts errors_by_code;    // protocol ErrorMessages sent, by ErrorCode name
  LabelledCounts rate_limited;      // rate-limit refusals by bucket
  LabelledCounts quality_by_grade;  // link-quality reports, by grade ("good", "poor")
  // Linked connections (docs/PROTOCOL.md §16).
  uint64_t links_attached = 0;
  uint64_t links_linked = 0;         // sessions with a link now (attached - detached)
  LabelledCounts links_refused;      // by ErrorCode name (AUTH_ERROR, LIMIT_REACHED)
  LabelledCounts link_closes;        // closed by the server, by close code
  uint64_t link_frames_skipped = 0;  // room events not sent on a link past its soft limit
  uint64_t midi_duplicates = 0;      // MIDI batch copies dropped (the other connection's)
  uint64_t frames_in = 0;
  uint64_t bytes_in = 0;
  LabelledCounts frames_in_by_kind;  // by ServerMessage oneof field name
  LabelledCounts bytes_in_by_kind;
  LabelledCounts frames_out_by_kind;  // by ClientMessage oneof field name
  LabelledCounts bytes_out_by_kind;
  uint64_t deliveries = 0;      // frames a room or a peer sent a session
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
  HistogramSample store_wait;     // seconds each operation waited in the queue
  HistogramSample store_run;      // seconds each operation ran
  HistogramSample store_depth;    // operations already waiting at each submission

  // Latency and fan-out, summed over the shards.
  HistogramSample join_latency;  // seconds from join asked to joined
  HistogramSample midi_fanout;   // receivers of each relayed MIDI batch

  // The password-hashing pool.
  uint64_t hash_pool_pending = 0;
  uint64_t hash_pool_rejected = 0;
  HistogramSample hash_pool_wait;  // seconds each item waited

  // Rooms across nodes (--redis; docs/SCALE-OUT.md): shards whose engine cannot reach
  // every Redis primary now, and how often one lost it since the start.
  bool redis_enabled = false;
  uint64_t redis_shards_down = 0;
  uint64_t redis_outages = 0;
  // Server time minus Redis's clock (seconds), once measured (docs/SCALE-OUT.md).
  bool redis_clock_offset_known = false;
  double redis_clock_offset_seconds = 0;
  // The node bus (docs/SCALE-OUT.md "Node bus"): whether this node has one, whether it
  // is up, what crossed it, and the nodes alive in its last view (this one included).
  bool node_bus_enabled = false;
  bool node_bus_up = false;
  uint64_t node_bus_published = 0;
  uint64_t node_bus_received = 0;
  uint64_t node_bus_malformed = 0;
  uint64_t node_bus_nodes = 0;

  bool ready() const { return !draining && store_ok && redis_shards_down == 0; }
};

}  // namespace tutti::server::metrics

#endif  // TUTTI_SERVER_METRICS_SNAPSHOT_H_
