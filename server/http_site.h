// HttpSite: every plain-HTTP answer of the server (requests that are not a WebSocket
// upgrade): /healthz, /api/server-info, and the browser client's static files from a
// WebRoot. Pure (no websocketpp): server/endpoint.cc hands it the request and writes
// the HttpResponse. Built once by the Server's constructor from the configuration and
// immutable afterwards, so every shard thread calls Handle() concurrently without locks.
// Owned by the Server.
#ifndef TUTTI_SERVER_HTTP_SITE_H_
#define TUTTI_SERVER_HTTP_SITE_H_

#include <string>
#include <string_view>

#include "crypto/keys.h"
#include "server/config.h"
#include "server/web_root.h"

namespace tutti::server {

// Paths the site answers itself (docs/PROTOCOL.md §1).
inline constexpr std::string_view kHealthPath = "/healthz";
inline constexpr std::string_view kServerInfoPath = "/api/server-info";
inline constexpr std::string_view kWebSocketPrefix = "/api/websocket/";

// The /api/server-info document: version, guests allowed, the sealed-box public key
// (base64url without padding, exactly as in server_seal.pub), the WebSocket path prefix
// and the limits a client needs to stay inside (docs/PROTOCOL.md §1).
std::string ServerInfoJson(const ServerConfig& config, const crypto::PublicKey& seal_public,
                           std::string_view version);

class HttpSite {
 public:
  HttpSite(WebRoot root, std::string server_info_json)
      : root_(std::move(root)), server_info_(std::move(server_info_json)) {}

  // GET and HEAD only (others: 405 with Allow); HEAD gets GET's headers and no body.
  HttpResponse Handle(const HttpRequest& request) const;

  const WebRoot& root() const { return root_; }
  const std::string& server_info() const { return server_info_; }

 private:
  HttpResponse Route(const HttpRequest& request) const;

  const WebRoot root_;
  const std::string server_info_;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_HTTP_SITE_H_
