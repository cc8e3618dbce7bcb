// Minting a ready-to-use connect URL for development, tests and load tools:
// a token signed by the issuer key plus a fresh sealed connect payload.
//
// Owns: the glue tutti-token needs, kept in the library so tests exercise
// exactly what the tool prints.
// Thread affinity: any thread.
// Owner: tutti-token, test clients and load generators.
//
// A minted payload is single-use (its socket_id is consumed on the first
// successful connect) and goes stale after the server's window (60 s by
// default). The token inside can be reused in new payloads until it expires.
#ifndef TUTTI_CRYPTO_DEV_CONNECTION_H_
#define TUTTI_CRYPTO_DEV_CONNECTION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/connect_payload.h"
#include "crypto/jwt.h"
#include "crypto/keys.h"

namespace tutti::crypto {

struct DevConnectionRequest {
  std::string user_id;  // token `sub` and payload `uuid`; ignored for guests
  std::string name;     // token `name`, and the payload username
  bool member = false;
  std::vector<std::string> roles;
  int64_t ttl_s = 3600;
  bool guest = false;  // no token at all: the server makes a guest identity
  std::string issuer = "tutti-token";
  std::string host = "127.0.0.1";
  int port = 8080;
  // Resume a dropped session (docs/PROTOCOL.md §12): the Welcome's token and the last room
  // position seen; an empty token asks for none.
  std::string resume_token, resume_room, resume_epoch;
  int64_t resume_offset = 0;
  // A linked connection (docs/PROTOCOL.md §16): LinkStatus.link_token; empty for none.
  std::string link_token;
};

struct DevConnection {
  std::string token;  // empty for guests
  TokenClaims claims;
  ConnectPayload payload;
  std::string resource;  // "/api/websocket/<payload>"
  std::string url;       // "ws://host:port" + resource
};

// `issuer` may be null for guests. InvalidArgument for a request that cannot
// make a valid token (empty user id, ttl <= 0, unknown role, bad port).
absl::StatusOr<DevConnection> MintDevConnection(const DevConnectionRequest& request,
                                                const IssuerKeys* issuer,
                                                const PublicKey& seal_public, int64_t now_ms);

// {"url","resource","token","socket_id","ts","expires_at","payload"} where
// payload is the plaintext connect JSON as an escaped string.
std::string DevConnectionToJson(const DevConnection& connection);

}  // namespace tutti::crypto

#endif  // TUTTI_CRYPTO_DEV_CONNECTION_H_
