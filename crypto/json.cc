// The strict JSON reader behind the connect payload and the JWT header/claims.
//
// Why hand-written and strict, on purpose (do not "simplify" it to a general-purpose
// library): these documents arrive from unauthenticated clients and decide who a user is.
// General-purpose JSON libraries accept duplicate keys silently (keeping the first or the
// last one, depending on the library), so {"sub":"alice","sub":"admin"} can be read one way
// by the issuer that signed it and another way here (RFC 7519 section 4 asks JWT parsers to
// reject duplicate claim names; RFC 7493, I-JSON, forbids them). They also accept "\u0000" inside
// strings (which truncates a C string later), nest without a depth bound, and allocate
// without a size bound. This reader refuses duplicate keys, "\u0000" and invalid UTF-8,
// accepts exactly one flat level (plus arrays of strings for `roles`, so it never recurses),
// and bounds every size by JsonLimits before allocating. docs/AUTH.md says the same for
// client authors.
#include "crypto/json.h"

#include <cmath>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "crypto/utf8.h"

namespace tutti::crypto {
namespace {

// Debian's abseil is built with its own absl::string_view (not an alias of
// std::string_view), so crossing into absl needs an explicit conversion.
absl::string_view AsAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Recursive descent limited to one object level plus string arrays, so no
// recursion is needed at all. Errors carry the byte offset, never the input.
class Reader {
 public:
  Reader(std::string_view text, const JsonLimits& limits) : text_(text), limits_(limits) {}

  absl::StatusOr<JsonObject> ParseObject() {
    if (text_.size() > limits_.max_bytes) return Error("document too large");
    JsonObject object;
    SkipSpace();
    if (!Consume('{')) return Error("expected '{'");
    SkipSpace();
    if (!Consume('}')) {
      while (true) {
        SkipSpace();
        std::string key;
        if (absl::Status s = ParseString(&key); !s.ok()) return s;
        SkipSpace();
        if (!Consume(':')) return Error("expected ':'");
        SkipSpace();
        JsonValue value;
        if (absl::Status s = ParseValue(&value); !s.ok()) return s;
        if (object.size() >= limits_.max_members) return Error("too many members");
        if (!object.emplace(std::move(key), std::move(value)).second) {
          return Error("duplicate key");
        }
        SkipSpace();
        if (Consume(',')) continue;
        if (Consume('}')) break;
        return Error("expected ',' or '}'");
      }
    }
    SkipSpace();
    if (pos_ != text_.size()) return Error("trailing data after the object");
    return object;
  }

