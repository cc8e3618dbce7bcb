#include "server/redis/redis_node_bus.h"

#include <chrono>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>

#include "server/stream_log.h"

namespace tutti::server::redis {
namespace {

// KEYS[1]: the nodes' sorted set; KEYS[2]: this node's users; KEYS[3]: this node's rooms.
// ARGV[1]: this node, ARGV[2]: the TTL (ms), ARGV[3]: the prefix of user hashes, ARGV[4]:
// the prefix of room hashes, ARGV[5]: how many users follow, ARGV[6..]: user id and
// record pairs, then room id and record pairs (the whole sets). Returns node, {field,
// value, ...} of its users, {field, value, ...} of its rooms, for every live node.
constexpr char kRefreshScript[] = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local first_room = 6 + 2 * tonumber(ARGV[5])
redis.call('DEL', KEYS[2], KEYS[3])
for i = 6, first_room - 2, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
for i = first_room, #ARGV - 1, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
if first_room > 6 then redis.call('PEXPIRE', KEYS[2], ttl) end
if #ARGV > first_room then redis.call('PEXPIRE', KEYS[3], ttl) end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], ttl * 4)
local out = {}
for _, n in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  out[#out + 1] = n
  out[#out + 1] = redis.call('HGETALL', ARGV[3] .. n)
  out[#out + 1] = redis.call('HGETALL', ARGV[4] .. n)
end
return out
)lua";

// KEYS[1]: the ban hash; KEYS[2]: its forget set; KEYS[3]: when each kept change was
// made. ARGV[1]: target, ARGV[2]: record, ARGV[3]: when to forget it (unix ms; 0: never),
// ARGV[4]: channel, ARGV[5]: message, ARGV[6]: when this change was made (unix ms).
// Returns -1 (nothing written or published) when the kept change is as new or newer.
constexpr char kShareBanScript[] = R"lua(
local kept = redis.call('HGET', KEYS[3], ARGV[1])
if kept and tonumber(kept) >= tonumber(ARGV[6]) then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[6])
if tonumber(ARGV[3]) > 0 then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
for _, k in ipairs(due) do
  redis.call('HDEL', KEYS[1], k)
  redis.call('HDEL', KEYS[3], k)
  redis.call('ZREM', KEYS[2], k)
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return #due
)lua";

// KEYS[1]: the nodes' sorted set; KEYS[2], KEYS[3]: this node's users and rooms.
// ARGV[1]: this node, ARGV[2]: channel, ARGV[3]: the farewell (empty: none).
constexpr char kLeaveScript[] = R"lua(
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3])
if #ARGV[3] > 0 then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return 1
)lua";

}  // namespace

RedisNodeBus::RedisNodeBus(boost::asio::io_context& io, const RedisAddress& primary,
                           RedisBackoff backoff, int presence_ttl_ms)
    : node_id_(NewStreamEpoch()),
      hash_key_(std::string(kNodeBusNodePrefix) + node_id_),
      rooms_key_(std::string(kNodeBusRoomsPrefix) + node_id_),
      ttl_ms_(presence_ttl_ms < 30 ? 30 : presence_ttl_ms),
      cmd_(io, primary, backoff),
      sub_(io, primary, backoff),
      timer_(io),
      order_([this](std::string_view bytes) {
        if (!stopped_ && handlers_.message) handlers_.message(bytes);
      }),
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
    if (!stopped_) order_.Message(payload);
  });
  cmd_.Start();
  sub_.Start();
  ArmRefresh();
}

void RedisNodeBus::Leave() {
  if (stopped_ || leaving_) return;
  leaving_ = true;
  timer_.cancel();
  if (!cmd_.connected()) return Stop();
  auto alive = std::weak_ptr<bool>(alive_);
  const bool sent = cmd_.Command({"EVAL", kLeaveScript, "3", kNodeBusNodesKey, hash_key_,
                                  rooms_key_, node_id_, kNodeBusChannel, handlers_.farewell},
                                 [this, alive](const redisReply*) {
                                   // Not from inside hiredis's callback: Stop frees its context.
                                   boost::asio::post(timer_.get_executor(), [this, alive] {
                                     if (!alive.expired()) Stop();
                                   });
                                 });
  if (!sent) return Stop();
  timer_.expires_after(std::chrono::milliseconds(kLeaveTimeoutMs));
  timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (!ec && !alive.expired()) Stop();
  });
}

void RedisNodeBus::Stop() {
  if (stopped_) return;
  stopped_ = true;
  timer_.cancel();
  order_.Clear();
  cmd_.Stop();
  sub_.Stop();
}

void RedisNodeBus::LinkChanged() {
  if (stopped_) return;
  const bool now = up();
  if (now == was_up_) return;
  was_up_ = now;
  if (handlers_.availability) handlers_.availability(now);
  if (!now) return;
  // Both links up (this node hears the channel again): what waited goes out first, then
  // the node learns every change it missed.
  FlushBans();
  ReadBans();
}

void RedisNodeBus::ShareBan(const std::string& target, const std::string& record,
                            int64_t changed_unix_ms, int64_t forget_at_unix_ms,
                            const std::string& message) {
  if (stopped_ || leaving_) return;
  pending_bans_[target] = {record, changed_unix_ms, forget_at_unix_ms, message};
  if (cmd_.connected()) FlushBans();
}

