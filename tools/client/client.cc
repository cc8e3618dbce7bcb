#include "tools/client/client.h"

#include <sys/socket.h>

#include <utility>

#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>

namespace tutti::client {
namespace {

struct ClientConfig : public websocketpp::config::asio_client {
  static const websocketpp::log::level elog_level = websocketpp::log::elevel::none;
  static const websocketpp::log::level alog_level = websocketpp::log::alevel::none;
  // Room snapshots can be larger than a single frame of chat; still bounded.
  static const size_t max_message_size = 4 * 1024 * 1024;
};
using WsClient = websocketpp::client<ClientConfig>;

}  // namespace

void StampServerMessageType(proto::ServerMessage* msg) {
  using M = proto::ServerMessage;
  switch (msg->message_case()) {
    case M::kCreateRoomCommand:
      return msg->set_message_type(M::CreateRoomCommand);
    case M::kUpdateRoomCommand:
      return msg->set_message_type(M::UpdateRoomCommand);
    case M::kJoinRoomByName:
      return msg->set_message_type(M::JoinRoomByName);
    case M::kRoomChatMessage:
      return msg->set_message_type(M::RoomChatMessage);
    case M::kMidiMessage:
      return msg->set_message_type(M::MidiMessage);
    case M::kServerCommand:
      return msg->set_message_type(M::ServerCommand);
    case M::kAvatarCommand:
      return msg->set_message_type(M::AvatarCommand);
    case M::kJoinNextAvailableLobby:
      return msg->set_message_type(M::JoinNextAvailableLobby);
    case M::kLeaveRoom:
      return msg->set_message_type(M::LeaveRoom);
    case M::kRoomChatServerCommand:
      return msg->set_message_type(M::RoomChatServerCommand);
    case M::kPrivateMessage:
      return msg->set_message_type(M::PrivateMessage);
    case M::kUserStatusUpdate:
      return msg->set_message_type(M::UserStatusUpdate);
    case M::kFriendRequest:
      return msg->set_message_type(M::FriendRequest);
    case M::kHeartbeatMessage:
      return msg->set_message_type(M::HeartbeatMessage);
    case M::kGetRoomList:
      return msg->set_message_type(M::GetRoomList);
    case M::kGetRoomInfo:
      return msg->set_message_type(M::GetRoomInfo);
    case M::kSubscribeRoomList:
      return msg->set_message_type(M::SubscribeRoomList);
    case M::kUnsubscribeRoomList:
      return msg->set_message_type(M::UnsubscribeRoomList);
    case M::kRecordingCommand:
      return msg->set_message_type(M::RecordingCommand);
    case M::kPanic:
      return msg->set_message_type(M::Panic);
    case M::kSetPerformer:
      return msg->set_message_type(M::SetPerformer);
    case M::kSetTempo:
      return msg->set_message_type(M::SetTempo);
    case M::MESSAGE_NOT_SET:
      return msg->set_message_type(M::Unspecified);
  }
}

struct Client::Impl {
  WsClient ws;
  std::thread thread;
  websocketpp::connection_hdl hdl;

  mutable std::mutex mu;
  std::condition_variable cv;
  enum class State { kIdle, kConnecting, kOpen, kFailed, kClosed } state = State::kIdle;
  ConnectResult result;
  std::deque<proto::ClientMessage> inbox;
  uint16_t close_code = 0;
  std::string close_reason;
  uint64_t undecodable = 0;
  bool abandon = false;  // AbandonConnect: no Connect waits any more

  Impl() {
    ws.clear_access_channels(websocketpp::log::alevel::all);
    ws.clear_error_channels(websocketpp::log::elevel::all);
    ws.init_asio();
    ws.start_perpetual();
    // After the TCP connect (a client's socket is not open yet at socket-init time, so an option
    // set there is silently lost). MIDI is many tiny frames: Nagle plus the peer's delayed ACK
    // would hold one back for up to 40 ms (the layer-2 timing harness measured exactly that).
    ws.set_tcp_post_init_handler([this](websocketpp::connection_hdl h) {
      websocketpp::lib::error_code wec;
      auto con = ws.get_con_from_hdl(h, wec);
      if (wec || !con) return;
      boost::system::error_code ec;
      con->get_raw_socket().set_option(boost::asio::ip::tcp::no_delay(true), ec);
    });
    ws.set_open_handler([this](websocketpp::connection_hdl) {
      std::lock_guard<std::mutex> lock(mu);
      state = State::kOpen;
      result.ok = true;
      cv.notify_all();
    });
    ws.set_fail_handler([this](websocketpp::connection_hdl h) {
      auto con = ws.get_con_from_hdl(h);
      std::lock_guard<std::mutex> lock(mu);
      state = State::kFailed;
      result.ok = false;
      result.http_status = con->get_response_code();
      std::string body = con->get_response().get_body();
      while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
      result.error = body.empty() ? con->get_ec().message() : body;
      cv.notify_all();
    });
    ws.set_close_handler([this](websocketpp::connection_hdl h) {
      auto con = ws.get_con_from_hdl(h);
      std::lock_guard<std::mutex> lock(mu);
      state = State::kClosed;
      close_code = con->get_remote_close_code();
      close_reason = con->get_remote_close_reason();
      cv.notify_all();
    });
    ws.set_message_handler([this](websocketpp::connection_hdl, WsClient::message_ptr msg) {
      proto::ClientMessage m;
      std::lock_guard<std::mutex> lock(mu);
      if (!m.ParseFromString(msg->get_payload())) {
        ++undecodable;
        return;
      }
      inbox.push_back(std::move(m));
      cv.notify_all();
    });
    thread = std::thread([this] { ws.run(); });
  }

