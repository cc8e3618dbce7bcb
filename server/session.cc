#include "server/session.h"

#include <memory>
#include <utility>

namespace tutti::server {

Session::Session(SessionId id, crypto::Identity identity, std::unique_ptr<SessionLink> link,
                 const ServerConfig& config, int64_t now_us)
    : chat_bucket(config.chat_per_second, config.chat_burst, now_us),
      join_bucket(config.joins_per_second, config.join_burst, now_us),
      leave_bucket(config.leaves_per_second, config.leave_burst, now_us),
      avatar_bucket(config.avatar_per_second, config.avatar_burst, now_us),
      request_bucket(config.requests_per_second, config.request_burst, now_us),
      last_activity_us(now_us),
      id_(id),
      identity_(std::move(identity)),
      link_(std::move(link)),
      config_(config) {
  user_.set_user_id(identity_.user_id);
  user_.set_username(identity_.username);
  user_.set_is_guest(identity_.is_guest);
  user_.set_session_id(id_);
  SetRolesFromIdentity();
}

MidiIntakeState& Session::midi(int64_t now_us) {
  if (!midi_) midi_ = std::make_unique<MidiIntakeState>(config_, now_us);
  return *midi_;
}

void Session::SetRolesFromIdentity() {
  user_.set_is_member(identity_.is_member);
  user_.clear_roles();
  user_.add_roles(identity_.is_guest ? proto::ROLE_GUEST : proto::ROLE_MEMBER);
  if (identity_.is_moderator) user_.add_roles(proto::ROLE_SERVER_MODERATOR);
  if (identity_.is_admin) user_.add_roles(proto::ROLE_SERVER_ADMIN);
}

void Session::ReplaceIdentity(crypto::Identity identity) {
  identity.username = identity_.username;  // the name others know this session by
  identity.socket_id = identity_.socket_id;
  identity_ = std::move(identity);
  SetRolesFromIdentity();
}

Session::SendResult Session::Send(const Frame& frame, bool droppable) {
  if (closing_) return SendResult::kClosing;
  const size_t queued = link_->BufferedBytes();
  if (queued + frame->wire_size() > config_.outbound_hard_limit) {
    Close(kCloseSlowConsumer, "slow consumer: outbound buffer limit reached");
    return SendResult::kClosedSlow;
  }
  if (droppable && queued > config_.outbound_soft_limit) {
    ++dropped_frames;
    return SendResult::kDropped;
  }
  link_->Send(frame);
  return SendResult::kQueued;
}

void Session::Close(uint16_t code, const std::string& reason) {
  if (closing_) return;
  closing_ = true;
  link_->Close(code, reason);
}

}  // namespace tutti::server