 private:
  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("json: ", AsAbsl(what), " at byte ", pos_));
  }

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }

  bool Consume(char c) {
    if (!AtEnd() && Peek() == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool ConsumeWord(std::string_view word) {
    if (text_.substr(pos_, word.size()) == word) {
      pos_ += word.size();
      return true;
    }
    return false;
  }

  void SkipSpace() {
    while (!AtEnd()) {
      char c = Peek();
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
      ++pos_;
    }
  }

  absl::Status ParseValue(JsonValue* value) {
    if (AtEnd()) return Error("expected a value");
    char c = Peek();
    if (c == '"') {
      value->type = JsonValue::Type::kString;
      return ParseString(&value->string_value);
    }
    if (c == '[') return ParseStringArray(value);
    if (c == '{') return Error("nested objects are not accepted");
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(value);
    if (ConsumeWord("true")) {
      value->type = JsonValue::Type::kBool;
      value->bool_value = true;
      return absl::OkStatus();
    }
    if (ConsumeWord("false")) {
      value->type = JsonValue::Type::kBool;
      value->bool_value = false;
      return absl::OkStatus();
    }
    if (ConsumeWord("null")) {
      value->type = JsonValue::Type::kNull;
      return absl::OkStatus();
    }
    return Error("unexpected character");
  }

  absl::Status ParseStringArray(JsonValue* value) {
    value->type = JsonValue::Type::kStringArray;
    ++pos_;  // '['
    SkipSpace();
    if (Consume(']')) return absl::OkStatus();
    while (true) {
      SkipSpace();
      if (AtEnd() || Peek() != '"') return Error("arrays may only hold strings");
      if (value->array_value.size() >= limits_.max_array_items) return Error("array too long");
      std::string item;
      if (absl::Status s = ParseString(&item); !s.ok()) return s;
      value->array_value.push_back(std::move(item));
      SkipSpace();
      if (Consume(',')) continue;
      if (Consume(']')) return absl::OkStatus();
      return Error("expected ',' or ']'");
    }
  }

  absl::Status ParseNumber(JsonValue* value) {
    size_t start = pos_;
    Consume('-');
    if (AtEnd()) return Error("bad number");
    if (Peek() == '0') {
      ++pos_;
    } else if (Peek() >= '1' && Peek() <= '9') {
      while (!AtEnd() && Peek() >= '0' && Peek() <= '9') ++pos_;
    } else {
      return Error("bad number");
    }
    bool integer = true;
    if (Consume('.')) {
      integer = false;
      size_t digits = pos_;
      while (!AtEnd() && Peek() >= '0' && Peek() <= '9') ++pos_;
      if (pos_ == digits) return Error("bad number");
    }
    if (!AtEnd() && (Peek() == 'e' || Peek() == 'E')) {
      integer = false;
      ++pos_;
      if (!AtEnd() && (Peek() == '+' || Peek() == '-')) ++pos_;
      size_t digits = pos_;
      while (!AtEnd() && Peek() >= '0' && Peek() <= '9') ++pos_;
      if (pos_ == digits) return Error("bad number");
    }
    std::string_view token = text_.substr(start, pos_ - start);
    value->type = JsonValue::Type::kNumber;
    // SimpleAtoi fails on int64 overflow; such a number stays a double only.
    value->is_integer = integer && absl::SimpleAtoi(AsAbsl(token), &value->int_value);
    // Out of double range (e.g. 1e999) is refused rather than becoming inf.
    if (!absl::SimpleAtod(AsAbsl(token), &value->double_value) ||
        !std::isfinite(value->double_value)) {
      return Error("number out of range");
    }
    return absl::OkStatus();
  }

  static int HexDigit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool ParseHex4(uint32_t* out) {
    if (text_.size() - pos_ < 4) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      int d = HexDigit(text_[pos_ + i]);
      if (d < 0) return false;
      v = (v << 4) | static_cast<uint32_t>(d);
    }
    pos_ += 4;
    *out = v;
    return true;
  }

  absl::Status ParseString(std::string* out) {
    if (!Consume('"')) return Error("expected a string");
    while (true) {
      if (AtEnd()) return Error("unterminated string");
      if (out->size() > limits_.max_string_bytes) return Error("string too long");
      unsigned char c = static_cast<unsigned char>(Peek());
      if (c == '"') {
        ++pos_;
        break;
      }
      if (c < 0x20) return Error("control character in string");
      if (c == '\\') {
        ++pos_;
        if (AtEnd()) return Error("unterminated escape");
        char e = text_[pos_++];
        switch (e) {
          case '"':
            out->push_back('"');
            break;
          case '\\':
            out->push_back('\\');
            break;
          case '/':
            out->push_back('/');
            break;
          case 'b':
            out->push_back('\b');
            break;
          case 'f':
            out->push_back('\f');
            break;
          case 'n':
            out->push_back('\n');
            break;
          case 'r':
            out->push_back('\r');
            break;
          case 't':
            out->push_back('\t');
            break;
          case 'u': {
            uint32_t cp;
            if (!ParseHex4(&cp)) return Error("bad \\u escape");
            if (cp >= 0xDC00 && cp <= 0xDFFF) return Error("lone low surrogate");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              uint32_t low;
              if (!ConsumeWord("\\u") || !ParseHex4(&low) || low < 0xDC00 || low > 0xDFFF) {
                return Error("unpaired high surrogate");
              }
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            }
            // NUL is valid JSON but invites truncation bugs in C APIs; no
            // field we read has a use for it.
            if (cp == 0) return Error("\\u0000 is not accepted");
            AppendUtf8(out, cp);
            break;
          }
          default:
            return Error("unknown escape");
        }
        continue;
      }
      if (c < 0x80) {
        out->push_back(static_cast<char>(c));
        ++pos_;
        continue;
      }
      size_t start = pos_;
      uint32_t cp;
      if (!NextUtf8CodePoint(text_, &pos_, &cp)) return Error("invalid UTF-8");
      out->append(text_.substr(start, pos_ - start));
    }
    if (out->size() > limits_.max_string_bytes) return Error("string too long");
    return absl::OkStatus();
  }

  std::string_view text_;
  const JsonLimits& limits_;
  size_t pos_ = 0;
};

