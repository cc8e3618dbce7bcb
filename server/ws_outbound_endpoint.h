// OutboundEndpoint: Tutti's websocketpp transport endpoint (server role, plain TCP): the
// listening socket, the accept loop that pauses instead of spinning when accept() fails
// (and answers 503 when out of descriptors), the hooks the door runs on the listening and
// the accepted sockets, and the flush queue its connections (OutboundConnection) share.
// Included only by server/ws_transport.h: websocketpp stays in the endpoint's files.
// Thread affinity: one shard thread. Owned by the endpoint's websocketpp server object
// (this is its transport base), which server/endpoint.cc owns.
#ifndef TUTTI_SERVER_WS_OUTBOUND_ENDPOINT_H_
#define TUTTI_SERVER_WS_OUTBOUND_ENDPOINT_H_

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <websocketpp/error.hpp>
#include <websocketpp/transport/base/endpoint.hpp>

#include "server/accept_backoff.h"
#include "server/ws_outbound_connection.h"
#include "server/ws_tcp_connection.h"

namespace tutti::server::ws {

// Whether an accept() failure is the process or the system running out of something
// (as opposed to, say, a closed acceptor).
inline bool IsResourceExhaustion(const boost::system::error_code& ec) {
  if (ec.category() != boost::system::system_category()) return false;
  const int e = ec.value();
  return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

// What the head of the backlog gets when the process has no descriptor to serve it:
// an answer, instead of a connection left hanging until the client gives up.
inline constexpr char kOutOfDescriptorsResponse[] =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Retry-After: 5\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 23\r\n"
    "Connection: close\r\n"
    "\r\n"
    "server full, try later\n";

// websocketpp's transport endpoint concept for its server role, on one Asio acceptor.
//
// What websocketpp calls here: init_logging and init (each new connection object: it
// gets its socket on this endpoint's loop and the flush queue), is_listening and
// async_accept (its server role's accept loop). The rest is Tutti's: init_asio, the
// listen options, listen, stop_listening, the local endpoint and the two hooks.
//
// websocketpp's server role restarts accept() as soon as one fails. Out of descriptors,
// the listening socket stays readable (the backlog is not empty), so that loop spins a
// core per shard. Here a failed accept waits (AcceptBackoff) before it is reported to
// the server role, which then starts the next. When the failure is EMFILE or ENFILE,
// the spare descriptor held for the purpose is given up for a moment to accept the head
// of the backlog, answer it 503 and close it (the pattern nginx and libev use).
template <typename cfg>
class OutboundEndpoint {
 public:
  typedef OutboundEndpoint<cfg> type;
  typedef OutboundConnection<cfg> transport_con_type;
  typedef typename transport_con_type::ptr transport_con_ptr;
  // Runs on the listening socket after it is opened and before it is bound.
  typedef std::function<websocketpp::lib::error_code(boost::asio::ip::tcp::acceptor&)>
      tcp_pre_bind_handler;

  OutboundEndpoint() = default;
  OutboundEndpoint(const OutboundEndpoint&) = delete;
  OutboundEndpoint& operator=(const OutboundEndpoint&) = delete;

  // A flush that never ran (the loop stopped first) must not keep connections alive
  // through the queue they point to.
  ~OutboundEndpoint() {
    flush_->handlers.clear();
    flush_->dirty.clear();
    if (spare_fd_ >= 0) ::close(spare_fd_);
  }

  // Once, before listen: the loop everything of this endpoint runs on.
  void init_asio(boost::asio::io_context* io) {
    io_ = io;
    acceptor_.emplace(*io);
  }
  void set_reuse_addr(bool value) { reuse_addr_ = value; }
  void set_listen_backlog(int backlog) { backlog_ = backlog; }
  void set_tcp_pre_bind_handler(tcp_pre_bind_handler h) { pre_bind_ = std::move(h); }
  // Runs on each accepted socket before websocketpp reads from it.
  void set_tcp_post_init_handler(TcpInitHandler h) { post_init_ = std::move(h); }
  // Names this endpoint in log lines.
  void set_label(std::string label) { label_ = std::move(label); }

  void listen(const boost::asio::ip::tcp::endpoint& ep, websocketpp::lib::error_code& ec) {
    if (!acceptor_ || listening_) {
      ec = websocketpp::error::make_error_code(websocketpp::error::invalid_state);
      return;
    }
    boost::system::error_code bec;
    auto failed = [&](const websocketpp::lib::error_code& why) {
      boost::system::error_code ignored;
      acceptor_->close(ignored);
      ec = why;
    };
    auto system = [](const boost::system::error_code& e) {
      return websocketpp::lib::error_code(e.value(), std::system_category());
    };
    acceptor_->open(ep.protocol(), bec);
    if (bec) return failed(system(bec));
    acceptor_->set_option(boost::asio::socket_base::reuse_address(reuse_addr_), bec);
    if (bec) return failed(system(bec));
    if (pre_bind_) {
      websocketpp::lib::error_code hec = pre_bind_(*acceptor_);
      if (hec) return failed(hec);
    }
    acceptor_->bind(ep, bec);
    if (bec) return failed(system(bec));
    acceptor_->listen(backlog_, bec);
    if (bec) return failed(system(bec));
    if (spare_fd_ < 0) spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    listening_ = true;
    ec = websocketpp::lib::error_code();
  }

  // Closes the listening socket: the pending accept ends (operation_canceled), and the
  // server role, seeing is_listening() false, starts no other.
  void stop_listening(websocketpp::lib::error_code& ec) {
    if (!listening_) {
      ec = websocketpp::error::make_error_code(websocketpp::error::invalid_state);
      return;
    }
    boost::system::error_code ignored;
    acceptor_->close(ignored);
    listening_ = false;
    ec = websocketpp::lib::error_code();
  }

  bool is_listening() const { return listening_; }

  boost::asio::ip::tcp::endpoint get_local_endpoint(boost::system::error_code& ec) const {
    if (!acceptor_) {
      ec = boost::asio::error::bad_descriptor;
      return boost::asio::ip::tcp::endpoint();
    }
    return acceptor_->local_endpoint(ec);
  }

  // Bytes queued on this endpoint's connections that the kernel has not taken yet.
  size_t QueuedBytes() const { return flush_->queued_bytes; }

  void async_accept(transport_con_ptr tcon, websocketpp::transport::accept_handler callback,
                    websocketpp::lib::error_code& ec) {
    if (!acceptor_ || !listening_) {
      ec = websocketpp::error::make_error_code(websocketpp::error::async_accept_not_listening);
      return;
    }
    acceptor_->async_accept(tcon->get_raw_socket(),
                            [this, tcon, callback](const boost::system::error_code& aec) {
                              Accepted(aec, tcon, callback);
                            });
  }

 protected:
  // websocketpp hands its loggers over; Tutti runs it with every channel off.
  void init_logging(const std::shared_ptr<typename cfg::alog_type>&,
                    const std::shared_ptr<typename cfg::elog_type>&) {}

  // Each connection object websocketpp makes, before it waits in accept.
  websocketpp::lib::error_code init(transport_con_ptr tcon) {
    if (io_ == nullptr) {
      return websocketpp::error::make_error_code(websocketpp::error::invalid_state);
    }
    tcon->InitSocket(*io_);
    tcon->set_flush_queue(flush_);
    return websocketpp::lib::error_code();
  }

 private:
  static int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  void Accepted(const boost::system::error_code& aec, const transport_con_ptr& tcon,
                const websocketpp::transport::accept_handler& callback) {
    if (!aec) {
      // Another shard may have taken the descriptor the spare gave up for a moment.
      if (spare_fd_ < 0) spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (auto episode = backoff_.Succeeded(NowMs())) {
        std::fprintf(stderr, "tutti: %s: accepting again after %llu failed accepts in %lld ms\n",
                     label_.c_str(), static_cast<unsigned long long>(episode->failures),
                     static_cast<long long>(episode->duration_ms));
      }
      // The door's hook sees the accepted socket before websocketpp starts the
      // connection (the server role's answer to `callback`) and reads from it.
      if (post_init_) post_init_(tcon->get_handle());
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
    if (!timer_) timer_ = std::make_unique<boost::asio::steady_timer>(*io_);
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

  boost::asio::io_context* io_ = nullptr;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  tcp_pre_bind_handler pre_bind_;
  TcpInitHandler post_init_;
  int backlog_ = boost::asio::socket_base::max_listen_connections;
  bool reuse_addr_ = false;
  bool listening_ = false;
  std::shared_ptr<FlushQueue<cfg>> flush_ = std::make_shared<FlushQueue<cfg>>();
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::string label_;
  AcceptBackoff backoff_;
  int spare_fd_ = -1;
};

}  // namespace tutti::server::ws

#endif  // TUTTI_SERVER_WS_OUTBOUND_ENDPOINT_H_
