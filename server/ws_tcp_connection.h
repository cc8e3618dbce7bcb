// TcpConnection: the socket half of Tutti's websocketpp transport connection (server role
// only, plain TCP): the accepted socket, websocketpp's reads, its handshake writes, its
// timers, its deferred calls and its shutdown. The outbound queue that carries every
// byte after the handshake is OutboundConnection's (server/ws_outbound_connection.h),
// which derives from this class; websocketpp's connection derives from that.
// Included only by server/ws_outbound_connection.h and server/ws_outbound_endpoint.h:
// websocketpp stays in the endpoint's files. Thread affinity: one shard thread (its endpoint's).
// Owned by websocketpp's connection object (this is its transport base), kept alive while an
// operation on the socket is pending by the shared pointer that operation's handler holds.
#ifndef TUTTI_SERVER_WS_TCP_CONNECTION_H_
#define TUTTI_SERVER_WS_TCP_CONNECTION_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <websocketpp/common/connection_hdl.hpp>
#include <websocketpp/transport/base/connection.hpp>

namespace tutti::server::ws {

// What the endpoint runs on each connection it accepted, before websocketpp starts it.
using TcpInitHandler = std::function<void(websocketpp::connection_hdl)>;

// websocketpp's transport connection concept, implemented on one Asio TCP socket.
//
// websocketpp's own Asio transport carries, in every connection object, what Tutti never
// uses: two fixed 1 KiB handler allocators (one for reads, one for writes), proxy
// settings, a strand pointer, the pre- and post-init handlers, the logger pointers, a
// vector of write buffers, and a separately allocated socket. Idle members in rooms are
// thousands of such objects that hold nothing but a socket (docs/PERFORMANCE.md, "Memory
// per connection"). Here the socket is inline and the rest is gone: Asio's handler
// memory comes from its per-thread recycling cache instead (each connection has at most
// one read in flight, and the shard's thread runs one handler at a time), and the
// endpoint runs its accept hook itself (server/ws_outbound_endpoint.h).
//
// What websocketpp's core calls here, and why each exists:
//  - set_handle / get_handle: the connection's handle, given to the endpoint's hooks.
//  - init: websocketpp's start(); a plain accepted socket needs no further setup.
//  - async_read_at_least: every read (the handshake, then frames).
//  - async_write(char*): the HTTP handshake's answer, written before anything of
//    Tutti's can be queued (the open handler runs after it completed).
//  - set_timer: the handshake and close timeouts (and pings, which Tutti does not send).
//  - interrupt: posted to the loop, as websocketpp's contract says.
//  - async_shutdown: the end of a connection; the socket closes with the object.
//  - is_secure / get_remote_endpoint: its logging and the URI it builds.
// Errors are reported in websocketpp's transport category, as its Asio transport does:
// end of stream is `eof`, a cancelled timer `operation_aborted`, anything else the
// socket reports `pass_through`.
template <typename cfg>
class TcpConnection : public std::enable_shared_from_this<TcpConnection<cfg>> {
 public:
  typedef TcpConnection<cfg> type;
  typedef std::shared_ptr<type> ptr;
  typedef std::shared_ptr<boost::asio::steady_timer> timer_ptr;

  // websocketpp passes its loggers; Tutti runs it with every channel off, and the core
  // keeps its own pointers to them, so none is kept here.
  TcpConnection(bool /*is_server*/, const std::shared_ptr<typename cfg::alog_type>& /*alog*/,
                const std::shared_ptr<typename cfg::elog_type>& /*elog*/) {}

  ptr get_shared() { return this->shared_from_this(); }
  bool is_secure() const { return false; }

  // The socket, once the endpoint gave the connection its loop (before the accept).
  boost::asio::ip::tcp::socket& get_raw_socket() { return *socket_; }
  boost::asio::ip::tcp::socket& get_socket() { return *socket_; }

