// Endpoint: the only file pair that knows websocketpp. One per shard: a websocketpp
// server on the shard's io_context, listening with SO_REUSEPORT on the shared port so
// the kernel spreads connections over shards. It runs the upgrade gate (auth, limits)
// before any upgrade, turns frames into EndpointHost::HandleFrame calls and implements
// SessionLink. It sees its shard only as an EndpointHost and the process only through
// that host's Cluster and DoorServices (endpoint_host.h), never Shard or Server.
// Owned by its Shard; used only on that shard's thread.
#ifndef TUTTI_SERVER_ENDPOINT_H_
#define TUTTI_SERVER_ENDPOINT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"

namespace tutti::server {

class EndpointHost;

class Endpoint {
 public:
  explicit Endpoint(EndpointHost* host);
  ~Endpoint();

  absl::Status Listen(const std::string& address, uint16_t port);
  uint16_t LocalPort() const;
  void StopListening();
  // Bytes queued to this endpoint's connections that the kernel has not taken yet (a
  // running sum kept by the connections, so reading it costs nothing per connection).
  size_t QueuedBytes() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_ENDPOINT_H_
