#include "crypto/replay_cache.h"

#include <algorithm>

namespace tutti::crypto {

ReplayCache::ReplayCache(size_t capacity)
    : per_stripe_capacity_(std::max<size_t>(1, (capacity + kStripes - 1) / kStripes)),
      stripes_(new Stripe[kStripes]) {}

bool ReplayCache::Insert(std::string_view id, int64_t now_ms, int64_t expires_at_ms) {
  Digest128 key = digester_.Digest(id);
  Stripe& stripe = stripes_[key.lo % kStripes];
  absl::MutexLock lock(&stripe.mu);

  // Drops a pair from the order queue, and its map entry if the pair is current
  // (returns true then).
  auto pop_front = [&stripe]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mu) {
    const auto& [digest, expiry] = stripe.order.front();
    auto it = stripe.expiry.find(digest);
    bool live = it != stripe.expiry.end() && it->second == expiry;
    if (live) stripe.expiry.erase(it);
    stripe.order.pop_front();
    return live;
  };
  // Entries arrive in roughly expiry order, so pruning from the front reclaims
  // almost everything that has expired without a scan.
  while (!stripe.order.empty() && stripe.order.front().second <= now_ms) pop_front();

  auto it = stripe.expiry.find(key);
  if (it != stripe.expiry.end()) {
    if (it->second > now_ms) return false;
    // An expired leftover that pruning has not reached yet. Its pair in
    // `order` goes stale (the expiry will differ) and is skipped later.
    stripe.expiry.erase(it);
  }
  while (stripe.order.size() >= per_stripe_capacity_) {
    if (pop_front()) evictions_.fetch_add(1, std::memory_order_relaxed);
  }
  stripe.expiry.emplace(key, expires_at_ms);
  stripe.order.emplace_back(key, expires_at_ms);
  return true;
}

size_t ReplayCache::size() const {
  size_t total = 0;
  for (size_t i = 0; i < kStripes; ++i) {
    absl::MutexLock lock(&stripes_[i].mu);
    total += stripes_[i].expiry.size();
  }
  return total;
}

}  // namespace tutti::crypto