  std::string get_remote_endpoint() const {
    boost::system::error_code ec;
    const boost::asio::ip::tcp::endpoint ep = socket_->remote_endpoint(ec);
    if (ec) return "Unknown";
    std::ostringstream s;
    s << ep;
    return s.str();
  }

  websocketpp::connection_hdl get_handle() const { return hdl_; }

  // A one-shot timer on this connection's loop. websocketpp keeps the pointer to cancel
  // it; the pending wait keeps the timer (and this connection) alive until it ran.
  timer_ptr set_timer(long duration_ms, websocketpp::transport::timer_handler callback) {
    auto timer = std::make_shared<boost::asio::steady_timer>(
        socket_->get_executor(), std::chrono::milliseconds(duration_ms));
    timer->async_wait([self = get_shared(), timer,
                       callback = std::move(callback)](const boost::system::error_code& ec) {
      if (!ec) {
        callback(websocketpp::lib::error_code());
      } else if (ec == boost::asio::error::operation_aborted) {
        callback(websocketpp::transport::error::make_error_code(
            websocketpp::transport::error::operation_aborted));
      } else {
        callback(websocketpp::transport::error::make_error_code(
            websocketpp::transport::error::pass_through));
      }
    });
    return timer;
  }

  // The endpoint's, once, right after websocketpp made the connection object.
  void InitSocket(boost::asio::io_context& io) { socket_.emplace(io); }

 protected:
  void set_handle(websocketpp::connection_hdl hdl) { hdl_ = std::move(hdl); }

  // The socket is accepted and the endpoint's accept hook has run: ready at once.
  void init(websocketpp::transport::init_handler callback) {
    callback(websocketpp::lib::error_code());
  }

  void async_read_at_least(size_t num_bytes, char* buf, size_t len,
                           websocketpp::transport::read_handler handler) {
    boost::asio::async_read(
        *socket_, boost::asio::buffer(buf, len), boost::asio::transfer_at_least(num_bytes),
        [self = get_shared(), handler = std::move(handler)](
            const boost::system::error_code& ec, size_t n) { handler(Translate(ec), n); });
  }

  // The handshake's answer (websocketpp keeps `buf` alive until `handler` ran).
  void async_write(const char* buf, size_t len, websocketpp::transport::write_handler handler) {
    boost::asio::async_write(*socket_, boost::asio::buffer(buf, len),
                             [self = get_shared(), handler = std::move(handler)](
                                 const boost::system::error_code& ec, size_t) {
                               handler(ec ? websocketpp::transport::error::make_error_code(
                                                websocketpp::transport::error::pass_through)
                                          : websocketpp::lib::error_code());
                             });
  }

  websocketpp::lib::error_code interrupt(websocketpp::transport::interrupt_handler handler) {
    boost::asio::post(socket_->get_executor(), std::move(handler));
    return websocketpp::lib::error_code();
  }

  // Shutting a plain TCP socket down completes at once; a peer already gone (not
  // connected) is no error. The descriptor is closed when the object is destroyed.
  void async_shutdown(websocketpp::transport::shutdown_handler callback) {
    boost::system::error_code ec;
    socket_->shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    if (ec && ec != boost::asio::error::not_connected) {
      callback(websocketpp::transport::error::make_error_code(
          websocketpp::transport::error::pass_through));
      return;
    }
    callback(websocketpp::lib::error_code());
  }

 private:
  static websocketpp::lib::error_code Translate(const boost::system::error_code& ec) {
    if (!ec) return websocketpp::lib::error_code();
    if (ec == boost::asio::error::eof) {
      return websocketpp::transport::error::make_error_code(websocketpp::transport::error::eof);
    }
    return websocketpp::transport::error::make_error_code(
        websocketpp::transport::error::pass_through);
  }

  std::optional<boost::asio::ip::tcp::socket> socket_;
  websocketpp::connection_hdl hdl_;
};

}  // namespace tutti::server::ws

#endif  // TUTTI_SERVER_WS_TCP_CONNECTION_H_
