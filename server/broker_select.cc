#include "server/broker_select.h"

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"
#include "server/envelope.h"
#include "server/memory_broker.h"
#include "server/redis/clock_offset.h"
#include "server/redis/redis_broker.h"

namespace tutti::server {
namespace {

// Written once by main before any shard exists; read-only afterwards.
std::vector<std::string>& RedisPrimaries() {
  static std::vector<std::string> primaries;
  return primaries;
}

int g_presence_ttl_ms = 15'000;

// The shards' engines, as the operator sees them (ReadRedisHealth).
std::atomic<uint64_t> g_shards_down{0};
// The latest clock offset any shard's engine measured (they share this machine's clock).
std::atomic<bool> g_clock_offset_known{false};
std::atomic<int64_t> g_clock_offset_us{0};
std::atomic<uint64_t> g_outages{0};

}  // namespace

void SetRedisPrimaries(std::vector<std::string> primaries) {
  RedisPrimaries() = std::move(primaries);
}

void SetRedisPresenceTtlMs(int ttl_ms) { g_presence_ttl_ms = ttl_ms; }

std::unique_ptr<Broker> MakeShardBroker(boost::asio::io_context& io, const Clock* clock,
                                        const ServerConfig& config,
                                        std::function<void(bool up)> on_availability, bool node_bus,
                                        ServerLog* log) {
  redis::RedisBrokerOptions options;
  if (node_bus) options.node_bus_ttl_ms = g_presence_ttl_ms;
  // Rooms' members across nodes expire with the same TTL as the nodes' online users.
  options.presence_ttl_ms = g_presence_ttl_ms;
  options.limits = config.room_history;
  options.limits.chat_lines = config.chat_history;
  // Resume state goes to Redis so that a client may resume on another node.
  options.resume_window_ms = config.resume_grace_ms;
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
    return std::make_unique<InProcessBroker>(clock, options.limits);
  }
  auto engine = std::make_unique<redis::RedisBroker>(io, clock, std::move(options));
  // Down until every primary answered.
  g_shards_down.fetch_add(1, std::memory_order_relaxed);
  engine->set_on_availability([on_availability = std::move(on_availability)](bool up) {
    if (up) {
      g_shards_down.fetch_sub(1, std::memory_order_relaxed);
    } else {
      g_shards_down.fetch_add(1, std::memory_order_relaxed);
      g_outages.fetch_add(1, std::memory_order_relaxed);
    }
    if (on_availability) on_availability(up);
  });
  std::shared_ptr<redis::ClockOffsetAlarm> alarm;
  if (node_bus && log != nullptr) {
    alarm = std::make_shared<redis::ClockOffsetAlarm>(kClockOffsetWarnUs);
  }
  engine->set_on_clock_offset([alarm, log](int64_t offset_us) {
    g_clock_offset_us.store(offset_us, std::memory_order_relaxed);
    g_clock_offset_known.store(true, std::memory_order_relaxed);
    if (!alarm) return;
    const std::string ms = absl::StrFormat("%.1f", static_cast<double>(offset_us) / 1000.0);
    switch (alarm->Observe(offset_us)) {
      case redis::ClockOffsetAlarm::Change::kOver:
        log->Warn("clock.offset",
                  {{"offset_ms", ms}, {"limit_ms", std::to_string(kClockOffsetWarnUs / 1000)}});
        break;
      case redis::ClockOffsetAlarm::Change::kBack:
        log->Info("clock.offset_ok", {{"offset_ms", ms}});
        break;
      case redis::ClockOffsetAlarm::Change::kNone:
        break;
    }
  });
  return engine;
}

void StopShardBroker(Broker* broker) {
  auto* r = dynamic_cast<redis::RedisBroker*>(broker);
  if (r == nullptr || r->stopped()) return;
  // A stopped engine no longer counts as down (the callback does not run any more).
  if (!r->Available()) g_shards_down.fetch_sub(1, std::memory_order_relaxed);
  r->Stop();
}

Frame StreamsNoticeFrame(bool up) {
  proto::ClientMessage msg;
  auto* n = msg.mutable_server_notice();
  n->set_kind(up ? proto::ServerNotice::STREAMS_RESTORED
                 : proto::ServerNotice::STREAMS_UNAVAILABLE);
  n->set_message(up ? "rooms are back: the server reached Redis again"
                    : "rooms are paused: the server cannot reach Redis; retrying");
  StampType(&msg);
  return MakeFrame(msg);
}

RedisHealth ReadRedisHealth() {
  RedisHealth h;
  h.enabled = !RedisPrimaries().empty();
  h.shards_down = g_shards_down.load(std::memory_order_relaxed);
  h.outages = g_outages.load(std::memory_order_relaxed);
  h.clock_offset_known = g_clock_offset_known.load(std::memory_order_relaxed);
  h.clock_offset_us = g_clock_offset_us.load(std::memory_order_relaxed);
  return h;
}

}  // namespace tutti::server
