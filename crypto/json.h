// A small strict JSON reader for flat objects, and a writer with proper escaping.
//
// Owns: parsing and producing the two JSON documents auth needs: the connect
// payload and the JWT header/claims. No third-party JSON library.
// Thread affinity: any thread (no shared state).
// Owner: connect_payload and jwt in crypto/.
//
// Accepted input: one object whose values are strings, numbers, true, false,
// null, or arrays of strings (the `roles` claim). Nested objects, arrays of
// anything else, duplicate keys, trailing data, invalid UTF-8 and "\u0000"
// are refused. Nesting never goes deeper than object -> array, so the reader
// does not recurse and garbage such as "[[[[..." cannot exhaust the stack.
// All sizes are bounded by JsonLimits; refusing is always cheap and never
// crashes.
#ifndef TUTTI_CRYPTO_JSON_H_
#define TUTTI_CRYPTO_JSON_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tutti::crypto {

struct JsonLimits {
  size_t max_bytes = 16 * 1024;        // whole document
  size_t max_members = 64;             // keys in the object
  size_t max_array_items = 64;         // strings in one array
  size_t max_string_bytes = 8 * 1024;  // one decoded string (keys included)
};

struct JsonValue {
  enum class Type { kNull, kBool, kNumber, kString, kStringArray };
  Type type = Type::kNull;
  bool bool_value = false;
  // Numbers: `is_integer` when the text had no fraction or exponent and fits
  // in int64 (then `int_value` is exact); `double_value` is always set.
  bool is_integer = false;
  int64_t int_value = 0;
  double double_value = 0;
  std::string string_value;
  std::vector<std::string> array_value;
};

using JsonObject = absl::flat_hash_map<std::string, JsonValue>;

absl::StatusOr<JsonObject> ParseFlatJsonObject(std::string_view text,
                                               const JsonLimits& limits = JsonLimits());

// Typed field access. A missing field leaves `*out` untouched and is an error
// only when `required`; a field of the wrong type is always an error, because
// silently ignoring it would let two readers disagree about a document.
// `null` counts as missing.
absl::Status GetJsonString(const JsonObject& object, std::string_view key, bool required,
                           std::string* out);
absl::Status GetJsonInt64(const JsonObject& object, std::string_view key, bool required,
                          int64_t* out);
absl::Status GetJsonBool(const JsonObject& object, std::string_view key, bool required, bool* out);
absl::Status GetJsonStringArray(const JsonObject& object, std::string_view key, bool required,
                                std::vector<std::string>* out);

// Appends `value` as a quoted JSON string. Control characters, '"' and '\\'
// are escaped; NUL and invalid UTF-8 are replaced by U+FFFD so the output is
// always something ParseFlatJsonObject accepts.
void AppendJsonString(std::string* out, std::string_view value);

// Builds one flat object in insertion order. Keys are the caller's constants
// and are not checked for duplicates.
class JsonObjectWriter {
 public:
  JsonObjectWriter& String(std::string_view key, std::string_view value);
  JsonObjectWriter& Int(std::string_view key, int64_t value);
  JsonObjectWriter& Bool(std::string_view key, bool value);
  JsonObjectWriter& StringArray(std::string_view key, const std::vector<std::string>& values);
  // Returns the finished object; the writer is empty afterwards.
  std::string Finish();

 private:
  void Key(std::string_view key);

  std::string out_ = "{";
};

}  // namespace tutti::crypto

#endif  // TUTTI_CRYPTO_JSON_H_
