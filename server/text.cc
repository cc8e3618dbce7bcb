#include "server/text.h"

#include <cstdint>

namespace tutti::server {
namespace {

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 when invalid
// (overlong forms, surrogates and values past U+10FFFF are invalid).
size_t DecodeUtf8(std::string_view s, size_t i, uint32_t* cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len;
  uint32_t v;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    v = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    v = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    v = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b(i + k) & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < kMin[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return len;
}

bool IsSpace(char c) { return c == ' '; }

}  // namespace

std::string CleanText(std::string_view in, size_t max_bytes, bool keep_newlines) {
  std::string out;
  out.reserve(in.size() < max_bytes ? in.size() : max_bytes);
  size_t i = 0;
  while (i < in.size()) {
    uint32_t cp = 0;
    size_t len = DecodeUtf8(in, i, &cp);
    std::string_view piece;
    if (len == 0) {
      piece = "\xEF\xBF\xBD";  // U+FFFD for each invalid byte
      len = 1;
    } else if (cp == '\t') {
      piece = " ";
    } else if (cp == '\n' && keep_newlines) {
      piece = "\n";
    } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || cp == 0x2028 ||
               cp == 0x2029 || cp == 0xFEFF || (cp >= 0x202A && cp <= 0x202E) ||
               (cp >= 0x2066 && cp <= 0x2069)) {
      // Controls, line separators and bidi overrides can forge or hide chat lines.
      i += len;
      continue;
    } else {
      piece = in.substr(i, len);
    }
    if (out.size() + piece.size() > max_bytes) break;
    out.append(piece);
    i += len;
  }
  size_t start = 0;
  while (start < out.size() && (IsSpace(out[start]) || out[start] == '\n')) ++start;
  size_t end = out.size();
  while (end > start && (IsSpace(out[end - 1]) || out[end - 1] == '\n')) --end;
  return out.substr(start, end - start);
}

std::string CanonicalRoomId(std::string_view name, size_t max_bytes) {
  std::string cleaned = CleanText(name, max_bytes, /*keep_newlines=*/false);
  std::string out;
  out.reserve(cleaned.size());
  bool pending_space = false;
  for (char c : cleaned) {
    if (IsSpace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

std::string LobbyName(int index) {
  return index <= 1 ? std::string("Lobby") : "Lobby " + std::to_string(index);
}

int LobbyIndexOf(std::string_view room_id) {
  if (room_id == "lobby") return 1;
  constexpr std::string_view kPrefix = "lobby ";
  if (room_id.substr(0, kPrefix.size()) != kPrefix) return 0;
  std::string_view digits = room_id.substr(kPrefix.size());
  if (digits.empty() || digits.size() > 6 || digits[0] == '0') return 0;
  int n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + (c - '0');
  }
  return n >= 2 ? n : 0;
}

}  // namespace tutti::server
