// ListedRoom: a room's RoomInfo as the room list carries it (id and name alike, a type, a
// user count), for the tests of the room list's parts (room_directory_test,
// room_list_merge_test, social_nodes_test). Test code only; any thread. Header only.
#ifndef TUTTI_TESTS_SERVER_LISTED_ROOM_H_
#define TUTTI_TESTS_SERVER_LISTED_ROOM_H_

#include <string>

#include "protos/tutti.pb.h"

namespace tutti::server {

inline proto::RoomInfo ListedRoom(const std::string& id, int users,
                                  proto::RoomType type = proto::PUBLIC) {
  proto::RoomInfo r;
  r.set_room_id(id);
  r.set_room_name(id);
  r.set_room_type(type);
  r.set_user_count(users);
  return r;
}

}  // namespace tutti::server

#endif  // TUTTI_TESTS_SERVER_LISTED_ROOM_H_
