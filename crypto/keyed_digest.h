// A 128-bit keyed digest (BLAKE2b via crypto_generichash) used as the key of
// the auth caches, so they never store tokens or socket ids themselves.
//
// Owns: one random per-instance key, drawn at construction.
// Thread affinity: immutable after construction; Digest() may run on any thread.
// Owner: each ReplayCache and TokenCache holds its own.
//
// Keying matters: without the secret an attacker cannot aim inputs at one
// cache stripe or hash bucket, or search for two inputs with the same digest.
#ifndef TUTTI_CRYPTO_KEYED_DIGEST_H_
#define TUTTI_CRYPTO_KEYED_DIGEST_H_

#include <array>
#include <cstdint>
#include <string_view>
#include <utility>

namespace tutti::crypto {

struct Digest128 {
  uint64_t hi = 0, lo = 0;

  friend bool operator==(const Digest128& a, const Digest128& b) {
    return a.hi == b.hi && a.lo == b.lo;
  }
  friend bool operator!=(const Digest128& a, const Digest128& b) { return !(a == b); }
  template <typename H>
  friend H AbslHashValue(H h, const Digest128& d) {
    return H::combine(std::move(h), d.hi, d.lo);
  }
};

class KeyedDigester {
 public:
  KeyedDigester();  // draws a random key
  Digest128 Digest(std::string_view input) const;

 private:
  std::array<uint8_t, 32> key_{};
};

}  // namespace tutti::crypto

#endif  // TUTTI_CRYPTO_KEYED_DIGEST_H_
