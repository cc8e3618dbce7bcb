// Fuzz target: the base64url codec (crypto/base64url.h).
//
// Properties of the wrapper over libsodium's codec: Base64UrlDecode and Base64UrlDecodeInto
// accept exactly the same texts and produce the same bytes; an accepted text holds only the
// url-safe alphabet (no padding, no whitespace) and is the encoding of its bytes (no
// trailing bits: one accepted text per byte string); any bytes survive encode then decode;
// a refused or wrong-length decode leaves the output zeroed.
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "crypto/base64url.h"
#include "tests/fuzz/fuzz_target.h"

using tutti::crypto::Base64UrlDecode;
using tutti::crypto::Base64UrlDecodeInto;
using tutti::crypto::Base64UrlEncode;
using tutti::crypto::Base64UrlEncodedLength;

namespace {

bool AllZero(const std::vector<uint8_t>& v) {
  for (uint8_t b : v) {
    if (b != 0) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = tutti::fuzz::AsText(data, size);

  const std::optional<std::string> decoded = Base64UrlDecode(text);
  // The length a valid text of this size would decode to, whether or not it is valid.
  const size_t expected_len = size / 4 * 3 + (size % 4 <= 1 ? 0 : size % 4 - 1);
  std::vector<uint8_t> out(expected_len + 1, 0xAA);
  const bool into_ok = Base64UrlDecodeInto(text, out.data(), expected_len);
  FUZZ_CHECK(into_ok == decoded.has_value());
  if (decoded) {
    FUZZ_CHECK(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-_") == std::string_view::npos);
    FUZZ_CHECK(decoded->size() == expected_len);
    FUZZ_CHECK(std::memcmp(out.data(), decoded->data(), expected_len) == 0);
    FUZZ_CHECK(out[expected_len] == 0xAA);  // nothing written past out_len
    FUZZ_CHECK(Base64UrlEncode(*decoded) == text);
    FUZZ_CHECK(Base64UrlEncodedLength(decoded->size()) == size);
  } else {
    out.resize(expected_len);
    FUZZ_CHECK(AllZero(out));
  }

  // A buffer of another length is always refused and zeroed.
  std::vector<uint8_t> wrong(expected_len + 1, 0xAA);
  FUZZ_CHECK(!Base64UrlDecodeInto(text, wrong.data(), wrong.size()));
  FUZZ_CHECK(AllZero(wrong));

  // Arbitrary bytes round-trip through both decoders.
  const std::string encoded = Base64UrlEncode(text);
  FUZZ_CHECK(encoded.size() == Base64UrlEncodedLength(size));
  const std::optional<std::string> back = Base64UrlDecode(encoded);
  FUZZ_CHECK(back.has_value() && *back == text);
  std::vector<uint8_t> back_into(size + 1, 0xAA);
  FUZZ_CHECK(Base64UrlDecodeInto(encoded, back_into.data(), size));
  FUZZ_CHECK(std::memcmp(back_into.data(), text.data(), size) == 0);
  return 0;
}
