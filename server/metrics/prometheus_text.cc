#include "server/metrics/prometheus_text.h"

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
  f.Gauge("tutti_ready", "1 when the server takes new connections (not draining, store up).",
          s.ready() ? 1 : 0);
  f.Gauge("tutti_draining", "1 while the server shuts down.", s.draining ? 1 : 0);
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
    for (const ShardSample& sh : s.shards) {
      const std::vector<ClientMetric::Label> l = {{"shard", std::to_string(sh.shard)}};
      open.metric.push_back(Families::GaugeMetric(D(sh.connections_open), l));
      lag.metric.push_back(Families::GaugeMetric(D(sh.loop_lag_last_us) / 1e6, l));
      lag_max.metric.push_back(Families::GaugeMetric(D(sh.loop_lag_max_us) / 1e6, l));
      probes.metric.push_back(Families::CounterMetric(D(sh.loop_probes), l));
    }
  }
  f.Counter("tutti_connections_opened_total", "WebSocket sessions opened.",
            D(s.connections_opened));
  f.Labelled("tutti_connections_closed_total",
             "WebSocket sessions closed, by the close code the server sent (1006: the "
             "connection dropped without a close).",
             "code", s.closes_by_code, "1000");
  f.Labelled("tutti_upgrade_refusals_total", "WebSocket upgrades refused, by HTTP status.",
             "status", s.refusals_by_status, "429");
  f.Labelled("tutti_errors_sent_total",
             "ErrorMessages sent to clients, by error code (RATE_LIMITED: rate-limit refusals).",
             "code", s.errors_by_code, "RATE_LIMITED");
  f.Labelled("tutti_quality_reports_total",
             "Link-quality reports in heartbeats, by the grade the server gave them "
             "(docs/PROTOCOL.md, \"Connection quality\").",
             "grade", s.quality_by_grade, "poor");
  f.Counter("tutti_frames_in_total", "WebSocket messages received from sessions.", D(s.frames_in));
  f.Counter("tutti_bytes_in_total", "Payload bytes of the messages received.", D(s.bytes_in));
  f.Counter("tutti_frames_out_total", "Messages queued to sessions.", D(s.frames_out));
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
  f.Gauge("tutti_store_queue_depth", "Operations waiting for the storage thread.",
          D(s.store_queue_depth));
  f.Counter("tutti_store_operations_total", "Store operations completed.", D(s.store_completed));
  f.Counter("tutti_store_rejected_total", "Store operations refused (queue full or stopped).",
            D(s.store_rejected));
  f.Counter("tutti_store_wait_seconds_total",
            "Summed time completed store operations waited in the queue.", s.store_wait_seconds);
  f.Counter("tutti_store_run_seconds_total", "Summed run time of completed store operations.",
            s.store_run_seconds);
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
