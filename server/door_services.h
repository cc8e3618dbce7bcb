// DoorServices: the server-wide parts the front door uses and the shards' own work does
// not: the connection limits (ceiling, per-address caps), the failed-auth brake, the
// trusted proxies, the plain-HTTP site and whether maintenance mode is on. With Cluster
// (clock, config, authenticator, bans, log, resume tokens) it is all an Endpoint reaches of the
// process, so the Endpoint depends on these two interfaces and never on Server.
//
// Thread affinity: any shard thread (every implementation is immutable after Start or
// thread-safe). Ownership: implemented and owned by Server, which outlives every shard.
#ifndef TUTTI_SERVER_DOOR_SERVICES_H_
#define TUTTI_SERVER_DOOR_SERVICES_H_

#include <string>

namespace tutti::server {

class HttpSite;
namespace moderation {
class AuthFailureTracker;
class ConnectionLimits;
class TrustedProxies;
}  // namespace moderation

class DoorServices {
 public:
  virtual ~DoorServices() = default;

  // Plain-HTTP answers (static files, /api/server-info, /healthz); immutable.
  virtual const HttpSite& http_site() const = 0;
  // Addresses that keep failing the upgrade are refused for a while.
  virtual moderation::AuthFailureTracker& auth_failures() = 0;
  // The door's counters (ceiling, per-address limits).
  virtual moderation::ConnectionLimits& connection_limits() = 0;
  // --trusted-proxy and --proxy-header; read-only after Start.
  virtual const moderation::TrustedProxies& trusted_proxies() const = 0;
  // Whether maintenance mode keeps everyone but staff out, and the reason it gives (the
  // one thing the door needs of Maintenance, which itself reaches the shards).
  virtual bool InMaintenance(std::string* reason) const = 0;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_DOOR_SERVICES_H_
