// tutti-keygen: creates the four key files in a directory (docs/AUTH.md).
// Thin wrapper over crypto::GenerateKeyFiles; all logic lives in the library.
#include <cstdio>
#include <cstring>
#include <string>

#include "crypto/keys.h"

namespace {

constexpr char kUsage[] =
    "usage: tutti-keygen --dir DIR [--force]\n"
    "\n"
    "Writes into DIR (created with mode 0700 if missing):\n"
    "  server_seal.key   X25519 secret the server opens connect payloads with (0600)\n"
    "  server_seal.pub   X25519 public key clients seal payloads to (0644)\n"
    "  issuer_sign.key   Ed25519 seed that signs tokens (0600); keep it off the server\n"
    "                    in production, where only issuer_sign.pub is needed\n"
    "  issuer_sign.pub   Ed25519 public key the server verifies tokens with (0644)\n"
    "\n"
    "Refuses to touch existing files unless --force is given; replacing keys\n"
    "invalidates every token and payload made with the old ones.\n";

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  bool force = false;
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (std::strcmp(arg, "--help") == 0 || std::strcmp(arg, "-h") == 0) {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (std::strcmp(arg, "--force") == 0) {
      force = true;
    } else if (std::strcmp(arg, "--dir") == 0 && i + 1 < argc) {
      dir = argv[++i];
    } else if (std::strncmp(arg, "--dir=", 6) == 0) {
      dir = arg + 6;
    } else {
      std::fprintf(stderr, "tutti-keygen: unexpected argument '%s'\n\n%s", arg, kUsage);
      return 2;
    }
  }
  if (dir.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  absl::Status status = tutti::crypto::GenerateKeyFiles(dir, force);
  if (!status.ok()) {
    std::fprintf(stderr, "tutti-keygen: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  absl::StatusOr<tutti::crypto::ServerKeys> keys = tutti::crypto::LoadServerKeys(dir);
  if (!keys.ok()) {
    std::fprintf(stderr, "tutti-keygen: wrote keys but cannot read them back: %s\n",
                 std::string(keys.status().message()).c_str());
    return 1;
  }
  std::printf("wrote %s/{server_seal.key,server_seal.pub,issuer_sign.key,issuer_sign.pub}\n",
              dir.c_str());
  std::printf("%s\n%s\n",
              tutti::crypto::FormatPublicKeyLine("seal-public", keys->seal_public).c_str(),
              tutti::crypto::FormatPublicKeyLine("issuer-public", keys->issuer_public).c_str());
  return 0;
}