  ~Impl() {
    ws.stop_perpetual();
    {
      std::lock_guard<std::mutex> lock(mu);
      if (state == State::kOpen) {
        websocketpp::lib::error_code ec;
        ws.close(hdl, websocketpp::close::status::normal, "bye", ec);
      }
    }
    // Give the close handshake a moment, then stop regardless.
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::milliseconds(500), [this] { return state != State::kOpen; });
    lock.unlock();
    ws.stop();
    if (thread.joinable()) thread.join();
  }
};

Client::Client() : impl_(std::make_unique<Impl>()) {}
Client::~Client() = default;

ConnectResult Client::Connect(const std::string& host, uint16_t port, const std::string& resource,
                              std::chrono::milliseconds timeout) {
  websocketpp::lib::error_code ec;
  std::string url = "ws://" + host + ":" + std::to_string(port) + resource;
  auto con = impl_->ws.get_connection(url, ec);
  if (ec) return ConnectResult{false, 0, ec.message()};
  // websocketpp's own bound on the opening handshake (5 s by default) would otherwise end a
  // longer wait early, or leave the attempt running after a shorter one.
  con->set_open_handshake_timeout(static_cast<long>(timeout.count()));
  const ConnectResult abandoned{false, 0, "connect abandoned"};
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->abandon) return abandoned;
    impl_->state = Impl::State::kConnecting;
    impl_->hdl = con->get_handle();
  }
  impl_->ws.connect(con);
  std::unique_lock<std::mutex> lock(impl_->mu);
  bool done = impl_->cv.wait_for(
      lock, timeout, [this] { return impl_->state != Impl::State::kConnecting || impl_->abandon; });
  if (impl_->state == Impl::State::kConnecting && impl_->abandon) return abandoned;
  if (!done) return ConnectResult{false, 0, "timed out"};
  return impl_->result;
}

void Client::AbandonConnect() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->abandon = true;
  impl_->cv.notify_all();
}

bool Client::Send(proto::ServerMessage msg) {
  StampServerMessageType(&msg);
  return SendRaw(msg.SerializeAsString(), true);
}

bool Client::SendRaw(const std::string& bytes, bool binary) {
  websocketpp::lib::error_code ec;
  impl_->ws.send(impl_->hdl, bytes,
                 binary ? websocketpp::frame::opcode::binary : websocketpp::frame::opcode::text,
                 ec);
  return !ec;
}

std::optional<proto::ClientMessage> Client::Next(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->cv.wait_for(lock, timeout, [this] {
    return !impl_->inbox.empty() || impl_->state == Impl::State::kClosed ||
           impl_->state == Impl::State::kFailed;
  });
  if (impl_->inbox.empty()) return std::nullopt;
  proto::ClientMessage m = std::move(impl_->inbox.front());
  impl_->inbox.pop_front();
  return m;
}

std::optional<proto::ClientMessage> Client::WaitFor(proto::ClientMessage::MessageCase which,
                                                    std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto m = Next(left);
    if (!m) return std::nullopt;
    if (m->message_case() == which) return m;
  }
}

bool Client::WaitClosed(std::chrono::milliseconds timeout, uint16_t* code, std::string* reason) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  bool closed = impl_->cv.wait_for(lock, timeout, [this] {
    return impl_->state == Impl::State::kClosed || impl_->state == Impl::State::kFailed;
  });
  if (code) *code = impl_->close_code;
  if (reason) *reason = impl_->close_reason;
  return closed;
}

void Client::Close(uint16_t code, const std::string& reason) {
  websocketpp::lib::error_code ec;
  impl_->ws.close(impl_->hdl, code, reason, ec);
}

void Client::Drop() {
  websocketpp::lib::error_code ec;
  auto con = impl_->ws.get_con_from_hdl(impl_->hdl, ec);
  if (ec || !con) return;
  // shutdown(2), not close: the descriptor stays websocketpp's, which then reads the end
  // of the stream on its own thread and finishes the connection as a failed one.
  ::shutdown(con->get_raw_socket().native_handle(), SHUT_RDWR);
}

bool Client::is_open() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->state == Impl::State::kOpen;
}

uint64_t Client::undecodable() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->undecodable;
}

}  // namespace tutti::client
