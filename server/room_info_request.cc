#include "server/room_info_request.h"

#include <utility>

#include "server/envelope.h"
#include "server/room.h"
#include "server/room_directory.h"
#include "server/room_list.h"
#include "server/shard.h"
#include "server/text.h"

namespace tutti::server {

void RequestRoomInfo(Shard& shard, Session& s, const proto::GetRoomInfo& req,
                     const std::string& request_id) {
  const ServerConfig& cfg = shard.cluster().config();
  auto refuse = [&](proto::ErrorCode code, const char* text) {
    s.Send(MakeFrame(MakeError(code, text, request_id)), false);
  };
  if (req.room_name().size() > cfg.max_room_name_length * 4) {
    return refuse(proto::INVALID_PARAMETERS, "room name is too long");
  }
  std::string room_id = CanonicalRoomId(req.room_name(), cfg.max_room_name_length);
  if (room_id.empty()) return refuse(proto::INVALID_PARAMETERS, "room name is empty");
  RoomViewer viewer;
  viewer.server_staff = s.is_staff();
  viewer.user_id = s.user().user_id();
  const SessionId id = s.id();
  const int home_index = shard.cluster().RoomHomeIndex(room_id);
  shard.OnShard(home_index, [room_id = std::move(room_id), viewer = std::move(viewer), id,
                             request_id](Shard& home) mutable {
    const Room* room = home.FindRoom(room_id);
    if (room == nullptr && home.broker() != nullptr && home.broker()->SpansNodes()) {
      // No object here: another node may list the room (shard 0's room list knows).
      return home.OnShard(0, [room_id, id, request_id](Shard& zero) {
        const RoomListMerge& merged = zero.cluster().room_list().merged();
        const proto::RoomInfo* info = merged.Merged(room_id);
        // Other nodes share only listed rooms, which anyone may see (MaySeeRoom).
        if (info == nullptr || merged.Local(room_id) != nullptr || !ListedInDirectory(*info)) {
          return zero.SendToSession(
              id, MakeFrame(MakeError(proto::NOT_FOUND, "no such room", request_id)));
        }
        proto::ClientMessage out;
        *out.mutable_room_info() = *info;
        out.set_request_id(request_id);
        StampType(&out);
        zero.SendToSession(id, MakeFrame(out));
      });
    }
    proto::ClientMessage out;
    if (room) {
      viewer.in_room = room->IsMember(id);
      proto::RoomInfo info = room->Info();
      // Info() holds nothing staff-only (no password, bans or moderators), so a
      // visible room is answered in full.
      if (MaySeeRoom(info, viewer)) *out.mutable_room_info() = std::move(info);
    }
    if (!out.has_room_info()) {
      // An unknown room and a hidden one get the same answer.
      out = MakeError(proto::NOT_FOUND, "no such room", request_id);
    } else {
      out.set_request_id(request_id);
      StampType(&out);
    }
    home.SendToSession(id, MakeFrame(out));
  });
}

}  // namespace tutti::server
