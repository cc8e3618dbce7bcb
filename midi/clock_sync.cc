#include "midi/clock_sync.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace tutti::midi {

namespace {

struct Point {
  double x;
  double y;
};

// Slope of the lower-convex-hull edge above the mean x: the line under every point that is
// highest at the mean x, i.e. that minimizes the summed distance to the points. Points are
// sorted by x. Returns 0 when there is no edge (one distinct x).
double LowerHullSlopeAtMean(const std::vector<Point>& pts) {
  std::vector<Point> hull;
  hull.reserve(pts.size());
  double sum_x = 0;
  for (const Point& p : pts) {
    sum_x += p.x;
    while (hull.size() >= 2) {
      const Point& a = hull[hull.size() - 2];
      const Point& b = hull.back();
      // Keep only strict left turns: b must lie strictly below segment a-p.
      const double cross = (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x);
      if (cross > 0) break;
      hull.pop_back();
    }
    if (!hull.empty() && hull.back().x == p.x) {
      if (p.y < hull.back().y) hull.back() = p;
      continue;
    }
    hull.push_back(p);
  }
  if (hull.size() < 2) return 0;
  const double mean_x = sum_x / static_cast<double>(pts.size());
  for (size_t k = 0; k + 1 < hull.size(); ++k) {
    if (mean_x <= hull[k + 1].x || k + 2 == hull.size()) {
      return (hull[k + 1].y - hull[k].y) / (hull[k + 1].x - hull[k].x);
    }
  }
  return 0;
}

// The hull slope rests on two samples. Every sample near the floor carries the same
// information, so refit the slope by least squares over the samples within kBandUs of either
// envelope (common slope, one intercept per direction; v is negated so both rise with the
// offset). Falls back to the hull slope when too few samples qualify.
double RefineSlope(const std::vector<Point>& pu, const std::vector<Point>& pv, double hull) {
  constexpr double kBandUs = 1500;
  constexpr double kMaxCorrection = 20e-6;
  double sxy = 0;
  double sxx = 0;
  size_t used = 0;
  for (int dir = 0; dir < 2; ++dir) {
    const std::vector<Point>& pts = dir == 0 ? pu : pv;
    const double sign = dir == 0 ? 1 : -1;
    const double slope = sign * hull;  // slope of this direction's envelope
    double floor = std::numeric_limits<double>::infinity();
    for (const Point& p : pts) floor = std::min(floor, p.y - slope * p.x);
    std::vector<Point> near;
    for (const Point& p : pts) {
      if (p.y - slope * p.x - floor <= kBandUs) near.push_back({p.x, sign * p.y});
    }
    if (near.size() < 3) continue;
    double mx = 0;
    double my = 0;
    for (const Point& p : near) {
      mx += p.x;
      my += p.y;
    }
    mx /= static_cast<double>(near.size());
    my /= static_cast<double>(near.size());
    for (const Point& p : near) {
      sxy += (p.x - mx) * (p.y - my);
      sxx += (p.x - mx) * (p.x - mx);
    }
    used += near.size();
  }
  if (used < 6 || sxx <= 0) return hull;
  return std::clamp(sxy / sxx, hull - kMaxCorrection, hull + kMaxCorrection);
}

}  // namespace

ClockSync::ClockSync(ClockSyncOptions o) : options_(o), burst_remaining_(o.burst_pings) {
  options_.max_samples = std::max<size_t>(options_.max_samples, 2);
  options_.recent_samples = std::max<size_t>(options_.recent_samples, 1);
  options_.lock_samples = std::max(options_.lock_samples, 1);
}

