// The TOML subset of server/config_file.h: ParseConfigText, the part of the configuration
// reader that sees the file's bytes (the schema and the writer are in config_file.cc).
#include "server/config_file.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"

namespace tutti::server {
namespace {

// --- the TOML subset ---------------------------------------------------------------------

absl::Status LineError(int line, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("config line ", line, ": ", std::string(what)));
}

bool IsBareKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Well-formed UTF-8 without overlongs or surrogates (TOML files are UTF-8).
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= static_cast<size_t>(n); ++k) {
      if (i + k >= s.size()) return false;
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += static_cast<size_t>(n) + 1;
  }
  return true;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// A value starting at line[*pos]; on success *pos is just past it.
absl::Status ParseValue(std::string_view line, size_t* pos, int n, ConfigEntry* e) {
  size_t i = *pos;
  if (i >= line.size()) return LineError(n, "a value is missing after '='");
  const char c = line[i];
  if (c == '"' || c == '\'') {
    const bool literal = c == '\'';
    e->kind = ConfigEntry::Kind::kString;
    ++i;
    for (;;) {
      if (i >= line.size()) return LineError(n, "the string is not closed on its line");
      const char d = line[i];
      if (d == c) {
        ++i;
        break;
      }
      const unsigned char u = static_cast<unsigned char>(d);
      if ((u < 0x20 && d != '\t') || u == 0x7F) {
        return LineError(n, "a control character inside a string");
      }
      if (d != '\\' || literal) {
        e->text += d;
        ++i;
        continue;
      }
      if (++i >= line.size()) return LineError(n, "the string is not closed on its line");
      switch (line[i]) {
        case '"':
          e->text += '"';
          break;
        case '\\':
          e->text += '\\';
          break;
        case 'n':
          e->text += '\n';
          break;
        case 't':
          e->text += '\t';
          break;
        case 'r':
          e->text += '\r';
          break;
        case 'b':
          e->text += '\b';
          break;
        case 'f':
          e->text += '\f';
          break;
        case 'u': {
          if (i + 4 >= line.size()) {
            return LineError(n, "\\u wants four hex digits");
          }
          uint32_t cp = 0;
          for (int k = 1; k <= 4; ++k) {
            const char h = line[i + k];
            int v = -1;
            if (h >= '0' && h <= '9') v = h - '0';
            if (h >= 'a' && h <= 'f') v = h - 'a' + 10;
            if (h >= 'A' && h <= 'F') v = h - 'A' + 10;
            if (v < 0) return LineError(n, "\\u wants four hex digits");
            cp = cp * 16 + static_cast<uint32_t>(v);
          }
          if (cp >= 0xD800 && cp <= 0xDFFF) return LineError(n, "\\u names a surrogate");
          AppendUtf8(cp, &e->text);
          i += 4;
          break;
        }
        default:
          return LineError(n, "an unknown escape in a string");
      }
      ++i;
    }
    *pos = i;
    return absl::OkStatus();
  }
  // true, false, or a number: up to whitespace or a comment.
  size_t end = i;
  while (end < line.size() && line[end] != ' ' && line[end] != '\t' && line[end] != '#') ++end;
  const std::string word(line.substr(i, end - i));
  *pos = end;
  if (word == "true" || word == "false") {
    e->kind = ConfigEntry::Kind::kBool;
    e->boolean = word == "true";
    return absl::OkStatus();
  }
  // Digits with single underscores between them; a sign allowed in front.
  std::string digits;
  bool is_float = false, seen_exp = false, last_digit = false;
  for (size_t k = 0; k < word.size(); ++k) {
    const char d = word[k];
    if (d >= '0' && d <= '9') {
      digits += d;
      last_digit = true;
    } else if (d == '_') {
      if (!last_digit || k + 1 >= word.size() || word[k + 1] < '0' || word[k + 1] > '9') {
        return LineError(n, "an underscore in a number must stand between digits");
      }
      last_digit = false;
    } else if ((d == '+' || d == '-') && (k == 0 || word[k - 1] == 'e' || word[k - 1] == 'E')) {
      digits += d;
      last_digit = false;
    } else if (d == '.' && !is_float && !seen_exp && last_digit && k + 1 < word.size() &&
               word[k + 1] >= '0' && word[k + 1] <= '9') {
      digits += d;
      is_float = true;
      last_digit = false;
    } else if ((d == 'e' || d == 'E') && !seen_exp && last_digit && k + 1 < word.size()) {
      digits += d;
      is_float = seen_exp = true;
      last_digit = false;
    } else {
      return LineError(n, absl::StrCat("not a value: '", word,
                                       "' (strings are quoted, booleans true or false)"));
    }
  }
  if (!last_digit) return LineError(n, absl::StrCat("not a number: '", word, "'"));
  // No leading zeros (TOML): 0, 0.5 and 1e05 are fine, 007 is not.
  const size_t first = (digits[0] == '+' || digits[0] == '-') ? 1 : 0;
  if (digits.size() > first + 1 && digits[first] == '0' && digits[first + 1] >= '0' &&
      digits[first + 1] <= '9') {
    return LineError(n, "a number with a leading zero");
  }
  errno = 0;
  char* stop = nullptr;
  if (is_float) {
    const double v = std::strtod(digits.c_str(), &stop);
    if (stop != digits.c_str() + digits.size() || !std::isfinite(v)) {
      return LineError(n, absl::StrCat("not a finite number: '", word, "'"));
    }
    e->kind = ConfigEntry::Kind::kFloat;
    e->number = v;
  } else {
    const long long v = std::strtoll(digits.c_str(), &stop, 10);
    if (stop != digits.c_str() + digits.size() || errno == ERANGE) {
      return LineError(n, absl::StrCat("the integer '", word, "' is out of range"));
    }
    e->kind = ConfigEntry::Kind::kInteger;
    e->integer = v;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<ConfigEntry>> ParseConfigText(std::string_view text) {
  if (text.size() > kMaxConfigFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the configuration is larger than ", kMaxConfigFileBytes, " bytes"));
  }
  if (!ValidUtf8(text)) return absl::InvalidArgumentError("the configuration is not UTF-8");
  std::vector<ConfigEntry> entries;
  std::set<std::string> seen;
  int n = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(start, nl - start);
    start = nl + 1;
    ++n;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    for (char c : line) {
      const unsigned char u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7F) {
        return LineError(n, "a control character (a stray carriage return, NUL, ...)");
      }
    }
    size_t i = 0;
    auto skip_blank = [&] {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    };
    skip_blank();
    if (i == line.size() || line[i] == '#') continue;
    if (line[i] == '[') {
      return LineError(n, "tables are not part of this file's schema: write key = value lines");
    }
    ConfigEntry e;
    e.line = n;
    // A bare key, or dotted bare keys (room_history.max_events).
    for (;;) {
      const size_t from = i;
      while (i < line.size() && IsBareKeyChar(line[i])) ++i;
      if (i == from) return LineError(n, "a key is expected (letters, digits, '_', '-')");
      e.key.append(line.substr(from, i - from));
      if (i < line.size() && line[i] == '.') {
        e.key += '.';
        ++i;
        continue;
      }
      break;
    }
    skip_blank();
    if (i >= line.size() || line[i] != '=') return LineError(n, "'=' is expected after the key");
    ++i;
    skip_blank();
    absl::Status st = ParseValue(line, &i, n, &e);
    if (!st.ok()) return st;
    skip_blank();
    if (i < line.size() && line[i] != '#') {
      return LineError(n, "only a comment may follow the value");
    }
    if (!seen.insert(e.key).second) {
      return LineError(n, absl::StrCat("'", e.key, "' is given twice"));
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace tutti::server
