// Anonymous sealed boxes (libsodium crypto_box_seal): X25519 + XSalsa20-Poly1305
// with an ephemeral sender key, so anyone holding only the server's public key
// (a browser, the token tool) can encrypt a connect payload for it.
//
// Owns: nothing; thin wrappers that keep libsodium's buffer rules in one place.
// Thread affinity: any thread.
// Owner: the Authenticator opens; clients and tools seal.
//
// A sealed box gives confidentiality and integrity, not sender authenticity:
// anyone can seal. Who the sender is comes from the token inside.
#ifndef TUTTI_CRYPTO_SEALED_BOX_H_
#define TUTTI_CRYPTO_SEALED_BOX_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/keys.h"

namespace tutti::crypto {

// Bytes a sealed box adds to its plaintext (ephemeral public key + MAC).
inline constexpr size_t kSealOverheadBytes = 48;

std::string Seal(std::string_view plaintext, const PublicKey& recipient);

// InvalidArgument if `ciphertext` is shorter than the overhead; Unauthenticated
// if it was not sealed to `keys.seal_public` or was altered.
absl::StatusOr<std::string> OpenSealed(std::string_view ciphertext, const ServerKeys& keys);

}  // namespace tutti::crypto

#endif  // TUTTI_CRYPTO_SEALED_BOX_H_
