#include "server/endpoint.h"

#include <sys/socket.h>

#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <websocketpp/server.hpp>

#include "server/broker_select.h"
#include "server/cluster.h"
#include "server/door_services.h"
#include "server/endpoint_host.h"
#include "server/http_site.h"
#include "server/moderation/audit.h"
#include "server/moderation/auth_failure_tracker.h"
#include "server/moderation/connection_limits.h"
#include "server/moderation/forwarded.h"
#include "server/resume_tokens.h"
#include "server/server_log.h"
#include "server/ws_transport.h"

namespace tutti::server {
namespace {

using ws::WsConfig;

using WsServer = websocketpp::server<WsConfig>;
using ConPtr = WsServer::connection_ptr;

constexpr std::string_view kWsPrefix = "/api/websocket/";
// How long a connection refused at accept may still take to send its request.
constexpr long kRefusedHandshakeMs = 500;

class WsLink final : public SessionLink {
 public:
  WsLink(ConPtr con, std::string ip, size_t deflate_threshold)
      : con_(std::move(con)), ip_(std::move(ip)), deflate_threshold_(deflate_threshold) {}
  size_t BufferedBytes() const override {
    return con_->QueuedBytes() + con_->get_buffered_amount();
  }
  void Send(const Frame& frame) override {
    // Once websocketpp has begun closing (its close frame may be queued already), data
    // frames must not follow; the close handler ends the session soon after.
    if (con_->get_state() != websocketpp::session::state::open) return;
    // The shared bytes themselves are queued: no copy per receiver. A receiver that
    // negotiated permessage-deflate gets a large frame's compressed twin, made once for
    // all of them (server/frame.h).
    if (con_->deflate) {
      con_->SendFrame(FrameForDeflateReceiver(frame, deflate_threshold_));
    } else {
      con_->SendFrame(frame);
    }
  }
  void Close(uint16_t code, const std::string& reason) override {
    // Already closing (the peer's close frame, or websocketpp's own after a protocol
    // error): websocketpp finishes it, with its own timeout. Terminating here would end
    // the session inside the caller, which may be iterating over sessions or a room.
    if (con_->get_state() != websocketpp::session::state::open) return;
    // A slow consumer's backlog is what it cannot take: behind it, the close frame
    // would wait for the whole backlog to drain, and the close timeout ends the socket
    // first (the client then sees 1006, not 4001). Dropped, the close frame is next
    // after the frame being written.
    if (code == kCloseSlowConsumer) con_->DropQueuedFrames();
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
  size_t deflate_threshold_;
};

std::string RemoteIpOf(const ConPtr& con) {
  boost::system::error_code ec;
  auto ep = con->get_raw_socket().remote_endpoint(ec);
  return ec ? std::string() : ep.address().to_string();
}

}  // namespace

struct Endpoint::Impl {
  EndpointHost* shard;
  WsServer ws;
  // What this shard's connections may negotiate (server/ws_deflate.h).
  ws::DeflatePolicy deflate_policy;
  // Stands in for every open connection's URI once the handshake is released.
  const websocketpp::uri_ptr opened_uri_ =
      std::make_shared<websocketpp::uri>(false, "localhost", "/api/websocket/");

