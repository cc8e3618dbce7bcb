// LatencyHistogram: a log-bucketed histogram of microsecond latencies (32 buckets per
// power of two, so a reported percentile is within ~3% of the true value), cheap enough
// to record every delivery: one clz, one add. Owned by one load-generator loop and
// touched only on its thread; loops' histograms are merged after the run.
#ifndef TUTTI_TOOLS_LOADGEN_HISTOGRAM_H_
#define TUTTI_TOOLS_LOADGEN_HISTOGRAM_H_

#include <array>
#include <cstdint>

namespace tutti::loadgen {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 5;  // 32 sub-buckets per octave
  static constexpr int kBuckets = 64 * (1 << kSubBits);

  void Record(int64_t value_us) {
    // A negative value can only come from a clock the server clamped; count it as 0
    // rather than hide it.
    uint64_t v = value_us < 0 ? 0 : static_cast<uint64_t>(value_us);
    ++counts_[Index(v)];
    ++count_;
    sum_ += v;
    if (v > max_) max_ = v;
  }
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0; }
  // The upper edge of the bucket holding the q-quantile (0 < q <= 1): never understates.
  uint64_t Percentile(double q) const;

  // Bucket index and edges, public for the unit test.
  static int Index(uint64_t v) {
    if (v < (1u << kSubBits)) return static_cast<int>(v);
    const int msb = 63 - __builtin_clzll(v);
    const int shift = msb - kSubBits;
    return shift * (1 << kSubBits) + static_cast<int>(v >> shift);
  }
  static uint64_t UpperEdge(int index);

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
};

}  // namespace tutti::loadgen

#endif  // TUTTI_TOOLS_LOADGEN_HISTOGRAM_H_
