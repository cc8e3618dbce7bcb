// tutti-token: mints a token and a single-use connect URL for development.
// Thin wrapper over crypto::MintDevConnection; all logic lives in the library.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/types/optional.h"
#include "crypto/authenticator.h"
#include "crypto/dev_connection.h"
#include "crypto/keys.h"
#include "tools/common/main_flags.h"

ABSL_FLAG(std::string, keys, "", "key directory written by tutti-keygen (required)");
ABSL_FLAG(std::string, user_id, "", "token subject (required unless --guest)");
ABSL_FLAG(std::string, name, "", "display name (token claim; payload username for guests)");
ABSL_FLAG(bool, member, false, "set the member claim");
ABSL_FLAG(std::vector<std::string>, roles, {}, "comma-separated server roles: admin, moderator");
ABSL_FLAG(absl::optional<int64_t>, ttl, absl::nullopt, "token lifetime in seconds (default 3600)");
ABSL_FLAG(bool, guest, false, "no token: the server assigns a guest identity");
ABSL_FLAG(std::string, host, "127.0.0.1", "server host put in the URL");
ABSL_FLAG(int, port, 8080, "server port put in the URL");
ABSL_FLAG(bool, json, false,
          "print url, resource, token, socket_id, ts, expires_at and the plaintext payload as "
          "one JSON object instead of the bare URL");

namespace {

constexpr char kUsage[] =
    "mints a token and a single-use connect URL for development. Usage:\n"
    "  tutti-token --keys DIR --user-id ID --name NAME [--member]\n"
    "              [--roles admin,moderator] [--ttl SECONDS] [--guest]\n"
    "              [--host HOST] [--port PORT] [--json]\n"
    "\n"
    "Mints an EdDSA token with DIR/issuer_sign.key and seals a connect payload to\n"
    "DIR/server_seal.pub, then prints ws://HOST:PORT/api/websocket/<payload>.\n"
    "\n"
    "Each URL is SINGLE-USE: its socket_id is consumed by the first successful\n"
    "connect, and it goes stale after the server's freshness window (60 s by\n"
    "default). Run the tool again for every connection. The token itself stays\n"
    "valid for --ttl and may be sealed into new payloads by a client.";

}  // namespace

int main(int argc, char** argv) {
  using tutti::main_support::UsageError;
  tutti::main_support::ParseFlags(argc, argv, kUsage);
  tutti::crypto::DevConnectionRequest request;
  const std::string keys_dir = absl::GetFlag(FLAGS_keys);
  const bool json = absl::GetFlag(FLAGS_json);
  request.user_id = absl::GetFlag(FLAGS_user_id);
  request.name = absl::GetFlag(FLAGS_name);
  request.member = absl::GetFlag(FLAGS_member);
  request.guest = absl::GetFlag(FLAGS_guest);
  request.host = absl::GetFlag(FLAGS_host);
  request.port = absl::GetFlag(FLAGS_port);
  for (const std::string& role : absl::GetFlag(FLAGS_roles)) {
    if (!role.empty()) request.roles.push_back(role);
  }
  const absl::optional<int64_t> ttl = absl::GetFlag(FLAGS_ttl);
  if (ttl.has_value()) request.ttl_s = *ttl;
  if (keys_dir.empty()) UsageError("--keys is required");
  if (!request.guest && request.user_id.empty()) UsageError("--user-id is required");
  if (request.guest && (request.member || !request.roles.empty() || ttl.has_value())) {
    UsageError("--guest takes no --member, --roles or --ttl (guests have no token)");
  }

  absl::StatusOr<tutti::crypto::PublicKey> seal_public = tutti::crypto::LoadSealPublicKey(keys_dir);
  if (!seal_public.ok()) {
    std::fprintf(stderr, "tutti-token: %s\n", std::string(seal_public.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<tutti::crypto::IssuerKeys> issuer;
  if (!request.guest) {
    issuer = tutti::crypto::LoadIssuerKeys(keys_dir);
    if (!issuer.ok()) {
      std::fprintf(stderr, "tutti-token: %s\n", std::string(issuer.status().message()).c_str());
      return 1;
    }
  }
  absl::StatusOr<tutti::crypto::DevConnection> connection = tutti::crypto::MintDevConnection(
      request, request.guest ? nullptr : &*issuer, *seal_public, tutti::crypto::WallClockUnixMs());
  if (!connection.ok()) {
    std::fprintf(stderr, "tutti-token: %s\n", std::string(connection.status().message()).c_str());
    return 1;
  }
  if (json) {
    std::printf("%s\n", tutti::crypto::DevConnectionToJson(*connection).c_str());
  } else {
    std::printf("%s\n", connection->url.c_str());
  }
  return 0;
}