  explicit Impl(EndpointHost* s) : shard(s) {
    const ServerConfig& cfg = shard->cluster().config();
    deflate_policy.enabled = cfg.compression;
    deflate_policy.max_message_bytes = cfg.max_frame_bytes;
    ws.clear_access_channels(websocketpp::log::alevel::all);
    ws.clear_error_channels(websocketpp::log::elevel::all);
    ws.init_asio(&shard->io());
    ws.set_reuse_addr(true);
    ws.set_listen_backlog(4096);
    ws.set_max_message_size(cfg.max_frame_bytes);
    ws.set_max_http_body_size(0);
    ws.set_open_handshake_timeout(cfg.handshake_timeout_ms);
    ws.set_close_handshake_timeout(cfg.close_timeout_ms);
    ws.set_label("shard " + std::to_string(shard->index()));
    ws.set_tcp_pre_bind_handler([](boost::asio::ip::tcp::acceptor& acceptor) {
      int one = 1;
      if (setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        return websocketpp::lib::error_code(errno, std::system_category());
      }
      return websocketpp::lib::error_code();
    });
    // Options go on the accepted socket once it is open (this hook runs right after
    // accept, before websocketpp starts the connection).
    const int sndbuf = cfg.socket_send_buffer;
    ws.set_tcp_post_init_handler([this, sndbuf](websocketpp::connection_hdl h) {
      // The handshake this connection is about to read negotiates extensions on this
      // thread, from this policy (set on every accept: the shard thread is this
      // endpoint's alone, but this is the first hook that surely runs on it).
      ws::SetThreadDeflatePolicy(&deflate_policy);
      ConPtr con = ws.get_con_from_hdl(h);
      auto& socket = con->get_raw_socket();
      boost::system::error_code ec;
      // Counted from accept, handshake included: a silent connection holds a
      // descriptor as surely as an open session does.
      Cluster& cluster = shard->cluster();
      DoorServices& door = shard->door();
      const int64_t now_us = cluster.clock().NowUs();
      con->limits = &door.connection_limits();
      con->clock = &cluster.clock();
      // A trusted proxy's connections are many clients: they count toward the ceiling
      // now and toward their client's address once the upgrade names it.
      const std::string peer = RemoteIpOf(con);
      const bool proxied = door.trusted_proxies().Trusts(peer);
      con->ticket = con->limits->Accepted(proxied ? std::string() : peer, now_us / 1000);
      const moderation::ConnectionLimits::Verdict verdict = con->limits->CheckAccepted(con->ticket);
      if (!verdict.ok()) {
        shard->endpoint_counters().refusals.Add(RefuseAtAccept(socket, verdict), ReasonOf(verdict));
        con->door_refusal = verdict;
        // Its answer is out; what is left is to read (and refuse again) whatever the
        // client sends, so its descriptor is held for a moment, not the full 5 s.
        con->set_open_handshake_timeout(kRefusedHandshakeMs);
        return;
      }
      const ServerConfig& c = cluster.config();
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
      const bool binary = msg->get_opcode() == websocketpp::frame::opcode::binary;
      if (con->link != 0) return shard->HandleLinkFrame(con->link, msg->get_payload(), binary);
      shard->HandleFrame(con->session, msg->get_payload(), binary);
    });
  }

  // A ping or pong arrived: true (answer a ping) while the client stays within its
  // control-frame bucket; past it the connection is closed with 1008.
  bool ControlFrame(websocketpp::connection_hdl h) {
    ConPtr con = ws.get_con_from_hdl(h);
    if (con->control.TryTake(1.0, shard->cluster().clock().NowUs())) return true;
    if (con->get_state() == websocketpp::session::state::open) {
      websocketpp::lib::error_code ec;
      con->close(websocketpp::close::status::policy_violation, "too many control frames", ec);
    }
    return false;
  }

