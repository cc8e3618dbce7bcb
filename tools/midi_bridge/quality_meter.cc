#include "tools/midi_bridge/quality_meter.h"

#include <algorithm>
#include <vector>

namespace tutti::bridge {
namespace {

constexpr int64_t kMaxReportedUs = 60000000;  // the protocol's bound on reported times

uint32_t ClampUs(int64_t us) {
  return static_cast<uint32_t>(std::clamp<int64_t>(us, 0, kMaxReportedUs));
}

float Percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return 0.0f;
  return std::min(100.0f, 100.0f * static_cast<float>(part) / static_cast<float>(whole));
}

}  // namespace

void QualityMeter::OnRoundTrip(int64_t rtt_us) {
  rtts_.push_back(std::max<int64_t>(0, rtt_us));
  while (rtts_.size() > std::max<size_t>(1, o_.rtt_samples)) rtts_.pop_front();
}

int64_t QualityMeter::rtt_us() const {
  if (rtts_.empty()) return -1;
  std::vector<int64_t> v(rtts_.begin(), rtts_.end());
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

QualityMeter::Period& QualityMeter::Current(int64_t local_now) {
  const int64_t period_us = std::max<int64_t>(1, o_.window_us / 3);
  if (periods_.empty() || local_now >= periods_.back().start_us + period_us) {
    Period p;
    p.start_us = local_now;
    periods_.push_back(p);
  }
  while (periods_.size() > 1 && periods_.front().start_us + o_.window_us <= local_now) {
    periods_.pop_front();
  }
  return periods_.back();
}

void QualityMeter::OnReceived(uint64_t events, uint64_t dropped, uint64_t missed_batches,
                              int64_t local_now) {
  Period& p = Current(local_now);
  p.received += events + missed_batches;
  p.dropped += dropped + missed_batches;
}

void QualityMeter::OnPlayed(uint64_t events, uint64_t late, int64_t local_now) {
  if (events == 0) return;
  Period& p = Current(local_now);
  p.played += events;
  p.late += late;
}

bool QualityMeter::Fill(int64_t offset_error_us, int64_t local_now,
                        proto::ConnectionQuality* q) const {
  const int64_t rtt = rtt_us();
  if (rtt < 0) return false;
  uint64_t received = 0, dropped = 0, played = 0, late = 0;
  for (const Period& p : periods_) {
    if (p.start_us + o_.window_us <= local_now) continue;  // out of the window
    received += p.received;
    dropped += p.dropped;
    played += p.played;
    late += p.late;
  }
  q->set_rtt_us(ClampUs(rtt));
  q->set_offset_error_us(ClampUs(offset_error_us));
  q->set_late_percent(Percent(late, played));
  q->set_dropped_percent(Percent(dropped, received));
  return true;
}

}  // namespace tutti::bridge
