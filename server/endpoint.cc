#include "server/endpoint.h"

#include <sys/socket.h>

#include <utility>

#include <websocketpp/concurrency/none.hpp>
#include <websocketpp/config/core.hpp>
#include <websocketpp/server.hpp>
#include <websocketpp/transport/asio/endpoint.hpp>

#include "server/server.h"
#include "server/shard.h"

namespace tutti::server {
namespace {

// Per-connection data websocketpp keeps inside each connection object.
struct ConnectionData {
  SessionId session = 0;
  std::unique_ptr<crypto::Identity> identity;  // set by the gate, moved into the Session
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
  typedef websocketpp::transport::asio::endpoint<transport_config> transport_type;
  typedef ConnectionData connection_base;
  // Every connection carries this buffer inline for its whole life, idle or not. What a
  // client sends is small (MIDI batches of tens of bytes, chat lines up to 512), so 1 KiB
  // holds dozens of frames per read, and a rare large frame just takes a few reads.
  // docs/PERFORMANCE.md: 4096 -> 1024 took an idle connection from ~13.8 to ~10.8 KiB RSS.
  static const size_t connection_read_buffer_size = 1024;
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
  size_t BufferedBytes() const override { return con_->get_buffered_amount(); }
  void Send(const Frame& frame) override {
    // A prepared message is written as is: the shared bytes, no copy per receiver.
    con_->send(frame->message());
  }
  void Close(uint16_t code, const std::string& reason) override {
    websocketpp::lib::error_code ec;
    con_->close(code, reason, ec);
    if (ec) con_->terminate(ec);
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
    ws.set_tcp_pre_bind_handler([](std::shared_ptr<boost::asio::ip::tcp::acceptor> acceptor) {
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
      // MIDI is many tiny frames: Nagle would add up to 40 ms of jitter.
      socket.set_option(boost::asio::ip::tcp::no_delay(true), ec);
      if (sndbuf > 0) socket.set_option(boost::asio::socket_base::send_buffer_size(sndbuf), ec);
    });
    ws.set_validate_handler([this](websocketpp::connection_hdl h) { return Validate(h); });
    ws.set_http_handler([this](websocketpp::connection_hdl h) { Http(h); });
    ws.set_open_handler([this](websocketpp::connection_hdl h) { Open(h); });
    ws.set_close_handler([this](websocketpp::connection_hdl h) { Closed(h); });
    ws.set_fail_handler([this](websocketpp::connection_hdl h) { Closed(h); });
    ws.set_message_handler([this](websocketpp::connection_hdl h, WsServer::message_ptr msg) {
      ConPtr con = ws.get_con_from_hdl(h);
      shard->HandleFrame(con->session, msg->get_payload(),
                         msg->get_opcode() == websocketpp::frame::opcode::binary);
    });
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
    // Cheap refusals first: an address that keeps failing, or a banned address, costs
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
    con->identity = std::make_unique<crypto::Identity>(std::move(identity));
    return true;
  }

  void Http(websocketpp::connection_hdl h) {
    ConPtr con = ws.get_con_from_hdl(h);
    if (con->get_resource() == "/healthz") {
      con->set_status(websocketpp::http::status_code::ok);
      con->set_body("ok\n");
    } else {
      con->set_status(websocketpp::http::status_code::not_found);
      con->set_body("Tutti speaks WebSocket at /api/websocket/<payload>\n");
    }
    con->append_header("Content-Type", "text/plain");
    con->append_header("Connection", "close");
  }

  void Open(websocketpp::connection_hdl h) {
    ConPtr con = ws.get_con_from_hdl(h);
    if (!con->identity) {  // cannot happen: the gate sets it
      con->close(websocketpp::close::status::internal_endpoint_error, "no identity");
      return;
    }
    std::string ip = RemoteIpOf(con);
    auto link = std::make_unique<WsLink>(con, std::move(ip));
    Session* s = shard->AddSession(std::move(*con->identity), std::move(link));
    con->identity.reset();
    con->session = s->id();
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
