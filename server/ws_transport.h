// The endpoint's websocketpp configuration: ConnectionData (what Tutti keeps in each
// connection object, including its ticket at the door) and WsConfig, which ties it and
// Tutti's own transport (OutboundEndpoint and its connections: server/ws_outbound_*.h,
// server/ws_tcp_connection.h) to websocketpp's core config with concurrency "none".
// Included only by server/endpoint.cc. Thread affinity: one shard thread per endpoint;
// owned by the endpoint's websocketpp server object (OutboundEndpoint is its transport
// base) and by each connection object (ConnectionData is its base).
#ifndef TUTTI_SERVER_WS_TRANSPORT_H_
#define TUTTI_SERVER_WS_TRANSPORT_H_

#include <memory>
#include <string>

#include <websocketpp/concurrency/none.hpp>
#include <websocketpp/config/core.hpp>

#include "crypto/authenticator.h"
#include "server/clock.h"
#include "server/ids.h"
#include "server/moderation/connection_limits.h"
#include "server/session.h"
#include "server/token_bucket.h"
#include "server/ws_deflate.h"
#include "server/ws_outbound_endpoint.h"

namespace tutti::server::ws {

// Per-connection data websocketpp keeps inside each connection object. It lives exactly
// as long as the connection object, which owns the socket, so the door's count of open
// connections is given back here, whatever way the connection ended.
struct ConnectionData {
  SessionId session = 0;
  SessionId link = 0;  // a linked connection's id instead (docs/PROTOCOL.md §16)
  std::unique_ptr<crypto::Identity> identity;  // set by the gate, moved into the Session
  // The gate's verdict on a resume token, when the client presented one: made only then
  // and released at open, as ~200 bytes inline would stay in every connection for its
  // whole life (docs/PERFORMANCE.md, "Memory per connection").
  std::unique_ptr<ResumeRequest> resume;
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

// Each endpoint runs on exactly one thread, so websocketpp's locks are dead weight:
// concurrency "none". The transport is Tutti's (OutboundEndpoint), with no strand.
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
  // What Tutti's transport takes from the config: the logger types websocketpp's core
  // passes to it.
  struct transport_config {
    typedef type::alog_type alog_type;
    typedef type::elog_type elog_type;
  };
  typedef OutboundEndpoint<transport_config> transport_type;
  typedef ConnectionData connection_base;
  // Tutti's permessage-deflate: negotiation and bounded inflate only (ws_deflate.h).
  typedef WsDeflate<base::permessage_deflate_config> permessage_deflate_type;
  // Every connection carries this buffer inline for its whole life, idle or not. What a
  // client sends is small (MIDI batches of tens of bytes, chat lines up to 512), so
  // 256 bytes hold several MIDI frames per read, and a larger frame (a long chat line,
  // the upgrade request) just takes a few reads. docs/PERFORMANCE.md: 4096 -> 1024 took
  // an idle connection from ~13.8 to ~10.8 KiB of RSS, 1024 -> 512 saved another 0.5,
  // 512 -> 256 another 0.25 (idle members in rooms), with no cost measured under load.
  static const size_t connection_read_buffer_size = 256;
  static const websocketpp::log::level elog_level = websocketpp::log::elevel::none;
  static const websocketpp::log::level alog_level = websocketpp::log::alevel::none;
  // Overridden at run time from ServerConfig; the library default (32 MB) is never kept.
  static const size_t max_message_size = 64 * 1024;
  static const size_t max_http_body_size = 0;
};

}  // namespace tutti::server::ws

#endif  // TUTTI_SERVER_WS_TRANSPORT_H_
