// MakeShardBroker: the broker engine a shard uses, chosen by the configuration — the
// in-process engine (the embedded default) or, with --redis, the Redis engine (rooms
// across nodes). The only place that knows both engines.
// Thread affinity: called by the Shard's constructor; the engine then belongs to the
// shard's thread (it runs on `io`). Owner of the result: the Shard.
#ifndef TUTTI_SERVER_BROKER_SELECT_H_
#define TUTTI_SERVER_BROKER_SELECT_H_

#include <memory>

#include <boost/asio/io_context.hpp>

#include "server/broker.h"
#include "server/clock.h"
#include "server/config.h"

namespace tutti::server {

std::unique_ptr<Broker> MakeShardBroker(boost::asio::io_context& io, const Clock* clock,
                                        const ServerConfig& config);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_BROKER_SELECT_H_
