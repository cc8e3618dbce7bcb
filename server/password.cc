#include "server/password.h"

#include <sodium.h>

#include "crypto/sodium_init.h"

namespace tutti::server {

std::string HashPassword(const std::string& password) {
  crypto::EnsureSodiumInitialized();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return {};
  }
  return std::string(out);
}

bool VerifyPassword(const std::string& hash, const std::string& password) {
  crypto::EnsureSodiumInitialized();
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  char buf[crypto_pwhash_STRBYTES] = {};
  hash.copy(buf, hash.size());
  return crypto_pwhash_str_verify(buf, password.data(), password.size()) == 0;
}

}  // namespace tutti::server
