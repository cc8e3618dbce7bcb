// tutti-keygen: creates the four key files in a directory (docs/AUTH.md).
// Thin wrapper over crypto::GenerateKeyFiles; all logic lives in the library.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "crypto/keys.h"
#include "tools/common/main_flags.h"

ABSL_FLAG(std::string, dir, "", "directory to write the four key files into (required)");
ABSL_FLAG(bool, force, false,
          "replace existing key files (invalidates every token and payload made with them)");

namespace {

constexpr char kUsage[] =
    "writes a Tutti key set (docs/AUTH.md). Usage: tutti-keygen --dir DIR [--force]\n"
    "\n"
    "Writes into DIR (created with mode 0700 if missing):\n"
    "  server_seal.key   X25519 secret the server opens connect payloads with (0600)\n"
    "  server_seal.pub   X25519 public key clients seal payloads to (0644)\n"
    "  issuer_sign.key   Ed25519 seed that signs tokens (0600); keep it off the server\n"
    "                    in production, where only issuer_sign.pub is needed\n"
    "  issuer_sign.pub   Ed25519 public key the server verifies tokens with (0644)\n"
    "\n"
    "Refuses to touch existing files unless --force is given; replacing keys\n"
    "invalidates every token and payload made with the old ones.";

}  // namespace

int main(int argc, char** argv) {
  tutti::main_support::ParseFlags(argc, argv, kUsage);
  const std::string dir = absl::GetFlag(FLAGS_dir);
  const bool force = absl::GetFlag(FLAGS_force);
  if (dir.empty()) tutti::main_support::UsageError("--dir is required");
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
