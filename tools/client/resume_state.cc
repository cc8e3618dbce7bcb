#include "tools/client/resume_state.h"

namespace tutti::client {

ResumeState::Kind ResumeState::Observe(const proto::ClientMessage& m) {
  using M = proto::ClientMessage;
  switch (m.message_case()) {
    case M::kWelcome:
      // A RECONNECT keeps the connection's own token, so only a Welcome replaces it.
      if (!m.welcome().resume_token().empty()) token_ = m.welcome().resume_token();
      break;
    case M::kRoomJoinedResponse:
      if (m.room_joined_response().success()) {
        room_id_ = m.room_joined_response().room_info().room_id();
        position_ = m.room_joined_response().stream_position();
      }
      break;
    case M::kRoomLeft:
      if (m.room_left().room_id() == room_id_) {
        room_id_.clear();
        position_.Clear();
      }
      break;
    case M::kRoomSnapshot:
      if (m.room_snapshot().room_info().room_id() == room_id_) {
        position_ = m.room_snapshot().stream_position();
      }
      break;
    case M::kResumeResult: {
      const proto::ResumeResult& r = m.resume_result();
      last_outcome_ = r.outcome();
      replay_left_ = 0;
      if (r.outcome() == proto::RESUME_REFUSED || r.room_id().empty()) {
        needs_rejoin_ = !room_id_.empty() || r.outcome() == proto::RESUME_REFUSED;
        room_id_.clear();
        position_.Clear();
      } else {
        room_id_ = r.room_id();
        if (r.outcome() == proto::RESUME_RECOVERED) {
          replay_left_ = r.replayed();
        } else {
          position_ = r.snapshot().stream_position();
        }
      }
      return Kind::kLive;
    }
    default:
      break;
  }
  if (m.has_stream() && !room_id_.empty()) {
    position_.set_epoch(m.stream().epoch());
    position_.set_offset(m.stream().offset());
    if (replay_left_ > 0) {
      --replay_left_;
      return Kind::kReplayed;
    }
  }
  return Kind::kLive;
}

void ResumeState::Fill(ConnectOptions* o) const {
  o->resume_token = token_;
  o->resume_room = token_.empty() ? std::string() : room_id_;
  o->resume_epoch = token_.empty() ? std::string() : position_.epoch();
  o->resume_offset = token_.empty() ? 0 : position_.offset();
}

}  // namespace tutti::client
