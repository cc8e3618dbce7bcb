#include "tools/loadgen/loadgen.h"

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "crypto/connect_payload.h"
#include "crypto/jwt.h"
#include "crypto/keys.h"
#include "crypto/sodium_init.h"
#include "protos/tutti.pb.h"
#include "tools/loadgen/proc_stats.h"
#include "tools/loadgen/wire.h"

namespace tutti::loadgen {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Server time: the same steady clock the server reads (server/clock.h), so a timestamp
// taken here is directly comparable with the server's and with other connections'.
int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t UnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

enum Phase : int { kSetup = 0, kPlay = 1, kStopSending = 2, kShutdown = 3 };

// What every loop reads; written by main before the loops start (or, for the play
// times, before `phase` is released), except the atomics.
struct Shared {
  Options options;
  crypto::PublicKey seal_public;
  tcp::endpoint server;
  std::vector<std::string> user_ids;
  std::vector<std::string> tokens;
  int churn_user_base = 0;  // churn connections use users [base, user_ids.size())
  std::unique_ptr<std::atomic<int>[]> room_joined;
  std::atomic<int> phase{kSetup};
  std::atomic<int64_t> play_start_us{0}, window_start_us{0}, send_stop_us{0};
};

// A loop's counters as main may read them while the loop runs: relaxed stores once per
// tick, so the hot path only touches plain integers.
struct Published {
  std::atomic<uint64_t> opened{0}, failed{0}, joined{0}, join_failed{0}, closed{0};
  std::atomic<uint64_t> midi_sent{0}, midi_expected{0}, midi_received{0};
  std::atomic<uint64_t> chat_sent{0}, chat_expected{0}, chat_received{0};
  std::atomic<uint64_t> churn_cycles{0};
  std::atomic<int64_t> last_open_us{0};
};

struct Counters {
  uint64_t opened = 0, failed = 0, refused = 0, joined = 0, join_failed = 0, closed = 0;
  int refused_status = 0;
  uint64_t midi_sent = 0, midi_expected = 0, midi_refunded = 0, midi_refused = 0;
  uint64_t midi_received = 0, midi_clamped = 0, midi_extra = 0, window_received = 0;
  uint64_t chat_sent = 0, chat_expected = 0, chat_refunded = 0, chat_refused = 0;
  uint64_t chat_received = 0, window_sent = 0;
  uint64_t churn_cycles = 0, churn_failed = 0;
  int64_t last_open_us = 0, max_send_lag_us = 0;
  LatencyHistogram latency, chat_latency, churn_cycle;
  std::string first_error;
};

class Loop;

// One WebSocket connection. Lives on its loop's thread; async handlers hold a shared_ptr,
// so a connection outlives its last pending operation.
class Conn : public std::enable_shared_from_this<Conn> {
 public:
  enum class Kind { kMember, kIdle, kChurn };

  Conn(Loop* loop, Kind kind, int user, int room, bool player, int ordinal);

  void Start();
  void Shutdown();  // end of run: close without ceremony
  bool open() const { return state_ >= kWelcomed && state_ < kClosed; }
  bool joined() const { return state_ == kJoined; }
  bool player() const { return player_; }
  int room() const { return room_; }

  // Hot path, on the loop's tick. Appends to the pending write; Flush() writes it.
  void SendMidi(int64_t now_us);
  void SendChat(int64_t now_us);
  void SendHeartbeat(bool with_clock);
  void Flush();

  // Players' and chatters' schedules (server time, fractional microseconds).
  double next_midi_us = 0;
  double next_chat_us = 0;
  int64_t started_us = 0;

 private:
  enum State {
    kIdleState,
    kConnecting,
    kHandshake,
    kWelcomed,
    kJoining,
    kJoined,
    kLeaving,
    kClosed
  };

  void OnConnected(const boost::system::error_code& ec);
  void StartRead();
  void OnRead(const boost::system::error_code& ec, size_t n);
  bool ProcessFrames(int64_t now_us);
  void OnMessage(const uint8_t* data, size_t size, int64_t now_us);
  void OnControl(int message_case, const uint8_t* data, size_t size);
  void SendProto(const proto::ServerMessage& msg);
  void QueueFrame(uint8_t opcode, std::string_view payload);
  void MarkDirty();
  void Fail(const std::string& why, bool connected);
  void Finish();