bool ClockSync::OnSample(int64_t t1, int64_t t2, int64_t t3, int64_t t4) {
  if (t4 < t1 || t3 < t2) return false;
  Sample s{t1, t4, t2 - t1, t4 - t3};
  if (!samples_.empty() && s.t1 < samples_.back().t1) return false;  // out of order
  if (has_estimate_ && IsAnomaly(s)) {
    ++anomalies_;
    samples_.clear();
    samples_since_reset_ = 0;
    elevated_up_ = elevated_down_ = 0;
    skew_fitted_ = false;  // keep skew_ as the prior
    burst_remaining_ = options_.burst_pings;
  }
  if (has_estimate_) {
    const double thr = static_cast<double>(options_.elevated_threshold_us);
    elevated_up_ = static_cast<double>(s.u) > up_.At(s.t1) + thr ? elevated_up_ + 1 : 0;
    elevated_down_ = static_cast<double>(s.v) > down_.At(s.t4) + thr ? elevated_down_ + 1 : 0;
    const size_t k = options_.elevated_samples;
    if (k > 0 && (elevated_up_ >= k || elevated_down_ >= k) && samples_.size() > k) {
      ++path_changes_;
      samples_.erase(samples_.begin(), samples_.end() - static_cast<std::ptrdiff_t>(k - 1));
      elevated_up_ = elevated_down_ = 0;
      skew_fitted_ = false;
    }
  }
  samples_.push_back(s);
  ++samples_since_reset_;
  while (samples_.size() > options_.max_samples ||
         s.t4 - samples_.front().t4 > options_.max_sample_age_us) {
    samples_.pop_front();
  }
  last_sample_local_ = t4;
  Fit();
  UpdateInUse(t4);
  return true;
}

bool ClockSync::IsAnomaly(const Sample& s) const {
  // Before the skew is fitted the lines only follow a few recent samples, so only a jump far
  // beyond jitter counts; after, the lines are under the whole window.
  const double skew_margin = skew_fitted_ ? 100e-6 : options_.max_skew_ppm * 1e-6;
  const double base = skew_fitted_ ? static_cast<double>(options_.anomaly_tolerance_us)
                                   : 20000.0 + static_cast<double>(options_.anomaly_tolerance_us);
  const double tol_u = base + skew_margin * std::abs(static_cast<double>(s.t1 - up_.t0));
  const double tol_v = base + skew_margin * std::abs(static_cast<double>(s.t4 - down_.t0));
  return static_cast<double>(s.u) < up_.At(s.t1) - tol_u ||
         static_cast<double>(s.v) < down_.At(s.t4) - tol_v;
}

void ClockSync::Fit() {
  const Sample& first = samples_.front();
  const Sample& last = samples_.back();
  const bool fit_skew = samples_.size() >= 8 && last.t4 - first.t1 >= options_.min_skew_span_us;
  // Values relative to the first sample keep doubles exact (clocks may differ by days).
  if (fit_skew) {
    std::vector<Point> pu;
    std::vector<Point> pv;
    pu.reserve(samples_.size());
    pv.reserve(samples_.size());
    for (const Sample& s : samples_) {
      pu.push_back({static_cast<double>(s.t1 - first.t1), static_cast<double>(s.u - first.u)});
      pv.push_back({static_cast<double>(s.t4 - first.t1), static_cast<double>(s.v - first.v)});
    }
    const double max_skew = options_.max_skew_ppm * 1e-6;
    // u rises with the offset, v falls with it.
    const double hull =
        std::clamp((LowerHullSlopeAtMean(pu) - LowerHullSlopeAtMean(pv)) / 2, -max_skew, max_skew);
    skew_ = RefineSlope(pu, pv, hull);
    skew_fitted_ = true;
  }
  // Lines with the common slope, as high as possible while under every sample used.
  const size_t used =
      fit_skew ? samples_.size() : std::min(samples_.size(), options_.recent_samples);
  double min_u = std::numeric_limits<double>::infinity();
  double min_v = std::numeric_limits<double>::infinity();
  for (size_t i = samples_.size() - used; i < samples_.size(); ++i) {
    const Sample& s = samples_[i];
    min_u = std::min(min_u, static_cast<double>(s.u) - skew_ * static_cast<double>(s.t1 - last.t1));
    min_v = std::min(min_v, static_cast<double>(s.v) + skew_ * static_cast<double>(s.t4 - last.t4));
  }
  up_ = Line{min_u, skew_, last.t1};
  down_ = Line{min_v, -skew_, last.t4};
  has_estimate_ = true;
}