  bool Validate(websocketpp::connection_hdl h) {
    ConPtr con = ws.get_con_from_hdl(h);
    const std::string& resource = con->get_resource();
    auto refuse = [&](websocketpp::http::status_code::value status, const std::string& why,
                      metrics::RefusalReason reason = metrics::RefusalReason::kOther) {
      // The address and the server's own reason; never the request's path (it holds the
      // sealed payload) or its headers.
      shard->cluster().log().Warn(
          "conn.refused", {{"ip", con->client_ip.empty() ? RemoteIpOf(con) : con->client_ip},
                           {"status", std::to_string(status)},
                           {"reason", why},
                           {"shard", std::to_string(shard->index())}});
      // A refusal already answered (and counted) at accept is not counted twice.
      if (con->door_refusal.ok()) shard->endpoint_counters().refusals.Add(status, reason);
      con->set_status(status);
      con->set_body(why + "\n");
      con->append_header("Content-Type", "text/plain");
      // websocketpp closes the socket after a refusal; say so, or HTTP clients that
      // keep connections alive fail their next request on this dead one.
      con->append_header("Connection", "close");
      return false;
    };
    Cluster& cluster = shard->cluster();
    DoorServices& door = shard->door();
    const int64_t now_ms = cluster.clock().UnixMs();
    std::string ip = RemoteIpOf(con);
    const moderation::TrustedProxies& proxies = door.trusted_proxies();
    if (con->door_refusal.ok() && proxies.Trusts(ip)) {
      absl::StatusOr<std::string> client = proxies.ClientAddress(
          ip, con->get_request().get_header(
                  std::string(moderation::ForwardedHeaderName(proxies.header()))));
      if (!client.ok()) {
        return refuse(websocketpp::http::status_code::bad_request,
                      std::string(client.status().message()), metrics::RefusalReason::kProxyHeader);
      }
      ip = std::move(*client);
      // The door counts in monotonic time, not the wall clock the bans use.
      if (con->limits != nullptr) {
        con->limits->Attribute(con->ticket, ip, cluster.clock().NowUs() / 1000);
      }
    }
    con->client_ip = ip;
    // The door first: the ceiling and the address's share cost a hash lookup, and
    // come before everything that costs more.
    if (!con->door_refusal.ok()) {
      return RefuseAtTheDoor(con, con->door_refusal, refuse);  // already answered at accept
    }
    if (con->limits != nullptr) {
      const moderation::ConnectionLimits::Verdict verdict =
          con->limits->CheckUpgrade(con->ticket, cluster.clock().NowUs() / 1000);
      if (!verdict.ok()) return RefuseAtTheDoor(con, verdict, refuse);
    }
    // Cheap refusals next: an address that keeps failing, or a banned address, costs
    // no sealed-box open.
    if (door.auth_failures().BannedUntil(ip, now_ms)) {
      return refuse(websocketpp::http::status_code::too_many_requests,
                    "too many failed attempts, try later", metrics::RefusalReason::kFailureBrake);
    }
    std::shared_ptr<const moderation::BanList> bans = cluster.bans();
    if (!ip.empty() && bans->Match("", ip, now_ms)) {
      return refuse(websocketpp::http::status_code::forbidden, "banned",
                    metrics::RefusalReason::kBanned);
    }
    if (resource.compare(0, kWsPrefix.size(), kWsPrefix) != 0) {
      return refuse(websocketpp::http::status_code::not_found, "unknown path",
                    metrics::RefusalReason::kUnknownPath);
    }
    crypto::Identity identity;
    crypto::AuthError error;
    if (!cluster.authenticator().Authenticate(resource, &identity, &error)) {
      if (auto until = door.auth_failures().RecordFailure(ip, now_ms)) {
        // An automatic ban is a moderation action like any other: it goes to the log.
        moderation::AuditRecord rec;
        rec.unix_ms = now_ms;
        rec.actor = std::string(moderation::kServerActor);
        rec.action = moderation::AuditAction::kServerBan;
        rec.target = ip;
        rec.reason = "too many failed connection attempts";
        rec.until_unix_ms = *until;
        cluster.log().Warn("auth.autoban", {{"ip", ip}, {"until_unix_ms", std::to_string(*until)}});
        shard->AppendAuditDetached(std::move(rec));
      }
      return refuse(static_cast<websocketpp::http::status_code::value>(error.http_status),
                    error.reason, metrics::RefusalReason::kAuth);
    }
    if (bans->MatchUser(identity.user_id, now_ms)) {
      return refuse(websocketpp::http::status_code::forbidden, "banned",
                    metrics::RefusalReason::kBanned);
    }
    // Maintenance mode (maintenance.h): staff still come in, to lift it among other things;
    // known only now, after the payload is opened.
    std::string why;
    if (door.InMaintenance(&why) && !identity.is_admin && !identity.is_moderator) {
      return refuse(websocketpp::http::status_code::service_unavailable,
                    "server unavailable - maintenance mode" + (why.empty() ? "" : ": " + why),
                    metrics::RefusalReason::kMaintenance);
    }
    if (identity.is_guest && con->limits != nullptr) {
      const moderation::ConnectionLimits::Verdict verdict = con->limits->ClaimGuest(con->ticket);
      if (!verdict.ok()) return RefuseAtTheDoor(con, verdict, refuse);
    }
    // Last, so that only a connect that passed every other check spends its token.
    if (!identity.resume.token.empty()) {
      con->resume = std::make_unique<ResumeRequest>();
      if (!RedeemResume(cluster, identity, con->resume.get()) &&
          bans->MatchUser(identity.user_id, now_ms)) {
        return refuse(websocketpp::http::status_code::forbidden, "banned",
                      metrics::RefusalReason::kBanned);
      }
    }
    identity.resume = crypto::ResumeAsk{};  // the token is not kept past the gate
    con->identity = std::make_unique<crypto::Identity>(std::move(identity));
    return true;
  }

