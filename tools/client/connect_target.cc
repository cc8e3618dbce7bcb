#include "tools/client/connect_target.h"

#include <chrono>
#include <cstdlib>

#include "crypto/dev_connection.h"
#include "crypto/keys.h"
#include "crypto/sodium_init.h"

namespace tutti::client {

absl::StatusOr<ConnectTarget> ResolveConnectTarget(const ConnectOptions& o) {
  ConnectTarget t;
  t.host = o.host;
  t.port = o.port;
  if (!o.url.empty()) {
    std::string rest = o.url.rfind("ws://", 0) == 0 ? o.url.substr(5) : o.url;
    size_t slash = rest.find('/');
    std::string hostport = rest.substr(0, slash);
    t.resource = slash == std::string::npos ? "/" : rest.substr(slash);
    size_t colon = hostport.rfind(':');
    t.host = hostport.substr(0, colon);
    if (colon != std::string::npos) t.port = std::atoi(hostport.substr(colon + 1).c_str());
    return t;
  }
  if (o.keys.empty()) return absl::InvalidArgumentError("give --url or --keys");
  crypto::EnsureSodiumInitialized();
  auto seal = crypto::LoadSealPublicKey(o.keys);
  if (!seal.ok()) return seal.status();
  crypto::DevConnectionRequest req;
  req.user_id = o.user_id.empty() ? o.id_prefix + o.name : o.user_id;
  req.name = o.name;
  req.member = !o.guest;
  req.guest = o.guest;
  req.roles = o.roles;
  req.ttl_s = o.token_ttl_s;
  req.host = o.host;
  req.port = o.port;
  req.resume_token = o.resume_token;
  req.resume_room = o.resume_room;
  req.resume_epoch = o.resume_epoch;
  req.resume_offset = static_cast<int64_t>(o.resume_offset);
  req.link_token = o.link_token;
  absl::StatusOr<crypto::IssuerKeys> issuer;
  if (!o.guest) {
    issuer = crypto::LoadIssuerKeys(o.keys);
    if (!issuer.ok()) return issuer.status();
  }
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  auto dev = crypto::MintDevConnection(req, o.guest ? nullptr : &*issuer, *seal, now_ms);
  if (!dev.ok()) return dev.status();
  t.resource = dev->resource;
  return t;
}

}  // namespace tutti::client
