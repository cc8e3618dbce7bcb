// RoomListMerge: one value per room for the room list, from this node's room objects
// and the other nodes' reports (rooms across nodes, docs/SCALE-OUT.md "Room list across
// nodes"). A room with members on several nodes has an object on each, and each reports
// it; the list shows it once, and drops it only when no live node reports it.
//
// Which value wins: this node's own object's whenever it has one (it applies every event
// of the room in the stream's order, so no other node's report is newer than what it
// holds, and a room it knows to be private stays hidden here whatever a stale report
// says); otherwise the report heard last, of whichever node (the bus and the refreshes
// bring them in the order Redis took them; a report that repeats what a node said
// before does not count as newer). No clocks are compared.
//
// Pure data, no I/O: owned by RoomListService (shard 0's thread) and by unit tests. Not
// thread-safe.
#ifndef TUTTI_SERVER_ROOM_LIST_MERGE_H_
#define TUTTI_SERVER_ROOM_LIST_MERGE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "protos/tutti.pb.h"

namespace tutti::server {

class RoomListMerge {
 public:
  // This node's object of the room: its info (any type), or nullopt when it has none.
  void SetLocal(const std::string& room_id, std::optional<proto::RoomInfo> info);
  // `node` lists `info`, or (nullopt) no longer lists `room_id`.
  void SetRemote(const std::string& node, const std::string& room_id,
                 std::optional<proto::RoomInfo> info);
  // Everything the other nodes list now, by node: replaces all that was known of them
  // (a node not in `by_node` is gone, with its rooms).
  void ReplaceRemote(const std::unordered_map<std::string, std::vector<proto::RoomInfo>>& by_node);
  // `node` is gone (it said goodbye): its reports go.
  void DropNode(const std::string& node);

  // The rooms whose merged value may have changed since the last call.
  std::vector<std::string> TakeChanged();
  // The room's merged value (nullptr: nobody has it). Valid until the next change.
  const proto::RoomInfo* Merged(const std::string& room_id) const;
  // This node's object's value (nullptr: no object here).
  const proto::RoomInfo* Local(const std::string& room_id) const;
  // The merged values of the rooms other nodes list that have no object here.
  std::vector<proto::RoomInfo> RemoteOnly() const;
  // Rooms other nodes list (each once).
  size_t remote_rooms() const { return remote_.size(); }

 private:
  struct Heard {
    proto::RoomInfo info;
    std::string bytes;  // serialized, to tell a repeat from a change
    uint64_t order = 0;
  };
  // Keeps `info` as `node`'s report of its room; a repeat keeps its order.
  void Hear(const std::string& node, proto::RoomInfo info);
  void Forget(const std::string& node, const std::string& room_id);
  const proto::RoomInfo* Newest(const std::string& room_id) const;

  std::unordered_map<std::string, proto::RoomInfo> local_;
  // room id -> node -> its report.
  std::unordered_map<std::string, std::map<std::string, Heard>> remote_;
  // node -> the rooms it reports.
  std::unordered_map<std::string, std::unordered_set<std::string>> by_node_;
  std::unordered_set<std::string> changed_;
  uint64_t heard_ = 0;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_ROOM_LIST_MERGE_H_
