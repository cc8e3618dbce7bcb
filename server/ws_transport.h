// The endpoint's websocketpp configuration: ConnectionData (what Tutti keeps in each
// connection object, including its ticket at the door), OutboundEndpoint (the Asio
// transport endpoint whose accept loop pauses instead of spinning when accept() fails,
// and whose connections share one flush queue) and WsConfig, which ties them to
// websocketpp's core config with concurrency "none".
// Included only by server/endpoint.cc. Thread affinity: one shard thread per endpoint;
// owned by the endpoint's websocketpp server object (OutboundEndpoint is its transport
// base) and by each connection object (ConnectionData is its base).
#ifndef TUTTI_SERVER_WS_TRANSPORT_H_
#define TUTTI_SERVER_WS_TRANSPORT_H_

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/steady_timer.hpp>
#include <websocketpp/concurrency/none.hpp>
#include <websocketpp/config/core.hpp>
#include <websocketpp/transport/asio/endpoint.hpp>

#include "crypto/authenticator.h"
#include "server/accept_backoff.h"
#include "server/clock.h"
#include "server/ids.h"
#include "server/moderation/connection_limits.h"
#include "server/session.h"
#include "server/token_bucket.h"
#include "server/ws_deflate.h"
#include "server/ws_outbound_connection.h"

namespace tutti::server::ws {

// Per-connection data websocketpp keeps inside each connection object. It lives exactly
// as long as the connection object, which owns the socket, so the door's count of open
// connections is given back here, whatever way the connection ended.
struct ConnectionData {
  SessionId session = 0;
  SessionId link = 0;  // a linked connection's id instead (docs/PROTOCOL.md §16)
  std::unique_ptr<crypto::Identity> identity;  // set by the gate, moved into the Session
  ResumeRequest resume;                        // the gate's verdict on a resume token
  // Set at accept (the tcp_post_init handler); none for the object waiting in accept.
  moderation::ConnectionLimits* limits = nullptr;
  const Clock* clock = nullptr;
  moderation::ConnectionLimits::Ticket ticket;
  // Set when the door refused the connection right after accept (already answered).
  moderation::ConnectionLimits::Verdict door_refusal;
  TokenBucket control;  // pings and pongs from the client
  // The client's address, set by the gate: the TCP peer's, or the one a trusted proxy
  // named (server/moderation/forwarded.h). Kept because the request is released at open.
  std::string client_ip;
  // permessage-deflate was negotiated (server/ws_deflate.h): large frames go out as
  // their compressed twins. Set at open, from the handshake's answer.
  bool deflate = false;

  ConnectionData() = default;
  ConnectionData(const ConnectionData&) = delete;
  ConnectionData& operator=(const ConnectionData&) = delete;
  ~ConnectionData() {
    if (limits != nullptr) limits->Released(ticket, clock->NowUs() / 1000);
  }
};

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

  // Bytes queued on this endpoint's connections that the kernel has not taken yet.
  size_t QueuedBytes() const { return flush_->queued_bytes; }

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
      // Another shard may have taken the descriptor the spare gave up for a moment.
      if (spare_fd_ < 0) spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
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
  // Tutti's permessage-deflate: negotiation and bounded inflate only (ws_deflate.h).
  typedef WsDeflate<base::permessage_deflate_config> permessage_deflate_type;
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

}  // namespace tutti::server::ws

#endif  // TUTTI_SERVER_WS_TRANSPORT_H_
