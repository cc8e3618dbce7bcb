// Fuzz target: permessage-deflate (server/deflate.h, server/ws_deflate.h), the parts
// that read what a client controls: the DEFLATE data of a compressed message (the
// Inflater), and the parameters of its Sec-WebSocket-Extensions offer (parsed by
// websocketpp, answered by AnswerDeflateOffer).
//
// Input: a mode byte, then
//   mode 0: a cap byte (cap = 64 * (1 + b) bytes), then DEFLATE data fed in pieces of
//           1 + (mode-chosen) bytes, then the 00 00 ff ff trailer;
//   mode 1: a Sec-WebSocket-Extensions header value;
//   mode 2: bytes to compress and decompress again.
// Properties: the Inflater never holds more than its cap, refuses everything after a
// refusal, and gives back exactly what DeflateMessage compressed; an answer to an offer
// is empty or a permessage-deflate response with server_no_context_takeover, never a
// server window below 15, and a client window within 8..15.
#include <string>
#include <string_view>

#include <websocketpp/http/request.hpp>

#include "server/deflate.h"
#include "server/ws_deflate.h"
#include "tests/fuzz/fuzz_target.h"

namespace server = tutti::server;

namespace {

void FuzzInflate(tutti::fuzz::FuzzInput& in) {
  const size_t cap = 64 * (1 + static_cast<size_t>(in.TakeByte()));
  const size_t piece = 1 + in.TakeByte() % 64;
  const std::string_view data = in.Rest();
  server::Inflater inflater(15, cap);
  FUZZ_CHECK(!inflater.started());
  std::string out;
  server::Inflater::Result r = server::Inflater::Result::kOk;
  for (size_t at = 0; at < data.size() && r == server::Inflater::Result::kOk; at += piece) {
    const std::string_view p = data.substr(at, piece);
    r = inflater.Inflate(reinterpret_cast<const uint8_t*>(p.data()), p.size(), &out);
    FUZZ_CHECK(out.size() <= cap);
  }
  if (r == server::Inflater::Result::kOk) {
    r = inflater.Inflate(reinterpret_cast<const uint8_t*>("\x00\x00\xff\xff"), 4, &out);
    FUZZ_CHECK(out.size() <= cap);
  }
  if (r != server::Inflater::Result::kOk) {
    const size_t held = out.size();
    FUZZ_CHECK(inflater.Inflate(reinterpret_cast<const uint8_t*>("\x03\x00"), 2, &out) ==
               server::Inflater::Result::kCorrupt);
    FUZZ_CHECK(out.size() == held);
  }
}

void FuzzOffer(std::string_view header) {
  websocketpp::http::parser::request req;
  req.replace_header("Sec-WebSocket-Extensions", std::string(header));
  websocketpp::http::parameter_list offers;
  if (req.get_header_as_plist("Sec-WebSocket-Extensions", offers)) return;  // unparsable
  for (const auto& [name, params] : offers) {
    if (name != "permessage-deflate") continue;
    int bits = 0;
    const std::string answer = server::ws::AnswerDeflateOffer(params, &bits);
    if (answer.empty()) continue;
    FUZZ_CHECK(answer.rfind("permessage-deflate; server_no_context_takeover", 0) == 0);
    FUZZ_CHECK(bits >= 8 && bits <= 15);
    const size_t sw = answer.find("server_max_window_bits=");
    FUZZ_CHECK(sw == std::string::npos || answer.compare(sw, 25, "server_max_window_bits=15") == 0);
  }
}

void FuzzRoundTrip(std::string_view data) {
  const std::string deflated = server::DeflateMessage(data);
  FUZZ_CHECK(!deflated.empty());
  server::Inflater inflater(15, data.size() + 1);
  std::string out;
  FUZZ_CHECK(inflater.Inflate(reinterpret_cast<const uint8_t*>(deflated.data()), deflated.size(),
                              &out) == server::Inflater::Result::kOk);
  FUZZ_CHECK(inflater.Inflate(reinterpret_cast<const uint8_t*>("\x00\x00\xff\xff"), 4, &out) ==
             server::Inflater::Result::kOk);
  FUZZ_CHECK(out == data);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tutti::fuzz::FuzzInput in(data, size);
  switch (in.TakeByte() % 3) {
    case 0:
      FuzzInflate(in);
      break;
    case 1:
      FuzzOffer(in.Rest());
      break;
    default:
      FuzzRoundTrip(in.Rest());
      break;
  }
  return 0;
}
