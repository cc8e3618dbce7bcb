#include "crypto/dev_connection.h"

#include "absl/strings/str_cat.h"
#include "crypto/json.h"

namespace tutti::crypto {

absl::StatusOr<DevConnection> MintDevConnection(const DevConnectionRequest& request,
                                                const IssuerKeys* issuer,
                                                const PublicKey& seal_public, int64_t now_ms) {
  if (request.port <= 0 || request.port > 65535) {
    return absl::InvalidArgumentError("port must be 1..65535");
  }
  if (request.host.empty()) return absl::InvalidArgumentError("host must not be empty");
  DevConnection c;
  c.payload.username = request.name;
  c.payload.socket_id = RandomSocketId();
  c.payload.ts_ms = now_ms;
  if (!request.resume_token.empty()) {
    c.payload.resume_token = request.resume_token;
    c.payload.resume_room = request.resume_room;
    c.payload.resume_epoch = request.resume_epoch;
    c.payload.resume_offset = request.resume_offset;
  }
  c.payload.link_token = request.link_token;
  if (!request.guest) {
    if (issuer == nullptr) return absl::InvalidArgumentError("an issuer key is needed for tokens");
    if (request.user_id.empty()) return absl::InvalidArgumentError("user id must not be empty");
    if (request.ttl_s <= 0) return absl::InvalidArgumentError("ttl must be positive");
    for (const std::string& role : request.roles) {
      if (role != "admin" && role != "moderator") {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown role \"", role, "\" (admin, moderator)"));
      }
    }
    const int64_t now_s = now_ms / 1000;
    c.claims.sub = request.user_id;
    c.claims.name = request.name;
    c.claims.iss = request.issuer;
    c.claims.jti = RandomSocketId();  // any unique id will do
    c.claims.member = request.member;
    c.claims.roles = request.roles;
    c.claims.iat = now_s;
    c.claims.exp = now_s + request.ttl_s;
    c.token = MintToken(c.claims, *issuer);
    c.payload.uuid = request.user_id;
    c.payload.is_member = request.member;
    c.payload.token = c.token;
  }
  c.resource = BuildConnectResource(c.payload, seal_public);
  std::string host = request.host;
  if (host.find(':') != std::string::npos && host.front() != '[') {
    host = absl::StrCat("[", host, "]");  // IPv6 literal
  }
  c.url = absl::StrCat("ws://", host, ":", request.port, c.resource);
  return c;
}

std::string DevConnectionToJson(const DevConnection& connection) {
  return JsonObjectWriter()
      .String("url", connection.url)
      .String("resource", connection.resource)
      .String("token", connection.token)
      .String("socket_id", connection.payload.socket_id)
      .Int("ts", connection.payload.ts_ms)
      .Int("expires_at", connection.claims.exp)
      .String("payload", ConnectPayloadToJson(connection.payload))
      .Finish();
}

}  // namespace tutti::crypto
