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
  options_.max_lead_us = std::max(options_.max_lead_us, options_.max_ahead_cap_us);
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
  int64_t stamped;
  if (synced) {
    // Lead allowed past arrival: the sender's own clock error, within [min_ahead, cap].
    const int64_t ahead =
        std::clamp(in.error_bound_us, options_.min_ahead_us, options_.max_ahead_cap_us);
    // Bounds: end <= arrival + ahead; start >= arrival - max_age. Since span <= max_span <=
    // max_age the interval is never empty.
    const int64_t latest = arrival + ahead - span;
    const int64_t earliest = arrival - options_.max_age_us;
    stamped = std::clamp(in.client_time_us, earliest, latest);
    if (stamped != in.client_time_us) out.flags |= kFlagClamped;
  } else {
    // The anchor rule: the last event cannot have happened after the batch arrived.
    stamped = arrival - span;
    out.flags |= kFlagRestamped;
  }

  // Never backwards: start at or after the previous batch's end, as long as the end stays
  // within arrival + max_lead_us; past that, start as late as that bound allows (overlapping
  // the previous batch's tail). The span is kept either way: shortening it would pull events
  // of one batch together (a note-off at +100 ms and a CC at +150 ms arriving at once).
  if (last_end_us_ != kNoTime && stamped < last_end_us_) {
    const int64_t latest_start = arrival + options_.max_lead_us - span;
    stamped = std::max(stamped, std::min(last_end_us_, latest_start));
    out.flags |= kFlagClamped;
  }
  out.stamped_us = stamped;
  out.max_delay_us = span;
  last_end_us_ = last_end_us_ == kNoTime ? stamped + span : std::max(last_end_us_, stamped + span);
  return out;
}

}  // namespace tutti::midi
