#include "server/token_bucket.h"

#include <algorithm>

namespace tutti::server {

TokenBucket::TokenBucket(double rate_per_second, double burst, int64_t now_us)
    : rate_per_us_(rate_per_second / 1e6), burst_(burst), tokens_(burst), last_us_(now_us) {}

void TokenBucket::Refill(int64_t now_us) {
  // A clock that appears to go backwards (it must not, but be safe) adds nothing.
  if (now_us > last_us_) {
    tokens_ = std::min(burst_, tokens_ + static_cast<double>(now_us - last_us_) * rate_per_us_);
    last_us_ = now_us;
  }
}

bool TokenBucket::TryTake(double cost, int64_t now_us) {
  Refill(now_us);
  if (tokens_ + 1e-9 < cost) return false;
  tokens_ -= cost;
  return true;
}

double TokenBucket::Available(int64_t now_us) {
  Refill(now_us);
  return tokens_;
}

}  // namespace tutti::server
