// RedisBroker::Primary: one Redis primary as a shard's engine sees it (its command and
// channel links and the digests of the loaded scripts). Internal to the engine's files
// (redis_broker.cc, redis_history.cc, redis_presence.cc, redis_resume.cc,
// redis_room_state.cc). Same thread and owner as the RedisBroker.
#ifndef TUTTI_SERVER_REDIS_REDIS_PRIMARY_H_
#define TUTTI_SERVER_REDIS_REDIS_PRIMARY_H_

#include <string>

#include <boost/asio/io_context.hpp>

#include "server/redis/redis_broker.h"
#include "server/redis/redis_client.h"
#include "server/redis/redis_scripts.h"

namespace tutti::server::redis {

struct RedisBroker::Primary {
  Primary(boost::asio::io_context& io, const RedisAddress& a, RedisBackoff backoff)
      : address(a), cmd(io, a, backoff), sub(io, a, backoff) {}
  RedisAddress address;
  RedisClient cmd;  // scripts and reads
  RedisClient sub;  // the rooms' channels (a subscribed connection takes no commands)
  std::string sha[kScriptCount];
  bool up() const { return cmd.connected() && sub.connected(); }
  bool was_up = false;      // as last seen by PrimaryChanged
  bool had_outage = false;  // it was up once and then went down
  // The server's run id on the current command link (INFO at each connect), and the one
  // seen before the last outage: another one after it means another server (a failover).
  std::string run_id;
  std::string run_id_before;
};

}  // namespace tutti::server::redis

#endif  // TUTTI_SERVER_REDIS_REDIS_PRIMARY_H_
