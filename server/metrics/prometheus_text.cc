#include "server/metrics/prometheus_text.h"

#include <cstddef>
#include <deque>
#include <iterator>
#include <sstream>
#include <utility>
#include <vector>

#include "prometheus/metric_family.h"
#include "prometheus/text_serializer.h"

namespace tutti::server::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

class Families {
 public:
  MetricFamily& Add(const char* name, const char* help, MetricType type) {
    MetricFamily f;
    f.name = name;
    f.help = help;
    f.type = type;
    families_.push_back(std::move(f));
    return families_.back();
  }
  void Counter(const char* name, const char* help, double value) {
    Add(name, help, MetricType::Counter).metric.push_back(CounterMetric(value, {}));
  }
  void Gauge(const char* name, const char* help, double value) {
    Add(name, help, MetricType::Gauge).metric.push_back(GaugeMetric(value, {}));
  }
  // One series per label value; a family with no sample is still announced with 0 for
  // `fallback`, so dashboards and alerts see the series before the first event.
  void Labelled(const char* name, const char* help, const char* label, const LabelledCounts& counts,
                const char* fallback) {
    MetricFamily& f = Add(name, help, MetricType::Counter);
    for (const auto& [value, n] : counts) {
      f.metric.push_back(CounterMetric(static_cast<double>(n), {{label, value}}));
    }
    if (f.metric.empty()) f.metric.push_back(CounterMetric(0, {{label, fallback}}));
  }
  // Two labels per series; announced with `fallback` at 0 when empty, as above.
  void LabelledPairs(const char* name, const char* help, const char* label_a, const char* label_b,
                     const LabelPairCounts& counts, const char* fallback_a,
                     const char* fallback_b) {
    MetricFamily& f = Add(name, help, MetricType::Counter);
    for (const auto& [a, b, n] : counts) {
      f.metric.push_back(CounterMetric(static_cast<double>(n), {{label_a, a}, {label_b, b}}));
    }
    if (f.metric.empty()) {
      f.metric.push_back(CounterMetric(0, {{label_a, fallback_a}, {label_b, fallback_b}}));
    }
  }
  void Histogram(const char* name, const char* help, const HistogramSample& h) {
    ClientMetric m;
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.bounds.size() && i < h.counts.size(); ++i) {
      cumulative += h.counts[i];
      ClientMetric::Bucket b;
      b.cumulative_count = cumulative;
      b.upper_bound = h.bounds[i];
      m.histogram.bucket.push_back(b);
    }
    // The serializer adds the +Inf bucket: every observation.
    m.histogram.sample_count = h.count();
    m.histogram.sample_sum = h.sum;
    Add(name, help, MetricType::Histogram).metric.push_back(std::move(m));
  }
  std::vector<MetricFamily> Take() {
    return {std::make_move_iterator(families_.begin()), std::make_move_iterator(families_.end())};
  }

  static ClientMetric CounterMetric(double v, std::vector<ClientMetric::Label> labels) {
    ClientMetric m;
    m.label = std::move(labels);
    m.counter.value = v;
    return m;
  }
  static ClientMetric GaugeMetric(double v, std::vector<ClientMetric::Label> labels) {
    ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = v;
    return m;
  }

 private:
  // A deque: Add's references stay valid while more families are added.
  std::deque<MetricFamily> families_;
};

double D(uint64_t v) { return static_cast<double>(v); }

}  // namespace

