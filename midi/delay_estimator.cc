#include "midi/delay_estimator.h"

#include <algorithm>
#include <cmath>

namespace tutti::midi {

double PercentileFor(Smoothness s) {
  switch (s) {
    case Smoothness::kLowLatency:
      return 0.95;
    case Smoothness::kBalanced:
      return 0.99;
    case Smoothness::kSmooth:
      return 0.998;
  }
  return 0.99;
}

DelayEstimator::DelayEstimator(DelayOptions o) : bins_(kBins, 0.0) {
  set_options(o);
  target_us_ = options_.min_delay_us;
}

void DelayEstimator::set_options(const DelayOptions& o) {
  options_ = o;
  options_.percentile = std::clamp(options_.percentile, 0.5, 0.9999);
  options_.min_delay_us = std::clamp<int64_t>(options_.min_delay_us, 0, kHighUs);
  options_.max_delay_us =
      std::clamp<int64_t>(options_.max_delay_us, options_.min_delay_us, kHighUs);
  options_.half_life_us = std::max<int64_t>(options_.half_life_us, 1000);
  options_.warmup_samples = std::max(options_.warmup_samples, 1);
  target_us_ = std::clamp(target_us_, options_.min_delay_us, options_.max_delay_us);
}

void DelayEstimator::Reset() {
  std::fill(bins_.begin(), bins_.end(), 0.0);
  total_ = 0;
  have_ref_ = false;
  samples_ = 0;
  max_seen_us_ = 0;
  min_seen_us_ = 0;
  episode_.clear();
  lower_pending_ = false;
}

int64_t DelayEstimator::QuantileUs(double q) const {
  if (total_ <= 0) return 0;
  const double want = q * total_;
  double acc = 0;
  for (int i = 0; i < kBins; ++i) {
    acc += bins_[i];
    // The upper edge of the bin: never under-estimates.
    if (acc >= want) return kLowUs + static_cast<int64_t>(i + 1) * kBinUs;
  }
  return kHighUs;
}

int64_t DelayEstimator::candidate_us() const {
  const int64_t base =
      samples_ < options_.warmup_samples ? max_seen_us_ : QuantileUs(options_.percentile);
  return std::clamp(base + options_.render_margin_us, options_.min_delay_us, options_.max_delay_us);
}

bool DelayEstimator::IsOutlier(int64_t transit_us) const {
  if (samples_ < 2) return false;
  if (samples_ < options_.warmup_samples) {
    // A stall among the first samples would otherwise set the target for a long time. Judge
    // against the median, which one stall cannot move, with a wide margin.
    const int64_t median = QuantileUs(0.5);
    const int64_t spread = 3 * (median - min_seen_us_);
    return transit_us > median + std::max(2 * options_.outlier_margin_us, spread);
  }
  const int64_t p = QuantileUs(options_.percentile);
  const int64_t spread = p - QuantileUs(0.5);
  return transit_us > p + std::max(options_.outlier_margin_us, spread);
}

void DelayEstimator::Commit(int64_t transit_us, int64_t local_now) {
  if (!have_ref_) {
    weight_ref_us_ = local_now;
    have_ref_ = true;
  }
  // Newer samples weigh exponentially more; rescale before the weights grow large.
  double w = std::exp2(static_cast<double>(local_now - weight_ref_us_) /
                       static_cast<double>(options_.half_life_us));
  if (w > 1e12) {
    for (double& b : bins_) b /= w;
    total_ /= w;
    weight_ref_us_ = local_now;
    w = 1;
  }
  const int64_t clamped = std::clamp<int64_t>(transit_us, kLowUs, kHighUs - 1);
  bins_[static_cast<size_t>((clamped - kLowUs) / kBinUs)] += w;
  total_ += w;
  if (samples_ == 0 || transit_us > max_seen_us_) max_seen_us_ = transit_us;
  if (samples_ == 0 || transit_us < min_seen_us_) min_seen_us_ = transit_us;
  ++samples_;
}

void DelayEstimator::AddSample(int64_t transit_us, int64_t local_now) {
  // Messages queued behind a retransmission arrive in one burst, each less late than the one
  // before; the tail of the burst may fall under the outlier threshold but is the same stall.
  const bool in_burst =
      !episode_.empty() && local_now - episode_last_us_ <= options_.burst_window_us;
  if (in_burst || IsOutlier(transit_us)) {
    if (episode_.empty()) episode_start_us_ = local_now;
    episode_.push_back(transit_us);
    episode_last_us_ = local_now;
    // An episode that keeps going is a real change, not a stall.
    if (local_now - episode_start_us_ >= options_.step_confirm_us || episode_.size() >= 256) {
      for (int64_t t : episode_) Commit(t, local_now);
      episode_.clear();
      ++episodes_committed_;
    }
    return;
  }
  if (!episode_.empty()) {
    episode_.clear();
    ++stalls_discarded_;
  }
  Commit(transit_us, local_now);
}

int64_t DelayEstimator::TargetForBatch(int64_t ioi_us, int64_t local_now) {
  if (samples_ == 0) return target_us_;
  const int64_t cand = candidate_us();
  if (cand >= target_us_) {
    target_us_ = cand;
    lower_pending_ = false;
    return target_us_;
  }
  if (cand >= target_us_ - options_.fall_hysteresis_us) {
    lower_pending_ = false;
    return target_us_;
  }
  if (!lower_pending_) {
    lower_pending_ = true;
    lower_since_us_ = local_now;
  }
  if (ioi_us >= options_.long_rest_us) {
    target_us_ = cand;
    lower_pending_ = false;
  } else if (local_now - lower_since_us_ >= options_.fall_hold_us && ioi_us > 0) {
    const int64_t step = static_cast<int64_t>(options_.fall_fraction * static_cast<double>(ioi_us));
    target_us_ = std::max(cand, target_us_ - step);
  }
  return target_us_;
}

}  // namespace tutti::midi
