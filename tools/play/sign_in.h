// Sign-in for tutti-play: as a guest, or as a member with a token that the server's operator
// handed out (tutti-token on a self-hosted server; a site's own issuer elsewhere). The player's
// machine never holds the issuer's secret key: it holds a token, and seals a fresh connect
// payload around it for every connection with the server's public seal key, which it reads from
// the server's /api/server-info document (docs/AUTH.md).
//
// Owns: nothing long-lived (SignIn keeps the token and the server's seal key).
// Thread affinity: any thread; FetchServerInfo blocks (bounded by its timeout).
// Who owns it: tutti-play's main; its tests.
#ifndef TUTTI_TOOLS_PLAY_SIGN_IN_H_
#define TUTTI_TOOLS_PLAY_SIGN_IN_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "crypto/keys.h"

namespace tutti::play {

struct ServerInfo {
  crypto::PublicKey seal_public{};
  bool guests_allowed = true;
  std::string version;
};

// GET http://host:port/api/server-info. Unavailable when the server cannot be reached in
// `timeout`; InvalidArgument when the answer is not a server-info document.
absl::StatusOr<ServerInfo> FetchServerInfo(const std::string& host, int port,
                                           std::chrono::milliseconds timeout);
// The same from the document's text (the HTTP body).
absl::StatusOr<ServerInfo> ParseServerInfo(const std::string& json);

// The token to sign in with: the file's contents when `token_file` is given, else the
// TUTTI_TOKEN environment variable, else "" (a guest). Whitespace around it is dropped.
absl::StatusOr<std::string> LoadToken(const std::string& token_file);

// The user id (`sub`) and display name inside a token, read without checking the signature
// (the server checks it): the payload's uuid must equal the token's subject.
struct TokenIdentity {
  std::string user_id;
  std::string name;
  int64_t expires_unix_s = 0;
};
absl::StatusOr<TokenIdentity> ReadTokenIdentity(const std::string& token);

// The keys of a resume request (docs/PROTOCOL.md §12): an empty token asks for none.
struct ResumeKeys {
  std::string token, room, epoch;
  uint64_t offset = 0;
};

// A fresh single-use "/api/websocket/<payload>" for `name` (guest when token is empty),
// asking to resume a dropped session when `resume` has a token, or attaching a linked
// connection to a session when `link_token` (its LinkStatus.link_token) is given.
std::string BuildResource(const ServerInfo& info, const std::string& name, const std::string& token,
                          int64_t now_unix_ms, const ResumeKeys& resume = {},
                          const std::string& link_token = "");

}  // namespace tutti::play

#endif  // TUTTI_TOOLS_PLAY_SIGN_IN_H_
