// Fuzz target: the strict flat-JSON reader and the connect payload parser built on it
// (crypto/json.h, crypto/connect_payload.h), plus the writer and username rules they pair
// with.
//
// Properties: an accepted object written back with JsonObjectWriter parses to the same
// object; an accepted payload written back with ConnectPayloadToJson parses to the same
// payload; AppendJsonString of any bytes is accepted by the reader (as json.h promises);
// SanitizeUsername gives valid UTF-8 of at most kMaxUsernameBytes and is idempotent.
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/connect_payload.h"
#include "crypto/json.h"
#include "crypto/utf8.h"
#include "tests/fuzz/fuzz_target.h"

namespace crypto = tutti::crypto;

namespace {

bool SameValue(const crypto::JsonValue& a, const crypto::JsonValue& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case crypto::JsonValue::Type::kNull:
      return true;
    case crypto::JsonValue::Type::kBool:
      return a.bool_value == b.bool_value;
    case crypto::JsonValue::Type::kNumber:
      return a.is_integer == b.is_integer && (!a.is_integer || a.int_value == b.int_value);
    case crypto::JsonValue::Type::kString:
      return a.string_value == b.string_value;
    case crypto::JsonValue::Type::kStringArray:
      return a.array_value == b.array_value;
  }
  return false;
}

// Objects the writer can express (no null, no non-integer numbers) round-trip exactly.
void CheckObjectRoundTrip(const crypto::JsonObject& object) {
  crypto::JsonObjectWriter writer;
  for (const auto& [key, value] : object) {
    switch (value.type) {
      case crypto::JsonValue::Type::kNull:
        return;
      case crypto::JsonValue::Type::kBool:
        writer.Bool(key, value.bool_value);
        break;
      case crypto::JsonValue::Type::kNumber:
        if (!value.is_integer) return;
        writer.Int(key, value.int_value);
        break;
      case crypto::JsonValue::Type::kString:
        writer.String(key, value.string_value);
        break;
      case crypto::JsonValue::Type::kStringArray:
        writer.StringArray(key, value.array_value);
        break;
    }
  }
  // Escaping may lengthen the text (DEL becomes \u007f), so only the size limit is lifted.
  crypto::JsonLimits limits;
  limits.max_bytes = static_cast<size_t>(-1);
  absl::StatusOr<crypto::JsonObject> again = crypto::ParseFlatJsonObject(writer.Finish(), limits);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->size() == object.size());
  for (const auto& [key, value] : object) {
    auto it = again->find(key);
    FUZZ_CHECK(it != again->end() && SameValue(value, it->second));
  }
}

void CheckPayloadRoundTrip(const crypto::ConnectPayload& p) {
  absl::StatusOr<crypto::ConnectPayload> again =
      crypto::ParseConnectPayloadJson(crypto::ConnectPayloadToJson(p));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->username == p.username && again->uuid == p.uuid &&
             again->socket_id == p.socket_id && again->token == p.token &&
             again->is_member == p.is_member && again->ts_ms == p.ts_ms &&
             again->resume_token == p.resume_token && again->resume_room == p.resume_room &&
             again->resume_epoch == p.resume_epoch && again->resume_offset == p.resume_offset &&
             again->link_token == p.link_token);
  // A link attaches to a live session; it never comes with a resume.
  FUZZ_CHECK(p.link_token.empty() || !p.has_resume());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = tutti::fuzz::AsText(data, size);

  absl::StatusOr<crypto::JsonObject> object = crypto::ParseFlatJsonObject(text);
  if (object.ok()) CheckObjectRoundTrip(*object);

  absl::StatusOr<crypto::ConnectPayload> payload = crypto::ParseConnectPayloadJson(text);
  if (payload.ok()) {
    CheckPayloadRoundTrip(*payload);
    FUZZ_CHECK(!payload->socket_id.empty() &&
               payload->socket_id.size() <= crypto::kMaxSocketIdBytes);
    FUZZ_CHECK(payload->resume_token.size() <= crypto::kMaxResumeTokenBytes &&
               payload->resume_epoch.size() <= crypto::kMaxResumeEpochBytes &&
               payload->resume_room.size() <= crypto::kMaxResumeRoomBytes &&
               payload->resume_offset >= 0);
    FUZZ_CHECK(payload->has_resume() ||
               (payload->resume_room.empty() && payload->resume_epoch.empty() &&
                payload->resume_offset == 0));
  }

  // The writer's promise: whatever the bytes, the reader accepts what it writes.
  // Size limits are lifted: U+FFFD for an invalid byte triples its size.
  {
    std::string doc = "{\"k\":";
    crypto::AppendJsonString(&doc, text);
    doc += "}";
    crypto::JsonLimits limits;
    limits.max_bytes = static_cast<size_t>(-1);
    limits.max_string_bytes = static_cast<size_t>(-1);
    absl::StatusOr<crypto::JsonObject> written = crypto::ParseFlatJsonObject(doc, limits);
    FUZZ_CHECK(written.ok());
    if (crypto::IsValidUtf8(text) && text.find('\0') == std::string_view::npos) {
      FUZZ_CHECK(written->at("k").string_value == text);
    }
  }

  const std::string name = crypto::SanitizeUsername(text);
  FUZZ_CHECK(name.size() <= crypto::kMaxUsernameBytes);
  FUZZ_CHECK(crypto::IsValidUtf8(name));
  FUZZ_CHECK(crypto::SanitizeUsername(name) == name);
  return 0;
}
