// Fuzz target: the static-file path mapping and the header helpers of server/web_root.h,
// which see every plain-HTTP request target and Host header.
//
// Input: the request target, and the same bytes as a Host header.
// Properties: a mapped key is relative, has no empty, "." or ".." segment, no backslash
// and no control byte, so it cannot leave the root; percent-encoding the key and mapping
// it again gives the same key (or 414 when the encoding outgrows the limit); the CSP built from any
// Host holds no CR, LF or ';' beyond its own directive separators, so a Host header cannot add
// policy or headers.
#include <string>
#include <string_view>

#include "server/web_root.h"
#include "tests/fuzz/fuzz_target.h"

namespace srv = tutti::server;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = tutti::fuzz::AsText(data, size);

  std::string key;
  if (srv::MapWebPath(text, &key) == srv::WebPathResult::kOk) {
    FUZZ_CHECK(!key.empty() && key.front() != '/');
    size_t start = 0;
    while (start <= key.size()) {
      size_t end = key.find('/', start);
      if (end == std::string::npos) end = key.size();
      const std::string_view seg = std::string_view(key).substr(start, end - start);
      FUZZ_CHECK(!seg.empty() && seg != "." && seg != "..");
      start = end + 1;
    }
    std::string encoded = "/";
    for (unsigned char c : key) {
      FUZZ_CHECK(c >= 0x20 && c != 0x7f && c != '\\');
      static constexpr char kHex[] = "0123456789ABCDEF";
      if (c == '/') {
        encoded += '/';
      } else {
        encoded += '%';
        encoded += kHex[c >> 4];
        encoded += kHex[c & 15];
      }
    }
    std::string again;
    const srv::WebPathResult r = srv::MapWebPath(encoded, &again);
    if (encoded.size() <= srv::kMaxWebPathBytes) {
      FUZZ_CHECK(r == srv::WebPathResult::kOk && again == key);
    } else {
      FUZZ_CHECK(r == srv::WebPathResult::kTooLong);
    }
    (void)srv::ContentTypeFor(key);
    (void)srv::IsHashedAssetName(key);
  }

  const std::string csp = srv::ContentSecurityPolicy(text);
  FUZZ_CHECK(csp.find_first_of("\r\n") == std::string::npos);
  size_t separators = 0;
  for (char c : csp) separators += c == ';';
  FUZZ_CHECK(separators == 7);
  return 0;
}
