#include "crypto/base64url.h"

#include <sodium.h>

#include <cstring>

namespace tutti::crypto {
namespace {

// The length a canonical text of `text_len` characters decodes to; false for a length no
// encoding produces (len % 4 == 1). libsodium refuses that length too (six bits left over),
// but checking it first lets the caller size the output exactly.
bool DecodedLength(size_t text_len, size_t* out) {
  if (text_len % 4 == 1) return false;
  *out = text_len / 4 * 3 + (text_len % 4 == 0 ? 0 : text_len % 4 - 1);
  return true;
}

// libsodium's decoder (constant-time in the characters' values) with the strictness Tutti
// needs, each point checked (tests/crypto/crypto_base64url_test.cc, tests/fuzz):
//   - no padding: the URLSAFE_NO_PADDING variant treats '=' as a character outside the
//     alphabet, which stops the decoder;
//   - no whitespace or other characters: `ignore` is null, so any such character stops the
//     decoder, and a null `b64_end` makes stopping before the end of the text an error;
//   - no trailing bits: libsodium refuses non-zero unused bits and more than four of them;
//   - exactly `out_len` bytes: checked here, before and after;
//   - only ASCII: checked here (see below).
// libsodium may have written part of the output before it refused; the caller zeroes it.
bool SodiumDecode(std::string_view text, uint8_t* out, size_t out_len) {
  // Where libsodium is laxer (found by tests/crypto/crypto_base64url_test.cc): its
  // character mapping compares with an 8-bit trick that assumes values 0..255, but it
  // reads the text as `char`, signed here, so bytes 0x80..0xFF arrive negative and some
  // decode as letters of the alphabet. No valid text holds a byte above 0x7F; refuse them
  // first, with an OR over every byte so the check stays constant-time like the decoder.
  unsigned high = 0;
  for (char c : text) high |= static_cast<unsigned char>(c);
  if ((high & 0x80u) != 0) return false;
  size_t written = 0;
  if (sodium_base642bin(out, out_len, text.data(), text.size(), /*ignore=*/nullptr, &written,
                        /*b64_end=*/nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    return false;
  }
  return written == out_len;
}

}  // namespace

size_t Base64UrlEncodedLength(size_t n) { return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1); }

std::string Base64UrlEncode(std::string_view bytes) {
  // sodium_bin2base64 writes a terminating NUL, counted by sodium_base64_ENCODED_LEN.
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(Base64UrlEncodedLength(bytes.size()));
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  size_t len = 0;
  if (!DecodedLength(text.size(), &len)) return std::nullopt;
  std::string out(len, '\0');
  if (!SodiumDecode(text, reinterpret_cast<uint8_t*>(out.data()), len)) return std::nullopt;
  return out;
}

bool Base64UrlDecodeInto(std::string_view text, uint8_t* out, size_t out_len) {
  size_t len = 0;
  if (!DecodedLength(text.size(), &len) || len != out_len || !SodiumDecode(text, out, out_len)) {
    if (out_len > 0) sodium_memzero(out, out_len);
    return false;
  }
  return true;
}

}  // namespace tutti::crypto
