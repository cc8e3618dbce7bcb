#include "server/metrics_collector.h"

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "protos/tutti.pb.h"
#include "server/link_quality.h"
#include "server/metrics/process_stats.h"
#include "server/server.h"
#include "server/shard.h"
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

}  // namespace

metrics::MetricsSnapshot CollectMetrics(Server& server) {
  metrics::MetricsSnapshot s;
  s.version = kServerVersion;
  s.uptime_seconds = static_cast<double>(server.clock().NowUs() - server.started_us()) / 1e6;
  s.draining = server.draining();
  s.store_ok = server.store_ok();
  s.rooms = server.rooms();
  s.process = metrics::ReadProcessStats();
  const store::StorageThread::Stats st = server.storage_stats();
  s.store_queue_depth = st.depth;
  s.store_completed = st.completed;
  s.store_rejected = st.rejected;
  s.store_wait_seconds = static_cast<double>(st.total_wait_ns) / 1e9;
  s.store_run_seconds = static_cast<double>(st.total_run_ns) / 1e9;
  std::vector<uint64_t> closes_std, closes_app, refusals, errors, quality;
  for (int i = 0; i < server.shard_count(); ++i) {
    const Shard::Counters& c = server.shard(i).counters();
    metrics::ShardSample sh;
    sh.shard = i;
    const uint64_t opened = c.connections_opened, closed = c.connections_closed;
    sh.connections_open = opened > closed ? opened - closed : 0;
    sh.loop_lag_last_us = c.loop_lag_last_us;
    sh.loop_lag_max_us = c.loop_lag_max_us;
    sh.loop_probes = c.loop_probes;
    s.shards.push_back(sh);
    s.connections_opened += opened;
    s.connections_closed += closed;
    s.frames_in += c.frames_in;
    s.bytes_in += c.bytes_in;
    s.frames_out += c.frames_out;
    s.frames_dropped += c.frames_dropped;
    s.slow_consumers_closed += c.slow_consumers_closed;
    s.malformed += c.malformed;
    s.members_joined += c.members_joined;
    s.members_left += c.members_left;
    AddSlots(c.closes.standard(), &closes_std);
    AddSlots(c.closes.application(), &closes_app);
    AddSlots(c.refusals, &refusals);
    AddSlots(c.errors, &errors);
    AddSlots(c.quality_reports, &quality);
  }
  // Joins and leaves are counted on different shards: a scrape may see one before the
  // other, never a negative count.
  s.members = s.members_joined > s.members_left ? s.members_joined - s.members_left : 0;
  using Closes = metrics::CloseCodeCounters;
  Label<std::decay_t<decltype(std::declval<Closes>().standard())>>(closes_std, CodeName,
                                                                   &s.closes_by_code);
  Label<std::decay_t<decltype(std::declval<Closes>().application())>>(closes_app, CodeName,
                                                                      &s.closes_by_code);
  Label<metrics::HttpStatusCounters>(refusals, CodeName, &s.refusals_by_status);
  Label<metrics::ErrorCodeCounters>(
      errors,
      [](int code) {
        return code >= 0 && proto::ErrorCode_IsValid(code)
                   ? proto::ErrorCode_Name(static_cast<proto::ErrorCode>(code))
                   : std::to_string(code);
      },
      &s.errors_by_code);
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
