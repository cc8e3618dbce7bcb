// ShardHistogram: a Prometheus-style histogram with fixed bucket bounds whose ONE writer
// is the thread that owns it (a shard, the storage thread, the slow-work pool's thread)
// and that any thread may read at scrape time. Observe is a scan of at most kMaxBuckets
// integer bounds and two relaxed load+store pairs (ShardCounter): no lock, no
// allocation. The bounds are static arrays (the Buckets below), so a histogram is a
// fixed block of counters. Plain values with no owner of their own: they live inside
// the counters of whoever writes them (Shard::Counters, StorageThread, Server).
#ifndef TUTTI_SERVER_METRICS_SHARD_HISTOGRAM_H_
#define TUTTI_SERVER_METRICS_SHARD_HISTOGRAM_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "server/metrics/shard_counter.h"

namespace tutti::server::metrics {

// A bucket layout: upper bounds (inclusive, ascending) in the observed unit, and what
// one unit is in the exported unit (1e-6: microseconds exported as seconds).
struct Buckets {
  static constexpr size_t kMaxBuckets = 16;
  std::array<uint64_t, kMaxBuckets> bounds{};
  size_t count = 0;
  double scale = 1;
};

// Latencies in microseconds, exported in seconds: 100 µs to 10 s.
inline constexpr Buckets kLatencyUs{{100, 250, 500, 1'000, 2'500, 5'000, 10'000, 25'000, 50'000,
                                     100'000, 250'000, 500'000, 1'000'000, 2'500'000, 10'000'000},
                                    15,
                                    1e-6};
// Receivers of one message (MIDI fan-out): 1 to 1,000.
inline constexpr Buckets kFanout{{0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000}, 12, 1};
// Waiting operations in a queue: 0 to 4,096.
inline constexpr Buckets kQueueDepth{{0, 1, 2, 4, 8, 16, 64, 256, 1024, 4096}, 10, 1};

class ShardHistogram {
 public:
  explicit constexpr ShardHistogram(const Buckets& buckets) : buckets_(&buckets) {}

  // Owner thread only.
  void Observe(uint64_t v) {
    size_t i = 0;
    while (i < buckets_->count && v > buckets_->bounds[i]) ++i;
    slots_[i].Add();  // i == count: above every bound, the +Inf bucket only
    sum_.Add(v);
  }

  // Any thread.
  const Buckets& buckets() const { return *buckets_; }
  // Observations in bucket `i` alone (not cumulative); i == buckets().count is +Inf.
  uint64_t slot(size_t i) const { return slots_[i].Get(); }
  uint64_t sum() const { return sum_.Get(); }

 private:
  const Buckets* buckets_;
  std::array<ShardCounter, Buckets::kMaxBuckets + 1> slots_{};
  ShardCounter sum_;
};

}  // namespace tutti::server::metrics

#endif  // TUTTI_SERVER_METRICS_SHARD_HISTOGRAM_H_
