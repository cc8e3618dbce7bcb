// The room list across nodes (docs/SCALE-OUT.md, "Room list across nodes"): what
// RoomListService tells the other nodes of this node's rooms, and what it takes of
// theirs. Same actor as server/room_list.cc: shard 0's thread, no locks; the bus's
// reports come through Social on that thread, checked by server/node_wire.h.
#include <string>
#include <utility>
#include <vector>

#include "protos/node_bus.pb.h"
#include "server/node_bus.h"
#include "server/node_wire.h"
#include "server/room_list.h"

namespace tutti::server {
namespace {

// A BusRooms message stays well under what a node accepts (kMaxBusMessageBytes).
constexpr size_t kShareChunkBytes = kMaxBusMessageBytes / 2;

}  // namespace

void RoomListService::ShareLocal() {
  if (bus_ == nullptr || unshared_.empty()) return;
  proto::NodeBusMessage msg;
  size_t bytes = 0;
  auto send = [this, &msg, &bytes] {
    if (msg.rooms().rooms_size() == 0) return;
    msg.set_from_node(bus_->node_id());
    // Lost while the bus is down: the other nodes' next refresh after it is back reads
    // what SetRoom kept.
    if (bus_->Publish(msg.SerializeAsString()) && published_) published_();
    msg.Clear();
    bytes = 0;
  };
  for (const std::string& id : unshared_) {
    const proto::RoomInfo* mine = merge_.Local(id);
    proto::BusRoom room;
    room.set_room_id(id);
    if (mine != nullptr && ListedInDirectory(*mine)) {
      std::string record = mine->SerializeAsString();
      auto [it, added] = shared_.try_emplace(id);
      if (!added && it->second == record) continue;
      *room.mutable_info() = *mine;
      bus_->SetRoom(id, record);
      it->second = std::move(record);
    } else {
      // A room that is gone here, or private now, is not this node's to list.
      if (shared_.erase(id) == 0) continue;
      bus_->RemoveRoom(id);
    }
    bytes += room.ByteSizeLong();
    *msg.mutable_rooms()->add_rooms() = std::move(room);
    if (bytes >= kShareChunkBytes ||
        static_cast<size_t>(msg.rooms().rooms_size()) >= kMaxBusRoomsPerMessage) {
      send();
    }
  }
  send();
  unshared_.clear();
}

void RoomListService::NodeRoomsChanged(const std::string& node,
                                       const std::vector<proto::BusRoom>& rooms) {
  if (stopped_) return;
  for (const proto::BusRoom& r : rooms) {
    merge_.SetRemote(node, r.room_id(),
                     r.has_info() ? std::optional<proto::RoomInfo>(r.info()) : std::nullopt);
  }
  ApplyMerged();
}

void RoomListService::NodeRoomsView(
    const std::unordered_map<std::string, std::vector<proto::RoomInfo>>& by_node) {
  if (stopped_) return;
  merge_.ReplaceRemote(by_node);
  ApplyMerged();
}

void RoomListService::NodeRoomsGone(const std::string& node) {
  if (stopped_) return;
  merge_.DropNode(node);
  ApplyMerged();
}

}  // namespace tutti::server
