// Fuzz target: the admin listener's request-head parser and router (server/admin_site.h),
// which see every byte an HTTP client sends to the admin port.
//
// Input: a request head (request line and headers, without the blank line).
// Properties: a parsed request has an upper-case method and a path that starts with '/'
// and holds no space, control byte or '?'; the answer to any parsed request is 200, 404,
// 405 or 503, a 405 says Allow, and every serialized answer is one HTTP/1.1 response
// whose Content-Length matches its body.
#include <string>
#include <string_view>

#include "server/admin_site.h"
#include "tests/fuzz/fuzz_target.h"

namespace srv = tutti::server;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = tutti::fuzz::AsText(data, size);
  static srv::AdminSite site([] { return tutti::server::metrics::MetricsSnapshot{}; },
                             [] { return 1.0; });
  srv::AdminRequest req;
  srv::AdminResponse r;
  if (srv::ParseAdminRequest(text, &req) == srv::AdminParse::kOk) {
    FUZZ_CHECK(!req.method.empty());
    for (char c : req.method) FUZZ_CHECK(c >= 'A' && c <= 'Z');
    FUZZ_CHECK(!req.path.empty() && req.path.front() == '/');
    for (char c : req.path) {
      FUZZ_CHECK(static_cast<unsigned char>(c) > 0x20 && c != 0x7f && c != '?');
    }
    r = site.Handle(req);
    FUZZ_CHECK(r.status == 200 || r.status == 404 || r.status == 405 || r.status == 503);
    FUZZ_CHECK(r.status != 405 || !r.allow.empty());
  } else {
    r = srv::AdminSite::BadRequest();
    FUZZ_CHECK(r.status == 400);
  }
  const std::string wire = srv::SerializeAdminResponse(r);
  FUZZ_CHECK(wire.rfind("HTTP/1.1 ", 0) == 0);
  const size_t end = wire.find("\r\n\r\n");
  FUZZ_CHECK(end != std::string::npos);
  const std::string length = "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  FUZZ_CHECK(wire.find(length) < end);
  FUZZ_CHECK(!r.send_body || wire.size() == end + 4 + r.body.size());
  return 0;
}
