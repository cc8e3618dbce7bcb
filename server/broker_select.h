// MakeShardBroker: the broker engine a shard uses — the in-process engine (the embedded
// default) or, with --redis, the Redis engine (rooms across nodes). The only place that
// knows both engines.
// The Redis primaries are set once by tutti-server's main (SetRedisPrimaries) before
// the Server and its shards are built, and only read afterwards; they are not in
// ServerConfig yet, so that adding them did not change a header every server file
// includes (moving them there is a one-line follow-up).
// It also keeps the process's view of Redis for the operator (ReadRedisHealth: relaxed
// atomics written by the shards' engines, read by the admin listener's scrape).
// Thread affinity: SetRedisPrimaries on the main thread before start; MakeShardBroker in
// the Shard's constructor (the engine then belongs to the shard's thread and runs on
// `io`); StopShardBroker on that shard's thread; ReadRedisHealth on any thread. Owner of
// the result: the Shard.
#ifndef TUTTI_SERVER_BROKER_SELECT_H_
#define TUTTI_SERVER_BROKER_SELECT_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "server/broker.h"
#include "server/clock.h"
#include "server/config.h"
#include "server/frame.h"
#include "server/server_log.h"

namespace tutti::server {

// "HOST:PORT" each (checked by the flags); empty = the in-process engine.
void SetRedisPrimaries(std::vector<std::string> primaries);
// How long a node's online users stay in the node bus's presence without a refresh
// (--redis_presence_ttl_ms; docs/SCALE-OUT.md "Node bus"). Set with the primaries.
void SetRedisPresenceTtlMs(int ttl_ms);

// `on_availability` (may be empty) runs on the shard's thread when a networked engine
// loses its sequencer (false) or has it (true; also the first time after the start: a
// client that connected before was told at its Welcome that rooms are paused).
// `node_bus`: the engine also carries the node bus (shard 0's; Broker::node_bus()), and
// warns on `log` (when given) when this node's clock strays from Redis's by more than
// kClockOffsetWarnUs (one engine says it: every shard shares the machine's clock).
std::unique_ptr<Broker> MakeShardBroker(boost::asio::io_context& io, const Clock* clock,
                                        const ServerConfig& config,
                                        std::function<void(bool up)> on_availability = nullptr,
                                        bool node_bus = false, ServerLog* log = nullptr);

// Notes stamped on a node whose clock is this far from the others' play this much early
// or late for the others' listeners, about where players start to hear onsets meant as
// one as two. NTP keeps machines on one network within about a millisecond.
inline constexpr int64_t kClockOffsetWarnUs = 20'000;

// The shard is shutting down and its sessions are gone: a networked engine closes its
// links so that the shard's event loop runs dry. Nothing for the in-process engine.
void StopShardBroker(Broker* broker);

// The ServerNotice a shard sends its sessions when its engine's availability changes.
Frame StreamsNoticeFrame(bool up);

struct RedisHealth {
  bool enabled = false;      // --redis was given
  uint64_t shards_down = 0;  // shards whose engine cannot reach every primary now
  uint64_t outages = 0;      // times a shard's engine lost Redis since the start
  // Server time minus Redis's clock, µs (redis/clock_offset.h), once a shard's engine has
  // measured it: the nodes share one timeline only as far as their offsets agree.
  bool clock_offset_known = false;
  int64_t clock_offset_us = 0;
};
RedisHealth ReadRedisHealth();

}  // namespace tutti::server

#endif  // TUTTI_SERVER_BROKER_SELECT_H_
