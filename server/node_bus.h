// NodeBus: the seam between a node's Social actor and the other nodes of a deployment
// (rooms across nodes, docs/SCALE-OUT.md "Node bus"): one channel every node hears, and
// the set of users online on each node, kept in the shared store under keys that expire
// unless their node refreshes them. The bytes are NodeBusMessage and NodeUser
// (protos/node_bus.proto), written and checked by server/node_wire.h; the bus carries
// them without looking inside. Only networked engines have one (the Redis engine of
// shard 0); the in-process default has none and Social then knows this node only.
//
// Thread affinity: shard 0's thread (its io_context runs the links); Start may be called
// before that thread runs. Handlers run on that thread.
// Owner: the broker engine of shard 0 (Broker::node_bus()); Social only borrows it.
#ifndef TUTTI_SERVER_NODE_BUS_H_
#define TUTTI_SERVER_NODE_BUS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tutti::server {

class NodeBus {
 public:
  struct Handlers {
    // Bytes another node published (this node's own come back too: the reader drops them).
    std::function<void(std::string_view bytes)> message;
    // After each refresh: the nodes alive now (their presence not expired; this one
    // included) and every (node, NodeUser bytes) they hold.
    std::function<void(const std::vector<std::string>& nodes,
                       const std::vector<std::pair<std::string, std::string>>& users)>
        view;
    // The bus came up (true) or went down (false).
    std::function<void(bool up)> availability;
    // Each time the bus comes up: every ban record (BusServerBan bytes) the deployment
    // keeps, one per target, lifted bans included, so that a node that was down or cut
    // off learns what it missed.
    std::function<void(const std::vector<std::string>& records)> bans;
    // Published when this node stops cleanly, after its presence is removed (empty:
    // nothing published).
    std::string farewell;
  };

  virtual ~NodeBus() = default;
  // This node's name on the bus (random per process).
  virtual const std::string& node_id() const = 0;
  virtual void Start(Handlers handlers) = 0;
  virtual bool up() const = 0;
  // False (nothing sent) while the bus is down.
  virtual bool Publish(const std::string& bytes) = 0;
  // This node's online users (record: NodeUser bytes), kept under expiring keys.
  virtual void SetUser(const std::string& user_id, const std::string& record) = 0;
  virtual void RemoveUser(const std::string& user_id) = 0;
  // Keeps `record` (BusServerBan bytes) as the deployment's latest word on `target` until
  // `forget_at_unix_ms` (0: for good) and publishes `message`, unless the deployment
  // already holds a change of `target` made at or after `changed_unix_ms` (then neither:
  // a change that waited on a cut-off node must not undo a newer one). While the bus is
  // down the latest record per target waits and is written when it is back.
  virtual void ShareBan(const std::string& target, const std::string& record,
                        int64_t changed_unix_ms, int64_t forget_at_unix_ms,
                        const std::string& message) = 0;
  // How long a node's users stay in the presence without a refresh (ms).
  virtual int presence_ttl_ms() const = 0;
  // A clean stop: this node's presence goes and the farewell is published, then the bus
  // closes (at once when it is down, bounded otherwise). Called first when shard 0 shuts
  // down, before it waits for its clients. Nothing is published or written afterwards.
  virtual void Leave() = 0;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_NODE_BUS_H_
