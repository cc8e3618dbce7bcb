#include "server/metrics_collector.h"

#include <algorithm>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "protos/tutti.pb.h"
#include "server/broker_select.h"
#include "server/link_quality.h"
#include "server/metrics/labels.h"
#include "server/metrics/process_stats.h"
#include "server/metrics/shard_histogram.h"
#include "server/server.h"
#include "server/shard.h"
#include "server/social.h"
#include "server/version.h"

namespace tutti::server {
namespace {

using metrics::LabelledCounts;

// Adds the non-zero slots of `counters` to `sums` (indexed like the slots).
template <typename C>
void AddSlots(const C& counters, std::vector<uint64_t>* sums) {
  sums->resize(C::kSlots);
  for (size_t i = 0; i < C::kSlots; ++i) (*sums)[i] += counters.Get(i);
}

template <typename C, typename Name>
void Label(const std::vector<uint64_t>& sums, Name name, LabelledCounts* out) {
  for (size_t i = 0; i < sums.size(); ++i) {
    if (sums[i] > 0) out->emplace_back(name(C::CodeOf(i)), sums[i]);
  }
}

std::string CodeName(int code) { return code < 0 ? "other" : std::to_string(code); }

// The oneof field a message kind stands for ("midi_message"); 0 is `none` (undecodable
// or unknown), a number no field has is kept as a number.
template <typename Message>
std::string KindName(int kind) {
  if (kind < 0) return "other";
  if (kind == 0) return "none";
  const auto* field = Message::descriptor()->FindFieldByNumber(kind);
  return field != nullptr ? field->name() : std::to_string(kind);
}

// Adds one writer's histogram to `out` (made on the first call).
void AddHistogram(const metrics::ShardHistogram& h, metrics::HistogramSample* out) {
  const metrics::Buckets& b = h.buckets();
  if (out->counts.empty()) {
    for (size_t i = 0; i < b.count; ++i)
      out->bounds.push_back(static_cast<double>(b.bounds[i]) * b.scale);
    out->counts.assign(b.count + 1, 0);
  }
  for (size_t i = 0; i <= b.count; ++i) out->counts[i] += h.slot(i);
  out->sum += static_cast<double>(h.sum()) * b.scale;
}

}  // namespace

metrics::MetricsSnapshot CollectMetrics(Server& server) {
  metrics::MetricsSnapshot s;
  s.version = kServerVersion;
  s.uptime_seconds = static_cast<double>(server.clock().NowUs() - server.started_us()) / 1e6;
  s.draining = server.draining();
  s.store_ok = server.store_ok();
  const RedisHealth redis = ReadRedisHealth();
  s.redis_enabled = redis.enabled;
  s.redis_shards_down = redis.shards_down;
  s.redis_outages = redis.outages;
  s.redis_clock_offset_known = redis.clock_offset_known;
  s.redis_clock_offset_seconds = static_cast<double>(redis.clock_offset_us) / 1e6;
  // Atomics written on shard 0; read here without posting (a stuck shard 0 shows old
  // counts, not a stalled scrape).
  const Social::BusStats& bus = server.social().bus_stats();
  s.node_bus_enabled = bus.attached.load(std::memory_order_relaxed);
  s.node_bus_up = bus.up.load(std::memory_order_relaxed);
  s.node_bus_published = bus.published.load(std::memory_order_relaxed);
  s.node_bus_received = bus.received.load(std::memory_order_relaxed);
  s.node_bus_malformed = bus.malformed.load(std::memory_order_relaxed);
  s.node_bus_nodes = bus.nodes.load(std::memory_order_relaxed);
  s.rooms = server.rooms();
  s.process = metrics::ReadProcessStats();
  const store::StorageThread::Stats st = server.storage_stats();
  s.store_queue_depth = st.depth;
  s.store_completed = st.completed;
  s.store_rejected = st.rejected;
  s.store_wait_seconds = static_cast<double>(st.total_wait_ns) / 1e9;
  s.store_run_seconds = static_cast<double>(st.total_run_ns) / 1e9;
  if (const store::StorageThread* storage = server.storage_thread()) {
    AddHistogram(storage->wait_histogram(), &s.store_wait);
    AddHistogram(storage->run_histogram(), &s.store_run);
    AddHistogram(storage->depth_histogram(), &s.store_depth);
  } else {
    const metrics::ShardHistogram none_latency(metrics::kLatencyUs),
        none_depth(metrics::kQueueDepth);
    AddHistogram(none_latency, &s.store_wait);
    AddHistogram(none_latency, &s.store_run);
    AddHistogram(none_depth, &s.store_depth);
  }
  s.hash_pool_pending = static_cast<uint64_t>(std::max(0, server.slow_pending()));
  s.hash_pool_rejected = server.slow_rejected();
  AddHistogram(server.slow_wait_histogram(), &s.hash_pool_wait);
  std::vector<uint64_t> closes_std, closes_app, errors, quality, in_frames, in_bytes, out_frames,
      out_bytes, link_refusals, link_closes_std, link_closes_app;
  uint64_t links_detached = 0;
  std::vector<uint64_t> refusals(
      metrics::RefusalCounters::kStatusSlots * metrics::RefusalCounters::kReasons, 0);
  std::vector<uint64_t> rate(metrics::RateCounters::kSlots, 0);
  for (int i = 0; i < server.shard_count(); ++i) {
    const Shard::Counters& c = server.shard(i).counters();
    metrics::ShardSample sh;
    sh.shard = i;
    const uint64_t opened = c.connections_opened, closed = c.connections_closed;
    sh.connections_open = opened > closed ? opened - closed : 0;
    sh.loop_lag_last_us = c.loop_lag_last_us;
    sh.loop_lag_max_us = c.loop_lag_max_us;
    sh.loop_probes = c.loop_probes;
    sh.outbound_queue_bytes = c.outbound_queue_bytes;
    s.shards.push_back(sh);
    s.connections_opened += opened;
    s.connections_closed += closed;
    s.frames_in += c.frames_in;
    s.bytes_in += c.bytes_in;
    s.deliveries += c.frames_out;
    s.frames_dropped += c.frames_dropped;
    s.slow_consumers_closed += c.slow_consumers_closed;
    s.malformed += c.malformed;
    s.members_joined += c.members_joined;
    s.members_left += c.members_left;
    AddSlots(c.closes.standard(), &closes_std);
    AddSlots(c.closes.application(), &closes_app);
    AddSlots(c.errors, &errors);
    AddSlots(c.quality_reports, &quality);
    s.links_attached += c.links_attached;
    links_detached += c.links_detached;
    s.link_frames_skipped += c.link_frames_dropped;
    s.midi_duplicates += c.midi_duplicates;
    AddSlots(c.links_refused_by_code, &link_refusals);
    AddSlots(c.link_closes.standard(), &link_closes_std);
    AddSlots(c.link_closes.application(), &link_closes_app);
    AddSlots(c.frames_in_by_kind, &in_frames);
    AddSlots(c.bytes_in_by_kind, &in_bytes);
    AddSlots(c.frames_out_by_kind, &out_frames);
    AddSlots(c.bytes_out_by_kind, &out_bytes);
    for (size_t st_slot = 0; st_slot < metrics::RefusalCounters::kStatusSlots; ++st_slot) {
      for (size_t r = 0; r < metrics::RefusalCounters::kReasons; ++r) {
        refusals[st_slot * metrics::RefusalCounters::kReasons + r] += c.refusals.Get(st_slot, r);
      }
    }
    for (size_t b = 0; b < rate.size(); ++b) rate[b] += c.rate_limited.Get(b);
    AddHistogram(c.join_latency_us, &s.join_latency);
    AddHistogram(c.midi_fanout, &s.midi_fanout);
  }
  for (size_t st_slot = 0; st_slot < metrics::RefusalCounters::kStatusSlots; ++st_slot) {
    for (size_t r = 0; r < metrics::RefusalCounters::kReasons; ++r) {
      const uint64_t n = refusals[st_slot * metrics::RefusalCounters::kReasons + r];
      if (n == 0) continue;
      s.refusals.emplace_back(CodeName(metrics::RefusalCounters::StatusOf(st_slot)),
                              metrics::RefusalReasonName(static_cast<metrics::RefusalReason>(r)),
                              n);
    }
  }
  // Every bucket is listed, zero or not: an operator's query finds each from the start.
  for (size_t b = 0; b < rate.size(); ++b) {
    s.rate_limited.emplace_back(metrics::RateBucketName(static_cast<metrics::RateBucket>(b)),
                                rate[b]);
  }
  using Kinds = metrics::KindCounters;
  Label<Kinds>(in_frames, KindName<proto::ServerMessage>, &s.frames_in_by_kind);
  Label<Kinds>(in_bytes, KindName<proto::ServerMessage>, &s.bytes_in_by_kind);
  Label<Kinds>(out_frames, KindName<proto::ClientMessage>, &s.frames_out_by_kind);
  Label<Kinds>(out_bytes, KindName<proto::ClientMessage>, &s.bytes_out_by_kind);
  // Joins and leaves are counted on different shards: a scrape may see one before the
  // other, never a negative count.
  s.members = s.members_joined > s.members_left ? s.members_joined - s.members_left : 0;
  using Closes = metrics::CloseCodeCounters;
  Label<std::decay_t<decltype(std::declval<Closes>().standard())>>(closes_std, CodeName,
                                                                   &s.closes_by_code);
  Label<std::decay_t<decltype(std::declval<Closes>().application())>>(closes_app, CodeName,
                                                                      &s.closes_by_code);
  auto error_name = [](int code) {
    return code >= 0 && proto::ErrorCode_IsValid(code)
               ? proto::ErrorCode_Name(static_cast<proto::ErrorCode>(code))
               : std::to_string(code);
  };
  Label<metrics::ErrorCodeCounters>(errors, error_name, &s.errors_by_code);
  Label<metrics::ErrorCodeCounters>(link_refusals, error_name, &s.links_refused);
  Label<std::decay_t<decltype(std::declval<Closes>().standard())>>(link_closes_std, CodeName,
                                                                   &s.link_closes);
  Label<std::decay_t<decltype(std::declval<Closes>().application())>>(link_closes_app, CodeName,
                                                                      &s.link_closes);
  // Attaches and detaches are counted on the session's shard, in order: never negative
  // within a shard, and a scrape reads each shard once.
  s.links_linked = s.links_attached > links_detached ? s.links_attached - links_detached : 0;
  Label<metrics::CodeCounters<0, 4>>(
      quality,
      [](int grade) {
        return std::string(grade >= 0 ? GradeName(static_cast<proto::QualityGrade>(grade))
                                      : "other");
      },
      &s.quality_by_grade);
  return s;
}

}  // namespace tutti::server
