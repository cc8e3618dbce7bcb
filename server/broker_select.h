// MakeShardBroker: the broker engine a shard uses — the in-process engine (the embedded
// default) or, with --redis, the Redis engine (rooms across nodes). The only place that
// knows both engines.
// The Redis primaries are set once by tutti-server's main (SetRedisPrimaries) before
// the Server and its shards are built, and only read afterwards; they are not in
// ServerConfig yet, so that adding them did not change a header every server file
// includes (moving them there is a one-line follow-up).
// Thread affinity: SetRedisPrimaries on the main thread before start; MakeShardBroker in
// the Shard's constructor (the engine then belongs to the shard's thread and runs on
// `io`); StopShardBroker on that shard's thread. Owner of the result: the Shard.
#ifndef TUTTI_SERVER_BROKER_SELECT_H_
#define TUTTI_SERVER_BROKER_SELECT_H_

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "server/broker.h"
#include "server/clock.h"
#include "server/config.h"

namespace tutti::server {

// "HOST:PORT" each (checked by the flags); empty = the in-process engine.
void SetRedisPrimaries(std::vector<std::string> primaries);

std::unique_ptr<Broker> MakeShardBroker(boost::asio::io_context& io, const Clock* clock,
                                        const ServerConfig& config);

// The shard is shutting down and its sessions are gone: a networked engine closes its
// links so that the shard's event loop runs dry. Nothing for the in-process engine.
void StopShardBroker(Broker* broker);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_BROKER_SELECT_H_
