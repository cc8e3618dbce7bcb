// TokenBucket: a per-session flood limiter for one message class (chat, notes, joins).
// Plain value type owned by a Session; single-threaded (the session's shard). Time is
// passed in as server monotonic microseconds, never read from the wall clock, so a
// client cannot pre-schedule traffic and tests control time.
#ifndef TUTTI_SERVER_TOKEN_BUCKET_H_
#define TUTTI_SERVER_TOKEN_BUCKET_H_

#include <cstdint>

namespace tutti::server {

class TokenBucket {
 public:
  TokenBucket() = default;
  // Starts full: a client may use its burst right after connecting.
  TokenBucket(double rate_per_second, double burst, int64_t now_us);

  // Takes `cost` tokens if available. A cost above the burst can never succeed.
  bool TryTake(double cost, int64_t now_us);
  double Available(int64_t now_us);

 private:
  void Refill(int64_t now_us);

  double rate_per_us_ = 0;
  double burst_ = 0;
  double tokens_ = 0;
  int64_t last_us_ = 0;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_TOKEN_BUCKET_H_
