#include "crypto/keyed_digest.h"

#include <sodium.h>

#include <cstring>

#include "crypto/sodium_init.h"

namespace tutti::crypto {

KeyedDigester::KeyedDigester() {
  EnsureSodiumInitialized();
  randombytes_buf(key_.data(), key_.size());
}

Digest128 KeyedDigester::Digest(std::string_view input) const {
  static_assert(crypto_generichash_BYTES_MIN <= 16);
  unsigned char out[16];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size(), key_.data(), key_.size());
  Digest128 d;
  std::memcpy(&d.hi, out, 8);
  std::memcpy(&d.lo, out + 8, 8);
  return d;
}

}  // namespace tutti::crypto
