#include "server/moderation/connection_limits.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/moderation/string_view_compat.h"

namespace tutti::server::moderation {
namespace {

// Seconds until `missing` tokens have come back at `rate`, at least 1.
// Clamped to a day: a tiny configured rate must not overflow the conversion.
int SecondsFor(double missing, double rate) {
  constexpr double kMaxS = 86'400;
  if (rate <= 0) return 1;
  const double s = std::ceil(missing / rate);
  return s >= kMaxS ? static_cast<int>(kMaxS) : std::max(1, static_cast<int>(s));
}

// How long to come back after a concurrent-connection refusal: long enough that a
// retry loop does not hammer the door, short enough for a person who closed a tab.
constexpr int kRetryAfterFullS = 5;

}  // namespace

ConnectionLimits::ConnectionLimits(Options options) : options_(std::move(options)) {}

absl::StatusOr<std::vector<Cidr>> ConnectionLimits::ParseNetworks(std::string_view text) {
  std::vector<Cidr> out;
  for (absl::string_view piece : absl::StrSplit(ToAbsl(text), ',')) {
    piece = absl::StripAsciiWhitespace(piece);
    if (piece.empty()) continue;
    const std::string part(piece);
    absl::StatusOr<Cidr> cidr = ParseCidr(part);
    if (!cidr.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad network \"", part, "\": ", cidr.status().message()));
    }
    out.push_back(*cidr);
  }
  return out;
}

bool ConnectionLimits::Exempt(std::string_view ip) const {
  if (options_.exempt.empty()) return false;
  std::optional<IpAddress> address = ParseIp(ip);
  if (!address) return false;
  for (const Cidr& net : options_.exempt) {
    if (net.Contains(*address)) return true;
  }
  return false;
}

void ConnectionLimits::Refill(Entry& entry, int64_t now_ms) const {
  if (now_ms <= entry.last_ms) return;
  entry.tokens =
      std::min(options_.attempt_burst,
               entry.tokens + (now_ms - entry.last_ms) * options_.attempts_per_second / 1000.0);
  entry.last_ms = now_ms;
}

bool ConnectionLimits::IsIdle(const Entry& entry, int64_t now_ms) const {
  if (entry.connections > 0 || entry.guests > 0) return false;
  if (options_.attempts_per_second <= 0) return true;
  const double refilled = entry.tokens + std::max<int64_t>(0, now_ms - entry.last_ms) *
                                             options_.attempts_per_second / 1000.0;
  return refilled >= options_.attempt_burst;
}

size_t ConnectionLimits::SweepLocked(int64_t now_ms) {
  const size_t before = entries_.size();
  absl::erase_if(entries_, [&](const auto& kv) { return IsIdle(kv.second, now_ms); });
  return before - entries_.size();
}

ConnectionLimits::Ticket ConnectionLimits::Accepted(std::string_view ip, int64_t now_ms) {
  Ticket ticket;
  const bool per_address = !ip.empty() && !Exempt(ip);
  std::string key = per_address ? AddressKey(ip) : std::string();
  absl::MutexLock lock(&mu_);
  ++open_;
  ticket.counted = true;
  if (per_address) TrackLocked(ticket, std::move(key), now_ms);
  return ticket;
}

void ConnectionLimits::Attribute(Ticket& ticket, std::string_view ip, int64_t now_ms) {
  if (!ticket.counted || !ticket.key.empty() || ip.empty() || Exempt(ip)) return;
  std::string key = AddressKey(ip);
  absl::MutexLock lock(&mu_);
  TrackLocked(ticket, std::move(key), now_ms);
}

void ConnectionLimits::TrackLocked(Ticket& ticket, std::string key, int64_t now_ms) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= options_.max_tracked) {
      if (now_ms >= next_sweep_ms_ && SweepLocked(now_ms) == 0) {
        next_sweep_ms_ = now_ms + 1000;
      }
      if (entries_.size() >= options_.max_tracked) {
        ++counters_.untracked;
        return;
      }
    }
    Entry fresh;
    fresh.tokens = options_.attempt_burst;
    fresh.last_ms = now_ms;
    it = entries_.emplace(key, fresh).first;
  }
  ++it->second.connections;
  ticket.key = std::move(key);
}

void ConnectionLimits::Released(Ticket& ticket, int64_t now_ms) {
  if (!ticket.counted) return;
  absl::MutexLock lock(&mu_);
  --open_;
  ticket.counted = false;
  if (ticket.key.empty()) return;
  auto it = entries_.find(ticket.key);
  if (it != entries_.end()) {
    Entry& entry = it->second;
    --entry.connections;
    if (ticket.guest) --entry.guests;
    if (IsIdle(entry, now_ms)) entries_.erase(it);
  }
  ticket.key.clear();
  ticket.guest = false;
}

ConnectionLimits::Verdict ConnectionLimits::CheckAccepted(const Ticket& ticket) {
  absl::MutexLock lock(&mu_);
  if (options_.max_connections > 0 && open_ > options_.max_connections) {
    ++counters_.refused_full;
    return Verdict{Refusal::kServerFull, kRetryAfterFullS};
  }
  if (ticket.key.empty() || options_.max_per_address <= 0) return Verdict{};
  auto it = entries_.find(ticket.key);
  if (it != entries_.end() && it->second.connections > options_.max_per_address) {
    ++counters_.refused_address;
    return Verdict{Refusal::kAddressFull, kRetryAfterFullS};
  }
  return Verdict{};
}

ConnectionLimits::Verdict ConnectionLimits::CheckUpgrade(const Ticket& ticket, int64_t now_ms) {
  Verdict v;
  absl::MutexLock lock(&mu_);
  if (options_.max_connections > 0 && open_ > options_.max_connections) {
    ++counters_.refused_full;
    return Verdict{Refusal::kServerFull, kRetryAfterFullS};
  }
  if (ticket.key.empty()) return v;
  auto it = entries_.find(ticket.key);
  if (it == entries_.end()) return v;  // cannot happen while the ticket is held
  Entry& entry = it->second;
  if (options_.max_per_address > 0 && entry.connections > options_.max_per_address) {
    ++counters_.refused_address;
    return Verdict{Refusal::kAddressFull, kRetryAfterFullS};
  }
  if (options_.attempts_per_second > 0) {
    Refill(entry, now_ms);
    if (entry.tokens < 1.0) {
      ++counters_.refused_attempts;
      return Verdict{Refusal::kTooManyAttempts,
                     SecondsFor(1.0 - entry.tokens, options_.attempts_per_second)};
    }
    entry.tokens -= 1.0;
  }
  return v;
}

ConnectionLimits::Verdict ConnectionLimits::ClaimGuest(Ticket& ticket) {
  if (ticket.key.empty() || ticket.guest) return Verdict{};
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(ticket.key);
  if (it == entries_.end()) return Verdict{};
  Entry& entry = it->second;
  if (options_.max_guests_per_address > 0 && entry.guests >= options_.max_guests_per_address) {
    ++counters_.refused_guests;
    return Verdict{Refusal::kGuestsFull, kRetryAfterFullS};
  }
  ++entry.guests;
  ticket.guest = true;
  return Verdict{};
}

ConnectionLimits::Stats ConnectionLimits::stats() const {
  absl::MutexLock lock(&mu_);
  Stats s = counters_;
  s.open = open_;
  s.tracked = entries_.size();
  return s;
}

}  // namespace tutti::server::moderation
