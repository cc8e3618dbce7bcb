// Playout-delay estimation for one remote sender: how long after an event's server-stamped
// time (mapped to local time) it should be played so that nearly every event has arrived.
//
// Owns: a time-decayed histogram of transit samples (arrival local time minus the stamped time
// mapped to local), the episode of outlier samples being judged (stall or real step), and the
// target delay in use.
// Thread affinity: single-threaded; not synchronized. Time is passed in (local microseconds).
// Who owns it: JitterBuffer, one per remote sender.
//
// Rules (docs/TIMING.md):
//   * candidate = the configured percentile of the decayed transit histogram + render margin,
//     within [min_delay_us, max_delay_us]. Until warmup_samples samples, the maximum seen is
//     used instead of the percentile (a percentile of a handful of samples is a guess).
//   * Rise fast: a candidate above the target replaces it at once.
//   * Fall slowly: only once the candidate has stayed below the target for fall_hold_us, and
//     then by at most fall_fraction of the interval since the previous batch, so the played
//     spacing shrinks by at most that fraction; at once after a long rest (no batch for
//     long_rest_us), where the change cannot be heard.
//   * Stalls: a sample far above the percentile (during warmup: far above the median) opens an
//   outlier episode; its samples are held
//     back. If transit returns to normal while the episode still spans less than
//     step_confirm_us of arrival time (a TCP retransmission releases its backlog in one burst),
//     the episode is discarded: an isolated stall does not inflate the target. Samples that
//     arrive in the same burst as an outlier (within burst_window_us) join its episode: they
//     were queued behind it. An episode that
//     lasts longer is a real change and is committed to the histogram.
#ifndef TUTTI_MIDI_DELAY_ESTIMATOR_H_
#define TUTTI_MIDI_DELAY_ESTIMATOR_H_

#include <cstdint>
#include <vector>

namespace tutti::midi {

struct DelayOptions {
  // The "latency vs smoothness" knob: which share of events must arrive in time.
  double percentile = 0.99;
  // Added to the percentile: time to hand an event to the synthesizer, and room for the
  // playout offset (midi/playout.h), which follows a rising target by 1 % of each interval
  // rather than at once. 4 ms: with 2 ms, late note-ons rose to 1.6 % on the asymmetric path.
  int64_t render_margin_us = 4000;
  // Bounds of the target (user-adjustable).
  int64_t min_delay_us = 5000;
  int64_t max_delay_us = 500000;
  // Half-life of a sample's weight in the histogram.
  int64_t half_life_us = 20000000;
  int warmup_samples = 16;
  int64_t fall_hold_us = 3000000;
  double fall_fraction = 0.02;
  int64_t long_rest_us = 1500000;
  // A candidate within this of the target is "holding", not lower.
  int64_t fall_hysteresis_us = 1000;
  // A sample is an outlier when above percentile + max(outlier_margin_us, percentile - median).
  int64_t outlier_margin_us = 25000;
  int64_t step_confirm_us = 400000;
  // Samples arriving within this of the episode's last one belong to the same burst.
  int64_t burst_window_us = 10000;
};

// Presets for the latency-vs-smoothness setting.
enum class Smoothness { kLowLatency, kBalanced, kSmooth };
double PercentileFor(Smoothness s);

class DelayEstimator {
 public:
  explicit DelayEstimator(DelayOptions o = {});

  // Records the transit of one batch (its earliest event) that arrived at local_now.
  void AddSample(int64_t transit_us, int64_t local_now);

  // The target to schedule a batch with; ioi_us is its stamped time minus the previous
  // batch's (<= 0 or very large when unknown). Applies the rise/fall rules.
  int64_t TargetForBatch(int64_t ioi_us, int64_t local_now);

  // Forgets every sample (the clock mapping stepped). The target in use is kept until the
  // next batch replaces it under the warmup rule.
  void Reset();

  void set_options(const DelayOptions& o);
  const DelayOptions& options() const { return options_; }

  int64_t target_us() const { return target_us_; }
  // Percentile + margin, bounded (what the target moves toward).
  int64_t candidate_us() const;
  int64_t QuantileUs(double q) const;
  uint64_t stalls_discarded() const { return stalls_discarded_; }
  uint64_t episodes_committed() const { return episodes_committed_; }
  int samples() const { return samples_; }

 private:
  static constexpr int64_t kLowUs = -100000;  // histogram range [kLowUs, kHighUs)
  static constexpr int64_t kHighUs = 700000;
  static constexpr int64_t kBinUs = 500;
  static constexpr int kBins = static_cast<int>((kHighUs - kLowUs) / kBinUs);

  void Commit(int64_t transit_us, int64_t local_now);
  bool IsOutlier(int64_t transit_us) const;

  DelayOptions options_;
  std::vector<double> bins_;
  double total_ = 0;
  int64_t weight_ref_us_ = 0;  // bins are scaled so a sample at weight_ref_us_ weighs 1
  bool have_ref_ = false;
  int samples_ = 0;
  int64_t max_seen_us_ = 0;
  int64_t min_seen_us_ = 0;

  std::vector<int64_t> episode_;
  int64_t episode_start_us_ = 0;
  int64_t episode_last_us_ = 0;
  uint64_t stalls_discarded_ = 0;
  uint64_t episodes_committed_ = 0;

  int64_t target_us_;
  bool lower_pending_ = false;
  int64_t lower_since_us_ = 0;
};

}  // namespace tutti::midi

#endif  // TUTTI_MIDI_DELAY_ESTIMATOR_H_