  Loop* const loop_;
  const Kind kind_;
  const int user_;
  const int room_;
  const bool player_;
  const int ordinal_;
  tcp::socket socket_;
  State state_ = kIdleState;
  uint32_t mask_key_;
  std::vector<uint8_t> rbuf_;
  size_t rlen_ = 0;
  std::string pending_, inflight_;
  bool writing_ = false;
  bool dirty_ = false;
  bool closing_ = false;  // we sent a close frame (churn) or are shutting down
  // Player state: which step of the note pattern comes next.
  uint32_t step_ = 0;
  uint8_t held_[3] = {0, 0, 0};
  int held_count_ = 0;
  friend class Loop;
};

class Loop {
 public:
  Loop(int index, Shared* shared)
      : index_(index), shared_(shared), timer_(io_), work_(asio::make_work_guard(io_)) {}

  Shared& shared() { return *shared_; }
  Counters& counters() { return counters_; }
  const Counters& counters() const { return counters_; }
  Published& published() { return published_; }
  asio::io_context& io() { return io_; }
  int index() const { return index_; }

  void Add(std::shared_ptr<Conn> conn) { members_.push_back(std::move(conn)); }

  void StartThread() {
    thread_ = std::thread([this] {
      asio::post(io_, [this] { Begin(); });
      io_.run();
    });
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  void PostShutdown() {
    asio::post(io_, [this] { DoShutdown(); });
  }

  // Called by connections.
  void OnOpened(Conn* c, int64_t now_us) {
    ++counters_.opened;
    counters_.last_open_us = now_us;
    ConnectDone(c);
  }
  void OnConnectFailed(Conn* c) {
    ++counters_.failed;
    ConnectDone(c);
  }
  void OnJoined(Conn* c) {
    ++counters_.joined;
    if (c->player()) players_.push_back(c);
  }
  void MarkDirty(Conn* c) { dirty_.push_back(c); }
  void ChurnFinished(Conn* c, bool ok) {
    if (ok) {
      ++counters_.churn_cycles;
      counters_.churn_cycle.Record(NowUs() - c->started_us);
    } else {
      ++counters_.churn_failed;
    }
    // Erased after the current handler returns: the caller still runs on `c`. It may
    // also sit in the dirty list (a frame queued before it finished); drop it there
    // first, or the next Tick would flush a freed connection.
    asio::post(io_, [this, c] {
      dirty_.erase(std::remove(dirty_.begin(), dirty_.end(), c), dirty_.end());
      churners_.erase(c);
    });
  }
  void NoteError(const std::string& text) {
    if (counters_.first_error.empty()) counters_.first_error = text;
  }
  bool shutting_down() const { return shutting_down_; }
  // Receivers of one relayed message of `room` (the sender excluded).
  uint64_t Receivers(int room) const {
    const int n = shared_->room_joined[room].load(std::memory_order_relaxed);
    return n > 1 ? static_cast<uint64_t>(n - 1) : 0;
  }
  uint64_t Members(int room) const {
    return static_cast<uint64_t>(shared_->room_joined[room].load(std::memory_order_relaxed));
  }
  size_t read_buffer_size(bool idle) const {
    if (shared_->options.read_buffer > 0) return shared_->options.read_buffer;
    return idle ? 4096 : 64 * 1024;
  }
  const tcp::endpoint& source(int ordinal) const {
    return sources_[static_cast<size_t>(ordinal) % sources_.size()];
  }
  void SetSources(std::vector<tcp::endpoint> s) { sources_ = std::move(s); }
  // Each sender starts at its own phase within one period, so sends spread evenly.
  void SetSchedules(int64_t play_start, const Options& o) {
    std::mt19937 rng(static_cast<unsigned>(index_) + 7);
    std::uniform_real_distribution<double> unit(0, 1);
    const double start = static_cast<double>(play_start);
    for (Conn* p : players_) p->next_midi_us = start + (o.rate > 0 ? unit(rng) * 1e6 / o.rate : 0);
    for (auto& c : members_) {
      c->next_chat_us = start + (o.chat_rate > 0 ? unit(rng) * 1e6 / o.chat_rate : 0);
    }
  }

 private:
  void Begin() {
    const Options& o = shared_->options;
    connect_budget_ = std::max(1, o.max_connecting / std::max(1, o.threads));
    StartMoreConnects();
    ScheduleTick();
  }

  void StartMoreConnects() {
    while (connecting_ < connect_budget_ && next_connect_ < members_.size()) {
      ++connecting_;
      members_[next_connect_++]->Start();
    }
  }

  void ConnectDone(Conn* c) {
    if (c->kind_ == Conn::Kind::kChurn) return;
    --connecting_;
    StartMoreConnects();
  }

  void ScheduleTick() {
    timer_.expires_after(std::chrono::microseconds(shared_->options.tick_us));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || shutting_down_) return;
      Tick();
      ScheduleTick();
    });
  }

  void Tick() {
    const int64_t now = NowUs();
    const Options& o = shared_->options;
    const int phase = shared_->phase.load(std::memory_order_acquire);
    if (phase == kPlay) {
      const int64_t stop = shared_->send_stop_us.load(std::memory_order_relaxed);
      const int64_t window = shared_->window_start_us.load(std::memory_order_relaxed);
      const int64_t send_until = std::min(now, stop);
      if (o.rate > 0) {
        const double period = 1e6 / o.rate;
        for (Conn* p : players_) {
          // Open loop: catch up on a late tick, but in bounded bursts.
          int burst = 0;
          while (p->next_midi_us <= static_cast<double>(send_until) && burst < 64) {
            counters_.max_send_lag_us = std::max<int64_t>(
                counters_.max_send_lag_us, now - static_cast<int64_t>(p->next_midi_us));
            p->SendMidi(now);
            if (now >= window) ++counters_.window_sent;
            p->next_midi_us += period;
            ++burst;
          }
        }
      }
      if (o.chat_rate > 0) {
        const double period = 1e6 / o.chat_rate;
        for (auto& c : members_) {
          if (!c->joined()) continue;
          int burst = 0;
          while (c->next_chat_us <= static_cast<double>(send_until) && burst < 8) {
            c->SendChat(now);
            if (now >= window) ++counters_.window_sent;
            c->next_chat_us += period;
            ++burst;
          }
        }
      }
      if (o.churn_rate > 0 && now < stop) {
        const double per_loop = o.churn_rate / std::max(1, o.threads);
        const double elapsed =
            static_cast<double>(now - shared_->play_start_us.load(std::memory_order_relaxed));
        const uint64_t due = static_cast<uint64_t>(elapsed * per_loop / 1e6);
        while (churn_started_ < due && static_cast<int>(churners_.size()) < o.churn_max_active) {
          StartChurner();
        }
      }
    }
    if (phase == kPlay && !play_started_) play_started_ = true;
    if (o.heartbeat_s > 0 &&
        now - last_heartbeat_us_ >= static_cast<int64_t>(o.heartbeat_s) * 1000000) {
      last_heartbeat_us_ = now;
      if (heartbeats_started_) {
        for (auto& c : members_) {
          if (c->open()) c->SendHeartbeat(false);
        }
      }
      heartbeats_started_ = true;
    }
    for (Conn* c : dirty_) c->Flush();
    dirty_.clear();
    Publish();
  }

  void StartChurner() {
    const Options& o = shared_->options;
    const int users = static_cast<int>(shared_->user_ids.size()) - shared_->churn_user_base;
    const int user = shared_->churn_user_base + static_cast<int>(churn_started_ % users);
    // Spread over the rooms; a churner never plays.
    const int room = static_cast<int>((churn_started_ * 7 + index_) % o.rooms);
    auto c = std::make_shared<Conn>(this, Conn::Kind::kChurn, user, room, false,
                                    static_cast<int>(churn_started_));
    ++churn_started_;
    Conn* raw = c.get();
    churners_.emplace(raw, std::move(c));
    raw->Start();
  }

  void Publish() {
    const Counters& c = counters_;
    auto st = [](std::atomic<uint64_t>& a, uint64_t v) { a.store(v, std::memory_order_relaxed); };
    st(published_.opened, c.opened);
    st(published_.failed, c.failed + c.refused);
    st(published_.joined, c.joined);
    st(published_.join_failed, c.join_failed);
    st(published_.closed, c.closed);
    st(published_.midi_sent, c.midi_sent);
    st(published_.midi_expected, c.midi_expected - c.midi_refunded);
    st(published_.midi_received, c.midi_received);
    st(published_.chat_sent, c.chat_sent);
    st(published_.chat_expected, c.chat_expected - c.chat_refunded);
    st(published_.chat_received, c.chat_received);
    st(published_.churn_cycles, c.churn_cycles);
    published_.last_open_us.store(c.last_open_us, std::memory_order_relaxed);
  }

  void DoShutdown() {
    Publish();
    shutting_down_ = true;
    timer_.cancel();
    for (auto& c : members_) c->Shutdown();
    for (auto& [raw, c] : churners_) c->Shutdown();
    work_.reset();
  }

  const int index_;
  Shared* const shared_;
  asio::io_context io_{1};
  asio::steady_timer timer_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  std::vector<std::shared_ptr<Conn>> members_;  // members and idle connections
  std::vector<Conn*> players_;
  std::vector<Conn*> dirty_;
  std::unordered_map<Conn*, std::shared_ptr<Conn>> churners_;
  std::vector<tcp::endpoint> sources_;
  size_t next_connect_ = 0;
  int connecting_ = 0;
  int connect_budget_ = 1;
  uint64_t churn_started_ = 0;
  int64_t last_heartbeat_us_ = 0;
  bool heartbeats_started_ = false;
  bool play_started_ = false;
  bool shutting_down_ = false;
  Counters counters_;
  Published published_;
};

