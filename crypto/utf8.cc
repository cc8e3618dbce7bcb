#include "crypto/utf8.h"

namespace tutti::crypto {

bool NextUtf8CodePoint(std::string_view s, size_t* pos, uint32_t* code_point) {
  size_t i = *pos;
  const auto byte = [&s](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t b0 = byte(i);
  if (b0 < 0x80) {
    *code_point = b0;
    *pos = i + 1;
    return true;
  }
  size_t len;
  uint32_t cp;
  uint32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    *pos = i + 1;
    return false;
  }
  if (s.size() - i < len) {
    *pos = i + 1;
    return false;
  }
  for (size_t k = 1; k < len; ++k) {
    uint8_t b = byte(i + k);
    if ((b & 0xC0) != 0x80) {
      *pos = i + 1;
      return false;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    *pos = i + 1;
    return false;
  }
  *code_point = cp;
  *pos = i + len;
  return true;
}

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool IsValidUtf8(std::string_view s) {
  size_t pos = 0;
  uint32_t cp;
  while (pos < s.size()) {
    if (!NextUtf8CodePoint(s, &pos, &cp)) return false;
  }
  return true;
}

bool IsInvisibleCodePoint(uint32_t cp) {
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return true;  // C0, DEL, C1
  if (cp == 0x00AD || cp == 0x034F) return true;  // soft hyphen, combining grapheme joiner
  if (cp == 0x115F || cp == 0x1160 || cp == 0x3164 || cp == 0xFFA0) return true;  // fillers
  if (cp == 0x17B4 || cp == 0x17B5 || cp == 0x180E) return true;  // invisible Khmer/Mongolian
  if (cp >= 0x200B && cp <= 0x200F) return true;                  // zero-width, LRM/RLM
  if (cp >= 0x202A && cp <= 0x202E) return true;                  // bidi embeddings/overrides
  if (cp >= 0x2060 && cp <= 0x206F) return true;  // word joiner, invisible operators, isolates
  if (cp == 0x2028 || cp == 0x2029) return true;  // line/paragraph separators
  if (cp == 0xFEFF) return true;                  // BOM / zero-width no-break space
  if (cp >= 0xFFF9 && cp <= 0xFFFB) return true;  // interlinear annotation
  if ((cp & 0xFFFE) == 0xFFFE || (cp >= 0xFDD0 && cp <= 0xFDEF)) return true;  // nonchars
  if (cp >= 0xE0000 && cp <= 0xE007F) return true;                             // tag characters
  return false;
}

namespace {

bool IsSpaceCodePoint(uint32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\r' || cp == '\n' || cp == 0x85 || cp == 0x00A0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

}  // namespace

std::string CleanUserText(std::string_view raw, size_t max_bytes, CleanOptions options) {
  std::string out;
  out.reserve(raw.size() < max_bytes ? raw.size() : max_bytes);
  // Separators seen since the last visible character: written only before the next
  // one, so leading and trailing whitespace vanish without a second pass.
  std::string pending;
  size_t pos = 0;
  while (pos < raw.size()) {
    uint32_t cp;
    if (!NextUtf8CodePoint(raw, &pos, &cp)) continue;
    if (cp == '\r' && options.keep_newlines) continue;  // CRLF is one line break
    if (cp == '\n' && options.keep_newlines) {
      if (!out.empty()) pending.push_back('\n');
      continue;
    }
    if (IsSpaceCodePoint(cp)) {
      if (out.empty()) continue;
      if (!options.collapse_spaces || pending.empty() || pending.back() != ' ') {
        pending.push_back(' ');
      }
      continue;
    }
    if (IsInvisibleCodePoint(cp)) continue;
    size_t before = pending.size();
    AppendUtf8(&pending, cp);
    // Stop at the first character that does not fit whole.
    if (out.size() + pending.size() > max_bytes) {
      pending.resize(before);
      break;
    }
    out += pending;
    pending.clear();
  }
  return out;
}

}  // namespace tutti::crypto
