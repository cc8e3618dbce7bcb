// RedisNodeBus: the node bus (server/node_bus.h) over the first Redis primary. One
// channel, `tutti:nodebus`, that every node subscribes to and publishes on; and the
// presence of each node's online users: a hash `tutti:{nodebus}:node:<node>` (user id ->
// NodeUser bytes) and the sorted set `tutti:{nodebus}:nodes` (node -> expiry, ms by
// Redis's clock). Every third of the presence TTL one script rewrites this node's hash,
// sets both expiries, drops expired nodes and returns every live node's users; between
// refreshes a user's arrival or departure is written at once (HSET/HDEL). A node killed
// without warning drops out of the view within one TTL of its last refresh.
// Redis unreachable: Publish is refused (false) and the availability handler is told;
// the links reconnect with the backoff of redis_client.h and the next refresh rewrites
// everything.
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

namespace tutti::server::redis {

inline constexpr char kNodeBusChannel[] = "tutti:nodebus";
inline constexpr char kNodeBusNodesKey[] = "tutti:{nodebus}:nodes";
inline constexpr char kNodeBusNodePrefix[] = "tutti:{nodebus}:node:";

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
  // Closes the links; nothing runs afterwards.
  void Stop();

 private:
  void Refresh();
  void ArmRefresh();
  void LinkChanged();

  const std::string node_id_;
  const std::string hash_key_;
  const int ttl_ms_;
  RedisClient cmd_;
  RedisClient sub_;
  boost::asio::steady_timer timer_;
  Handlers handlers_;
  std::map<std::string, std::string> users_;  // this node's: user id -> NodeUser bytes
  bool was_up_ = false;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_;
};

}  // namespace tutti::server::redis

#endif  // TUTTI_SERVER_REDIS_REDIS_NODE_BUS_H_