std::string RenderPrometheusText(const MetricsSnapshot& s) {
  Families f;
  {
    MetricFamily& info = f.Add("tutti_build_info", "Constant 1, labelled with the server version.",
                               MetricType::Gauge);
    info.metric.push_back(Families::GaugeMetric(1, {{"version", s.version}}));
  }
  f.Gauge("tutti_uptime_seconds", "Seconds since the server started.", s.uptime_seconds);
  f.Gauge("tutti_ready",
          "1 when the server takes new connections (not draining, store up, Redis reached).",
          s.ready() ? 1 : 0);
  f.Gauge("tutti_draining", "1 while the server shuts down.", s.draining ? 1 : 0);
  if (s.redis_enabled) {
    f.Gauge("tutti_redis_up", "1 when every shard reaches every Redis primary (--redis).",
            s.redis_shards_down == 0 ? 1 : 0);
    f.Gauge("tutti_redis_shards_down", "Shards whose engine cannot reach every Redis primary.",
            D(s.redis_shards_down));
    f.Counter("tutti_redis_outages_total", "Times a shard's engine lost Redis since the start.",
              D(s.redis_outages));
    if (s.redis_clock_offset_known) {
      f.Gauge("tutti_redis_clock_offset_seconds",
              "This node's server time minus Redis's clock, from the fastest publish call of "
              "the last 10 s.",
              s.redis_clock_offset_seconds);
    }
  }
  if (s.node_bus_enabled) {
    f.Gauge("tutti_node_bus_up", "1 while the node bus reaches Redis (both of its links).",
            s.node_bus_up ? 1 : 0);
    f.Gauge("tutti_node_bus_nodes", "Nodes alive in the bus's last view, this one included.",
            D(s.node_bus_nodes));
    f.Counter("tutti_node_bus_messages_published_total", "Messages this node put on the node bus.",
              D(s.node_bus_published));
    f.Counter("tutti_node_bus_messages_received_total",
              "Well-formed node bus messages from other nodes.", D(s.node_bus_received));
    f.Counter("tutti_node_bus_malformed_total",
              "Node bus messages and records dropped as malformed (bad bytes, bounds, UTF-8).",
              D(s.node_bus_malformed));
  }
  f.Gauge("tutti_shards", "Event-loop threads.", D(s.shards.size()));
  f.Gauge("tutti_rooms", "Rooms on the server.", D(s.rooms));
  f.Gauge("tutti_room_members", "Room memberships (joins less leaves).", D(s.members));
  {
    MetricFamily& open =
        f.Add("tutti_connections_open", "Open WebSocket sessions, per shard.", MetricType::Gauge);
    MetricFamily& lag = f.Add("tutti_event_loop_lag_seconds",
                              "Lateness of the shard's last probe timer: how long work waited "
                              "for the event loop.",
                              MetricType::Gauge);
    MetricFamily& lag_max =
        f.Add("tutti_event_loop_lag_max_seconds",
              "The worst probe-timer lateness since start, per shard.", MetricType::Gauge);
    MetricFamily& probes = f.Add("tutti_event_loop_probes_total",
                                 "Probe timers that fired, per shard.", MetricType::Counter);
    MetricFamily& queued = f.Add("tutti_outbound_queue_bytes",
                                 "Bytes queued to the shard's sessions and not yet written, "
                                 "sampled once a second.",
                                 MetricType::Gauge);
    for (const ShardSample& sh : s.shards) {
      const std::vector<ClientMetric::Label> l = {{"shard", std::to_string(sh.shard)}};
      open.metric.push_back(Families::GaugeMetric(D(sh.connections_open), l));
      lag.metric.push_back(Families::GaugeMetric(D(sh.loop_lag_last_us) / 1e6, l));
      lag_max.metric.push_back(Families::GaugeMetric(D(sh.loop_lag_max_us) / 1e6, l));
      probes.metric.push_back(Families::CounterMetric(D(sh.loop_probes), l));
      queued.metric.push_back(Families::GaugeMetric(D(sh.outbound_queue_bytes), l));
    }
  }
  f.Counter("tutti_connections_opened_total", "WebSocket sessions opened.",
            D(s.connections_opened));
  f.Labelled("tutti_connections_closed_total",
             "WebSocket sessions closed, by the close code the server closed with (sent or "
             "not), else the peer's (1006: the connection dropped without a close).",
             "code", s.closes_by_code, "1000");
  f.LabelledPairs("tutti_upgrade_refusals_total",
                  "WebSocket upgrades refused, by HTTP status and reason class.", "status",
                  "reason", s.refusals, "429", "address_full");
  f.Labelled("tutti_errors_sent_total",
             "ErrorMessages sent to clients, by error code (RATE_LIMITED: rate-limit refusals).",
             "code", s.errors_by_code, "RATE_LIMITED");
  f.Labelled("tutti_quality_reports_total",
             "Link-quality reports in heartbeats, by the grade the server gave them "
             "(docs/PROTOCOL.md, \"Connection quality\").",
             "grade", s.quality_by_grade, "poor");
  f.Labelled("tutti_rate_limited_total",
             "Requests refused by a rate limit, by the bucket that refused (midi_notes: the "
             "MIDI note quota; busy: a server queue was full).",
             "bucket", s.rate_limited, "request");
  f.Counter("tutti_links_attached_total",
            "Linked connections attached to a session (docs/PROTOCOL.md §16).",
            D(s.links_attached));
  f.Gauge("tutti_linked_sessions", "Sessions with a linked connection attached now.",
          D(s.links_linked));
  f.Labelled("tutti_links_refused_total",
             "Linked connections refused (then closed 4006), by error code (AUTH_ERROR: a bad, "
             "used or expired token; LIMIT_REACHED: the session has a link already).",
             "code", s.links_refused, "AUTH_ERROR");
  f.Labelled("tutti_link_closes_total",
             "Linked connections the server closed, by close code (4007: the session ended or "
             "was parked; 4001: slow consumer; 1008: malformed).",
             "code", s.link_closes, "4007");
  f.Counter("tutti_link_frames_skipped_total",
            "Room events not sent on a link past its soft limit (the primary carries them).",
            D(s.link_frames_skipped));
  f.Counter("tutti_midi_duplicates_total",
            "MIDI batch copies dropped: a number the session took already, from its other "
            "connection.",
            D(s.midi_duplicates));
  f.Labelled("tutti_frames_in_total",
             "WebSocket messages received from sessions, by message kind (none: undecodable).",
             "kind", s.frames_in_by_kind, "none");
  f.Labelled("tutti_bytes_in_total", "Payload bytes of the messages received, by message kind.",
             "kind", s.bytes_in_by_kind, "none");
  f.Labelled("tutti_frames_out_total", "Messages queued to sessions, by message kind.", "kind",
             s.frames_out_by_kind, "none");
  f.Labelled("tutti_bytes_out_total",
             "Bytes (WebSocket frame included) queued to sessions, by message kind.", "kind",
             s.bytes_out_by_kind, "none");
  f.Counter("tutti_deliveries_total",
            "Frames a room or another session sent to a session (fan-out deliveries).",
            D(s.deliveries));
  f.Counter("tutti_frames_dropped_total",
            "Droppable messages shed because a session's queue passed the soft limit.",
            D(s.frames_dropped));
  f.Counter("tutti_slow_consumer_closes_total",
            "Sessions closed (4001) because their queue passed the hard limit.",
            D(s.slow_consumers_closed));
  f.Counter("tutti_malformed_messages_total", "Malformed messages received (strikes).",
            D(s.malformed));
  f.Counter("tutti_room_joins_total", "Members who joined a room.", D(s.members_joined));
  f.Counter("tutti_room_leaves_total", "Members who left a room.", D(s.members_left));
  f.Histogram("tutti_join_latency_seconds",
              "From a join asked to the room joined, on the member's shard.", s.join_latency);
  f.Histogram("tutti_midi_fanout_receivers", "Receivers of each relayed MIDI batch.",
              s.midi_fanout);
  f.Gauge("tutti_store_queue_depth", "Operations waiting for the storage thread.",
          D(s.store_queue_depth));
  f.Counter("tutti_store_operations_total", "Store operations completed.", D(s.store_completed));
  f.Counter("tutti_store_rejected_total", "Store operations refused (queue full or stopped).",
            D(s.store_rejected));
  f.Histogram("tutti_store_queue_wait_seconds",
              "Time each store operation waited for the storage thread.", s.store_wait);
  f.Histogram("tutti_store_transaction_seconds",
              "Run time of each store operation (its transaction).", s.store_run);
  f.Histogram("tutti_store_submit_queue_depth",
              "Operations already waiting when each store operation was submitted.", s.store_depth);
  f.Gauge("tutti_hash_pool_queue_depth", "Password checks and hashes waiting or running.",
          D(s.hash_pool_pending));
  f.Counter("tutti_hash_pool_rejected_total",
            "Password work refused because the pool's queue was full.", D(s.hash_pool_rejected));
  f.Histogram("tutti_hash_pool_wait_seconds",
              "Time each password check or hash waited for the pool's thread.", s.hash_pool_wait);
  if (s.process.ok) {
    f.Counter("process_cpu_seconds_total", "User and system CPU time spent, seconds.",
              s.process.cpu_seconds);
    f.Gauge("process_resident_memory_bytes", "Resident memory size, bytes.",
            D(s.process.resident_bytes));
    f.Gauge("process_virtual_memory_bytes", "Virtual memory size, bytes.",
            D(s.process.virtual_bytes));
    f.Gauge("process_open_fds", "Open file descriptors.", D(s.process.open_fds));
    if (s.process.max_fds > 0) {
      f.Gauge("process_max_fds", "Maximum number of open file descriptors.", D(s.process.max_fds));
    }
    f.Gauge("process_start_time_seconds", "Start time of the process since the Unix epoch.",
            s.process.start_time_seconds);
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, f.Take());
  return out.str();
}

}  // namespace tutti::server::metrics
