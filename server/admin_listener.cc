#include "server/admin_listener.h"

#include <chrono>
#include <cstdlib>
#include <utility>

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "server/metrics_collector.h"
#include "server/server.h"

namespace tutti::server {
namespace {

constexpr auto kRequestTimeout = std::chrono::seconds(5);

}  // namespace

absl::Status ParseHostPort(const std::string& text, std::string* host, uint16_t* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return absl::InvalidArgumentError("want host:port, not \"" + text + "\"");
  }
  std::string h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  const std::string p = text.substr(colon + 1);
  char* end = nullptr;
  const long v = std::strtol(p.c_str(), &end, 10);
  if (*end != '\0' || v < 0 || v > 65535) {
    return absl::InvalidArgumentError("bad port in \"" + text + "\"");
  }
  *host = h;
  *port = static_cast<uint16_t>(v);
  return absl::OkStatus();
}

// One request: read the head (bounded), answer, close. Lives as long as its handlers.
class AdminListener::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::ip::tcp::socket socket, AdminSite* site, AdminListener* listener,
             std::string address)
      : socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        buffer_(kAdminMaxRequestHead),
        site_(site),
        listener_(listener),
        address_(std::move(address)) {}
  ~Connection() { listener_->Release(address_); }

  void Run() {
    auto self = shared_from_this();
    timer_.expires_after(kRequestTimeout);
    timer_.async_wait([self](const boost::system::error_code& ec) {
      if (!ec) self->socket_.close();
    });
    boost::asio::async_read_until(
        socket_, buffer_, "\r\n\r\n",
        [self](const boost::system::error_code& ec, size_t n) { self->Answer(ec, n); });
  }

 private:
  void Answer(const boost::system::error_code& ec, size_t n) {
    AdminResponse r;
    if (ec == boost::asio::error::not_found) {
      r = AdminSite::BadRequest();  // the head outgrew the buffer
    } else if (ec) {
      timer_.cancel();
      return;  // closed, reset or timed out: nothing to answer
    } else {
      const auto data = buffer_.data();
      const std::string head(boost::asio::buffers_begin(data),
                             boost::asio::buffers_begin(data) + static_cast<std::ptrdiff_t>(n - 4));
      AdminRequest req;
      r = ParseAdminRequest(head, &req) == AdminParse::kOk ? site_->Handle(req)
                                                           : AdminSite::BadRequest();
    }
    out_ = SerializeAdminResponse(r);
    auto self = shared_from_this();
    boost::asio::async_write(
        socket_, boost::asio::buffer(out_), [self](const boost::system::error_code&, size_t) {
          boost::system::error_code ignored;
          self->socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
          self->socket_.close(ignored);
          self->timer_.cancel();
        });
  }

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  boost::asio::streambuf buffer_;
  AdminSite* site_;
  AdminListener* listener_;
  std::string address_;
  std::string out_;
};

namespace {

// A connection past a cap: answered without reading its request (the answer fits any
// socket buffer, so the non-blocking write finishes or is dropped), then a FIN, not a
// reset, so a client that sent its request meanwhile still reads the answer; closed at
// the client's EOF or after kRefusedLingerMs, whichever comes first.
constexpr auto kRefusedLinger = std::chrono::seconds(1);

struct Refused {
  explicit Refused(boost::asio::ip::tcp::socket s)
      : socket(std::move(s)), timer(socket.get_executor()) {}
  boost::asio::ip::tcp::socket socket;
  boost::asio::steady_timer timer;
  char sink[512];
};

void Drain(std::shared_ptr<Refused> r) {
  r->socket.async_read_some(boost::asio::buffer(r->sink),
                            [r](const boost::system::error_code& ec, size_t) {
                              if (!ec) return Drain(r);
                              boost::system::error_code ignored;
                              r->timer.cancel();
                              r->socket.close(ignored);
                            });
}

}  // namespace

void AdminListener::Refuse(boost::asio::ip::tcp::socket socket, int status) {
  AdminResponse answer;
  answer.status = status;
  answer.body = status == 503 ? "too many admin connections\n"
                              : "too many admin connections from your address\n";
  const std::string out = SerializeAdminResponse(answer);
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  boost::asio::write(socket, boost::asio::buffer(out), ec);
  socket.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
  auto r = std::make_shared<Refused>(std::move(socket));
  r->timer.expires_after(kRefusedLinger);
  r->timer.async_wait([r](const boost::system::error_code& e) {
    boost::system::error_code ignored;
    if (!e) r->socket.close(ignored);
  });
  Drain(r);
}

bool AdminListener::Admit(const std::string& address, int* refuse_status) {
  if (open_ >= kMaxConnections) {
    *refuse_status = 503;
    return false;
  }
  int& mine = open_by_address_[address];
  if (mine >= kMaxConnectionsPerAddress) {
    *refuse_status = 429;
    return false;
  }
  ++mine;
  ++open_;
  return true;
}

void AdminListener::Release(const std::string& address) {
  auto it = open_by_address_.find(address);
  if (it == open_by_address_.end()) return;
  --open_;
  if (--it->second <= 0) open_by_address_.erase(it);
}

AdminListener::AdminListener(Server* server) : server_(server) {
  site_ = std::make_unique<AdminSite>(
      [server] { return CollectMetrics(*server); },
      [server] { return static_cast<double>(server->clock().UnixMs()) / 1000.0; });
  bans_ = std::make_unique<AdminBans>(server);
  site_->AddRoute("/bans", [bans = bans_.get()](const AdminRequest& r) { return bans->Handle(r); });
}

AdminListener::~AdminListener() { Stop(); }

absl::Status AdminListener::Start(const std::string& address) {
  std::string host;
  uint16_t port = 0;
  absl::Status st = ParseHostPort(address, &host, &port);
  if (!st.ok()) return st;
  if (port != 0 && port == server_->port()) {
    return absl::InvalidArgumentError("the admin listener cannot share the public port " +
                                      std::to_string(port));
  }
  boost::system::error_code ec;
  const auto ip = boost::asio::ip::make_address(host, ec);
  if (ec) return absl::InvalidArgumentError("bad admin address \"" + host + "\"");
  const boost::asio::ip::tcp::endpoint ep(ip, port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) return absl::UnavailableError("admin listener on " + address + ": " + ec.message());
  port_ = acceptor_.local_endpoint().port();
  Accept();
  thread_ = std::thread([this] { io_.run(); });
  return absl::OkStatus();
}

void AdminListener::Accept() {
  acceptor_.async_accept(
      [this](const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket) {
        if (ec == boost::asio::error::operation_aborted || !acceptor_.is_open()) return;
        if (!ec) {
          boost::system::error_code peer_ec;
          const auto peer = socket.remote_endpoint(peer_ec);
          const std::string address = peer_ec ? std::string() : peer.address().to_string();
          int status = 0;
          if (Admit(address, &status)) {
            std::make_shared<Connection>(std::move(socket), site_.get(), this, address)->Run();
          } else {
            Refuse(std::move(socket), status);
          }
          Accept();
          return;
        }
        // Out of descriptors, say: try again in a moment rather than spin.
        retry_.expires_after(std::chrono::milliseconds(100));
        retry_.async_wait([this](const boost::system::error_code& e) {
          if (!e) Accept();
        });
      });
}

void AdminListener::Stop() {
  if (!thread_.joinable()) return;
  io_.stop();
  thread_.join();
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

}  // namespace tutti::server
