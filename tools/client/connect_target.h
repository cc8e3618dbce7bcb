// Where a command-line tool connects: either a full connect URL, or key files from which
// a fresh token and sealed payload are minted. Shared by tutti-cli and
// tutti-midi-bridge. Stateless functions; any thread.
#ifndef TUTTI_TOOLS_CLIENT_CONNECT_TARGET_H_
#define TUTTI_TOOLS_CLIENT_CONNECT_TARGET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tutti::client {

struct ConnectOptions {
  std::string url;   // ws://host:port/api/websocket/<payload>; wins when set
  std::string keys;  // key directory, used when url is empty
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string name;
  std::string user_id;  // default: id_prefix + name
  std::string id_prefix = "cli-";
  bool guest = false;
  std::vector<std::string> roles;
  int64_t token_ttl_s = 3600;  // lifetime of minted tokens (TokenRefresher renews them)
  // Resume a dropped session (ResumeState::Fill): the last Welcome's token and the last
  // room position seen. Only with keys: a --url payload is fixed.
  std::string resume_token, resume_room, resume_epoch;
  uint64_t resume_offset = 0;
  std::string link_token;  // a linked connection (docs/PROTOCOL.md §16)
};

struct ConnectTarget {
  std::string host;
  int port = 0;
  std::string resource;  // "/api/websocket/<payload>"
};

// INVALID_ARGUMENT when neither url nor keys is given; key loading and minting errors
// otherwise. A minted payload is single use: resolve again for every connect.
absl::StatusOr<ConnectTarget> ResolveConnectTarget(const ConnectOptions& options);

}  // namespace tutti::client

#endif  // TUTTI_TOOLS_CLIENT_CONNECT_TARGET_H_
