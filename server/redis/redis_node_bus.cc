#include "server/redis/redis_node_bus.h"

#include <chrono>
#include <string_view>
#include <utility>
#include <vector>

#include "server/stream_log.h"

namespace tutti::server::redis {
namespace {

// KEYS[1]: the nodes' sorted set; KEYS[2]: this node's hash. ARGV[1]: this node,
// ARGV[2]: the TTL (ms), ARGV[3]: the prefix of node hashes, ARGV[4..]: user id and
// record pairs (the whole set). Returns node, {field, value, ...} for every live node.
constexpr char kRefreshScript[] = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('DEL', KEYS[2])
for i = 4, #ARGV - 1, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
if #ARGV >= 5 then redis.call('PEXPIRE', KEYS[2], ttl) end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], ttl * 4)
local out = {}
for _, n in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  out[#out + 1] = n
  out[#out + 1] = redis.call('HGETALL', ARGV[3] .. n)
end
return out
)lua";

}  // namespace

RedisNodeBus::RedisNodeBus(boost::asio::io_context& io, const RedisAddress& primary,
                           RedisBackoff backoff, int presence_ttl_ms)
    : node_id_(NewStreamEpoch()),
      hash_key_(std::string(kNodeBusNodePrefix) + node_id_),
      ttl_ms_(presence_ttl_ms < 30 ? 30 : presence_ttl_ms),
      cmd_(io, primary, backoff),
      sub_(io, primary, backoff),
      timer_(io),
      alive_(std::make_shared<bool>(true)) {}

RedisNodeBus::~RedisNodeBus() {
  *alive_ = false;
  Stop();
}

void RedisNodeBus::Start(Handlers handlers) {
  handlers_ = std::move(handlers);
  cmd_.set_on_up([this] {
    LinkChanged();
    Refresh();  // rewrites this node's users after an outage and learns the others'
  });
  cmd_.set_on_down([this](const std::string&) {
    LinkChanged();
    if (sub_.connected()) sub_.Reconnect("the command link to the primary was lost");
  });
  sub_.set_on_up([this] { LinkChanged(); });
  sub_.set_on_down([this](const std::string&) { LinkChanged(); });
  sub_.Subscribe(kNodeBusChannel, [this](std::string_view, std::string_view payload) {
    if (!stopped_ && handlers_.message) handlers_.message(payload);
  });
  cmd_.Start();
  sub_.Start();
  ArmRefresh();
}

void RedisNodeBus::Stop() {
  if (stopped_) return;
  stopped_ = true;
  timer_.cancel();
  cmd_.Stop();
  sub_.Stop();
}

void RedisNodeBus::LinkChanged() {
  if (stopped_) return;
  const bool now = up();
  if (now == was_up_) return;
  was_up_ = now;
  if (handlers_.availability) handlers_.availability(now);
}

bool RedisNodeBus::Publish(const std::string& bytes) {
  if (!up()) return false;
  return cmd_.Command({"PUBLISH", kNodeBusChannel, bytes}, nullptr);
}

void RedisNodeBus::SetUser(const std::string& user_id, const std::string& record) {
  users_[user_id] = record;
  if (stopped_ || !cmd_.connected()) return;  // the refresh after the link is back writes it
  const std::string ttl = std::to_string(ttl_ms_);
  cmd_.Command({"HSET", hash_key_, user_id, record}, nullptr);
  cmd_.Command({"PEXPIRE", hash_key_, ttl}, nullptr);
}

void RedisNodeBus::RemoveUser(const std::string& user_id) {
  users_.erase(user_id);
  if (stopped_ || !cmd_.connected()) return;
  cmd_.Command({"HDEL", hash_key_, user_id}, nullptr);
}

void RedisNodeBus::ArmRefresh() {
  if (stopped_) return;
  timer_.expires_after(std::chrono::milliseconds(ttl_ms_ / 3));
  timer_.async_wait(
      [this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
        if (ec || alive.expired()) return;
        Refresh();
        ArmRefresh();
      });
}

void RedisNodeBus::Refresh() {
  if (stopped_ || !cmd_.connected()) return;
  const std::string ttl = std::to_string(ttl_ms_);
  std::vector<std::string_view> argv = {"EVAL",    kRefreshScript, "2", kNodeBusNodesKey,
                                        hash_key_, node_id_,       ttl, kNodeBusNodePrefix};
  for (const auto& [id, record] : users_) {
    argv.push_back(id);
    argv.push_back(record);
  }
  cmd_.Command(argv, [this, alive = std::weak_ptr<bool>(alive_)](const redisReply* r) {
    if (alive.expired() || stopped_ || r == nullptr || r->type != REDIS_REPLY_ARRAY) return;
    std::vector<std::string> nodes;
    std::vector<std::pair<std::string, std::string>> users;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
      const std::string node(ReplyString(r->element[i]));
      const redisReply* fields = r->element[i + 1];
      if (node.empty() || fields == nullptr || fields->type != REDIS_REPLY_ARRAY) continue;
      nodes.push_back(node);
      if (node == node_id_) continue;
      for (size_t k = 0; k + 1 < fields->elements; k += 2) {
        users.emplace_back(node, std::string(ReplyString(fields->element[k + 1])));
      }
    }
    if (handlers_.view) handlers_.view(nodes, users);
  });
}

}  // namespace tutti::server::redis
