#include "server/endpoint.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include <websocketpp/concurrency/none.hpp>
#include <websocketpp/config/core.hpp>
#include <websocketpp/server.hpp>
#include <websocketpp/transport/asio/endpoint.hpp>

#include "server/accept_backoff.h"
#include "server/moderation/connection_limits.h"
#include "server/server.h"
#include "server/shard.h"
#include "server/token_bucket.h"

namespace tutti::server {
namespace {

// Per-connection data websocketpp keeps inside each connection object. It lives exactly
// as long as the connection object, which owns the socket, so the door's count of open
// connections is given back here, whatever way the connection ended.
struct ConnectionData {
  SessionId session = 0;
  std::unique_ptr<crypto::Identity> identity;  // set by the gate, moved into the Session
  // Set at accept (the tcp_post_init handler); none for the object waiting in accept.
  moderation::ConnectionLimits* limits = nullptr;
  const Clock* clock = nullptr;
  moderation::ConnectionLimits::Ticket ticket;
  TokenBucket control;  // pings and pongs from the client

  ConnectionData() = default;
  ConnectionData(const ConnectionData&) = delete;
  ConnectionData& operator=(const ConnectionData&) = delete;
  ~ConnectionData() {
    if (limits != nullptr) limits->Released(ticket, clock->NowUs() / 1000);
  }
};

template <typename cfg>
class OutboundConnection;

// What one endpoint (so one shard thread) still has to do before its loop turn ends:
// websocketpp's deferred dispatch handlers, then the connections with bytes to write.
// See OutboundConnection.
template <typename cfg>
struct FlushQueue {
  std::vector<websocketpp::transport::dispatch_handler> handlers;
  std::vector<std::shared_ptr<OutboundConnection<cfg>>> dirty;
  bool posted = false;
};

// websocketpp's Asio transport connection with Tutti's own outbound queue.
//
// Stock websocketpp turns every send into a posted write_frame (a heap-allocated
// std::function), an Asio composed write registered with the reactor (a mutex, epoll
// bookkeeping) and a posted completion: a whole write cycle per frame whenever each
// connection gets one frame per loop turn, as in rooms, where the server's core
// saturated at ~8 us per delivery (docs/PERFORMANCE.md).
//
// Here every outbound byte of an open connection goes through one FIFO owned by this
// object: Tutti's data frames (SendFrame: the shared prepared frame itself, no copy),
// and whatever websocketpp writes after the handshake (close frames, pongs), which
// arrives through async_write and is queued in order behind them, so the two can never
// interleave on the wire. A connection with something queued is listed once on its
// endpoint's FlushQueue; one posted flush per loop turn writes each listed connection
// with a single non-blocking sendmsg. Asio runs that post after every completion the
// reactor harvested in the same turn, so a connection that received several frames in
// the turn gets them in one syscall: at light load a turn holds one or two events and
// nothing waits, under load batches grow and the cost per delivery falls. Only when the
// kernel's socket buffer is full (a slow reader) does the connection wait for it to
// become writable; what is still queued then counts against the session's outbound
// limits (BufferedBytes).
//
// dispatch() (which websocketpp uses to start its write_frame, and to pause or resume
// reading, which Tutti does not use) is deferred to the same flush instead of posted one
// by one. websocketpp's write completions run from the flush or from the writability
// wait, never inside a call from Tutti's code: websocketpp may terminate the connection
// from them, and the caller could be a room iterating over its members.
//
// The HTTP handshake's writes (the char* overload) keep the stock path; nothing of
// Tutti's is sent before the open handler runs, which is after that write completed.
template <typename cfg>
class OutboundConnection : public websocketpp::transport::asio::connection<cfg> {
 public:
  typedef websocketpp::transport::asio::connection<cfg> base;
  typedef OutboundConnection<cfg> type;
  typedef std::shared_ptr<type> ptr;

  OutboundConnection(bool is_server, const std::shared_ptr<typename cfg::alog_type>& alog,
                     const std::shared_ptr<typename cfg::elog_type>& elog)
      : base(is_server, alog, elog) {}

  void set_flush_queue(std::shared_ptr<FlushQueue<cfg>> q) { flush_ = std::move(q); }

