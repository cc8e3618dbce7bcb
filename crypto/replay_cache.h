// Remembers which connect-payload socket ids were used, so each sealed payload
// opens a session at most once within its validity window.
//
// Owns: a bounded set of (keyed digest of socket_id -> expiry), split into
// stripes, each behind its own short mutex.
// Thread affinity: thread-safe; called from every shard's upgrade handler.
// Owner: the Authenticator.
//
// Bounding: each stripe keeps insertion order and drops expired entries from
// the front as it goes. When a stripe is full of live entries, the oldest is
// evicted and counted (evictions()); an evicted id could be replayed until its
// expiry, so size the cache for peak connects per window (the default 200000
// covers ~3300 connects/s for 60 s).
#ifndef TUTTI_CRYPTO_REPLAY_CACHE_H_
#define TUTTI_CRYPTO_REPLAY_CACHE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "crypto/keyed_digest.h"

namespace tutti::crypto {

class ReplayCache {
 public:
  explicit ReplayCache(size_t capacity);

  ReplayCache(const ReplayCache&) = delete;
  ReplayCache& operator=(const ReplayCache&) = delete;

  // Records `id` as used until `expires_at_ms`. Returns false (and changes
  // nothing) when `id` is already recorded with an expiry after `now_ms`.
  // Atomic: of two concurrent calls with the same id, exactly one succeeds.
  bool Insert(std::string_view id, int64_t now_ms, int64_t expires_at_ms);

  size_t size() const;
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }

 private:
  struct Stripe {
    mutable absl::Mutex mu;
    absl::flat_hash_map<Digest128, int64_t> expiry ABSL_GUARDED_BY(mu);
    // Insertion order, for pruning and eviction. May hold stale pairs for ids
    // that were re-inserted; those are recognised by a differing expiry.
    std::deque<std::pair<Digest128, int64_t>> order ABSL_GUARDED_BY(mu);
  };
  static constexpr size_t kStripes = 16;

  KeyedDigester digester_;
  size_t per_stripe_capacity_;
  std::unique_ptr<Stripe[]> stripes_;
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace tutti::crypto

#endif  // TUTTI_CRYPTO_REPLAY_CACHE_H_
