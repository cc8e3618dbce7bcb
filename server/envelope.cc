#include "server/envelope.h"

namespace tutti::server {

// Kept in step with protos/tutti.proto by hand: a new oneof case without a line here
// is caught by the compiler (-Werror=switch) because every case is listed.
proto::ServerMessage::MessageType ExpectedType(const proto::ServerMessage& msg) {
  using M = proto::ServerMessage;
  switch (msg.message_case()) {
    case M::kCreateRoomCommand:
      return M::CreateRoomCommand;
    case M::kUpdateRoomCommand:
      return M::UpdateRoomCommand;
    case M::kJoinRoomByName:
      return M::JoinRoomByName;
    case M::kRoomChatMessage:
      return M::RoomChatMessage;
    case M::kMidiMessage:
      return M::MidiMessage;
    case M::kServerCommand:
      return M::ServerCommand;
    case M::kAvatarCommand:
      return M::AvatarCommand;
    case M::kJoinNextAvailableLobby:
      return M::JoinNextAvailableLobby;
    case M::kLeaveRoom:
      return M::LeaveRoom;
    case M::kRoomChatServerCommand:
      return M::RoomChatServerCommand;
    case M::kPrivateMessage:
      return M::PrivateMessage;
    case M::kUserStatusUpdate:
      return M::UserStatusUpdate;
    case M::kFriendRequest:
      return M::FriendRequest;
    case M::kHeartbeatMessage:
      return M::HeartbeatMessage;
    case M::kGetRoomList:
      return M::GetRoomList;
    case M::kGetRoomInfo:
      return M::GetRoomInfo;
    case M::kSubscribeRoomList:
      return M::SubscribeRoomList;
    case M::kUnsubscribeRoomList:
      return M::UnsubscribeRoomList;
    case M::kRecordingCommand:
      return M::RecordingCommand;
    case M::kPanic:
      return M::Panic;
    case M::kSetPerformer:
      return M::SetPerformer;
    case M::kSetTempo:
      return M::SetTempo;
    case M::MESSAGE_NOT_SET:
      return M::Unspecified;
  }
  return M::Unspecified;
}

proto::ClientMessage::MessageType ExpectedType(const proto::ClientMessage& msg) {
  using M = proto::ClientMessage;
  switch (msg.message_case()) {
    case M::kWelcome:
      return M::Welcome;
    case M::kErrorMessage:
      return M::ErrorMessage;
    case M::kRoomJoinedResponse:
      return M::RoomJoinedResponse;
    case M::kRoomLeft:
      return M::RoomLeft;
    case M::kUserJoinedRoom:
      return M::UserJoinedRoom;
    case M::kUserLeftRoom:
      return M::UserLeftRoom;
    case M::kRoomList:
      return M::RoomList;
    case M::kRoomUpdated:
      return M::RoomUpdated;
    case M::kRoomChatMessage:
      return M::RoomChatMessage;
    case M::kPrivateMessage:
      return M::PrivateMessage;
    case M::kMidiMessage:
      return M::MidiMessage;
    case M::kHeldNotesSnapshot:
      return M::HeldNotesSnapshot;
    case M::kAvatarCommand:
      return M::AvatarCommand;
    case M::kUserStatusUpdate:
      return M::UserStatusUpdate;
    case M::kFriendList:
      return M::FriendList;
    case M::kFriendEvent:
      return M::FriendEvent;
    case M::kModerationNotice:
      return M::ModerationNotice;
    case M::kCommandResult:
      return M::CommandResult;
    case M::kHeartbeatMessage:
      return M::HeartbeatMessage;
    case M::kRoomSnapshot:
      return M::RoomSnapshot;
    case M::kAuditLog:
      return M::AuditLog;
    case M::kBanList:
      return M::BanList;
    case M::kServerStatus:
      return M::ServerStatus;
    case M::kChatCleared:
      return M::ChatCleared;
    case M::kRoomInfo:
      return M::RoomInfo;
    case M::kRoomListDelta:
      return M::RoomListDelta;
    case M::kPermissionsUpdated:
      return M::PermissionsUpdated;
    case M::kTokenExpiring:
      return M::TokenExpiring;
    case M::kResumeResult:
      return M::ResumeResult;
    case M::kMemberConnection:
      return M::MemberConnection;
    case M::kRecordingStatus:
      return M::RecordingStatus;
    case M::kRecordingList:
      return M::RecordingList;
    case M::kRecordingChunk:
      return M::RecordingChunk;
    case M::kServerNotice:
      return M::ServerNotice;
    case M::kPanicNotice:
      return M::PanicNotice;
    case M::kTempoState:
      return M::TempoState;
    case M::kMemberQuality:
      return M::MemberQuality;
    case M::kLinkStatus:
      return M::LinkStatus;
    case M::kLogLine:
      return M::LogLine;
    case M::kLogSubscription:
      return M::LogSubscription;
    case M::MESSAGE_NOT_SET:
      return M::Unspecified;
  }
  return M::Unspecified;
}

bool TypeMatches(const proto::ServerMessage& msg) {
  return msg.message_type() == proto::ServerMessage::Unspecified ||
         msg.message_type() == ExpectedType(msg);
}

void StampType(proto::ClientMessage* msg) { msg->set_message_type(ExpectedType(*msg)); }

proto::ErrorType ErrorTypeOf(proto::ErrorCode code) {
  switch (code) {
    case proto::AUTH_ERROR:
    case proto::PERMISSION_DENIED:
    case proto::MUTED:
    case proto::BANNED:
    case proto::WRONG_PASSWORD:
    case proto::BLOCKED:
    case proto::NOT_A_PERFORMER:
      return proto::PERMISSION_ERROR;
    case proto::NOT_FOUND:
    case proto::ROOM_FULL:
    case proto::RATE_LIMITED:
    case proto::ALREADY_EXISTS:
    case proto::LIMIT_REACHED:
      return proto::RESOURCE_ERROR;
    case proto::INTERNAL_ERROR:
    case proto::UNSUPPORTED:
    case proto::STREAM_UNAVAILABLE:
      return proto::SYSTEM_ERROR;
    default:
      return proto::VALIDATION_ERROR;
  }
}

proto::ClientMessage MakeError(proto::ErrorCode code, std::string_view message,
                               std::string_view request_id) {
  proto::ClientMessage out;
  auto* err = out.mutable_error_message();
  err->set_code(code);
  err->set_error_code(proto::ErrorCode_Name(code));
  err->set_error_type(ErrorTypeOf(code));
  err->set_error_message(std::string(message));
  out.set_request_id(std::string(request_id));
  StampType(&out);
  return out;
}

}  // namespace tutti::server
