#include "tools/client/connect_flags.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "tools/common/main_flags.h"

ABSL_FLAG(std::string, url, "",
          "a ready-made connect URL (ws://host:port/api/websocket/...); single use");
ABSL_FLAG(std::string, keys, "",
          "mint a fresh connect payload (and token) from the server's key files in this "
          "directory, for every connect");
ABSL_FLAG(std::string, host, "127.0.0.1", "server address, with --keys");
ABSL_FLAG(int, port, 8080, "server port, with --keys");
ABSL_FLAG(std::string, name, "", "display name, with --keys (default: the program's)");
ABSL_FLAG(std::string, user_id, "", "token subject, with --keys (default: a prefix + the name)");
ABSL_FLAG(bool, guest, false, "connect without a token (the server names the guest)");
ABSL_FLAG(std::vector<std::string>, roles, {},
          "comma-separated server roles put in the minted token: admin, moderator");
ABSL_FLAG(int64_t, token_ttl, 3600,
          "with --keys: minted tokens last this many seconds; the token is renewed on the open "
          "connection before it runs out");

namespace tutti::client {

ConnectOptions ConnectOptionsFromFlags(const std::string& default_name,
                                       const std::string& id_prefix) {
  ConnectOptions o;
  o.url = absl::GetFlag(FLAGS_url);
  o.keys = absl::GetFlag(FLAGS_keys);
  o.host = absl::GetFlag(FLAGS_host);
  o.port = absl::GetFlag(FLAGS_port);
  o.name = absl::GetFlag(FLAGS_name);
  if (o.name.empty()) o.name = default_name;
  o.user_id = absl::GetFlag(FLAGS_user_id);
  o.id_prefix = id_prefix;
  o.guest = absl::GetFlag(FLAGS_guest);
  for (const std::string& role : absl::GetFlag(FLAGS_roles)) {
    if (!role.empty()) o.roles.push_back(role);
  }
  o.token_ttl_s = absl::GetFlag(FLAGS_token_ttl);
  if (o.url.empty() && o.keys.empty()) main_support::UsageError("give --url or --keys");
  if (o.token_ttl_s < 1) main_support::UsageError("--token-ttl must be at least 1 second");
  if (o.port < 1 || o.port > 65535) main_support::UsageError("--port must be 1 to 65535");
  return o;
}

}  // namespace tutti::client
