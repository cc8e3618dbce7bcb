// A bounded cache of tokens whose signature already verified, so a reconnect
// with the same token costs only the sealed-box open, not an Ed25519 verify.
//
// Owns: (keyed digest of the token string -> claims), split into stripes, each
// behind its own short mutex. The token text itself is never stored.
// Thread affinity: thread-safe; called from every shard's upgrade handler.
// Owner: the Authenticator.
//
// Only the signature result is cached. exp/nbf are checked by the caller on
// every use, and an entry is dropped once its token has expired. When a stripe
// is full, the entries that would be dropped soonest go (all expired ones
// among them): a miss only costs one verify, so exact LRU order is not worth
// its bookkeeping.
#ifndef TUTTI_CRYPTO_TOKEN_CACHE_H_
#define TUTTI_CRYPTO_TOKEN_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "crypto/jwt.h"
#include "crypto/keyed_digest.h"

namespace tutti::crypto {

class TokenCache {
 public:
  // capacity 0 disables caching.
  explicit TokenCache(size_t capacity);

  TokenCache(const TokenCache&) = delete;
  TokenCache& operator=(const TokenCache&) = delete;

  // Copies the cached claims of `token` into `*claims`. An entry whose
  // drop_after_s is <= now_unix_s is removed and reported as a miss.
  bool Lookup(std::string_view token, int64_t now_unix_s, TokenClaims* claims);

  // Caches claims of a token that verified; kept until drop_after_s.
  void Insert(std::string_view token, const TokenClaims& claims, int64_t drop_after_s,
              int64_t now_unix_s);

  size_t size() const;

 private:
  struct Entry {
    TokenClaims claims;
    int64_t drop_after_s = 0;
  };
  struct Stripe {
    mutable absl::Mutex mu;
    absl::flat_hash_map<Digest128, Entry> entries ABSL_GUARDED_BY(mu);
  };
  static constexpr size_t kStripes = 8;

  KeyedDigester digester_;
  size_t per_stripe_capacity_;
  std::unique_ptr<Stripe[]> stripes_;
};

}  // namespace tutti::crypto

#endif  // TUTTI_CRYPTO_TOKEN_CACHE_H_
