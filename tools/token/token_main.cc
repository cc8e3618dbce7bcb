// tutti-token: mints a token and a single-use connect URL for development.
// Thin wrapper over crypto::MintDevConnection; all logic lives in the library.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "crypto/authenticator.h"
#include "crypto/dev_connection.h"
#include "crypto/keys.h"

namespace {

constexpr char kUsage[] =
    "usage: tutti-token --keys DIR --user-id ID --name NAME [--member]\n"
    "                   [--roles admin,moderator] [--ttl SECONDS] [--guest]\n"
    "                   [--host HOST] [--port PORT] [--json]\n"
    "\n"
    "Mints an EdDSA token with DIR/issuer_sign.key and seals a connect payload to\n"
    "DIR/server_seal.pub, then prints ws://HOST:PORT/api/websocket/<payload>.\n"
    "\n"
    "  --keys DIR      key directory written by tutti-keygen (required)\n"
    "  --user-id ID    token subject (required unless --guest)\n"
    "  --name NAME     display name (token claim; payload username for guests)\n"
    "  --member        set the member claim\n"
    "  --roles LIST    comma-separated server roles: admin, moderator\n"
    "  --ttl SECONDS   token lifetime (default 3600)\n"
    "  --guest         no token: the server assigns a guest identity\n"
    "  --host HOST     default 127.0.0.1\n"
    "  --port PORT     default 8080\n"
    "  --json          print url, resource, token, socket_id, ts, expires_at and the\n"
    "                  plaintext payload as one JSON object instead of the bare URL\n"
    "\n"
    "Each URL is SINGLE-USE: its socket_id is consumed by the first successful\n"
    "connect, and it goes stale after the server's freshness window (60 s by\n"
    "default). Run the tool again for every connection. The token itself stays\n"
    "valid for --ttl and may be sealed into new payloads by a client.\n";

int Usage(const std::string& problem) {
  std::fprintf(stderr, "tutti-token: %s\n\n%s", problem.c_str(), kUsage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using tutti::crypto::DevConnectionRequest;
  DevConnectionRequest request;
  std::string keys_dir;
  bool json = false;
  bool have_ttl = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_inline = false;
    if (size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_inline = true;
    }
    auto take = [&](std::string* out) {
      if (has_inline) {
        *out = value;
        return true;
      }
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--member") {
      request.member = true;
    } else if (arg == "--guest") {
      request.guest = true;
    } else if (arg == "--json") {
      json = true;
    } else if (arg == "--keys") {
      if (!take(&keys_dir)) return Usage("--keys needs a directory");
    } else if (arg == "--user-id") {
      if (!take(&request.user_id)) return Usage("--user-id needs a value");
    } else if (arg == "--name") {
      if (!take(&request.name)) return Usage("--name needs a value");
    } else if (arg == "--host") {
      if (!take(&request.host)) return Usage("--host needs a value");
    } else if (arg == "--roles") {
      std::string roles;
      if (!take(&roles)) return Usage("--roles needs a value");
      request.roles = absl::StrSplit(roles, ',', absl::SkipEmpty());
    } else if (arg == "--ttl") {
      std::string ttl;
      if (!take(&ttl) || !absl::SimpleAtoi(ttl, &request.ttl_s)) {
        return Usage("--ttl needs a number of seconds");
      }
      have_ttl = true;
    } else if (arg == "--port") {
      std::string port;
      if (!take(&port) || !absl::SimpleAtoi(port, &request.port)) {
        return Usage("--port needs a number");
      }
    } else {
      return Usage("unexpected argument '" + arg + "'");
    }
  }
  if (keys_dir.empty()) return Usage("--keys is required");
  if (!request.guest && request.user_id.empty()) return Usage("--user-id is required");
  if (request.guest && (request.member || !request.roles.empty() || have_ttl)) {
    return Usage("--guest takes no --member, --roles or --ttl (guests have no token)");
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
