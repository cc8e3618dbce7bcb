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

void Session::AdoptUserId(const std::string& user_id) {
  identity_.user_id = user_id;
  user_.set_user_id(user_id);
}

Session::SendResult Session::Send(const Frame& frame, bool droppable) {
  if (closing_) return SendResult::kClosing;
  const size_t queued = link_->BufferedBytes();
  if (queued + frame->wire_size() > config_.outbound_hard_limit) {
    Close(kCloseSlowConsumer, "slow consumer: outbound buffer limit reached");
    if (counters_) counters_->slow_consumers_closed.Add();
    return SendResult::kClosedSlow;
  }
  if (droppable && queued > config_.outbound_soft_limit) {
    ++dropped_frames;
    if (counters_) counters_->frames_dropped.Add();
    return SendResult::kDropped;
  }
  link_->Send(frame);
  if (counters_) {  // fixed slots: no allocation
    counters_->frames_out_by_kind.Add(frame->message_kind());
    counters_->bytes_out_by_kind.Add(frame->message_kind(), frame->wire_size());
  }
  return SendResult::kQueued;
}

void Session::Close(uint16_t code, const std::string& reason) {
  if (closing_) return;
  closing_ = true;
  close_code_ = code;
  link_->Close(code, reason);
}

namespace {
// A parked session's link: the socket is gone; sends and closes go nowhere.
class DetachedLink final : public SessionLink {
 public:
  explicit DetachedLink(std::string ip) : ip_(std::move(ip)) {}
  size_t BufferedBytes() const override { return 0; }
  void Send(const Frame&) override {}
  void Close(uint16_t, const std::string&) override {}
  const std::string& RemoteIp() const override { return ip_; }

 private:
  std::string ip_;
};
}  // namespace

void Session::DetachLink() {
  link_ = std::make_unique<DetachedLink>(link_->RemoteIp());
  closing_ = true;
}

SessionCarryOver Session::Export(const std::string& room) {
  SessionCarryOver c{user_,          chat_bucket,      join_bucket, leave_bucket, avatar_bucket,
                     request_bucket, std::move(midi_), clock,       room};
  return c;
}

void Session::Import(SessionCarryOver carry) {
  // Identity (user id, name, roles) is the new connection's; the look and status are the
  // old session's, which the room and the others still show.
  *user_.mutable_avatar() = carry.user.avatar();
  chat_bucket = carry.chat_bucket;
  join_bucket = carry.join_bucket;
  leave_bucket = carry.leave_bucket;
  avatar_bucket = carry.avatar_bucket;
  request_bucket = carry.request_bucket;
  if (carry.midi) midi_ = std::move(carry.midi);
  clock = carry.clock;
  for (Frame& f : carry.held) held_after_resume_.push_back(std::move(f));
  room_list_after_resume_ = room_list_after_resume_ || carry.room_list;
}

void Session::ContinueMidiSequence(uint64_t room_sequence, int64_t now_us) {
  if (room_sequence == 0 && !midi_) return;
  MidiIntakeState& m = midi(now_us);
  if (m.sequence < room_sequence) m.sequence = room_sequence;
}

}  // namespace tutti::server
