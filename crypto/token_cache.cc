#include "crypto/token_cache.h"

#include <algorithm>
#include <cstdint>

namespace tutti::crypto {

TokenCache::TokenCache(size_t capacity)
    : per_stripe_capacity_(capacity == 0 ? 0 : (capacity + kStripes - 1) / kStripes),
      stripes_(new Stripe[kStripes]) {}

bool TokenCache::Lookup(std::string_view token, int64_t now_unix_s, TokenClaims* claims) {
  if (per_stripe_capacity_ == 0) return false;
  Digest128 key = digester_.Digest(token);
  Stripe& stripe = stripes_[key.lo % kStripes];
  absl::MutexLock lock(&stripe.mu);
  auto it = stripe.entries.find(key);
  if (it == stripe.entries.end()) return false;
  if (it->second.drop_after_s <= now_unix_s) {
    stripe.entries.erase(it);
    return false;
  }
  *claims = it->second.claims;
  return true;
}

void TokenCache::Insert(std::string_view token, const TokenClaims& claims, int64_t drop_after_s,
                        int64_t now_unix_s) {
  if (per_stripe_capacity_ == 0) return;
  Digest128 key = digester_.Digest(token);
  Stripe& stripe = stripes_[key.lo % kStripes];
  absl::MutexLock lock(&stripe.mu);
  if (stripe.entries.size() >= per_stripe_capacity_ && !stripe.entries.contains(key)) {
    // The scan only runs on a miss into a full stripe, which already paid for
    // a signature verify that costs far more than walking a few hundred slots.
    // Every expired entry goes; if none has expired, those sharing the
    // earliest drop time do.
    int64_t oldest = INT64_MAX;
    for (const auto& [k, e] : stripe.entries) oldest = std::min(oldest, e.drop_after_s);
    oldest = std::max(oldest, now_unix_s);
    absl::erase_if(stripe.entries,
                   [oldest](const auto& kv) { return kv.second.drop_after_s <= oldest; });
  }
  stripe.entries.insert_or_assign(key, Entry{claims, drop_after_s});
}

size_t TokenCache::size() const {
  size_t total = 0;
  for (size_t i = 0; i < kStripes; ++i) {
    absl::MutexLock lock(&stripes_[i].mu);
    total += stripes_[i].entries.size();
  }
  return total;
}

}  // namespace tutti::crypto
