#include "midi/stamper.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"

namespace tutti::midi {

namespace {
constexpr int64_t kNoTime = std::numeric_limits<int64_t>::min();
}  // namespace

Stamper::Stamper(StamperOptions o) : options_(o), last_end_us_(kNoTime), last_arrival_us_(kNoTime) {
  options_.max_ahead_cap_us = std::max<int64_t>(0, options_.max_ahead_cap_us);
  options_.min_ahead_us = std::clamp<int64_t>(options_.min_ahead_us, 0, options_.max_ahead_cap_us);
  options_.max_age_us = std::max<int64_t>(0, options_.max_age_us);
  options_.max_span_us = std::clamp<int64_t>(options_.max_span_us, 0, options_.max_age_us);
}

absl::Status Stamper::CheckSpan(int64_t span_us) const {
  if (span_us < 0) return absl::InvalidArgumentError("negative MIDI event delay");
  if (span_us > options_.max_span_us) {
    return absl::InvalidArgumentError(
        absl::StrCat("MIDI batch spans ", span_us, " us; limit ", options_.max_span_us));
  }
  return absl::OkStatus();
}

StampOutput Stamper::Stamp(const StampInput& in) {
  StampOutput out;
  // The server clock is monotonic, but a caller mixing clocks must not be able to move the
  // bounds backwards.
  const int64_t arrival =
      last_arrival_us_ == kNoTime ? in.arrival_us : std::max(in.arrival_us, last_arrival_us_);
  last_arrival_us_ = arrival;

  int64_t span = in.span_us;
  if (span < 0 || span > options_.max_span_us) {
    span = std::clamp<int64_t>(span, 0, options_.max_span_us);
    out.flags |= kFlagClamped;
  }

  const bool synced = in.synced && in.client_time_us != 0;
  // Lead allowed past arrival. An unsynced sender's candidate ends exactly on arrival; the lead
  // only gives the monotonic floor room to keep its spacing when batches arrive bunched.
  const int64_t ahead =
      synced ? std::clamp(in.error_bound_us, options_.min_ahead_us, options_.max_ahead_cap_us)
             : options_.max_ahead_cap_us;
  int64_t stamped;
  if (synced) {
    // Bounds: end <= arrival + ahead; start >= arrival - max_age. Since span <= max_span <=
    // max_age the interval is never empty.
    const int64_t latest = arrival + ahead - span;
    const int64_t earliest = arrival - options_.max_age_us;
    stamped = std::clamp(in.client_time_us, earliest, latest);
    if (stamped != in.client_time_us) out.flags |= kFlagClamped;
  } else {
    stamped = arrival - span;
    out.flags |= kFlagRestamped;
  }

  // Never backwards: start at or after the previous batch's end.
  if (last_end_us_ != kNoTime && stamped < last_end_us_) {
    stamped = last_end_us_;
    out.flags |= kFlagClamped;
  }
  // The floor is at most the previous arrival + cap <= arrival + cap, so shrinking the span is
  // always enough to keep the end bound (for the largest lead ever allowed).
  const int64_t end_limit =
      arrival + std::max(ahead, last_end_us_ == kNoTime
                                    ? ahead
                                    : std::min(last_end_us_ - arrival, options_.max_ahead_cap_us));
  if (stamped + span > end_limit) {
    span = std::max<int64_t>(0, end_limit - stamped);
    out.flags |= kFlagClamped;
  }
  out.stamped_us = stamped;
  out.max_delay_us = span;
  last_end_us_ = stamped + span;
  return out;
}

}  // namespace tutti::midi