  // Redeems the payload's resume token (single use, whatever the outcome) into `out`.
  // A guest's restored session keeps its old guest id, so the identity takes it: returns
  // false when that changed the user id (the caller checks bans on it again).
  static bool RedeemResume(Cluster& cluster, crypto::Identity& identity, ResumeRequest* out) {
    const crypto::ResumeAsk& ask = identity.resume;
    ResumeTokens::Redemption r =
        cluster.resume_tokens().Redeem(ask.token, identity.user_id, identity.is_guest);
    out->asked = true;
    out->room_id = ask.room;
    out->epoch = ask.epoch;
    out->offset = static_cast<uint64_t>(ask.offset);
    // Rooms across nodes: the token's state in Redis is taken by the shard (spent on every
    // node); a token this process never issued may be another node's.
    if (ReadRedisHealth().enabled) {
      out->shared_key = ResumeTokens::SharedKey(ask.token);
      if (r.outcome == ResumeTokens::Outcome::kUnknown) {
        out->remote = true;
        return true;
      }
    }
    if (r.outcome != ResumeTokens::Outcome::kGranted) {
      out->refusal = ResumeTokens::OutcomeName(r.outcome);
      return true;
    }
    out->previous = r.session;
    if (identity.user_id == r.user_id) return true;
    identity.user_id = r.user_id;
    return false;
  }

  // A connection past the ceiling or its address's cap, refused before it reads a byte:
  // the answer is written straight to the socket (it fits any socket buffer) and the
  // write side shut, so a silent client cannot hold a slot by saying nothing.
  // Returns the HTTP status it answered with.
  static int RefuseAtAccept(boost::asio::ip::tcp::socket& socket,
                            const moderation::ConnectionLimits::Verdict& door) {
    using Refusal = moderation::ConnectionLimits::Refusal;
    const bool full = door.refusal == Refusal::kServerFull;
    const std::string body =
        full ? "server full, try later\n" : "too many connections from your address\n";
    const std::string response =
        std::string(full ? "HTTP/1.1 503 Service Unavailable\r\n"
                         : "HTTP/1.1 429 Too Many Requests\r\n") +
        "Retry-After: " + std::to_string(door.retry_after_s) +
        "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\nConnection: close\r\n\r\n" + body;
    const int fd = socket.native_handle();
    ssize_t ignored = ::send(fd, response.data(), response.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)ignored;
    // A FIN after the answer, not a reset: a client that sends its request meanwhile
    // still reads the answer.
    ::shutdown(fd, SHUT_WR);
    return full ? 503 : 429;
  }

  static metrics::RefusalReason ReasonOf(const moderation::ConnectionLimits::Verdict& door) {
    using Refusal = moderation::ConnectionLimits::Refusal;
    switch (door.refusal) {
      case Refusal::kServerFull:
        return metrics::RefusalReason::kServerFull;
      case Refusal::kAddressFull:
        return metrics::RefusalReason::kAddressFull;
      case Refusal::kGuestsFull:
        return metrics::RefusalReason::kGuestsFull;
      case Refusal::kTooManyAttempts:
        return metrics::RefusalReason::kAttempts;
      case Refusal::kNone:
        break;
    }
    return metrics::RefusalReason::kOther;
  }

  template <typename Refuse>
  static bool RefuseAtTheDoor(const ConPtr& con, const moderation::ConnectionLimits::Verdict& door,
                              Refuse& refuse) {
    using Refusal = moderation::ConnectionLimits::Refusal;
    con->append_header("Retry-After", std::to_string(door.retry_after_s));
    const metrics::RefusalReason reason = ReasonOf(door);
    switch (door.refusal) {
      case Refusal::kServerFull:
        return refuse(websocketpp::http::status_code::service_unavailable, "server full, try later",
                      reason);
      case Refusal::kAddressFull:
        return refuse(websocketpp::http::status_code::too_many_requests,
                      "too many connections from your address", reason);
      case Refusal::kGuestsFull:
        return refuse(websocketpp::http::status_code::too_many_requests,
                      "too many guests from your address", reason);
      case Refusal::kTooManyAttempts:
      case Refusal::kNone:
        break;
    }
    return refuse(websocketpp::http::status_code::too_many_requests,
                  "too many connection attempts from your address, slow down", reason);
  }

