#include "server/broker_select.h"

#include <cstdio>
#include <utility>

#include "server/memory_broker.h"
#include "server/redis/redis_broker.h"

namespace tutti::server {

std::unique_ptr<Broker> MakeShardBroker(boost::asio::io_context& io, const Clock* clock,
                                        const ServerConfig& config) {
  if (config.redis_primaries.empty()) {
    return std::make_unique<InProcessBroker>(clock, config.room_history);
  }
  redis::RedisBrokerOptions options;
  options.limits = config.room_history;
  for (const std::string& text : config.redis_primaries) {
    redis::RedisAddress a;
    // The flags were checked at start (config_flags.cc); a bad entry here is a bug.
    if (!redis::ParseRedisAddress(text, &a)) {
      std::fprintf(stderr, "tutti: bad Redis address %s ignored\n", text.c_str());
      continue;
    }
    options.primaries.push_back(std::move(a));
  }
  if (options.primaries.empty()) {
    return std::make_unique<InProcessBroker>(clock, config.room_history);
  }
  return std::make_unique<redis::RedisBroker>(io, clock, std::move(options));
}

}  // namespace tutti::server
