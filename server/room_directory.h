// RoomDirectory: the room list as the lobby sees it — which rooms are listed, in what
// order, capped at how many — and the coalescing of changes into versioned deltas.
// Rooms report their RoomInfo as values (Apply/Remove) from wherever they live (a
// shard of this node, or another node: RoomListService hands it one merged value per
// room, server/room_list_merge.h); TakeDelta turns everything reported
// since the last call into one RoomListDelta against the list last published, so a
// room that changed ten times between two deltas appears once, with its latest values.
// Also the visibility rules shared by GetRoomInfo and the list.
// Pure data, no I/O and no clock: owned by RoomListService (shard 0's thread), and by
// unit tests and the benchmark directly. Not thread-safe.
#ifndef TUTTI_SERVER_ROOM_DIRECTORY_H_
#define TUTTI_SERVER_ROOM_DIRECTORY_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "protos/tutti.pb.h"

namespace tutti::server {

// Listed: public rooms and lobbies. Private rooms are never listed, for anyone (one
// list serialized once for every subscriber cannot differ per viewer).
bool ListedInDirectory(const proto::RoomInfo& info);

// Who may see a room's details through GetRoomInfo: anyone for a listed room; for a
// private room its current members, its owner and server staff. Everyone else is
// answered NOT_FOUND, exactly as for a room that does not exist, so the answer does
// not reveal that a private room is there.
struct RoomViewer {
  bool in_room = false;  // the asking session is a member of this room
  bool server_staff = false;
  std::string user_id;
};
bool MaySeeRoom(const proto::RoomInfo& info, const RoomViewer& viewer);

// List order: most users first, then by room id (names can tie; ids cannot).
bool ListOrder(const proto::RoomInfo& a, const proto::RoomInfo& b);

// Sorts `rooms` into list order and keeps the first `cap` (0 = no cap).
void SortAndCap(std::vector<proto::RoomInfo>* rooms, size_t cap);

class RoomDirectory {
 public:
  // `cap`: at most this many rooms are listed (the top of the list order).
  explicit RoomDirectory(size_t cap) : cap_(cap) {}

  // A room's current values. A private room is treated as removed from the list.
  void Apply(const proto::RoomInfo& info);
  void Remove(const std::string& room_id);

  // True when something was reported since the last TakeDelta.
  bool dirty() const { return !dirty_.empty(); }
  uint64_t version() const { return version_; }
  size_t known_rooms() const { return rooms_.size(); }

  // The list as last published (at version()), in list order. A new subscriber gets
  // this, so the next delta applies to exactly what it holds.
  proto::RoomList PublishedList() const;

  // Everything that changed in the published list since the last call, or nullopt
  // when nothing visible changed (the version then stays).
  std::optional<proto::RoomListDelta> TakeDelta();

 private:
  // The rooms that make the list now, in list order: all listed rooms, or the top cap_.
  std::vector<const proto::RoomInfo*> Visible() const;

  const size_t cap_;
  uint64_t version_ = 0;
  // Every listed room known now, by id (private and removed rooms are not here).
  std::unordered_map<std::string, proto::RoomInfo> rooms_;
  // The list as last published: id -> the serialized RoomInfo that was sent.
  std::unordered_map<std::string, std::string> published_;
  // Rooms reported since the last delta.
  std::unordered_set<std::string> dirty_;
  // The last delta published every listed room (the cap did not bite).
  bool published_all_ = true;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_ROOM_DIRECTORY_H_
