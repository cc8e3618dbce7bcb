// Key material and the key files on disk.
//
// Owns: SecretBytes (secrets in sodium_malloc'd memory), the ServerKeys and
// IssuerKeys bundles, and reading/writing the four key files.
// Thread affinity: the file functions are for startup and tools (blocking I/O).
// Loaded key bundles are immutable afterwards and may be read from any thread.
// Owner: the server owns one ServerKeys (moved into its Authenticator); the
// token tool owns an IssuerKeys.
//
// File format (docs/AUTH.md): one line `tutti-<kind>-v1 <base64url>\n`, with
// kinds seal-secret / seal-public (X25519, 32 bytes each) and issuer-secret /
// issuer-public (Ed25519; the secret file holds the 32-byte seed, the portable
// form other languages accept).
#ifndef TUTTI_CRYPTO_KEYS_H_
#define TUTTI_CRYPTO_KEYS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tutti::crypto {

// A fixed-size secret in guarded sodium_malloc'd memory, zeroed when freed.
// Move-only so a secret has exactly one owner and is never copied into
// ordinary heap memory by accident. A moved-from object is empty.
class SecretBytes {
 public:
  SecretBytes() = default;
  // Allocates `size` zeroed bytes; aborts if the allocation fails (startup only).
  explicit SecretBytes(size_t size);
  ~SecretBytes();

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  void Reset();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

using PublicKey = std::array<uint8_t, 32>;

// What the server needs: its sealed-box key pair and the token issuer's
// public key. It never holds the issuer's secret.
struct ServerKeys {
  PublicKey seal_public{};
  SecretBytes seal_secret;  // 32-byte X25519 secret
  PublicKey issuer_public{};
};

// What a token issuer (tutti-token, or a test) needs to sign.
struct IssuerKeys {
  PublicKey public_key{};
  SecretBytes secret_key;  // 64-byte libsodium Ed25519 secret key (seed || public)
};

// File names inside a key directory.
inline constexpr char kSealSecretFile[] = "server_seal.key";
inline constexpr char kSealPublicFile[] = "server_seal.pub";
inline constexpr char kIssuerSecretFile[] = "issuer_sign.key";
inline constexpr char kIssuerPublicFile[] = "issuer_sign.pub";

// Generates a fresh seal key pair and issuer key pair into `dir` (created with
// mode 0700 when missing). Secret files get mode 0600, public files 0644.
// Without `overwrite`, refuses (AlreadyExists) if any of the four files exist.
absl::Status GenerateKeyFiles(const std::string& dir, bool overwrite);

// First-run helper for the server: generates all four files when none of them
// exist and returns true; returns false when the three files the server needs
// (seal pair + issuer public) are present. A partial set is an error rather
// than something to paper over, since regenerating would silently invalidate
// tokens or payloads made for the old keys.
absl::StatusOr<bool> EnsureDevKeys(const std::string& dir);

// Reads server_seal.key, server_seal.pub and issuer_sign.pub, and checks that
// the seal public key matches the secret one.
absl::StatusOr<ServerKeys> LoadServerKeys(const std::string& dir);

// Reads issuer_sign.key (and issuer_sign.pub when present, which must match).
absl::StatusOr<IssuerKeys> LoadIssuerKeys(const std::string& dir);

// Reads server_seal.pub only: all a client needs to build a connect payload.
absl::StatusOr<PublicKey> LoadSealPublicKey(const std::string& dir);

// Builders for tests and tools that want keys without touching the disk.
ServerKeys GenerateServerKeys(const PublicKey& issuer_public);
IssuerKeys GenerateIssuerKeys();
// Deterministic issuer keys from a 32-byte Ed25519 seed (RFC 8032 private key).
IssuerKeys IssuerKeysFromSeed(const uint8_t seed[32]);

// Key text in the file format without the newline, e.g.
// "tutti-seal-public-v1 <base64url>"; `kind` is "seal-public" or "issuer-public".
std::string FormatPublicKeyLine(const char* kind, const PublicKey& key);

}  // namespace tutti::crypto

#endif  // TUTTI_CRYPTO_KEYS_H_
