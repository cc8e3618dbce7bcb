// WsDeflate: Tutti's permessage-deflate (RFC 7692) for websocketpp's server role, in
// place of websocketpp's own extension (which keeps a ~270 KiB deflate stream per
// connection and inflates without bound). It does two things only:
//   - the handshake: accepts a client's offer with server_no_context_takeover, so that a
//     frame compressed once from an empty window (server/frame.h's twin) is valid for
//     every receiver that negotiated; declines offers it cannot honour with that frame
//     (server_max_window_bits below 15) and everything when the policy is off;
//   - what clients send compressed: inflated by a per-connection Inflater
//     (server/deflate.h) under the same cap as an uncompressed message; past it the
//     connection is closed 1009, on corrupt data 1007.
// Tutti's own frames never go through websocketpp's send path (server/
// ws_outbound_connection.h), so compress() is never used.
// Included only by server/ws_transport.h. Thread affinity: one per connection, inside
// websocketpp's processor, used only on the connection's shard thread; the policy is
// read from that thread's DeflatePolicy, which the endpoint sets before any handshake
// on it (SetThreadDeflatePolicy).
#ifndef TUTTI_SERVER_WS_DEFLATE_H_
#define TUTTI_SERVER_WS_DEFLATE_H_

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include <websocketpp/common/system_error.hpp>
#include <websocketpp/extensions/extension.hpp>
#include <websocketpp/http/constants.hpp>
#include <websocketpp/processors/base.hpp>

#include "server/deflate.h"

namespace tutti::server::ws {

// What a shard's endpoint allows (from ServerConfig).
struct DeflatePolicy {
  bool enabled = false;
  // The cap on one message inflated, the same as on an uncompressed one.
  size_t max_message_bytes = 64 * 1024;
};

// The window a client is asked to stay within when its offer lets the server choose
// (client_max_window_bits): what clients send is small (MIDI, chat lines), so a 1 KiB
// window costs them nothing in ratio and keeps the server's inflate state small.
inline constexpr int kClientWindowBits = 10;

inline const DeflatePolicy*& ThreadDeflatePolicy() {
  thread_local const DeflatePolicy* policy = nullptr;
  return policy;
}

// Called by the endpoint on its shard thread; `policy` outlives every connection there.
inline void SetThreadDeflatePolicy(const DeflatePolicy* policy) { ThreadDeflatePolicy() = policy; }

// The response to one offer (its parameters, RFC 7692 section 7.1), or empty when the
// offer is declined. `*client_bits` gets the window the client may use.
inline std::string AnswerDeflateOffer(const websocketpp::http::attribute_list& offer,
                                      int* client_bits) {
  std::string answer = "permessage-deflate; server_no_context_takeover";
  *client_bits = 15;
  for (const auto& [name, value] : offer) {
    if (name == "server_no_context_takeover" || name == "client_no_context_takeover") {
      if (!value.empty()) return std::string();
    } else if (name == "server_max_window_bits") {
      // The shared twin is made with a 2^15 window: a client that wants a smaller one
      // cannot read it, so its offer is declined (it may have another).
      if (value != "15") return std::string();
      answer += "; server_max_window_bits=15";
    } else if (name == "client_max_window_bits") {
      int bits = kClientWindowBits;
      if (!value.empty()) {
        if (value.size() > 2 || value.find_first_not_of("0123456789") != std::string::npos) {
          return std::string();
        }
        const int asked = std::atoi(value.c_str());
        if (asked < 8 || asked > 15) return std::string();
        // Never more than the client offered (section 7.1.2.2); the Inflater's window
        // is at least 2^9, which reads data made with 2^8 as well.
        bits = std::min(asked, kClientWindowBits);
      }
      *client_bits = bits;
      answer += "; client_max_window_bits=" + std::to_string(bits);
    } else {
      return std::string();  // an unknown parameter: decline (section 7)
    }
  }
  return answer;
}

template <typename config>
class WsDeflate {
 public:
  typedef std::pair<websocketpp::lib::error_code, std::string> err_str_pair;

  bool is_implemented() const { return true; }
  bool is_enabled() const { return enabled_; }

  err_str_pair negotiate(const websocketpp::http::attribute_list& offer) {
    const DeflatePolicy* policy = ThreadDeflatePolicy();
    err_str_pair ret;
    int client_bits = 15;
    std::string answer;
    if (policy != nullptr && policy->enabled) answer = AnswerDeflateOffer(offer, &client_bits);
    if (answer.empty()) {
      ret.first =
          websocketpp::extensions::error::make_error_code(websocketpp::extensions::error::disabled);
      return ret;
    }
    enabled_ = true;
    inflater_ = std::make_unique<Inflater>(client_bits, policy->max_message_bytes);
    ret.second = std::move(answer);
    return ret;
  }

  // Nothing to set up: zlib's state is made at the first compressed byte.
  websocketpp::lib::error_code init(bool) { return websocketpp::lib::error_code(); }

  std::string generate_offer() const { return std::string(); }  // server role only

  websocketpp::lib::error_code compress(const std::string&, std::string&) {
    return websocketpp::extensions::error::make_error_code(
        websocketpp::extensions::error::disabled);
  }

  websocketpp::lib::error_code decompress(const uint8_t* buf, size_t len, std::string& out) {
    namespace perr = websocketpp::processor::error;
    if (!inflater_) return perr::make_error_code(perr::invalid_rsv_bit);
    switch (inflater_->Inflate(buf, len, &out)) {
      case Inflater::Result::kOk:
        return websocketpp::lib::error_code();
      case Inflater::Result::kTooBig:
        return perr::make_error_code(perr::message_too_big);  // closed 1009
      case Inflater::Result::kCorrupt:
        break;
    }
    return perr::make_error_code(perr::invalid_payload);  // closed 1007
  }

 private:
  bool enabled_ = false;
  std::unique_ptr<Inflater> inflater_;
};

}  // namespace tutti::server::ws

#endif  // TUTTI_SERVER_WS_DEFLATE_H_
