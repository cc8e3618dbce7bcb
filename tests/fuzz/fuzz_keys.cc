#include "tests/fuzz/fuzz_keys.h"

#include <sodium.h>
#include <sys/stat.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "crypto/base64url.h"
#include "crypto/sodium_init.h"

namespace tutti::fuzz {
namespace {

// Arbitrary but fixed: bytes 1..32 and 101..132.
std::array<uint8_t, 32> Pattern(uint8_t first) {
  std::array<uint8_t, 32> bytes{};
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(first + i);
  return bytes;
}

const std::array<uint8_t, 32> kSealSecret = Pattern(1);
const std::array<uint8_t, 32> kIssuerSeed = Pattern(101);

std::string KeyLine(const char* kind, const uint8_t* bytes, size_t n) {
  return std::string("tutti-") + kind + "-v1 " +
         crypto::Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(bytes), n)) + "\n";
}

bool WriteFile(const std::filesystem::path& path, const std::string& text, mode_t mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!(out << text)) return false;
  }
  return ::chmod(path.c_str(), mode) == 0;
}

}  // namespace

crypto::IssuerKeys FuzzIssuerKeys() { return crypto::IssuerKeysFromSeed(kIssuerSeed.data()); }

crypto::PublicKey FuzzSealPublicKey() {
  crypto::EnsureSodiumInitialized();
  crypto::PublicKey pk{};
  crypto_scalarmult_base(pk.data(), kSealSecret.data());
  return pk;
}

absl::StatusOr<std::string> WriteFuzzKeyDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/tutti-fuzz-keys-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) {
    return absl::InternalError("cannot create a temporary key directory");
  }
  const std::filesystem::path dir(buffer.data());
  const crypto::PublicKey seal_public = FuzzSealPublicKey();
  const crypto::IssuerKeys issuer = FuzzIssuerKeys();
  bool ok =
      WriteFile(dir / crypto::kSealSecretFile,
                KeyLine("seal-secret", kSealSecret.data(), kSealSecret.size()), 0600) &&
      WriteFile(dir / crypto::kSealPublicFile,
                KeyLine("seal-public", seal_public.data(), seal_public.size()), 0644) &&
      WriteFile(dir / crypto::kIssuerSecretFile,
                KeyLine("issuer-secret", kIssuerSeed.data(), kIssuerSeed.size()), 0600) &&
      WriteFile(dir / crypto::kIssuerPublicFile,
                KeyLine("issuer-public", issuer.public_key.data(), issuer.public_key.size()), 0644);
  if (!ok) {
    RemoveFuzzKeyDir(dir.string());
    return absl::InternalError("cannot write the fuzz key files");
  }
  return dir.string();
}

void RemoveFuzzKeyDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace tutti::fuzz