const JsonValue* Find(const JsonObject& object, std::string_view key) {
  auto it = object.find(AsAbsl(key));
  if (it == object.end() || it->second.type == JsonValue::Type::kNull) return nullptr;
  return &it->second;
}

absl::Status Missing(std::string_view key) {
  return absl::InvalidArgumentError(absl::StrCat("json: missing field \"", AsAbsl(key), "\""));
}

absl::Status WrongType(std::string_view key, std::string_view want) {
  return absl::InvalidArgumentError(
      absl::StrCat("json: field \"", AsAbsl(key), "\" must be ", AsAbsl(want)));
}

}  // namespace

absl::StatusOr<JsonObject> ParseFlatJsonObject(std::string_view text, const JsonLimits& limits) {
  return Reader(text, limits).ParseObject();
}

absl::Status GetJsonString(const JsonObject& object, std::string_view key, bool required,
                           std::string* out) {
  const JsonValue* v = Find(object, key);
  if (v == nullptr) return required ? Missing(key) : absl::OkStatus();
  if (v->type != JsonValue::Type::kString) return WrongType(key, "a string");
  *out = v->string_value;
  return absl::OkStatus();
}

absl::Status GetJsonInt64(const JsonObject& object, std::string_view key, bool required,
                          int64_t* out) {
  const JsonValue* v = Find(object, key);
  if (v == nullptr) return required ? Missing(key) : absl::OkStatus();
  if (v->type != JsonValue::Type::kNumber || !v->is_integer) return WrongType(key, "an integer");
  *out = v->int_value;
  return absl::OkStatus();
}

absl::Status GetJsonBool(const JsonObject& object, std::string_view key, bool required, bool* out) {
  const JsonValue* v = Find(object, key);
  if (v == nullptr) return required ? Missing(key) : absl::OkStatus();
  if (v->type != JsonValue::Type::kBool) return WrongType(key, "true or false");
  *out = v->bool_value;
  return absl::OkStatus();
}

absl::Status GetJsonStringArray(const JsonObject& object, std::string_view key, bool required,
                                std::vector<std::string>* out) {
  const JsonValue* v = Find(object, key);
  if (v == nullptr) return required ? Missing(key) : absl::OkStatus();
  if (v->type != JsonValue::Type::kStringArray) return WrongType(key, "an array of strings");
  *out = v->array_value;
  return absl::OkStatus();
}

void AppendJsonString(std::string* out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t pos = 0;
  while (pos < value.size()) {
    unsigned char c = static_cast<unsigned char>(value[pos]);
    if (c >= 0x80) {
      size_t start = pos;
      uint32_t cp;
      if (NextUtf8CodePoint(value, &pos, &cp)) {
        out->append(value.substr(start, pos - start));
      } else {
        AppendUtf8(out, 0xFFFD);
      }
      continue;
    }
    ++pos;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\0':
        // The reader refuses "\u0000", so NUL is replaced like invalid UTF-8.
        AppendUtf8(out, 0xFFFD);
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xF]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

void JsonObjectWriter::Key(std::string_view key) {
  if (out_.size() > 1) out_.push_back(',');
  AppendJsonString(&out_, key);
  out_.push_back(':');
}

JsonObjectWriter& JsonObjectWriter::String(std::string_view key, std::string_view value) {
  Key(key);
  AppendJsonString(&out_, value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Int(std::string_view key, int64_t value) {
  Key(key);
  absl::StrAppend(&out_, value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Bool(std::string_view key, bool value) {
  Key(key);
  out_.append(value ? "true" : "false");
  return *this;
}

JsonObjectWriter& JsonObjectWriter::StringArray(std::string_view key,
                                                const std::vector<std::string>& values) {
  Key(key);
  out_.push_back('[');
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out_.push_back(',');
    AppendJsonString(&out_, values[i]);
  }
  out_.push_back(']');
  return *this;
}

std::string JsonObjectWriter::Finish() {
  out_.push_back('}');
  std::string result = std::move(out_);
  out_ = "{";
  return result;
}

}  // namespace tutti::crypto
