#include "server/broker_select.h"

#include <cstdio>
#include <utility>

#include "server/memory_broker.h"
#include "server/redis/redis_broker.h"

namespace tutti::server {
namespace {

// Written once by main before any shard exists; read-only afterwards.
std::vector<std::string>& RedisPrimaries() {
  static std::vector<std::string> primaries;
  return primaries;
}

}  // namespace

void SetRedisPrimaries(std::vector<std::string> primaries) {
  RedisPrimaries() = std::move(primaries);
}

std::unique_ptr<Broker> MakeShardBroker(boost::asio::io_context& io, const Clock* clock,
                                        const ServerConfig& config) {
  redis::RedisBrokerOptions options;
  options.limits = config.room_history;
  for (const std::string& text : RedisPrimaries()) {
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

void StopShardBroker(Broker* broker) {
  if (auto* r = dynamic_cast<redis::RedisBroker*>(broker)) r->Stop();
}

}  // namespace tutti::server