double ClockSync::EstimatedOffset(int64_t local_us) const {
  if (!has_estimate_) return 0;
  return (up_.At(local_us) - down_.At(local_us)) / 2;
}

double ClockSync::InUseOffset(int64_t local_us) const {
  const double dt = static_cast<double>(local_us - base_t_);
  const double slewed =
      std::min(std::abs(residual_), options_.max_slew_ppm * 1e-6 * std::max(dt, 0.0));
  return base_ + rate_ * dt + std::copysign(slewed, residual_);
}

void ClockSync::UpdateInUse(int64_t now) {
  const double est = EstimatedOffset(now);
  const bool pre_lock = !locked_;
  const double cur = pre_lock ? est : InUseOffset(now);
  const double d = est - cur;
  base_t_ = now;
  rate_ = skew_;
  if (pre_lock || std::abs(d) > static_cast<double>(options_.step_threshold_us)) {
    base_ = est;
    residual_ = 0;
    ++epoch_;
  } else {
    base_ = cur;
    residual_ = d;
  }
  if (samples_since_reset_ >= options_.lock_samples) locked_ = true;
}

int64_t ClockSync::ServerTimeFromLocal(int64_t local_us) const {
  if (!has_estimate_) return local_us;
  return local_us + std::llround(InUseOffset(local_us));
}

int64_t ClockSync::LocalFromServer(int64_t server_us) const {
  if (!has_estimate_) return server_us;
  // The offset changes by at most ~1e-3 per unit time, so the fixed point converges at once.
  int64_t local = server_us - std::llround(base_);
  for (int i = 0; i < 3; ++i) local = server_us - std::llround(InUseOffset(local));
  return local;
}

ClockSyncStatus ClockSync::Status(int64_t local_now) const {
  ClockSyncStatus st;
  st.synced = locked_;
  st.skew_ppm = skew_ppm();
  if (!has_estimate_) return st;
  const double in_use = InUseOffset(local_now);
  st.offset_us = std::llround(in_use);
  // Half the minimum round trip bounds the unseen path asymmetry; add what is still being
  // slewed and the drift possible since the last sample.
  const double half_rtt = std::max(0.0, (up_.At(local_now) + down_.At(local_now)) / 2);
  const double since = static_cast<double>(std::max<int64_t>(0, local_now - last_sample_local_));
  // Before the skew is fitted the lines are level: the unknown skew can have moved the offset
  // across the window they were taken from.
  double unfitted = 0;
  if (!skew_fitted_ && !samples_.empty()) {
    const size_t used = std::min(samples_.size(), options_.recent_samples);
    const int64_t oldest = samples_[samples_.size() - used].t1;
    unfitted = options_.unfitted_skew_ppm * 1e-6 * static_cast<double>(local_now - oldest);
  }
  st.error_bound_us = std::llround(half_rtt + std::abs(EstimatedOffset(local_now) - in_use) +
                                   options_.dispersion_ppm * 1e-6 * since + unfitted);
  return st;
}

int64_t ClockSync::NextPingDelay(int64_t local_now) const {
  if (!pinged_) return 0;
  const int64_t interval =
      burst_remaining_ > 0 ? options_.burst_interval_us : options_.ping_interval_us;
  return std::max<int64_t>(0, last_ping_ + interval - local_now);
}

void ClockSync::OnPingSent(int64_t local_now) {
  pinged_ = true;
  last_ping_ = local_now;
  if (burst_remaining_ > 0) --burst_remaining_;
}

void ClockSync::OnReconnect() {
  burst_remaining_ = options_.burst_pings;
  pinged_ = false;
}

}  // namespace tutti::midi
