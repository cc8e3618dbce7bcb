#include "crypto/sealed_box.h"

#include <sodium.h>

#include "crypto/sodium_init.h"

namespace tutti::crypto {

static_assert(crypto_box_SEALBYTES == kSealOverheadBytes);

std::string Seal(std::string_view plaintext, const PublicKey& recipient) {
  EnsureSodiumInitialized();
  std::string out(plaintext.size() + crypto_box_SEALBYTES, '\0');
  crypto_box_seal(reinterpret_cast<unsigned char*>(out.data()),
                  reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
                  recipient.data());
  return out;
}

absl::StatusOr<std::string> OpenSealed(std::string_view ciphertext, const ServerKeys& keys) {
  EnsureSodiumInitialized();
  if (ciphertext.size() < crypto_box_SEALBYTES) {
    return absl::InvalidArgumentError("sealed box too short");
  }
  if (keys.seal_secret.size() != crypto_box_SECRETKEYBYTES) {
    return absl::FailedPreconditionError("no seal secret key loaded");
  }
  std::string out(ciphertext.size() - crypto_box_SEALBYTES, '\0');
  if (crypto_box_seal_open(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(ciphertext.data()),
                           ciphertext.size(), keys.seal_public.data(),
                           keys.seal_secret.data()) != 0) {
    return absl::UnauthenticatedError("sealed box does not open with this key");
  }
  return out;
}

}  // namespace tutti::crypto
