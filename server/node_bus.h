// NodeBus: the seam between a node's Social actor (and its room list) and the other
// nodes of a deployment (rooms across nodes, docs/SCALE-OUT.md "Node bus"): one channel
// every node hears, and the users online on each node and the rooms each node lists,
// kept in the shared store under keys that expire unless their node refreshes them. The
// bytes are NodeBusMessage, NodeUser and RoomInfo (protos/node_bus.proto), written and
// checked by server/node_wire.h; the bus carries them without looking inside. Only
// networked engines have one (the Redis engine of shard 0); the in-process default has
// none and Social and the room list then know this node only.
//
// Thread affinity: shard 0's thread (its io_context runs the links); Start may be called
// before that thread runs. Handlers run on that thread.
// Owner: the broker engine of shard 0 (Broker::node_bus()); Social (the one reader of
// what the bus brings) and RoomListService (which writes this node's rooms) borrow it.
#ifndef TUTTI_SERVER_NODE_BUS_H_
#define TUTTI_SERVER_NODE_BUS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "protos/node_bus.pb.h"

namespace tutti::server {

// What the bus brings about the rooms other nodes list, checked (node_wire.h), from
// Social (which reads the bus) to the room list (RoomListService). Shard 0's thread.
class NodeRooms {
 public:
  virtual ~NodeRooms() = default;
  // `node` says these rooms' listing changed there (BusRoom without info: not listed
  // there any more).
  virtual void NodeRoomsChanged(const std::string& node,
                                const std::vector<proto::BusRoom>& rooms) = 0;
  // A refresh: every other live node (present even with no rooms) and the rooms it keeps
  // listed now. Replaces everything known of other nodes: a node missing here is gone.
  virtual void NodeRoomsView(
      const std::unordered_map<std::string, std::vector<proto::RoomInfo>>& by_node) = 0;
  // `node` stopped cleanly: its rooms go now.
  virtual void NodeRoomsGone(const std::string& node) = 0;
};

class NodeBus {
 public:
  struct Handlers {
    // Bytes another node published (this node's own come back too: the reader drops them).
    std::function<void(std::string_view bytes)> message;
    // After each refresh: the nodes alive now (their presence not expired; this one
    // included), every (node, NodeUser bytes) they hold and every (node, RoomInfo bytes)
    // of the rooms they list (this node's own users and rooms left out).
    std::function<void(const std::vector<std::string>& nodes,
                       const std::vector<std::pair<std::string, std::string>>& users,
                       const std::vector<std::pair<std::string, std::string>>& rooms)>
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
  // The rooms this node lists (record: RoomInfo bytes), kept the same way.
  virtual void SetRoom(const std::string& room_id, const std::string& record) = 0;
  virtual void RemoveRoom(const std::string& room_id) = 0;
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
