#include "server/accept_backoff.h"

#include <algorithm>

namespace tutti::server {

AcceptBackoff::Pause AcceptBackoff::Failed(int64_t now_ms) {
  Pause pause;
  if (failures_ == 0) {
    started_ms_ = now_ms;
    next_delay_ms_ = kFirstDelayMs;
    pause.episode_started = true;
  }
  ++failures_;
  pause.delay_ms = next_delay_ms_;
  next_delay_ms_ = std::min(next_delay_ms_ * 2, kMaxDelayMs);
  return pause;
}

std::optional<AcceptBackoff::Episode> AcceptBackoff::Succeeded(int64_t now_ms) {
  if (failures_ == 0) return std::nullopt;
  Episode episode{failures_, std::max<int64_t>(0, now_ms - started_ms_)};
  failures_ = 0;
  next_delay_ms_ = kFirstDelayMs;
  return episode;
}

}  // namespace tutti::server
