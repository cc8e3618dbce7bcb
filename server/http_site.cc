#include "server/http_site.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "crypto/base64url.h"

namespace tutti::server {
namespace {

// Config values are finite; a NaN from a bad flag must still give valid JSON.
std::string Number(double v) { return std::isfinite(v) ? absl::StrCat(v) : "0"; }

}  // namespace

std::string ServerInfoJson(const ServerConfig& config, const crypto::PublicKey& seal_public,
                           std::string_view version) {
  const std::string key = crypto::Base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(seal_public.data()), seal_public.size()));
  // Field names follow the Limits message of Welcome (protos/tutti.proto) where one
  // exists. One flat object, so that crypto/json.h's strict reader (and any client's) takes it.
  // Every value is a constant, a number or base64url: nothing here needs escaping
  // except the version, which is a compile-time constant without quotes or backslashes.
  return absl::StrCat("{\"version\":\"", std::string(version),
                      "\",\"guests_allowed\":", config.allow_guests ? "true" : "false",
                      ",\"seal_public_key\":\"", key, "\",\"websocket_path\":\"",
                      std::string(kWebSocketPrefix),
                      "\",\"max_frame_bytes\":", config.max_frame_bytes,
                      ",\"max_resource_bytes\":", config.max_resource_bytes,
                      ",\"max_chat_length\":", config.max_chat_length,
                      ",\"max_room_name_length\":", config.max_room_name_length,
                      ",\"max_password_length\":", config.max_password_length,
                      ",\"max_users_per_room\":", config.max_users_per_room,
                      ",\"max_events_per_midi_message\":", config.max_midi_messages,
                      ",\"max_midi_span_us\":", config.max_midi_span_us,
                      ",\"notes_per_second\":", Number(config.notes_per_second),
                      ",\"note_burst\":", Number(config.note_burst),
                      ",\"chat_messages_per_second\":", Number(config.chat_per_second),
                      ",\"chat_burst\":", Number(config.chat_burst),
                      ",\"joins_per_second\":", Number(config.joins_per_second),
                      ",\"join_burst\":", Number(config.join_burst),
                      ",\"heartbeat_interval_ms\":", config.heartbeat_interval_ms,
                      ",\"idle_timeout_ms\":", config.idle_timeout_ms, "}");
}

HttpResponse HttpSite::Handle(const HttpRequest& request) const {
  HttpResponse r = Route(request);
  if (request.method == "HEAD") r.send_body = false;
  return r;
}

HttpResponse HttpSite::Route(const HttpRequest& request) const {
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse r = TextResponse(405, "only GET and HEAD\n", request.host);
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  const std::string_view path = request.target.substr(0, request.target.find('?'));
  if (path == kHealthPath) return TextResponse(200, "ok\n", request.host);
  if (path == kServerInfoPath) {
    HttpResponse r;
    r.status = 200;
    r.headers.emplace_back("Content-Type", "application/json");
    r.headers.emplace_back("Content-Length", std::to_string(server_info_.size()));
    // Same-origin only: no Access-Control-Allow-Origin. no-store: the key and the
    // limits change when the operator changes them, and the document is tiny.
    r.headers.emplace_back("Cache-Control", "no-store");
    AddSecurityHeaders(request.host, &r.headers);
    r.body = server_info_;
    return r;
  }
  if (path.substr(0, kWebSocketPrefix.size()) == kWebSocketPrefix) {
    HttpResponse r =
        TextResponse(426, "Tutti speaks WebSocket at /api/websocket/<payload>\n", request.host);
    r.headers.emplace_back("Upgrade", "websocket");
    return r;
  }
  if (path.substr(0, 5) == "/api/") return TextResponse(404, "not found\n", request.host);
  if (!root_.loaded()) {
    return TextResponse(404,
                        "no web client is installed here (see docs/WEB.md); Tutti speaks "
                        "WebSocket at /api/websocket/<payload>\n",
                        request.host);
  }
  return root_.Serve(request);
}

}  // namespace tutti::server
