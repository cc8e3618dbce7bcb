// ShardCounter and CodeCounters: the counters a shard bumps on its hot path and an
// operator reads at scrape time. Each instance has ONE writer, the thread of the shard
// that owns it; any thread may read it at any time. That is why the value is a relaxed
// atomic written with load + store rather than fetch_add: on x86-64 and AArch64 both are
// plain moves (no lock prefix, no fence, no allocation), yet a reader on another thread
// sees a whole value and no data race (ASan/TSan-clean). A second writer thread would lose
// counts: never bump a shard's counter from anywhere but that shard's thread.
// Plain values, no owner of their own: they live inside Shard::Counters.
#ifndef TUTTI_SERVER_METRICS_SHARD_COUNTER_H_
#define TUTTI_SERVER_METRICS_SHARD_COUNTER_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace tutti::server::metrics {

class ShardCounter {
 public:
  ShardCounter() = default;
  // Copies are snapshots (tests copy a shard's Counters on its own thread).
  ShardCounter(const ShardCounter& other) : v_(other.Get()) {}
  ShardCounter& operator=(const ShardCounter& other) {
    Set(other.Get());
    return *this;
  }

  // Owner thread only.
  void Add(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void Set(uint64_t n) { v_.store(n, std::memory_order_relaxed); }
  ShardCounter& operator++() {
    Add();
    return *this;
  }
  ShardCounter& operator+=(uint64_t n) {
    Add(n);
    return *this;
  }

  // Any thread.
  uint64_t Get() const { return v_.load(std::memory_order_relaxed); }
  operator uint64_t() const { return Get(); }  // NOLINT: reads like the plain integer it was

 private:
  std::atomic<uint64_t> v_{0};
};

// Counters keyed by a small integer code (a WebSocket close code, an HTTP status, a
// protocol error code), in a fixed array: no map, no allocation on the hot path. Codes
// outside [kFirst, kFirst + N) land in the last slot, reported as "other".
template <int kFirst, size_t N>
class CodeCounters {
 public:
  static constexpr int kFirstCode = kFirst;
  static constexpr size_t kSlots = N + 1;
  void Add(int code, uint64_t n = 1) { slots_[Slot(code)].Add(n); }
  uint64_t Get(size_t slot) const { return slots_[slot].Get(); }
  // The code slot `slot` stands for, or -1 for the "other" slot.
  static int CodeOf(size_t slot) { return slot < N ? kFirst + static_cast<int>(slot) : -1; }

 private:
  static size_t Slot(int code) {
    const int i = code - kFirst;
    return (i >= 0 && static_cast<size_t>(i) < N) ? static_cast<size_t>(i) : N;
  }
  std::array<ShardCounter, N + 1> slots_{};
};

// HTTP statuses 400..599 (refusals of an upgrade).
using HttpStatusCounters = CodeCounters<400, 200>;
// Protocol ErrorCode values sent to clients (protos/tutti.proto; small numbers).
using ErrorCodeCounters = CodeCounters<0, 64>;
// WebSocket close codes 1000..1015 and Tutti's 4000..4099 (docs/PROTOCOL.md).
class CloseCodeCounters {
 public:
  void Add(int code) {
    if (code >= 4000) {
      app_.Add(code);
    } else {
      standard_.Add(code);
    }
  }
  const CodeCounters<1000, 16>& standard() const { return standard_; }
  const CodeCounters<4000, 100>& application() const { return app_; }

 private:
  CodeCounters<1000, 16> standard_;
  CodeCounters<4000, 100> app_;
};

}  // namespace tutti::server::metrics

#endif  // TUTTI_SERVER_METRICS_SHARD_COUNTER_H_