  // Queues one prepared frame behind everything queued before it.
  void SendFrame(const Frame& frame) {
    if (failed_) return;
    queue_.push_back(Item{frame});
    queued_bytes_ += frame->wire_size();
    MarkDirty();
  }

  // Bytes queued here that the kernel has not taken yet.
  size_t QueuedBytes() const { return queued_bytes_; }

 protected:
  void async_write(const char* buf, size_t len, websocketpp::transport::write_handler handler) {
    base::async_write(buf, len, std::move(handler));
  }

  // websocketpp's own frames. It keeps `bufs` (and the frames they point into) alive and
  // starts no other write until `handler` has run, so at most one of these is queued.
  void async_write(const std::vector<websocketpp::transport::buffer>& bufs,
                   const websocketpp::transport::write_handler& handler) {
    if (failed_) {
      Post(handler, failure_);
      return;
    }
    size_t n = 0;
    for (const auto& b : bufs) n += b.len;
    if (n == 0) {
      Post(handler, websocketpp::lib::error_code());
      return;
    }
    ws_bufs_ = &bufs;
    ws_handler_ = handler;
    queue_.push_back(Item{nullptr, n});
    queued_bytes_ += n;
    MarkDirty();
  }

  websocketpp::lib::error_code dispatch(websocketpp::transport::dispatch_handler handler) {
    flush_->handlers.push_back(std::move(handler));
    PostFlush();
    return websocketpp::lib::error_code();
  }

 private:
  // A queued frame of Tutti's, or (frame == nullptr) websocketpp's pending buffers.
  struct Item {
    Frame frame;
    size_t ws_size = 0;
  };

  void MarkDirty() {
    if (dirty_ || waiting_) return;  // already listed, or waiting for room
    dirty_ = true;
    flush_->dirty.push_back(std::static_pointer_cast<type>(this->get_shared()));
    PostFlush();
  }

  void PostFlush() {
    if (flush_->posted) return;
    flush_->posted = true;
    boost::asio::post(this->get_socket().get_executor(), [q = flush_] { Flush(*q); });
  }

  static void Flush(FlushQueue<cfg>& q) {
    q.posted = false;
    // Handlers first: they are websocketpp's write_frame calls, which queue its frames.
    // Anything they or the writes below start lands in fresh vectors for the next turn.
    std::vector<websocketpp::transport::dispatch_handler> handlers;
    handlers.swap(q.handlers);
    for (auto& h : handlers) h();
    std::vector<std::shared_ptr<type>> dirty;
    dirty.swap(q.dirty);
    for (auto& con : dirty) {
      con->dirty_ = false;
      con->WriteQueued();
    }
  }

