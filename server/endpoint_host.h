// EndpointHost: what an Endpoint needs of the shard it serves: its loop and index, the
// sessions it adds, finds and loses, the frames it hands over, the counters the door keeps,
// and the audit record of an automatic ban. Shard implements it, so
// the Endpoint (the transport) includes this interface and not shard.h, and the include
// graph runs one way: Shard -> Endpoint -> EndpointHost.
//
// Thread affinity: every call on the shard's own thread (the Endpoint runs on the shard's
// io_context). Ownership: implemented by Shard, which owns its Endpoint and outlives it.
#ifndef TUTTI_SERVER_ENDPOINT_HOST_H_
#define TUTTI_SERVER_ENDPOINT_HOST_H_

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "crypto/authenticator.h"
#include "server/cluster.h"
#include "server/door_services.h"
#include "server/ids.h"
#include "server/metrics/labels.h"
#include "server/metrics/shard_counter.h"
#include "server/moderation/audit.h"
#include "server/session.h"

namespace tutti::server {

// The door's counters, part of the shard's Counters (relaxed atomics written by the shard's
// thread, read by the admin listener's scrape).
struct EndpointCounters {
  metrics::ShardCounter connections_opened;
  metrics::ShardCounter connections_closed;
  metrics::CloseCodeCounters closes;  // by the close code the server sent
  metrics::RefusalCounters refusals;  // upgrades refused, by HTTP status and reason
};

class EndpointHost {
 public:
  virtual ~EndpointHost() = default;

  virtual int index() const = 0;
  virtual boost::asio::io_context& io() = 0;
  virtual Cluster& cluster() = 0;
  virtual DoorServices& door() = 0;
  virtual EndpointCounters& endpoint_counters() = 0;

  // A connection passed the gate and upgraded: its session, with what it asked to resume.
  virtual Session* AddSession(crypto::Identity identity, std::unique_ptr<SessionLink> link,
                              ResumeRequest resume) = 0;
  virtual Session* FindSession(SessionId id) = 0;
  // The connection of `id` is gone (`peer_code`: the client's close code, 1006 without one).
  virtual void ConnectionLost(SessionId id, uint16_t peer_code) = 0;
  virtual void HandleFrame(SessionId id, const std::string& payload, bool binary) = 0;
  // A linked connection (docs/PROTOCOL.md §16): the gate let it in with a link token in
  // `identity`; it gets a link id (not a session), its frames and its loss by that id.
  virtual SessionId AddLinkConnection(crypto::Identity identity,
                                      std::unique_ptr<SessionLink> conn) = 0;
  virtual void HandleLinkFrame(SessionId link, const std::string& payload, bool binary) = 0;
  virtual void LinkConnectionLost(SessionId link) = 0;
  // Writes `rec` to the audit log on the storage thread (nothing comes back; dropped when
  // the storage queue is full).
  virtual void AppendAuditDetached(moderation::AuditRecord rec) = 0;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_ENDPOINT_HOST_H_
