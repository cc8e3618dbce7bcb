#include "crypto/base64url.h"

#include <cstring>

namespace tutti::crypto {
namespace {

// Branch-free mapping of a 6-bit value to its url-safe character.
// Ranges: 0..25 'A'.., 26..51 'a'.., 52..61 '0'.., 62 '-', 63 '_'.
char EncodeSextet(unsigned v) {
  // Each mask is all-ones when v is in the range, computed without branches.
  auto lt = [](unsigned a, unsigned b) -> unsigned { return 0u - ((a - b) >> 31 & 1u); };
  unsigned c = v + 'A';
  c += (~lt(v, 26) & (('a' - 'A') - 26));       // v >= 26: shift into 'a'..
  c += (~lt(v, 52) & (('0' - 'a') - 26 + 0u));  // v >= 52: shift into '0'..
  c += (~lt(v, 62) & (('-' - '0') - 10 + 0u));  // v >= 62: '-'
  c += (~lt(v, 63) & (('_' - '-') - 1 + 0u));   // v == 63: '_'
  return static_cast<char>(c & 0xff);
}

// Branch-free inverse. Returns 0..63, or 0xffffffff for a character outside the
// alphabet ('=' included).
unsigned DecodeChar(unsigned char ch) {
  unsigned c = ch;
  auto in_range = [c](unsigned lo, unsigned hi) -> unsigned {
    // All-ones when lo <= c <= hi.
    return (0u - (((c - lo) >> 31 & 1u) ^ 1u)) & (0u - (((hi - c) >> 31 & 1u) ^ 1u));
  };
  unsigned result = 0;
  unsigned valid = 0;
  unsigned m = in_range('A', 'Z');
  result |= m & (c - 'A');
  valid |= m;
  m = in_range('a', 'z');
  result |= m & (c - 'a' + 26);
  valid |= m;
  m = in_range('0', '9');
  result |= m & (c - '0' + 52);
  valid |= m;
  m = 0u - ((((c ^ '-') - 1u) >> 31) & 1u);  // c == '-'
  result |= m & 62u;
  valid |= m;
  m = 0u - ((((c ^ '_') - 1u) >> 31) & 1u);  // c == '_'
  result |= m & 63u;
  valid |= m;
  return result | ~valid;
}

// The same mapping as a table, built from DecodeChar: ~10x cheaper per character, but
// its lookups depend on the input, so it is only for public data (connect payloads,
// tokens), never for key material. A connect payload is ~650 characters, and the
// branch-free decoder cost ~6% of a handshake (docs/PERFORMANCE.md).
struct DecodeTable {
  uint8_t v[256];
  DecodeTable() {
    for (unsigned c = 0; c < 256; ++c) {
      unsigned d = DecodeChar(static_cast<unsigned char>(c));
      v[c] = static_cast<uint8_t>(d > 63 ? 0xff : d);
    }
  }
};

unsigned DecodeCharPublic(unsigned char ch) {
  static const DecodeTable table;
  unsigned d = table.v[ch];
  return d == 0xff ? 0xffffffffu : d;
}

// Decodes into out (which must hold DecodedLength bytes); false on bad input.
template <unsigned (*Decode)(unsigned char)>
bool DecodeRaw(std::string_view text, uint8_t* out) {
  unsigned bad = 0;
  uint32_t acc = 0;
  int bits = 0;
  size_t o = 0;
  for (unsigned char ch : text) {
    unsigned v = Decode(ch);
    bad |= v >> 6;  // any bit above the sextet marks an invalid character
    acc = (acc << 6) | (v & 63u);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = static_cast<uint8_t>((acc >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero, or two texts would decode to the same bytes.
  bad |= acc & ((1u << bits) - 1u);
  return bad == 0;
}

bool DecodedLength(size_t text_len, size_t* out) {
  if (text_len % 4 == 1) return false;
  *out = text_len / 4 * 3 + (text_len % 4 == 0 ? 0 : text_len % 4 - 1);
  return true;
}

}  // namespace

size_t Base64UrlEncodedLength(size_t n) { return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1); }

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve(Base64UrlEncodedLength(bytes.size()));
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (uint32_t{static_cast<uint8_t>(bytes[i])} << 16) |
                 (uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8) |
                 uint32_t{static_cast<uint8_t>(bytes[i + 2])};
    out.push_back(EncodeSextet(v >> 18 & 63));
    out.push_back(EncodeSextet(v >> 12 & 63));
    out.push_back(EncodeSextet(v >> 6 & 63));
    out.push_back(EncodeSextet(v & 63));
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = uint32_t{static_cast<uint8_t>(bytes[i])} << 16;
    out.push_back(EncodeSextet(v >> 18 & 63));
    out.push_back(EncodeSextet(v >> 12 & 63));
  } else if (rest == 2) {
    uint32_t v = (uint32_t{static_cast<uint8_t>(bytes[i])} << 16) |
                 (uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8);
    out.push_back(EncodeSextet(v >> 18 & 63));
    out.push_back(EncodeSextet(v >> 12 & 63));
    out.push_back(EncodeSextet(v >> 6 & 63));
  }
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  size_t len = 0;
  if (!DecodedLength(text.size(), &len)) return std::nullopt;
  std::string out(len, '\0');
  if (!DecodeRaw<DecodeCharPublic>(text, reinterpret_cast<uint8_t*>(out.data()))) {
    return std::nullopt;
  }
  return out;
}

bool Base64UrlDecodeInto(std::string_view text, uint8_t* out, size_t out_len) {
  size_t len = 0;
  if (!DecodedLength(text.size(), &len) || len != out_len) {
    if (out_len > 0) std::memset(out, 0, out_len);
    return false;
  }
  if (!DecodeRaw<DecodeChar>(text, out)) {
    if (out_len > 0) std::memset(out, 0, out_len);
    return false;
  }
  return true;
}

}  // namespace tutti::crypto