  // Writes as much of the queue as the kernel takes, oldest first.
  void WriteQueued() {
    // Two buffers per frame of ours; websocketpp's frames bring their own count.
    constexpr size_t kMaxIov = 64;
    iovec iov[kMaxIov];
    while (head_ < queue_.size() && !failed_) {
      size_t n_iov = 0;
      size_t total = 0;
      size_t skip = head_offset_;
      auto add = [&](const char* p, size_t len) {
        if (skip >= len) {
          skip -= len;
          return;
        }
        iov[n_iov].iov_base = const_cast<char*>(p + skip);
        iov[n_iov].iov_len = len - skip;
        total += len - skip;
        ++n_iov;
        skip = 0;
      };
      for (size_t i = head_; i < queue_.size(); ++i) {
        const Item& item = queue_[i];
        if (item.frame) {
          if (n_iov + 2 > kMaxIov) break;
          add(item.frame->header().data(), item.frame->header().size());
          add(item.frame->payload().data(), item.frame->payload().size());
        } else {
          if (n_iov + ws_bufs_->size() > kMaxIov && n_iov > 0) break;
          for (const auto& b : *ws_bufs_) {
            if (n_iov == kMaxIov) break;
            add(b.buf, b.len);
          }
        }
        if (n_iov == kMaxIov) break;
      }
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = n_iov;
      ssize_t written;
      do {
        written = ::sendmsg(this->get_socket().native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
      } while (written < 0 && errno == EINTR);
      if (written < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        Fail();
        return;
      }
      Consume(static_cast<size_t>(written));
      if (static_cast<size_t>(written) < total) break;  // the socket buffer is full
    }
    if (failed_) return;
    if (head_ == queue_.size()) {
      queue_.clear();
      head_ = 0;
      return;
    }
    // A reader that never quite catches up never empties the queue: drop the written
    // items once they are half of it, so it cannot grow by one per frame forever.
    if (head_ >= 64 && 2 * head_ >= queue_.size()) {
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    // A slow reader: wait until the kernel has room again. New frames queue meanwhile.
    waiting_ = true;
    this->get_socket().async_wait(boost::asio::ip::tcp::socket::wait_write,
                                  [self = std::static_pointer_cast<type>(this->get_shared())](
                                      const boost::system::error_code& ec) {
                                    self->waiting_ = false;
                                    if (ec) {
                                      self->Fail();
                                    } else {
                                      self->WriteQueued();
                                    }
                                  });
  }

  // Drops `n` written bytes from the front of the queue; websocketpp learns that its
  // frames are out once their last byte is.
  void Consume(size_t n) {
    queued_bytes_ -= n;
    while (n > 0) {
      Item& item = queue_[head_];
      const size_t size = item.frame ? item.frame->wire_size() : item.ws_size;
      const size_t left = size - head_offset_;
      if (n < left) {
        head_offset_ += n;
        return;
      }
      n -= left;
      head_offset_ = 0;
      ++head_;
      if (item.frame) {
        item.frame.reset();
      } else {
        ws_bufs_ = nullptr;
        websocketpp::transport::write_handler h = std::move(ws_handler_);
        ws_handler_ = nullptr;
        h(websocketpp::lib::error_code());  // may queue more, or terminate
        if (failed_) return;
      }
    }
  }

  // The socket is gone (reset, closed, or terminated by websocketpp): nothing queued can
  // be delivered any more. websocketpp hears of it through its pending write, if any;
  // otherwise its read fails the same way.
  void Fail() {
    failed_ = true;
    failure_ =
        websocketpp::transport::error::make_error_code(websocketpp::transport::error::pass_through);
    websocketpp::transport::write_handler h = std::move(ws_handler_);
    ws_handler_ = nullptr;
    ws_bufs_ = nullptr;
    queue_.clear();
    head_ = 0;
    head_offset_ = 0;
    queued_bytes_ = 0;
    if (h) {
      h(failure_);
    } else {
      // websocketpp has no write pending to tell it; make its pending read fail now
      // rather than whenever the peer's next bytes (or their absence) show it.
      boost::system::error_code ec;
      this->get_socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    }
  }

  void Post(const websocketpp::transport::write_handler& handler, websocketpp::lib::error_code ec) {
    boost::asio::post(this->get_socket().get_executor(),
                      [self = this->get_shared(), h = handler, ec] { h(ec); });
  }

  std::shared_ptr<FlushQueue<cfg>> flush_;
  std::vector<Item> queue_;  // [head_, end) not yet fully written
  size_t head_ = 0;
  size_t head_offset_ = 0;  // bytes of queue_[head_] already written
  size_t queued_bytes_ = 0;
  const std::vector<websocketpp::transport::buffer>* ws_bufs_ = nullptr;
  websocketpp::transport::write_handler ws_handler_;
  websocketpp::lib::error_code failure_;
  bool dirty_ = false;    // listed on flush_->dirty
  bool waiting_ = false;  // an async_wait for room is pending
  bool failed_ = false;
};

// Whether an accept() failure is the process or the system running out of something
// (as opposed to, say, a closed acceptor).
bool IsResourceExhaustion(const boost::system::error_code& ec) {
  if (ec.category() != boost::system::system_category()) return false;
  const int e = ec.value();
  return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

// What the head of the backlog gets when the process has no descriptor to serve it:
// an answer, instead of a connection left hanging until the client gives up.
constexpr char kOutOfDescriptorsResponse[] =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Retry-After: 5\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 21\r\n"
    "Connection: close\r\n"
    "\r\n"
    "server busy, try later";

// The stock Asio endpoint, making connections of the type above that share its flush
// queue, with an accept loop that pauses instead of spinning when accept() fails.
//
// websocketpp's server role restarts accept() as soon as one fails. Out of descriptors,
// the listening socket stays readable (the backlog is not empty), so that loop spins a
// core per shard. Here a failed accept waits (AcceptBackoff) before it is reported to
// the server role, which then starts the next. When the failure is EMFILE or ENFILE,
// the spare descriptor held for the purpose is given up for a moment to accept the head
// of the backlog, answer it 503 and close it (the pattern nginx and libev use).
template <typename cfg>
class OutboundEndpoint : public websocketpp::transport::asio::endpoint<cfg> {
 public:
  typedef websocketpp::transport::asio::endpoint<cfg> base;
  typedef OutboundEndpoint<cfg> type;
  typedef OutboundConnection<cfg> transport_con_type;
  typedef typename transport_con_type::ptr transport_con_ptr;

  // A flush that never ran (the loop stopped first) must not keep connections alive
  // through the queue they point to.
  ~OutboundEndpoint() {
    flush_->handlers.clear();
    flush_->dirty.clear();
    if (spare_fd_ >= 0) ::close(spare_fd_);
  }

  websocketpp::lib::error_code init(transport_con_ptr tcon) {
    tcon->set_flush_queue(flush_);
    return base::init(tcon);
  }

  // Called from the pre-bind handler with the acceptor the base created; `label` names
  // this endpoint in log lines.
  void set_acceptor(std::shared_ptr<boost::asio::ip::tcp::acceptor> acceptor, std::string label) {
    acceptor_ = std::move(acceptor);
    label_ = std::move(label);
    if (spare_fd_ < 0) spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }

  // Hides the base's version: websocketpp's server role calls it qualified by this type.
  void async_accept(transport_con_ptr tcon, websocketpp::transport::accept_handler callback,
                    websocketpp::lib::error_code& ec) {
    if (!acceptor_ || !this->is_listening()) {
      ec = websocketpp::error::make_error_code(websocketpp::error::async_accept_not_listening);
      return;
    }
    acceptor_->async_accept(
        tcon->get_raw_socket(),
        [this, callback](const boost::system::error_code& aec) { Accepted(aec, callback); });
  }

 private:
  static int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  void Accepted(const boost::system::error_code& aec,
                const websocketpp::transport::accept_handler& callback) {
    if (!aec) {
      if (auto episode = backoff_.Succeeded(NowMs())) {
        std::fprintf(stderr, "tutti: %s: accepting again after %llu failed accepts in %lld ms\n",
                     label_.c_str(), static_cast<unsigned long long>(episode->failures),
                     static_cast<long long>(episode->duration_ms));
      }
      callback(websocketpp::lib::error_code());
      return;
    }
    if (aec == boost::asio::error::operation_aborted) {
      callback(websocketpp::error::make_error_code(websocketpp::error::operation_canceled));
      return;
    }
    const AcceptBackoff::Pause pause = backoff_.Failed(NowMs());
    if (pause.episode_started) {
      std::fprintf(stderr,
                   "tutti: %s: accept failed (%s); pausing accepts, retrying every %lld-%lld ms "
                   "(docs/OPERATIONS.md: descriptors)\n",
                   label_.c_str(), aec.message().c_str(),
                   static_cast<long long>(AcceptBackoff::kFirstDelayMs),
                   static_cast<long long>(AcceptBackoff::kMaxDelayMs));
    }
    if (IsResourceExhaustion(aec)) ShedOne();
    if (!timer_) timer_ = std::make_unique<boost::asio::steady_timer>(acceptor_->get_executor());
    timer_->expires_after(std::chrono::milliseconds(pause.delay_ms));
    timer_->async_wait([callback](const boost::system::error_code&) {
      // Reported as a failure: the server role drops the unused connection object and
      // starts the next accept (or stops, if the endpoint stopped listening meanwhile).
      callback(websocketpp::transport::error::make_error_code(
          websocketpp::transport::error::pass_through));
    });
  }

  // Answers the oldest waiting connection 503 through the spare descriptor.
  void ShedOne() {
    if (spare_fd_ < 0) {
      spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      return;
    }
    ::close(spare_fd_);
    spare_fd_ = -1;
    const int fd =
        ::accept4(acceptor_->native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      ssize_t ignored = ::send(fd, kOutOfDescriptorsResponse, sizeof kOutOfDescriptorsResponse - 1,
                               MSG_DONTWAIT | MSG_NOSIGNAL);
      (void)ignored;
      ::close(fd);
    }
    spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }

  std::shared_ptr<FlushQueue<cfg>> flush_ = std::make_shared<FlushQueue<cfg>>();
  std::shared_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::string label_;
  AcceptBackoff backoff_;
  int spare_fd_ = -1;
};

// Each endpoint runs on exactly one thread, so websocketpp's locks and strands are
// dead weight: concurrency "none" and no multithreading in the transport.
struct WsConfig : public websocketpp::config::core {
  typedef WsConfig type;
  typedef websocketpp::config::core base;
  typedef websocketpp::concurrency::none concurrency_type;
  typedef base::request_type request_type;
  typedef base::response_type response_type;
  typedef base::message_type message_type;
  typedef base::con_msg_manager_type con_msg_manager_type;
  typedef base::endpoint_msg_manager_type endpoint_msg_manager_type;
  typedef websocketpp::log::basic<concurrency_type, websocketpp::log::elevel> elog_type;
  typedef websocketpp::log::basic<concurrency_type, websocketpp::log::alevel> alog_type;
  typedef base::rng_type rng_type;
  struct transport_config : public base::transport_config {
    typedef type::concurrency_type concurrency_type;
    typedef type::alog_type alog_type;
    typedef type::elog_type elog_type;
    typedef type::request_type request_type;
    typedef type::response_type response_type;
    typedef websocketpp::transport::asio::basic_socket::endpoint socket_type;
    static const bool enable_multithreading = false;
  };
  typedef OutboundEndpoint<transport_config> transport_type;
  typedef ConnectionData connection_base;
  // Every connection carries this buffer inline for its whole life, idle or not. What a
  // client sends is small (MIDI batches of tens of bytes, chat lines up to 512), so
  // 512 bytes hold a dozen MIDI frames per read, and a larger frame (a long chat line,
  // the upgrade request) just takes a few reads. docs/PERFORMANCE.md: 4096 -> 1024 took
  // an idle connection from ~13.8 to ~10.8 KiB of RSS, 1024 -> 512 saves another 0.5.
  static const size_t connection_read_buffer_size = 512;
  static const websocketpp::log::level elog_level = websocketpp::log::elevel::none;
  static const websocketpp::log::level alog_level = websocketpp::log::alevel::none;
  // Overridden at run time from ServerConfig; the library default (32 MB) is never kept.
  static const size_t max_message_size = 64 * 1024;
  static const size_t max_http_body_size = 0;
};

using WsServer = websocketpp::server<WsConfig>;
using ConPtr = WsServer::connection_ptr;

constexpr std::string_view kWsPrefix = "/api/websocket/";

class WsLink final : public SessionLink {
 public:
  WsLink(ConPtr con, std::string ip) : con_(std::move(con)), ip_(std::move(ip)) {}
  size_t BufferedBytes() const override {
    return con_->QueuedBytes() + con_->get_buffered_amount();
  }
  void Send(const Frame& frame) override {
    // Once websocketpp has begun closing (its close frame may be queued already), data
    // frames must not follow; the close handler ends the session soon after.
    if (con_->get_state() != websocketpp::session::state::open) return;
    // The shared bytes themselves are queued: no copy per receiver.
    con_->SendFrame(frame);
  }
  void Close(uint16_t code, const std::string& reason) override {
    // Already closing (the peer's close frame, or websocketpp's own after a protocol
    // error): websocketpp finishes it, with its own timeout. Terminating here would end
    // the session inside the caller, which may be iterating over sessions or a room.
    if (con_->get_state() != websocketpp::session::state::open) return;
    websocketpp::lib::error_code ec;
    con_->close(code, reason, ec);
    if (ec) {
      // Same reason: terminate from the loop, not from inside the caller.
      boost::asio::post(con_->get_raw_socket().get_executor(),
                        [con = con_, ec] { con->terminate(ec); });
    }
  }
  const std::string& RemoteIp() const override { return ip_; }

 private:
  ConPtr con_;
  std::string ip_;
};

std::string RemoteIpOf(const ConPtr& con) {
  boost::system::error_code ec;
  auto ep = con->get_raw_socket().remote_endpoint(ec);
  return ec ? std::string() : ep.address().to_string();
}

}  // namespace

struct Endpoint::Impl {
  Shard* shard;
  WsServer ws;
  // Stands in for every open connection's URI once the handshake is released.
  const websocketpp::uri_ptr opened_uri_ =
      std::make_shared<websocketpp::uri>(false, "localhost", "/api/websocket/");

  explicit Impl(Shard* s) : shard(s) {
    const ServerConfig& cfg = shard->server().config();
    ws.clear_access_channels(websocketpp::log::alevel::all);
    ws.clear_error_channels(websocketpp::log::elevel::all);
    ws.init_asio(&shard->io());
    ws.set_reuse_addr(true);
    ws.set_listen_backlog(4096);
    ws.set_max_message_size(cfg.max_frame_bytes);
    ws.set_max_http_body_size(0);
    ws.set_open_handshake_timeout(cfg.handshake_timeout_ms);
    ws.set_close_handshake_timeout(cfg.close_timeout_ms);
    ws.set_tcp_pre_bind_handler([this](std::shared_ptr<boost::asio::ip::tcp::acceptor> acceptor) {
      ws.set_acceptor(acceptor, "shard " + std::to_string(shard->index()));
      int one = 1;
      if (setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        return websocketpp::lib::error_code(errno, std::system_category());
      }
      return websocketpp::lib::error_code();
    });
    // Options go on the accepted socket once it is open: the socket-init handler runs
    // before accept, when setting them fails silently.
    const int sndbuf = cfg.socket_send_buffer;
    ws.set_tcp_post_init_handler([this, sndbuf](websocketpp::connection_hdl h) {
      ConPtr con = ws.get_con_from_hdl(h);
      auto& socket = con->get_raw_socket();
      boost::system::error_code ec;
      // Counted from accept, handshake included: a silent connection holds a
      // descriptor as surely as an open session does.
      Server& server = shard->server();
      const int64_t now_us = server.clock().NowUs();
      con->limits = &server.connection_limits();
      con->clock = &server.clock();
      con->ticket = con->limits->Accepted(RemoteIpOf(con), now_us / 1000);
      const ServerConfig& c = server.config();
      con->control = TokenBucket(c.control_frames_per_second, c.control_frame_burst, now_us);
      // MIDI is many tiny frames: Nagle would add up to 40 ms of jitter.
      socket.set_option(boost::asio::ip::tcp::no_delay(true), ec);
      if (sndbuf > 0) socket.set_option(boost::asio::socket_base::send_buffer_size(sndbuf), ec);
    });
    ws.set_validate_handler([this](websocketpp::connection_hdl h) { return Validate(h); });
    ws.set_http_handler([this](websocketpp::connection_hdl h) { Http(h); });
    ws.set_open_handler([this](websocketpp::connection_hdl h) { Open(h); });
    ws.set_close_handler([this](websocketpp::connection_hdl h) { Closed(h); });
    ws.set_fail_handler([this](websocketpp::connection_hdl h) { Closed(h); });
    // websocketpp answers pings itself; a client flooding them (or pongs) would cost a
    // pong and a wake-up each, outside every per-message bucket.
    ws.set_ping_handler(
        [this](websocketpp::connection_hdl h, std::string) { return ControlFrame(h); });
    ws.set_pong_handler([this](websocketpp::connection_hdl h, std::string) { ControlFrame(h); });
    ws.set_message_handler([this](websocketpp::connection_hdl h, WsServer::message_ptr msg) {
      ConPtr con = ws.get_con_from_hdl(h);
      shard->HandleFrame(con->session, msg->get_payload(),
                         msg->get_opcode() == websocketpp::frame::opcode::binary);
    });
  }

  // A ping or pong arrived: true (answer a ping) while the client stays within its
  // control-frame bucket; past it the connection is closed with 1008.
  bool ControlFrame(websocketpp::connection_hdl h) {
    ConPtr con = ws.get_con_from_hdl(h);
    if (con->control.TryTake(1.0, shard->server().clock().NowUs())) return true;
    if (con->get_state() == websocketpp::session::state::open) {
      websocketpp::lib::error_code ec;
      con->close(websocketpp::close::status::policy_violation, "too many control frames", ec);
    }
    return false;
  }

  bool Validate(websocketpp::connection_hdl h) {
    ConPtr con = ws.get_con_from_hdl(h);
    const std::string& resource = con->get_resource();
    auto refuse = [&](websocketpp::http::status_code::value status, const std::string& why) {
      con->set_status(status);
      con->set_body(why + "\n");
      con->append_header("Content-Type", "text/plain");
      // websocketpp closes the socket after a refusal; say so, or HTTP clients that
      // keep connections alive fail their next request on this dead one.
      con->append_header("Connection", "close");
      return false;
    };
    Server& server = shard->server();
    const int64_t now_ms = server.clock().UnixMs();
    const std::string ip = RemoteIpOf(con);
    // The door first: the ceiling and the address's share cost a hash lookup, and
    // come before everything that costs more.
    if (con->limits != nullptr) {
      const moderation::ConnectionLimits::Verdict door =
          con->limits->CheckUpgrade(con->ticket, server.clock().NowUs() / 1000);
      if (!door.ok()) return RefuseAtTheDoor(con, door, refuse);
    }
    // Cheap refusals next: an address that keeps failing, or a banned address, costs
    // no sealed-box open.
    if (server.auth_failures().BannedUntil(ip, now_ms)) {
      return refuse(websocketpp::http::status_code::too_many_requests,
                    "too many failed attempts, try later");
    }
    std::shared_ptr<const moderation::BanList> bans = server.bans();
    if (!ip.empty() && bans->Match("", ip, now_ms)) {
      return refuse(websocketpp::http::status_code::forbidden, "banned");
    }
    if (resource.compare(0, kWsPrefix.size(), kWsPrefix) != 0) {
      return refuse(websocketpp::http::status_code::not_found, "unknown path");
    }
    crypto::Identity identity;
    crypto::AuthError error;
    if (!server.authenticator().Authenticate(resource, &identity, &error)) {
      if (auto until = server.auth_failures().RecordFailure(ip, now_ms)) {
        // An automatic ban is a moderation action like any other: it goes to the log.
        moderation::AuditRecord rec;
        rec.unix_ms = now_ms;
        rec.actor = std::string(moderation::kServerActor);
        rec.action = moderation::AuditAction::kServerBan;
        rec.target = ip;
        rec.reason = "too many failed connection attempts";
        rec.until_unix_ms = *until;
        server.RunStorage(
            *shard, [rec](store::Store& st) { st.AppendAudit(rec).IgnoreError(); }, [] {});
      }
      return refuse(static_cast<websocketpp::http::status_code::value>(error.http_status),
                    error.reason);
    }
    if (bans->MatchUser(identity.user_id, now_ms)) {
      return refuse(websocketpp::http::status_code::forbidden, "banned");
    }
    if (identity.is_guest && con->limits != nullptr) {
      const moderation::ConnectionLimits::Verdict door = con->limits->ClaimGuest(con->ticket);
      if (!door.ok()) return RefuseAtTheDoor(con, door, refuse);
    }
    con->identity = std::make_unique<crypto::Identity>(std::move(identity));
    return true;
  }

  // Plain HTTP (anything but an upgrade) is answered by the Server's HttpSite
  // (server/http_site.h); this only moves its answer onto the wire. The body is any
  // bytes (wasm included): websocketpp keeps it in a std::string and writes size()
  // bytes. set_body() sets Content-Length; for HEAD and 304 the site's own
  // Content-Length is sent with no body.
  template <typename Refuse>
  static bool RefuseAtTheDoor(const ConPtr& con, const moderation::ConnectionLimits::Verdict& door,
                              Refuse& refuse) {
    using Refusal = moderation::ConnectionLimits::Refusal;
    con->append_header("Retry-After", std::to_string(door.retry_after_s));
    switch (door.refusal) {
      case Refusal::kServerFull:
        return refuse(websocketpp::http::status_code::service_unavailable,
                      "server full, try later");
      case Refusal::kAddressFull:
        return refuse(websocketpp::http::status_code::too_many_requests,
                      "too many connections from your address");
      case Refusal::kGuestsFull:
        return refuse(websocketpp::http::status_code::too_many_requests,
                      "too many guests from your address");
      case Refusal::kTooManyAttempts:
      case Refusal::kNone:
        break;
    }
    return refuse(websocketpp::http::status_code::too_many_requests,
                  "too many connection attempts from your address, slow down");
  }

  void Http(websocketpp::connection_hdl h) {
    ConPtr con = ws.get_con_from_hdl(h);
    const auto& req = con->get_request();
    HttpRequest request;
    request.method = req.get_method();
    request.target = con->get_resource();
    request.host = req.get_header("Host");
    request.if_none_match = req.get_header("If-None-Match");
    HttpResponse r = shard->server().http_site().Handle(request);
    con->set_status(static_cast<websocketpp::http::status_code::value>(r.status));
    if (r.send_body && !r.body.empty()) con->set_body(std::string(r.body));
    for (const auto& [name, value] : r.headers) con->replace_header(name, value);
    con->replace_header("Connection", "close");
  }

  void Open(websocketpp::connection_hdl h) {
    ConPtr con = ws.get_con_from_hdl(h);
    if (!con->identity) {  // cannot happen: the gate sets it
      con->close(websocketpp::close::status::internal_endpoint_error, "no identity");
      return;
    }
    std::string ip = RemoteIpOf(con);
    ReleaseHandshake(*con);
    auto link = std::make_unique<WsLink>(con, std::move(ip));
    Session* s = shard->AddSession(std::move(*con->identity), std::move(link));
    con->identity.reset();
    con->session = s->id();
  }

  // websocketpp keeps the upgrade request (headers, and the ~650-byte sealed payload in
  // its URI string), the response and the parsed URI for the connection's whole life:
  // ~2.5 KiB of an idle connection's ~11 (docs/PERFORMANCE.md, "Memory per connection").
  // Once open, websocketpp itself reads none of them (only its logging of failed
  // handshakes and the getters Tutti stops calling here), so they are emptied. The
  // accessors are const only to keep users from editing a handshake in progress; the
  // members are not const objects, so writing through const_cast is well defined.
  // Swapped with empty ones rather than assigned: a std::string move-assigned from an
  // empty (inline) string keeps its heap buffer, a swapped-out one leaves with it.
  void ReleaseHandshake(WsServer::connection_type& con) {
    WsServer::connection_type::request_type request;
    std::swap(const_cast<WsServer::connection_type::request_type&>(con.get_request()), request);
    WsServer::connection_type::response_type response;
    std::swap(const_cast<WsServer::connection_type::response_type&>(con.get_response()), response);
    con.set_uri(opened_uri_);
  }

  void Closed(websocketpp::connection_hdl h) {
    ConPtr con = ws.get_con_from_hdl(h);
    if (con->session != 0) {
      SessionId id = con->session;
      con->session = 0;
      shard->EndSession(id);
    }
  }
};

Endpoint::Endpoint(Shard* shard) : impl_(std::make_unique<Impl>(shard)) {}
Endpoint::~Endpoint() = default;

absl::Status Endpoint::Listen(const std::string& address, uint16_t port) {
  websocketpp::lib::error_code ec;
  boost::system::error_code bec;
  auto addr = boost::asio::ip::make_address(address, bec);
  if (bec) return absl::InvalidArgumentError("bad listen address: " + address);
  impl_->ws.listen(boost::asio::ip::tcp::endpoint(addr, port), ec);
  if (ec) return absl::UnavailableError("listen failed: " + ec.message());
  impl_->ws.start_accept(ec);
  if (ec) return absl::UnavailableError("accept failed: " + ec.message());
  return absl::OkStatus();
}

uint16_t Endpoint::LocalPort() const {
  websocketpp::lib::asio::error_code ec;
  auto ep = impl_->ws.get_local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void Endpoint::StopListening() {
  websocketpp::lib::error_code ec;
  if (impl_->ws.is_listening()) impl_->ws.stop_listening(ec);
}

}  // namespace tutti::server