  // Plain HTTP (anything but an upgrade) is answered by the Server's HttpSite
  // (server/http_site.h); this only moves its answer onto the wire. The body is any
  // bytes (wasm included): websocketpp keeps it in a std::string and writes size()
  // bytes. set_body() sets Content-Length; for HEAD and 304 the site's own
  // Content-Length is sent with no body.
  void Http(websocketpp::connection_hdl h) {
    ConPtr con = ws.get_con_from_hdl(h);
    const auto& req = con->get_request();
    HttpRequest request;
    request.method = req.get_method();
    request.target = con->get_resource();
    request.host = req.get_header("Host");
    request.if_none_match = req.get_header("If-None-Match");
    HttpResponse r = shard->door().http_site().Handle(request);
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
    std::string ip = std::move(con->client_ip);
    // Only WsDeflate answers this header, and only when it enabled the extension.
    con->deflate =
        con->get_response().get_header("Sec-WebSocket-Extensions").rfind("permessage-deflate", 0) ==
        0;
    ReleaseHandshake(*con);
    auto link = std::make_unique<WsLink>(con, std::move(ip),
                                         shard->cluster().config().compression_threshold);
    ++shard->endpoint_counters().connections_opened;
    if (!con->identity->link_token.empty()) {
      // A linked connection: no session of its own, a second path of one that exists.
      const std::string user = con->identity->user_id;
      con->link = shard->AddLinkConnection(std::move(*con->identity), std::move(link));
      con->identity.reset();
      shard->cluster().log().Info("link.open", {{"user", user},
                                                {"link", std::to_string(con->link)},
                                                {"shard", std::to_string(shard->index())}});
      return;
    }
    Session* s = shard->AddSession(std::move(*con->identity), std::move(link),
                                   con->resume ? std::move(*con->resume) : ResumeRequest{});
    con->resume.reset();
    shard->cluster().log().Info("conn.open", {{"ip", s->remote_ip()},
                                              {"user", s->identity().user_id},
                                              {"guest", s->identity().is_guest ? "true" : "false"},
                                              {"session", std::to_string(s->id())},
                                              {"shard", std::to_string(shard->index())}});
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
    if (con->link != 0) {
      const SessionId link = std::exchange(con->link, 0);
      shard->endpoint_counters().closes.Add(con->get_local_close_code());
      ++shard->endpoint_counters().connections_closed;
      shard->cluster().log().Info("link.close",
                                  {{"link", std::to_string(link)},
                                   {"code", std::to_string(con->get_local_close_code())},
                                   {"shard", std::to_string(shard->index())}});
      shard->LinkConnectionLost(link);
      return;
    }
    if (con->session != 0) {
      SessionId id = con->session;
      con->session = 0;
      // The code the server closed with, whether or not its close frame got out (a slow
      // consumer's 4001 waits behind a backlog the peer does not read, and the close
      // timeout ends the socket first: websocketpp then reports 1006). Otherwise what
      // websocketpp sent: the peer's code echoed, or 1006 when the connection dropped.
      const Session* s = shard->FindSession(id);
      const uint16_t ours = s != nullptr ? s->close_code() : 0;
      const uint16_t code = ours != 0 ? ours : con->get_local_close_code();
      shard->endpoint_counters().closes.Add(code);
      shard->cluster().log().Info("conn.close", {{"session", std::to_string(id)},
                                                 {"code", std::to_string(code)},
                                                 {"shard", std::to_string(shard->index())}});
      ++shard->endpoint_counters().connections_closed;
      // 1006 (abnormal) when the client sent no close frame: the socket just went away.
      shard->ConnectionLost(id, con->get_remote_close_code());
    }
  }
};

Endpoint::Endpoint(EndpointHost* host) : impl_(std::make_unique<Impl>(host)) {}
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

size_t Endpoint::QueuedBytes() const { return impl_->ws.QueuedBytes(); }

uint16_t Endpoint::LocalPort() const {
  boost::system::error_code ec;
  auto ep = impl_->ws.get_local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void Endpoint::StopListening() {
  websocketpp::lib::error_code ec;
  if (impl_->ws.is_listening()) impl_->ws.stop_listening(ec);
}

}  // namespace tutti::server
