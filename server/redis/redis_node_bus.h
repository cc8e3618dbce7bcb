// RedisNodeBus: the node bus (server/node_bus.h) over the first Redis primary. One
// channel, `tutti:nodebus`, that every node subscribes to and publishes on; and the
// presence of each node's online users: a hash `tutti:{nodebus}:node:<node>` (user id ->
// NodeUser bytes) and the sorted set `tutti:{nodebus}:nodes` (node -> expiry, ms by
// Redis's clock); and the rooms each node lists, a hash `tutti:{nodebus}:rooms:<node>`
// (room id -> RoomInfo bytes). Every third of the presence TTL one script rewrites this
// node's two hashes, sets the expiries, drops expired nodes and returns every live node's
// users and rooms; between refreshes a user's arrival or departure, and a room's change,
// is written at once (HSET/HDEL). A node killed without warning drops out of the view
// within one TTL of its last refresh.
// Server bans: the hash `tutti:{nodebus}:bans` (target -> BusServerBan bytes, lifted
// bans included) keeps the latest change of each target, and the sorted set
// `tutti:{nodebus}:bans:forget` (target -> unix ms) when to forget it (a timed ban once
// over, a lifted one after kBanTombstoneMs; a permanent ban never), and the hash
// `tutti:{nodebus}:bans:at` when each kept change was made. One script writes them,
// unless a change at least as new is kept already (then it writes and publishes
// nothing), forgets what is due and publishes the ban message. Each time the bus comes up
// the node reads the whole hash (Handlers::bans).
// A message that arrives while a refresh is out waits for its answer (ViewOrder: the
// answer, on the other link, may be older than the message).
// Redis unreachable: Publish is refused (false) and the availability handler is told;
// ban changes wait (the latest per target) and are written when the link is back; the
// links reconnect with the backoff of redis_client.h and the next refresh rewrites
// everything.
// Leave (a clean stop, called first thing when shard 0 shuts down, before it waits for
// its clients): one script removes this node's hashes and its entry in the nodes' set and
// publishes the farewell, so the others drop its users and rooms at once; then Stop.
// Thread affinity: the io_context's thread (shard 0's); constructed before it runs.
// Owner: the RedisBroker of shard 0.
#ifndef TUTTI_SERVER_REDIS_REDIS_NODE_BUS_H_
#define TUTTI_SERVER_REDIS_REDIS_NODE_BUS_H_

#include <map>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "server/node_bus.h"
#include "server/redis/redis_client.h"
#include "server/redis/view_order.h"

namespace tutti::server::redis {

inline constexpr char kNodeBusChannel[] = "tutti:nodebus";
inline constexpr char kNodeBusNodesKey[] = "tutti:{nodebus}:nodes";
inline constexpr char kNodeBusNodePrefix[] = "tutti:{nodebus}:node:";
inline constexpr char kNodeBusRoomsPrefix[] = "tutti:{nodebus}:rooms:";
inline constexpr char kNodeBusBansKey[] = "tutti:{nodebus}:bans";
inline constexpr char kNodeBusBanForgetKey[] = "tutti:{nodebus}:bans:forget";
// target -> when its kept change was made (unix ms): an older change is not written.
inline constexpr char kNodeBusBanTimesKey[] = "tutti:{nodebus}:bans:at";
// A clean stop waits this long at most for Redis to take the farewell.
inline constexpr int kLeaveTimeoutMs = 2000;

class RedisNodeBus final : public NodeBus {
 public:
  RedisNodeBus(boost::asio::io_context& io, const RedisAddress& primary, RedisBackoff backoff,
               int presence_ttl_ms);
  ~RedisNodeBus() override;

  const std::string& node_id() const override { return node_id_; }
  void Start(Handlers handlers) override;
  bool up() const override { return cmd_.connected() && sub_.connected() && !stopped_; }
  bool Publish(const std::string& bytes) override;
  void SetUser(const std::string& user_id, const std::string& record) override;
  void RemoveUser(const std::string& user_id) override;
  void SetRoom(const std::string& room_id, const std::string& record) override;
  void RemoveRoom(const std::string& room_id) override;
  void ShareBan(const std::string& target, const std::string& record, int64_t changed_unix_ms,
                int64_t forget_at_unix_ms, const std::string& message) override;
  int presence_ttl_ms() const override { return ttl_ms_; }
  // A clean stop: removes this node's presence, publishes the farewell, then Stop (at
  // once when the link is down, after kLeaveTimeoutMs at most otherwise).
  void Leave() override;
  // Closes the links; nothing runs afterwards.
  void Stop();

 private:
  struct PendingBan {
    std::string record;
    int64_t changed_unix_ms = 0;
    int64_t forget_at_unix_ms = 0;
    std::string message;
  };
  void Refresh();
  // Hands a refresh's answer (every live node's users and rooms) to the view handler.
  void HandView(const redisReply* r);
  void ArmRefresh();
  void LinkChanged();
  void FlushBans();
  void ReadBans();

  const std::string node_id_;
  const std::string hash_key_;
  const std::string rooms_key_;
  const int ttl_ms_;
  RedisClient cmd_;
  RedisClient sub_;
  boost::asio::steady_timer timer_;
  Handlers handlers_;
  ViewOrder order_;  // the channel's messages in order with the refreshes' views
  std::map<std::string, std::string> users_;        // this node's: user id -> NodeUser bytes
  std::map<std::string, std::string> rooms_;        // this node's: room id -> RoomInfo bytes
  std::map<std::string, PendingBan> pending_bans_;  // by target, not yet in Redis
  bool was_up_ = false;
  bool leaving_ = false;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_;
};

}  // namespace tutti::server::redis

#endif  // TUTTI_SERVER_REDIS_REDIS_NODE_BUS_H_
