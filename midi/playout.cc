#include "midi/playout.h"

#include <algorithm>
#include <cmath>

namespace tutti::midi {

int64_t PlayoutOffset::Next(int64_t target_us, int64_t transit_us, int64_t gap_us, int64_t ioi_us) {
  if (!have_) {
    have_ = true;
    lifted_ = false;
    offset_us_ = target_us;
    return offset_us_;
  }
  const int64_t before = offset_us_;
  if (gap_us >= options_.rest_us) {
    offset_us_ = target_us;
    lifted_ = false;
    if (offset_us_ != before) ++counters_.rest_jumps;
  } else {
    const auto share = [&](double f) {
      return ioi_us > 0 && ioi_us < options_.rest_us
                 ? static_cast<int64_t>(std::floor(f * static_cast<double>(ioi_us)))
                 : int64_t{0};
    };
    const int64_t step = share(options_.stretch_fraction);
    // Lifted by a stall: give the lift back faster than a drift, or the stall's length would
    // be added to every note for tens of seconds; but not while the backlog is still coming
    // in (its batches are late beyond the target): it keeps its spacing.
    if (lifted_ && offset_us_ - target_us <= options_.recover_above_us) lifted_ = false;
    const bool backlog = transit_us - target_us >= options_.min_stall_lift_us;
    int64_t down = step;
    if (lifted_) down = backlog ? 0 : std::max(step, share(options_.recover_fraction));
    offset_us_ = std::clamp(target_us, offset_us_ - down, offset_us_ + step);
    if (transit_us > offset_us_ && transit_us <= target_us) {
      // A late batch plays at arrival anyway; move the offset there so the next events keep
      // their spacing to it.
      offset_us_ = transit_us;
      ++counters_.catch_ups;
    } else if (transit_us - offset_us_ >= options_.min_stall_lift_us &&
               transit_us - target_us <= options_.max_stall_lift_us) {
      // A stall: lift, so its backlog keeps its spacing (recovered above).
      offset_us_ = transit_us;
      lifted_ = true;
      ++counters_.stall_lifts;
    }
  }
  if (offset_us_ != before) ++counters_.moves;
  return offset_us_;
}

}  // namespace tutti::midi
