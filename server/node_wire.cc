#include "server/node_wire.h"

#include "server/moderation/ban_list.h"
#include "server/proto_utf8.h"
#include "server/text.h"

namespace tutti::server {
namespace {

bool Id(const std::string& s) { return !s.empty() && s.size() <= kMaxBusIdLength; }
bool Short(const std::string& s) { return s.size() <= kMaxBusIdLength; }

bool ValidInfo(const proto::FriendInfo& f) {
  return Short(f.user_id()) && Short(f.username()) && Short(f.room_id()) &&
         f.status_text().size() <= kMaxBusTextBytes && proto::UserStatus_IsValid(f.status());
}

bool ValidPm(const proto::PrivateMessage& pm) {
  return Id(pm.to_user_id()) && Id(pm.from_user_id()) && Short(pm.from_username()) &&
         !pm.message().empty() && pm.message().size() <= kMaxBusTextBytes;
}

bool ValidBan(const proto::BusServerBan& b) {
  if (!Id(b.target()) || !Short(b.actor()) || b.reason().size() > kMaxBusTextBytes) return false;
  if (b.until_unix_ms() < 0 || b.created_unix_ms() < 0) return false;
  absl::StatusOr<std::string> canonical = moderation::CanonicalBanTarget(b.target());
  return canonical.ok() && *canonical == b.target();
}

bool ValidFrame(const proto::BusUserFrame& f) {
  if (!Id(f.user_id()) || f.client_message().empty() ||
      f.client_message().size() > kMaxBusFrameBytes) {
    return false;
  }
  proto::ClientMessage m;
  return StringFieldsAreUtf8(f.client_message(), *proto::ClientMessage::descriptor()) &&
         m.ParseFromString(f.client_message()) && m.has_friend_event() &&
         ValidInfo(m.friend_event().friend_info());
}

bool ValidRoom(const proto::BusRoom& r) {
  if (!Id(r.room_id())) return false;
  if (!r.has_info()) return true;  // no longer listed there
  return r.info().room_id() == r.room_id() && ValidRoomRecord(r.info());
}

}  // namespace

bool ValidRoomRecord(const proto::RoomInfo& info) {
  // The id is what every node keys the room by: only its canonical form names it.
  if (!Id(info.room_id()) || CanonicalRoomId(info.room_id(), kMaxBusIdLength) != info.room_id()) {
    return false;
  }
  if (info.room_type() != proto::PUBLIC && info.room_type() != proto::LOBBY) return false;
  if (!Short(info.room_name()) || !Short(info.owner_id()) ||
      info.topic().size() > kMaxBusTextBytes || info.user_count() < 0) {
    return false;
  }
  const proto::RoomSettings& s = info.settings();
  if (s.max_users() < 0 || !proto::PlayMode_IsValid(s.play_mode()) ||
      s.welcome_message().size() > kMaxBusTextBytes) {
    return false;
  }
  if (static_cast<size_t>(info.performer_ids_size()) > kMaxBusPerformers) return false;
  for (const std::string& p : info.performer_ids()) {
    if (!Id(p)) return false;
  }
  const proto::TempoState& t = info.tempo();
  return Short(t.room_id()) && Short(t.changed_by_user_id()) && Short(t.changed_by_username());
}

bool ValidNodeUser(const proto::NodeUser& user) {
  return Id(user.user_id()) && Short(user.username()) && ValidInfo(user.view()) &&
         (user.view().user_id().empty() || user.view().user_id() == user.user_id());
}

// Bounded, UTF-8 checked (libprotobuf would log invalid UTF-8), then parsed.
template <typename Message>
bool ParseChecked(std::string_view bytes, Message* out) {
  if (bytes.size() > kMaxBusMessageBytes) return false;
  if (!StringFieldsAreUtf8(bytes, *Message::descriptor())) return false;
  return out->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

bool ParseNodeUser(std::string_view bytes, proto::NodeUser* out) {
  if (!ParseChecked(bytes, out)) return false;
  return ValidNodeUser(*out);
}

bool ParseRoomRecord(std::string_view bytes, proto::RoomInfo* out) {
  return !bytes.empty() && ParseChecked(bytes, out) && ValidRoomRecord(*out);
}

bool ParseBanRecord(std::string_view bytes, proto::BusServerBan* out) {
  return !bytes.empty() && ParseChecked(bytes, out) && ValidBan(*out);
}

bool ParseBusMessage(std::string_view bytes, proto::NodeBusMessage* out) {
  if (bytes.empty() || !ParseChecked(bytes, out)) return false;
  if (out->from_node().empty() || out->from_node().size() > kMaxNodeIdLength) return false;
  switch (out->kind_case()) {
    case proto::NodeBusMessage::kBan:
      return ValidBan(out->ban());
    case proto::NodeBusMessage::kPresence:
      return ValidNodeUser(out->presence().user());
    case proto::NodeBusMessage::kPm:
      return out->pm().answer_node().size() <= kMaxNodeIdLength && out->pm().from_session() != 0 &&
             Short(out->pm().request_id()) && ValidPm(out->pm().pm());
    case proto::NodeBusMessage::kPmAnswer: {
      const proto::BusPrivateAnswer& a = out->pm_answer();
      if (a.to_node().empty() || a.to_node().size() > kMaxNodeIdLength || a.from_session() == 0 ||
          !Short(a.request_id()) || !proto::ErrorCode_IsValid(a.error()) ||
          a.error_text().size() > kMaxBusTextBytes) {
        return false;
      }
      // Either an error or the delivered message.
      return a.error() != proto::ERROR_CODE_UNSPECIFIED || ValidPm(a.pm());
    }
    case proto::NodeBusMessage::kToUser:
      return ValidFrame(out->to_user());
    case proto::NodeBusMessage::kGone:
      return true;
    case proto::NodeBusMessage::kRooms: {
      const auto& rooms = out->rooms().rooms();
      if (rooms.empty() || static_cast<size_t>(rooms.size()) > kMaxBusRoomsPerMessage) return false;
      for (const proto::BusRoom& r : rooms) {
        if (!ValidRoom(r)) return false;
      }
      return true;
    }
    case proto::NodeBusMessage::KIND_NOT_SET:
      return false;
  }
  return false;
}

}  // namespace tutti::server
