// Fixed key material for the crypto fuzz targets and the tool that writes their seeds.
//
// Owns: the test-only seal secret and issuer seed, the fixed "now" the targets run at,
// and writing them as a key directory in the real file format.
// Thread affinity: any thread (constants and pure functions; the writer does blocking I/O).
// Owner: fuzz_jwt.cc, fuzz_authenticator.cc and make_fuzz_seeds.cc.
//
// Fixed rather than generated keys, so that checked-in seeds (signed tokens, sealed
// connect payloads) stay valid and reach the code behind the signature and the box.
// These keys protect nothing; never use them outside tests.
#ifndef TUTTI_TESTS_FUZZ_FUZZ_KEYS_H_
#define TUTTI_TESTS_FUZZ_FUZZ_KEYS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "crypto/keys.h"

namespace tutti::fuzz {

// The wall clock the targets see: 2026-01-01T00:00:00Z. Seeds are stamped near it.
inline constexpr int64_t kFuzzNowMs = 1767225600000;
inline constexpr int64_t kFuzzNowS = kFuzzNowMs / 1000;

crypto::IssuerKeys FuzzIssuerKeys();
crypto::PublicKey FuzzSealPublicKey();

// Makes a fresh directory under $TMPDIR (or /tmp), writes the four key files there with
// the modes the loader insists on, and returns its path.
absl::StatusOr<std::string> WriteFuzzKeyDir();

// Removes a directory made by WriteFuzzKeyDir (best effort).
void RemoveFuzzKeyDir(const std::string& dir);

}  // namespace tutti::fuzz

#endif  // TUTTI_TESTS_FUZZ_FUZZ_KEYS_H_