void RedisNodeBus::FlushBans() {
  if (stopped_) return;
  std::map<std::string, PendingBan> batch;
  batch.swap(pending_bans_);
  for (auto& [target, p] : batch) {
    const std::string forget = std::to_string(p.forget_at_unix_ms);
    const bool sent = cmd_.Command(
        {"EVAL", kShareBanScript, "3", kNodeBusBansKey, kNodeBusBanForgetKey, kNodeBusBanTimesKey,
         target, p.record, forget, kNodeBusChannel, p.message, std::to_string(p.changed_unix_ms)},
        [this, alive = std::weak_ptr<bool>(alive_), target = target, p = p](const redisReply* r) {
          if (alive.expired() || stopped_) return;
          // Lost with the link (or refused): again at the next connect, unless newer waits.
          if (r == nullptr || ReplyIsError(r)) pending_bans_.emplace(target, p);
        });
    if (!sent) pending_bans_.emplace(target, std::move(p));
  }
}

void RedisNodeBus::ReadBans() {
  if (stopped_ || !handlers_.bans) return;
  cmd_.Command({"HGETALL", kNodeBusBansKey},
               [this, alive = std::weak_ptr<bool>(alive_)](const redisReply* r) {
                 if (alive.expired() || stopped_ || r == nullptr || r->type != REDIS_REPLY_ARRAY) {
                   return;
                 }
                 std::vector<std::string> records;
                 for (size_t k = 0; k + 1 < r->elements; k += 2) {
                   records.emplace_back(ReplyString(r->element[k + 1]));
                 }
                 handlers_.bans(records);
               });
}

bool RedisNodeBus::Publish(const std::string& bytes) {
  if (!up() || leaving_) return false;
  return cmd_.Command({"PUBLISH", kNodeBusChannel, bytes}, nullptr);
}

void RedisNodeBus::SetUser(const std::string& user_id, const std::string& record) {
  users_[user_id] = record;
  // While the link is down, the refresh after it is back writes it.
  if (stopped_ || leaving_ || !cmd_.connected()) return;
  const std::string ttl = std::to_string(ttl_ms_);
  cmd_.Command({"HSET", hash_key_, user_id, record}, nullptr);
  cmd_.Command({"PEXPIRE", hash_key_, ttl}, nullptr);
}

void RedisNodeBus::RemoveUser(const std::string& user_id) {
  users_.erase(user_id);
  if (stopped_ || leaving_ || !cmd_.connected()) return;
  cmd_.Command({"HDEL", hash_key_, user_id}, nullptr);
}

void RedisNodeBus::SetRoom(const std::string& room_id, const std::string& record) {
  rooms_[room_id] = record;
  // While the link is down, the refresh after it is back writes it.
  if (stopped_ || leaving_ || !cmd_.connected()) return;
  cmd_.Command({"HSET", rooms_key_, room_id, record}, nullptr);
  cmd_.Command({"PEXPIRE", rooms_key_, std::to_string(ttl_ms_)}, nullptr);
}

void RedisNodeBus::RemoveRoom(const std::string& room_id) {
  rooms_.erase(room_id);
  if (stopped_ || leaving_ || !cmd_.connected()) return;
  cmd_.Command({"HDEL", rooms_key_, room_id}, nullptr);
}

void RedisNodeBus::ArmRefresh() {
  if (stopped_ || leaving_) return;
  timer_.expires_after(std::chrono::milliseconds(ttl_ms_ / 3));
  timer_.async_wait(
      [this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
        if (ec || alive.expired()) return;
        Refresh();
        ArmRefresh();
      });
}

void RedisNodeBus::Refresh() {
  if (stopped_ || leaving_ || !cmd_.connected()) return;
  const std::string ttl = std::to_string(ttl_ms_);
  const std::string user_count = std::to_string(users_.size());
  std::vector<std::string_view> argv = {
      "EVAL",     kRefreshScript, "3", kNodeBusNodesKey,   hash_key_,
      rooms_key_, node_id_,       ttl, kNodeBusNodePrefix, kNodeBusRoomsPrefix,
      user_count};
  for (const auto& [id, record] : users_) {
    argv.push_back(id);
    argv.push_back(record);
  }
  for (const auto& [id, record] : rooms_) {
    argv.push_back(id);
    argv.push_back(record);
  }
  const bool sent =
      cmd_.Command(argv, [this, alive = std::weak_ptr<bool>(alive_)](const redisReply* r) {
        if (alive.expired() || stopped_) return;
        // Lost with the link (null) or refused: the messages that waited go on all the same.
        if (r == nullptr || r->type != REDIS_REPLY_ARRAY) return order_.Answered(nullptr);
        order_.Answered([this, r] { HandView(r); });
      });
  if (sent) order_.Asked();
}

void RedisNodeBus::HandView(const redisReply* r) {
  std::vector<std::string> nodes;
  std::vector<std::pair<std::string, std::string>> users, rooms;
  // Each node's values, its own left out (this node knows them first-hand).
  auto values = [this](const std::string& node, const redisReply* fields,
                       std::vector<std::pair<std::string, std::string>>* out) {
    if (node == node_id_) return;
    for (size_t k = 0; k + 1 < fields->elements; k += 2) {
      out->emplace_back(node, std::string(ReplyString(fields->element[k + 1])));
    }
  };
  for (size_t i = 0; i + 2 < r->elements; i += 3) {
    const std::string node(ReplyString(r->element[i]));
    const redisReply* node_users = r->element[i + 1];
    const redisReply* node_rooms = r->element[i + 2];
    if (node.empty() || node_users == nullptr || node_users->type != REDIS_REPLY_ARRAY ||
        node_rooms == nullptr || node_rooms->type != REDIS_REPLY_ARRAY) {
      continue;
    }
    nodes.push_back(node);
    values(node, node_users, &users);
    values(node, node_rooms, &rooms);
  }
  if (handlers_.view) handlers_.view(nodes, users, rooms);
}

}  // namespace tutti::server::redis
