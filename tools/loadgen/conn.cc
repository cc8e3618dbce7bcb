#include "tools/loadgen/conn.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include <boost/asio/write.hpp>

#include "crypto/connect_payload.h"
#include "tools/loadgen/counters.h"
#include "tools/loadgen/loop.h"
#include "tools/loadgen/run_state.h"
#include "tools/loadgen/wire.h"

namespace tutti::loadgen {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

Conn::Conn(Loop* loop, Kind kind, int user, int room, bool player, int ordinal)
    : loop_(loop),
      kind_(kind),
      user_(user),
      room_(room),
      player_(player),
      ordinal_(ordinal),
      socket_(loop->io()),
      mask_key_(0x9E3779B9u * static_cast<uint32_t>(ordinal + 1)) {}

void Conn::Start() {
  const Shared& sh = loop_->shared();
  started_us = NowUs();
  state_ = kConnecting;
  // A fresh sealed payload per connection: single use, fresh for 60 s.
  crypto::ConnectPayload p;
  p.uuid = sh.user_ids[user_];
  p.username = "lg" + std::to_string(user_);
  p.token = sh.tokens[user_];
  p.is_member = true;
  p.socket_id = crypto::RandomSocketId();
  p.ts_ms = UnixMs();
  const std::string resource = crypto::BuildConnectResource(p, sh.seal_public);
  const size_t node = static_cast<size_t>(NodeFor(sh.options, ordinal_));
  pending_ = HandshakeRequest(sh.options.host, sh.options.ports[node], resource);

  boost::system::error_code ec;
  socket_.open(tcp::v4(), ec);
  if (!ec) {
    const tcp::endpoint& src = loop_->source(ordinal_);
    if (src.address().to_v4() != asio::ip::address_v4::loopback()) {
      // Let connect() pick the port per (source, destination) pair: without this, bind()
      // reserves a port per source address and 50,000 connections run out.
      int one = 1;
      setsockopt(socket_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
      socket_.bind(src, ec);
    }
  }
  if (ec) return Fail("socket: " + ec.message(), false);
  socket_.async_connect(
      sh.servers[node],
      [self = shared_from_this()](const boost::system::error_code& e) { self->OnConnected(e); });
}

void Conn::OnConnected(const boost::system::error_code& ec) {
  if (ec) return Fail("connect: " + ec.message(), false);
  if (loop_->shutting_down()) return Shutdown();
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  state_ = kHandshake;
  rbuf_.resize(loop_->read_buffer_size(kind_ == Kind::kIdle));
  Flush();
  StartRead();
}

void Conn::StartRead() {
  if (rlen_ == rbuf_.size()) rbuf_.resize(rbuf_.size() * 2);  // one frame larger than it
  socket_.async_read_some(asio::buffer(rbuf_.data() + rlen_, rbuf_.size() - rlen_),
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      size_t n) { self->OnRead(ec, n); });
}

void Conn::OnRead(const boost::system::error_code& ec, size_t n) {
  if (state_ == kClosed) return;
  if (ec) {
    if (state_ == kHandshake) return Fail("handshake: " + ec.message(), false);
    if (kind_ == Kind::kChurn && closing_) return Finish();
    if (!loop_->shutting_down()) {
      ++loop_->tally().counts[kClosedByServer];
      loop_->NoteError("connection lost: " + ec.message());
      if (kind_ == Kind::kChurn) loop_->ChurnFinished(this, false);
    }
    state_ = kClosed;
    boost::system::error_code ignored;
    socket_.close(ignored);
    return;
  }
  rlen_ += n;
  // One clock read per wakeup: every frame of this read arrived at the same time.
  const int64_t now = NowUs();
  if (state_ == kHandshake) {
    size_t head = 0;
    const int status = ParseHandshakeResponse(
        std::string_view(reinterpret_cast<const char*>(rbuf_.data()), rlen_), &head);
    if (status == 0) return StartRead();
    if (status != 101) {
      ++loop_->tally().counts[kRefused];
      loop_->tally().refused_status = status;
      std::string line(reinterpret_cast<const char*>(rbuf_.data()), std::min<size_t>(rlen_, 200));
      const size_t body = line.find("\r\n\r\n");
      loop_->NoteError("handshake refused: HTTP " + std::to_string(status) +
                       (body == std::string::npos ? "" : " " + line.substr(body + 4)));
      state_ = kClosed;
      boost::system::error_code ignored;
      socket_.close(ignored);
      if (kind_ == Kind::kChurn) {
        loop_->ChurnFinished(this, false);
      } else {
        --loop_->tally().counts[kFailed];  // counted as refused, not twice
        loop_->OnConnectFailed(this);
      }
      return;
    }
    std::memmove(rbuf_.data(), rbuf_.data() + head, rlen_ - head);
    rlen_ -= head;
    state_ = kWelcomed;  // the Welcome is the first frame; joins wait for it
    if (kind_ != Kind::kChurn) loop_->OnOpened(this, now);
  }
  if (!ProcessFrames(now)) return;
  StartRead();
}

bool Conn::ProcessFrames(int64_t now_us) {
  size_t off = 0;
  while (true) {
    FrameHeader h;
    const int r = ParseServerFrameHeader(rbuf_.data() + off, rlen_ - off, &h);
    if (r == 0) break;
    if (r < 0 || !h.fin) {
      Fail("protocol: unexpected frame from the server", true);
      return false;
    }
    const size_t total = h.header_length + h.payload_length;
    if (total > rlen_ - off) {
      if (total > rbuf_.size()) {
        std::memmove(rbuf_.data(), rbuf_.data() + off, rlen_ - off);
        rlen_ -= off;
        rbuf_.resize(total);
        return true;
      }
      break;
    }
    const uint8_t* payload = rbuf_.data() + off + h.header_length;
    const size_t size = static_cast<size_t>(h.payload_length);
    off += total;
    switch (h.opcode) {
      case kOpBinary:
        OnMessage(payload, size, now_us);
        break;
      case kOpPing:
        QueueFrame(kOpPong, std::string_view(reinterpret_cast<const char*>(payload), size));
        Flush();
        break;
      case kOpClose: {
        if (kind_ == Kind::kChurn && closing_) {
          Finish();
          return false;
        }
        uint16_t code = size >= 2 ? static_cast<uint16_t>((payload[0] << 8) | payload[1]) : 0;
        std::string reason(reinterpret_cast<const char*>(payload) + (size >= 2 ? 2 : 0),
                           size >= 2 ? size - 2 : 0);
        if (!loop_->shutting_down()) {
          ++loop_->tally().counts[kClosedByServer];
          loop_->NoteError("closed by server: " + std::to_string(code) + " " + reason);
          if (kind_ == Kind::kChurn) loop_->ChurnFinished(this, false);
        }
        state_ = kClosed;
        boost::system::error_code ignored;
        socket_.close(ignored);
        return false;
      }
      default:
        break;
    }
    if (state_ == kClosed) return false;
  }
  if (off > 0) {
    std::memmove(rbuf_.data(), rbuf_.data() + off, rlen_ - off);
    rlen_ -= off;
  }
  return true;
}

void Conn::OnMessage(const uint8_t* data, size_t size, int64_t now_us) {
  ScanResult s;
  LoopTally& c = loop_->tally();
  if (!ScanClientMessage(data, size, &s)) {
    loop_->NoteError("undecodable ClientMessage");
    return;
  }
  if (s.message_case == kCaseMidi) {
    if (kind_ != Kind::kMember) {
      ++c.counts[kMidiExtra];
      return;
    }
    ++c.counts[kMidiReceived];
    if ((s.midi_flags & proto::MIDI_FLAG_CLAMPED) != 0) ++c.counts[kMidiClamped];
    const Shared& sh = loop_->shared();
    if (sh.phase.load(std::memory_order_relaxed) >= kPlay) {
      const int64_t window_start = sh.window_start_us.load(std::memory_order_relaxed);
      // Throughput counts what arrives inside the window, whenever it was sent, so an
      // overloaded run still reports what the server delivered; latency counts what was
      // sent inside it, so warm-up messages do not flatter or spoil the percentiles.
      if (now_us >= window_start && now_us < sh.send_stop_us.load(std::memory_order_relaxed)) {
        ++c.counts[kWindowReceived];
      }
      const int64_t sent_us = s.midi_timestamp - timeline_us_;  // back on this clock
      if (sent_us >= window_start) c.latency.Record(now_us - sent_us);
    }
    return;
  }
  if (s.message_case == kCaseChat) {
    if (kind_ != Kind::kMember) return;
    // "lg <send time in us>": the generator's own chat lines carry their send time.
    if (s.chat_text.size() < 4 || s.chat_text.compare(0, 3, "lg ") != 0) return;
    int64_t sent = 0;
    for (size_t i = 3; i < s.chat_text.size() && s.chat_text[i] >= '0' && s.chat_text[i] <= '9';
         ++i) {
      sent = sent * 10 + (s.chat_text[i] - '0');
    }
    ++c.counts[kChatReceived];
    const Shared& sh = loop_->shared();
    const int64_t window_start = sh.window_start_us.load(std::memory_order_relaxed);
    if (now_us >= window_start && now_us < sh.send_stop_us.load(std::memory_order_relaxed)) {
      ++c.counts[kWindowReceived];
    }
    if (sent >= window_start) c.chat_latency.Record(now_us - sent);
    return;
  }
  OnControl(s.message_case, data, size);
}

void Conn::OnControl(int message_case, const uint8_t* data, size_t size) {
  LoopTally& c = loop_->tally();
  const Shared& sh = loop_->shared();
  switch (message_case) {
    case kCaseWelcome: {
      // Same machine, same steady clock: the offset is known exactly (zero, or with
      // several nodes the wall anchor), and declaring it lets the server keep our send
      // time as the MIDI timestamp.
      proto::ClientMessage welcome;
      if (welcome.ParseFromArray(data, static_cast<int>(size))) {
        timeline_us_ = ServerTimelineOffsetUs(welcome.welcome().server_time(), NowUs());
      }
      // heartbeat_s 0 (idle-rooms): members that never say anything after joining; only
      // players still declare their clock (their stamps are the latency probe).
      if (player_ || sh.options.heartbeat_s > 0) SendHeartbeat(true);
      if (kind_ == Kind::kIdle) return;
      proto::ServerMessage join;
      auto* cmd = join.mutable_server_command();
      cmd->set_commandtype(proto::CREATE_OR_JOIN_ROOM);
      (*cmd->mutable_parameters())["room_name"] =
          sh.options.rooms == 1 ? std::string("lg-lobby") : "lg-room-" + std::to_string(room_);
      join.set_message_type(proto::ServerMessage::ServerCommand);
      join.set_request_id("j");
      state_ = kJoining;
      SendProto(join);
      return;
    }
    case kCaseRoomJoined: {
      ScanResult s;
      ScanClientMessage(data, size, &s);
      if (state_ != kJoining) return;
      if (!s.joined_success) {
        ++c.counts[kJoinFailed];
        loop_->NoteError("join refused");
        state_ = kWelcomed;
        if (kind_ == Kind::kChurn) {
          Fail("join refused", true);
        }
        return;
      }
      state_ = kJoined;
      if (kind_ == Kind::kChurn) {
        proto::ServerMessage leave;
        leave.mutable_leave_room();
        leave.set_message_type(proto::ServerMessage::LeaveRoom);
        state_ = kLeaving;
        SendProto(leave);
        return;
      }
      sh.room_joined[room_].fetch_add(1, std::memory_order_relaxed);
      loop_->OnJoined(this);
      return;
    }
    case kCaseRoomLeft: {
      if (kind_ == Kind::kChurn && state_ == kLeaving) {
        closing_ = true;
        const char bye[2] = {0x03, static_cast<char>(0xE8)};  // 1000
        QueueFrame(kOpClose, std::string_view(bye, 2));
        Flush();
      }
      return;
    }
    case kCaseError: {
      proto::ClientMessage msg;
      if (!msg.ParseFromArray(data, static_cast<int>(size))) return;
      const std::string& text = msg.error_message().error_message();
      loop_->NoteError("server error: " + text);
      if (state_ == kJoining && msg.request_id() == "j") {
        ++c.counts[kJoinFailed];
        state_ = kWelcomed;
        if (kind_ == Kind::kChurn) Fail("join failed: " + text, true);
        return;
      }
      // Refusals are taken out of what is expected, and counted on their own.
      if (msg.request_id() == "c") {
        ++c.counts[kChatRefused];
        c.counts[kChatRefunded] += loop_->Members(room_);
      } else if (msg.request_id().empty() && player_) {
        ++c.counts[kMidiRefused];
        c.counts[kMidiRefunded] += loop_->Receivers(room_);
      }
      return;
    }
    default:
      return;  // heartbeats, join/leave notices, held-notes snapshots: not measured
  }
}

void Conn::SendMidi(int64_t now_us) {
  // Pattern: note-on, note-off, ...; every chord_every-th note is a three-note chord,
  // so batches of 3 and 9 bytes both travel. Notes wander so held-note tracking works.
  uint8_t midi[9];
  size_t n = 0;
  if (held_count_ == 0) {
    const int chord_every = std::max(1, loop_->shared().options.chord_every);
    const bool chord =
        (step_ / 2) % static_cast<uint32_t>(chord_every) == static_cast<uint32_t>(chord_every - 1);
    const uint8_t root = static_cast<uint8_t>(48 + (ordinal_ * 5 + step_) % 36);
    held_count_ = chord ? 3 : 1;
    const uint8_t intervals[3] = {0, 4, 7};
    for (int i = 0; i < held_count_; ++i) {
      held_[i] = static_cast<uint8_t>(root + intervals[i]);
      midi[n++] = 0x90;
      midi[n++] = held_[i];
      midi[n++] = 96;
    }
  } else {
    for (int i = 0; i < held_count_; ++i) {
      midi[n++] = 0x80;
      midi[n++] = held_[i];
      midi[n++] = 64;
    }
    held_count_ = 0;
  }
  ++step_;
  uint8_t payload[64];
  const size_t len = EncodeMidiMessage(std::string_view(reinterpret_cast<const char*>(midi), n),
                                       now_us + timeline_us_, payload, sizeof(payload));
  QueueFrame(kOpBinary, std::string_view(reinterpret_cast<const char*>(payload), len));
  LoopTally& c = loop_->tally();
  ++c.counts[kMidiSent];
  c.counts[kMidiExpected] += loop_->Receivers(room_);
}

void Conn::SendChat(int64_t now_us) {
  char text[32];
  const int tn = std::snprintf(text, sizeof(text), "lg %lld", static_cast<long long>(now_us));
  uint8_t payload[96];
  const size_t len = EncodeChatMessage(std::string_view(text, static_cast<size_t>(tn)), "c",
                                       payload, sizeof(payload));
  QueueFrame(kOpBinary, std::string_view(reinterpret_cast<const char*>(payload), len));
  LoopTally& c = loop_->tally();
  ++c.counts[kChatSent];
  c.counts[kChatExpected] += loop_->Members(room_);  // the sender gets its own line back
}

void Conn::SendHeartbeat(bool with_clock) {
  proto::ServerMessage hb;
  auto* h = hb.mutable_heartbeat_message();
  h->set_timestamp(NowUs());
  if (with_clock) {
    h->mutable_clock()->set_synced(true);
    h->mutable_clock()->set_offset_us(timeline_us_);
    h->mutable_clock()->set_error_bound_us(100);
  }
  hb.set_message_type(proto::ServerMessage::HeartbeatMessage);
  SendProto(hb);
}

void Conn::SendProto(const proto::ServerMessage& msg) {
  QueueFrame(kOpBinary, msg.SerializeAsString());
  Flush();
}

void Conn::QueueFrame(uint8_t opcode, std::string_view payload) {
  if (state_ == kClosed) return;
  AppendClientFrame(&pending_, opcode, payload, mask_key_);
  MarkDirty();
}

void Conn::MarkDirty() {
  if (dirty_) return;
  dirty_ = true;
  loop_->MarkDirty(this);
}

void Conn::Flush() {
  dirty_ = false;
  if (writing_ || pending_.empty() || state_ == kClosed || state_ == kConnecting) return;
  writing_ = true;
  std::swap(pending_, inflight_);
  asio::async_write(socket_, asio::buffer(inflight_),
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                      self->writing_ = false;
                      self->inflight_.clear();
                      if (ec) return;  // the read side reports the failure
                      if (!self->pending_.empty()) self->Flush();
                    });
}

void Conn::Fail(const std::string& why, bool connected) {
  loop_->NoteError(why);
  const bool was_connecting = state_ == kConnecting || state_ == kHandshake;
  state_ = kClosed;
  boost::system::error_code ignored;
  socket_.close(ignored);
  if (kind_ == Kind::kChurn) {
    loop_->ChurnFinished(this, false);
  } else if (was_connecting) {
    loop_->OnConnectFailed(this);
  } else if (connected) {
    ++loop_->tally().counts[kClosedByServer];
  }
}

void Conn::Finish() {
  state_ = kClosed;
  boost::system::error_code ignored;
  socket_.close(ignored);
  loop_->ChurnFinished(this, true);
}

void Conn::Shutdown() {
  if (state_ == kClosed) return;
  state_ = kClosed;
  boost::system::error_code ignored;
  socket_.close(ignored);
}

}  // namespace tutti::loadgen