// --- Conn ------------------------------------------------------------------------------

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
  pending_ = HandshakeRequest(sh.options.host, sh.options.port, resource);

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
  socket_.async_connect(sh.server, [self = shared_from_this()](const boost::system::error_code& e) {
    self->OnConnected(e);
  });
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
      ++loop_->counters().closed;
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
      ++loop_->counters().refused;
      loop_->counters().refused_status = status;
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
        --loop_->counters().failed;  // counted as refused, not twice
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
          ++loop_->counters().closed;
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
  Counters& c = loop_->counters();
  if (!ScanClientMessage(data, size, &s)) {
    loop_->NoteError("undecodable ClientMessage");
    return;
  }
  if (s.message_case == kCaseMidi) {
    if (kind_ != Kind::kMember) {
      ++c.midi_extra;
      return;
    }
    ++c.midi_received;
    if ((s.midi_flags & proto::MIDI_FLAG_CLAMPED) != 0) ++c.midi_clamped;
    const Shared& sh = loop_->shared();
    if (sh.phase.load(std::memory_order_relaxed) >= kPlay) {
      const int64_t window_start = sh.window_start_us.load(std::memory_order_relaxed);
      // Throughput counts what arrives inside the window, whenever it was sent, so an
      // overloaded run still reports what the server delivered; latency counts what was
      // sent inside it, so warm-up messages do not flatter or spoil the percentiles.
      if (now_us >= window_start && now_us < sh.send_stop_us.load(std::memory_order_relaxed)) {
        ++c.window_received;
      }
      if (s.midi_timestamp >= window_start) c.latency.Record(now_us - s.midi_timestamp);
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
    ++c.chat_received;
    const Shared& sh = loop_->shared();
    const int64_t window_start = sh.window_start_us.load(std::memory_order_relaxed);
    if (now_us >= window_start && now_us < sh.send_stop_us.load(std::memory_order_relaxed)) {
      ++c.window_received;
    }
    if (sent >= window_start) c.chat_latency.Record(now_us - sent);
    return;
  }
  OnControl(s.message_case, data, size);
}

