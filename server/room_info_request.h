// GetRoomInfo: a room's lobby view (RoomInfo) without joining it. The request is
// checked on the asker's shard, answered by the room's home shard, and refused with
// NOT_FOUND for an unknown room or a private room the asker may not see
// (MaySeeRoom in room_directory.h). Runs on the asking session's shard; the answer
// is sent from the room's home shard, or, for a room with no object on this node, from
// shard 0 with the value another node lists (docs/SCALE-OUT.md, "Room list across
// nodes"). Owner: the dispatcher calls it.
#ifndef TUTTI_SERVER_ROOM_INFO_REQUEST_H_
#define TUTTI_SERVER_ROOM_INFO_REQUEST_H_

#include <string>

#include "protos/tutti.pb.h"
#include "server/session.h"

namespace tutti::server {

class Shard;

// The caller has already charged the request bucket.
void RequestRoomInfo(Shard& shard, Session& s, const proto::GetRoomInfo& req,
                     const std::string& request_id);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_ROOM_INFO_REQUEST_H_
