#include "server/moderation/auth_failure_tracker.h"

#include <algorithm>

#include "server/moderation/ip_address.h"

namespace tutti::server::moderation {

AuthFailureTracker::AuthFailureTracker() : AuthFailureTracker(Options()) {}

AuthFailureTracker::AuthFailureTracker(Options options) : options_(options) {}

std::string AuthFailureTracker::KeyOf(std::string_view ip) { return AddressKey(ip); }

bool AuthFailureTracker::IsStale(const Entry& entry, int64_t now_ms) const {
  return now_ms >= entry.banned_until_ms && now_ms - entry.window_start_ms >= options_.window_ms;
}

size_t AuthFailureTracker::SweepLocked(int64_t now_ms) {
  const size_t before = entries_.size();
  absl::erase_if(entries_, [&](const auto& kv) { return IsStale(kv.second, now_ms); });
  return before - entries_.size();
}

std::optional<int64_t> AuthFailureTracker::RecordFailure(std::string_view ip, int64_t now_ms) {
  std::string key = KeyOf(ip);
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= options_.max_tracked) {
      if (now_ms >= next_sweep_ms_ && SweepLocked(now_ms) == 0) {
        next_sweep_ms_ = now_ms + std::max<int64_t>(options_.window_ms / 4, 1);
      }
      if (entries_.size() >= options_.max_tracked) {
        ++untracked_;
        return std::nullopt;
      }
    }
    it = entries_.emplace(std::move(key), Entry{now_ms, 0, 0}).first;
  }
  Entry& entry = it->second;
  if (now_ms < entry.banned_until_ms) return std::nullopt;
  if (now_ms - entry.window_start_ms >= options_.window_ms) {
    entry.window_start_ms = now_ms;
    entry.failures = 0;
  }
  if (++entry.failures < options_.max_failures) return std::nullopt;
  // A fresh window after the ban: the address starts from zero, not one failure short.
  entry.banned_until_ms = now_ms + options_.ban_ms;
  entry.failures = 0;
  entry.window_start_ms = now_ms;
  ++bans_;
  return entry.banned_until_ms;
}

std::optional<int64_t> AuthFailureTracker::BannedUntil(std::string_view ip, int64_t now_ms) const {
  const std::string key = KeyOf(ip);
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || now_ms >= it->second.banned_until_ms) return std::nullopt;
  return it->second.banned_until_ms;
}

AuthFailureTracker::Stats AuthFailureTracker::stats() const {
  absl::MutexLock lock(&mu_);
  Stats stats;
  stats.tracked = entries_.size();
  stats.bans = bans_;
  stats.untracked = untracked_;
  return stats;
}

}  // namespace tutti::server::moderation