void Conn::OnControl(int message_case, const uint8_t* data, size_t size) {
  Counters& c = loop_->counters();
  const Shared& sh = loop_->shared();
  switch (message_case) {
    case kCaseWelcome: {
      // Same machine, same steady clock: the offset is truly zero, and declaring it lets
      // the server keep our send time as the MIDI timestamp.
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
        ++c.join_failed;
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
        ++c.join_failed;
        state_ = kWelcomed;
        if (kind_ == Kind::kChurn) Fail("join failed: " + text, true);
        return;
      }
      // Refusals are taken out of what is expected, and counted on their own.
      if (msg.request_id() == "c") {
        ++c.chat_refused;
        c.chat_refunded += loop_->Members(room_);
      } else if (msg.request_id().empty() && player_) {
        ++c.midi_refused;
        c.midi_refunded += loop_->Receivers(room_);
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
                                       now_us, payload, sizeof(payload));
  QueueFrame(kOpBinary, std::string_view(reinterpret_cast<const char*>(payload), len));
  Counters& c = loop_->counters();
  ++c.midi_sent;
  c.midi_expected += loop_->Receivers(room_);
}

void Conn::SendChat(int64_t now_us) {
  char text[32];
  const int tn = std::snprintf(text, sizeof(text), "lg %lld", static_cast<long long>(now_us));
  uint8_t payload[96];
  const size_t len = EncodeChatMessage(std::string_view(text, static_cast<size_t>(tn)), "c",
                                       payload, sizeof(payload));
  QueueFrame(kOpBinary, std::string_view(reinterpret_cast<const char*>(payload), len));
  Counters& c = loop_->counters();
  ++c.chat_sent;
  c.chat_expected += loop_->Members(room_);  // the sender gets its own line back
}

void Conn::SendHeartbeat(bool with_clock) {
  proto::ServerMessage hb;
  auto* h = hb.mutable_heartbeat_message();
  h->set_timestamp(NowUs());
  if (with_clock) {
    h->mutable_clock()->set_synced(true);
    h->mutable_clock()->set_offset_us(0);
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
    ++loop_->counters().closed;
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

// --- the run ----------------------------------------------------------------------------

void RaiseFileLimit() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

struct Totals {
  uint64_t opened = 0, failed = 0, joined = 0, join_failed = 0, closed = 0;
  uint64_t midi_sent = 0, midi_expected = 0, midi_received = 0;
  uint64_t chat_sent = 0, chat_expected = 0, chat_received = 0, churn_cycles = 0;
  int64_t last_open_us = 0;
};

Totals Sum(const std::vector<std::unique_ptr<Loop>>& loops) {
  Totals t;
  auto ld = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  for (const auto& l : loops) {
    Published& p = l->published();
    t.opened += ld(p.opened);
    t.failed += ld(p.failed);
    t.joined += ld(p.joined);
    t.join_failed += ld(p.join_failed);
    t.closed += ld(p.closed);
    t.midi_sent += ld(p.midi_sent);
    t.midi_expected += ld(p.midi_expected);
    t.midi_received += ld(p.midi_received);
    t.chat_sent += ld(p.chat_sent);
    t.chat_expected += ld(p.chat_expected);
    t.chat_received += ld(p.chat_received);
    t.churn_cycles += ld(p.churn_cycles);
    t.last_open_us = std::max(t.last_open_us, p.last_open_us.load(std::memory_order_relaxed));
  }
  return t;
}

std::string Human(double v) {
  char b[32];
  if (v >= 1e6) {
    std::snprintf(b, sizeof(b), "%.2fM", v / 1e6);
  } else if (v >= 1e3) {
    std::snprintf(b, sizeof(b), "%.1fk", v / 1e3);
  } else {
    std::snprintf(b, sizeof(b), "%.0f", v);
  }
  return b;
}

void SleepUntilUs(int64_t t) {
  const int64_t now = NowUs();
  if (t > now) std::this_thread::sleep_for(std::chrono::microseconds(t - now));
}

}  // namespace

void ApplyScenarioDefaults(Options* o, bool explicit_rooms, bool explicit_size,
                           bool explicit_players, bool explicit_rate, bool explicit_chat,
                           bool explicit_churn, bool explicit_idle) {
  auto set_rooms = [&](int rooms, int size, int players, double rate) {
    if (!explicit_rooms) o->rooms = rooms;
    if (!explicit_size) o->room_size = size;
    if (!explicit_players) o->players_per_room = players;
    if (!explicit_rate) o->rate = rate;
  };
  if (o->scenario == "lobby") {
    set_rooms(1, 64, 8, 500);
  } else if (o->scenario == "rooms") {
    set_rooms(200, 5, 2, 75);
  } else if (o->scenario == "idle") {
    set_rooms(0, 0, 0, 0);
    if (!explicit_idle) o->idle_connections = 1000;
  } else if (o->scenario == "idle-rooms") {
    // Joined but silent: the server's cost of members that do nothing (docs/PERFORMANCE.md).
    set_rooms(1000, 10, 0, 0);
    o->heartbeat_s = 0;
    if (o->read_buffer == 0) o->read_buffer = 4096;  // nothing arrives but join notices
  } else if (o->scenario == "churn") {
    set_rooms(200, 5, 2, 50);
    if (!explicit_churn) o->churn_rate = 100;
  } else if (o->scenario == "chat") {
    set_rooms(1, 64, 8, 100);
    if (!explicit_chat) o->chat_rate = 2;
  }
}

bool Run(const Options& options, Results* r, std::string* error) {
  *r = Results();
  r->options = options;
  const Options& o = options;
  crypto::EnsureSodiumInitialized();
  RaiseFileLimit();
  auto issuer = crypto::LoadIssuerKeys(o.key_dir);
  if (!issuer.ok()) {
    *error = "issuer key: " + std::string(issuer.status().message());
    return false;
  }
  auto seal = crypto::LoadSealPublicKey(o.key_dir);
  if (!seal.ok()) {
    *error = "seal key: " + std::string(seal.status().message());
    return false;
  }

  auto shared = std::make_unique<Shared>();
  shared->options = o;
  shared->seal_public = *seal;
  boost::system::error_code ec;
  shared->server = tcp::endpoint(asio::ip::make_address(o.host, ec), o.port);
  if (ec || o.port == 0) {
    *error = "need --host (loopback) and --port";
    return false;
  }
  if (!shared->server.address().is_loopback()) {
    *error = "tutti-loadgen only targets loopback addresses";
    return false;
  }
  const int rooms = std::max(0, o.rooms);
  const int members = o.idle_connections > 0 && rooms == 0 ? 0 : rooms * o.room_size;
  const int stable = members + std::max(0, o.idle_connections);
  const int churn_users = o.churn_rate > 0 ? 256 : 0;
  shared->room_joined =
      std::make_unique<std::atomic<int>[]>(static_cast<size_t>(std::max(1, rooms)));

  // Tokens once per user; each connection seals its own payload around its user's token.
  const int64_t now_s = UnixMs() / 1000;
  const int users = stable + churn_users;
  shared->user_ids.reserve(users);
  shared->tokens.reserve(users);
  for (int i = 0; i < users; ++i) {
    crypto::TokenClaims claims;
    claims.sub = "lg-" + std::to_string(i);
    claims.name = "lg" + std::to_string(i);
    claims.iss = "tutti-loadgen";
    claims.jti = crypto::RandomSocketId();
    claims.member = true;
    claims.iat = now_s;
    claims.exp = now_s + 3600;
    shared->user_ids.push_back(claims.sub);
    shared->tokens.push_back(crypto::MintToken(claims, *issuer));
  }
  shared->churn_user_base = stable;

  // Source addresses: one per ~25,000 connections (the ephemeral range is ~28,000 ports).
  int nsrc = o.source_addresses > 0 ? o.source_addresses : 1 + (stable + 1000) / 25000;
  std::vector<tcp::endpoint> sources;
  for (int i = 0; i < nsrc; ++i) {
    sources.emplace_back(asio::ip::address_v4((127u << 24) | static_cast<uint32_t>(1 + i)), 0);
  }

  const int threads = std::max(1, o.threads);
  std::vector<std::unique_ptr<Loop>> loops;
  for (int t = 0; t < threads; ++t) {
    loops.push_back(std::make_unique<Loop>(t, shared.get()));
    loops.back()->SetSources(sources);
  }
  for (int i = 0; i < stable; ++i) {
    Loop* loop = loops[static_cast<size_t>(i % threads)].get();
    if (i < members) {
      const int room = i / o.room_size;
      const bool player = (i % o.room_size) < o.players_per_room;
      loop->Add(std::make_shared<Conn>(loop, Conn::Kind::kMember, i, room, player, i));
    } else {
      loop->Add(std::make_shared<Conn>(loop, Conn::Kind::kIdle, i, -1, false, i));
    }
  }
  r->connections_planned = static_cast<uint64_t>(stable);

  ProcSample srv_before;
  if (o.server_pid > 0) srv_before = SampleProcess(o.server_pid);
  r->server_rss_before = srv_before.rss_bytes;

  auto progress = [&](const char* phase, double t, const Totals& now, const Totals& prev, double dt,
                      const ProcSample& srv, const ProcSample& srv_prev, const ProcSample& self,
                      const ProcSample& self_prev) {
    if (!o.progress) return;
    std::fprintf(
        stderr,
        "[%5.1fs %-6s] conns %llu/%d (failed %llu, closed %llu) joined %llu  "
        "sent %s/s  recv %s/s  in flight %lld",
        t, phase, static_cast<unsigned long long>(now.opened), stable,
        static_cast<unsigned long long>(now.failed), static_cast<unsigned long long>(now.closed),
        static_cast<unsigned long long>(now.joined),
        Human((now.midi_sent + now.chat_sent - prev.midi_sent - prev.chat_sent) / dt).c_str(),
        Human((now.midi_received + now.chat_received - prev.midi_received - prev.chat_received) /
              dt)
            .c_str(),
        static_cast<long long>(now.midi_expected + now.chat_expected) -
            static_cast<long long>(now.midi_received + now.chat_received));
    if (srv.ok && srv_prev.ok) {
      std::fprintf(stderr, "  server cpu %.0f%% rss %.0f MiB",
                   100 * (srv.cpu_seconds - srv_prev.cpu_seconds) / dt, srv.rss_bytes / 1048576.0);
    }
    if (self.ok && self_prev.ok) {
      std::fprintf(stderr, "  loadgen cpu %.0f%%",
                   100 * (self.cpu_seconds - self_prev.cpu_seconds) / dt);
    }
    std::fprintf(stderr, "\n");
  };

  // --- setup: connect and join ---------------------------------------------------------
  const int64_t t0 = NowUs();
  const ProcSample srv_setup0 = o.server_pid > 0 ? SampleProcess(o.server_pid) : ProcSample();
  for (auto& l : loops) l->StartThread();
  Totals prev = Sum(loops);
  ProcSample srv_prev = o.server_pid > 0 ? SampleProcess(o.server_pid) : ProcSample();
  ProcSample self_prev = SampleProcess(0);
  int64_t last_print = t0;
  const int64_t setup_deadline = t0 + static_cast<int64_t>(o.setup_timeout_s * 1e6);
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const Totals t = Sum(loops);
    const bool connected = t.opened + t.failed >= static_cast<uint64_t>(stable);
    const bool joined = t.joined + t.join_failed + t.closed >= static_cast<uint64_t>(members);
    const int64_t now = NowUs();
    if (now - last_print >= 1000000) {
      const ProcSample srv = o.server_pid > 0 ? SampleProcess(o.server_pid) : ProcSample();
      const ProcSample self = SampleProcess(0);
      progress("setup", (now - t0) / 1e6, t, prev, (now - last_print) / 1e6, srv, srv_prev, self,
               self_prev);
      prev = t;
      srv_prev = srv;
      self_prev = self;
      last_print = now;
    }
    if ((connected && joined) || now > setup_deadline) break;
  }
  {
    const Totals t = Sum(loops);
    r->setup_s = (NowUs() - t0) / 1e6;
    if (t.opened > 0 && t.last_open_us > t0) {
      r->handshakes_per_s = static_cast<double>(t.opened) / ((t.last_open_us - t0) / 1e6);
    }
    const ProcSample srv_setup1 = o.server_pid > 0 ? SampleProcess(o.server_pid) : ProcSample();
    if (srv_setup0.ok && srv_setup1.ok && t.opened > 0) {
      r->server_cpu_us_per_connection =
          1e6 * (srv_setup1.cpu_seconds - srv_setup0.cpu_seconds) / static_cast<double>(t.opened);
    }
  }
  // Let join notices settle so they do not mix with the first measured deliveries.
  std::this_thread::sleep_for(std::chrono::milliseconds(o.idle_connections > 0 ? 1000 : 300));
  if (o.server_pid > 0) {
    const ProcSample s = SampleProcess(o.server_pid);
    r->server_rss_after = s.rss_bytes;
  }

  // --- play (or hold) ------------------------------------------------------------------
  const int64_t play_start = NowUs() + 10000;
  const int64_t window_start = play_start + static_cast<int64_t>(o.warmup_s * 1e6);
  const int64_t send_stop = play_start + static_cast<int64_t>(o.duration_s * 1e6);
  shared->play_start_us.store(play_start);
  shared->window_start_us.store(window_start);
  shared->send_stop_us.store(send_stop);
  {
    // Schedules are set on each loop's thread before the phase flips (posted, then waited).
    std::atomic<int> ready{0};
    for (auto& l : loops) {
      asio::post(l->io(), [lp = l.get(), play_start, &o, &ready] {
        lp->SetSchedules(play_start, o);
        ready.fetch_add(1);
      });
    }
    while (ready.load() < threads) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  shared->phase.store(kPlay, std::memory_order_release);

  ProcSample srv_w0, srv_w1, self_w0, self_w1;
  bool sampled_start = false;
  while (NowUs() < send_stop) {
    const int64_t next =
        std::min({last_print + 1000000, send_stop, sampled_start ? send_stop : window_start});
    SleepUntilUs(next);
    const int64_t now = NowUs();
    if (!sampled_start && now >= window_start) {
      sampled_start = true;
      if (o.server_pid > 0) srv_w0 = SampleProcess(o.server_pid);
      self_w0 = SampleProcess(0);
    }
    if (now - last_print >= 1000000) {
      const Totals t = Sum(loops);
      const ProcSample srv = o.server_pid > 0 ? SampleProcess(o.server_pid) : ProcSample();
      const ProcSample self = SampleProcess(0);
      progress(o.idle_connections > 0 && members == 0 ? "hold" : "play", (now - t0) / 1e6, t, prev,
               (now - last_print) / 1e6, srv, srv_prev, self, self_prev);
      prev = t;
      srv_prev = srv;
      self_prev = self;
      last_print = now;
    }
  }
  if (o.server_pid > 0) srv_w1 = SampleProcess(o.server_pid);
  self_w1 = SampleProcess(0);
  shared->phase.store(kStopSending, std::memory_order_release);

  // --- drain ------------------------------------------------------------------------------
  const int64_t drain_deadline = NowUs() + static_cast<int64_t>(o.drain_s * 1e6);
  while (NowUs() < drain_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const Totals t = Sum(loops);
    if (t.midi_received >= t.midi_expected && t.chat_received >= t.chat_expected) {
      // One more tick so late refusals are published too.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const Totals u = Sum(loops);
      if (u.midi_received >= u.midi_expected && u.chat_received >= u.chat_expected) break;
    }
  }
  const ProcSample self_end = SampleProcess(0);
  shared->phase.store(kShutdown, std::memory_order_release);
  for (auto& l : loops) l->PostShutdown();
  for (auto& l : loops) l->Join();

  // --- results -----------------------------------------------------------------------------
  Counters all;
  for (auto& l : loops) {
    const Counters& c = l->counters();
    all.opened += c.opened;
    all.failed += c.failed;
    all.refused += c.refused;
    if (c.refused_status) all.refused_status = c.refused_status;
    all.joined += c.joined;
    all.join_failed += c.join_failed;
    all.closed += c.closed;
    all.midi_sent += c.midi_sent;
    all.midi_expected += c.midi_expected;
    all.midi_refunded += c.midi_refunded;
    all.midi_refused += c.midi_refused;
    all.midi_received += c.midi_received;
    all.midi_clamped += c.midi_clamped;
    all.midi_extra += c.midi_extra;
    all.window_received += c.window_received;
    all.window_sent += c.window_sent;
    all.chat_sent += c.chat_sent;
    all.chat_expected += c.chat_expected;
    all.chat_refunded += c.chat_refunded;
    all.chat_refused += c.chat_refused;
    all.chat_received += c.chat_received;
    all.churn_cycles += c.churn_cycles;
    all.churn_failed += c.churn_failed;
    all.max_send_lag_us = std::max(all.max_send_lag_us, c.max_send_lag_us);
    all.latency.Merge(c.latency);
    all.chat_latency.Merge(c.chat_latency);
    all.churn_cycle.Merge(c.churn_cycle);
    if (all.first_error.empty()) all.first_error = c.first_error;
  }
  r->connections_ok = all.opened;
  r->connections_failed = all.failed + all.refused;
  r->handshakes_refused = all.refused;
  r->refused_status = all.refused_status;
  r->closed_by_server = all.closed;
  r->joins_ok = all.joined;
  r->joins_failed = all.join_failed;
  r->midi_sent = all.midi_sent;
  r->midi_refused = all.midi_refused;
  r->midi_expected = all.midi_expected - all.midi_refunded;
  r->midi_received = all.midi_received;
  r->midi_lost = r->midi_expected > r->midi_received ? r->midi_expected - r->midi_received : 0;
  r->midi_clamped = all.midi_clamped;
  r->midi_extra = all.midi_extra;
  r->chat_sent = all.chat_sent;
  r->chat_refused = all.chat_refused;
  r->chat_expected = all.chat_expected - all.chat_refunded;
  r->chat_received = all.chat_received;
  r->chat_lost = r->chat_expected > r->chat_received ? r->chat_expected - r->chat_received : 0;
  r->churn_cycles = all.churn_cycles;
  r->churn_failed = all.churn_failed;
  r->churn_cycle_us = all.churn_cycle;
  r->latency_us = all.latency;
  r->chat_latency_us = all.chat_latency;
  r->max_send_lag_us = all.max_send_lag_us;
  r->first_error = all.first_error;
  r->window_s = (send_stop - window_start) / 1e6;
  if (r->window_s > 0) {
    r->deliveries_per_s = static_cast<double>(all.window_received) / r->window_s;
    r->sends_per_s = static_cast<double>(all.window_sent) / r->window_s;
  }
  if (o.server_pid > 0 && srv_w0.ok && srv_w1.ok) {
    r->server_sampled = true;
    r->server_cpu_s = srv_w1.cpu_seconds - srv_w0.cpu_seconds;
    r->server_cpu_util = r->server_cpu_s / r->window_s;
    r->server_wait_util = (srv_w1.run_wait_seconds - srv_w0.run_wait_seconds) / r->window_s;
    if (r->server_cpu_s > 0) {
      r->server_system_share = (srv_w1.system_seconds - srv_w0.system_seconds) / r->server_cpu_s;
    }
    if (all.window_received > 0) {
      r->server_cpu_us_per_delivery = 1e6 * r->server_cpu_s / all.window_received;
    }
    if (r->connections_ok > 0 && r->server_rss_after > r->server_rss_before) {
      r->server_rss_per_connection =
          static_cast<double>(r->server_rss_after - r->server_rss_before) / r->connections_ok;
    }
  }
  if (self_w0.ok && self_w1.ok && r->window_s > 0) {
    r->loadgen_cpu_s = self_w1.cpu_seconds - self_w0.cpu_seconds;
    r->loadgen_cpu_util = r->loadgen_cpu_s / r->window_s / threads;
    r->loadgen_wait_util = (self_w1.run_wait_seconds - self_w0.run_wait_seconds) / r->window_s;
    // Saturated: busy nearly all the time. Send lag alone is not proof: on a shared machine
    // the generator can be descheduled while mostly idle (max_send_lag_us tells).
    r->loadgen_saturated = r->loadgen_cpu_util > 0.9;
  }
  r->loadgen_rss = self_end.rss_bytes;
  if (r->connections_ok == 0) {
    *error = "no connection succeeded" +
             (r->first_error.empty() ? std::string() : ": " + r->first_error);
    return false;
  }
  return true;
}

}  // namespace tutti::loadgen
