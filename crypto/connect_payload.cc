#include "crypto/connect_payload.h"

#include <sodium.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "crypto/base64url.h"
#include "crypto/json.h"
#include "crypto/jwt.h"
#include "crypto/sealed_box.h"
#include "crypto/sodium_init.h"
#include "crypto/utf8.h"

namespace tutti::crypto {
namespace {

JsonLimits PayloadLimits() {
  JsonLimits limits;
  limits.max_bytes = kMaxTokenBytes + 2048;
  limits.max_members = 32;
  limits.max_array_items = 16;
  limits.max_string_bytes = kMaxTokenBytes;
  return limits;
}

}  // namespace

absl::StatusOr<ConnectPayload> ParseConnectPayloadJson(std::string_view json) {
  absl::StatusOr<JsonObject> object = ParseFlatJsonObject(json, PayloadLimits());
  if (!object.ok()) return object.status();
  ConnectPayload p;
  for (absl::Status s : {GetJsonString(*object, "socket_id", true, &p.socket_id),
                         GetJsonInt64(*object, "ts", true, &p.ts_ms),
                         GetJsonString(*object, "username", false, &p.username),
                         GetJsonString(*object, "uuid", false, &p.uuid),
                         GetJsonString(*object, "token", false, &p.token),
                         GetJsonBool(*object, "is_member", false, &p.is_member)}) {
    if (!s.ok()) return s;
  }
  if (p.socket_id.empty() || p.socket_id.size() > kMaxSocketIdBytes) {
    return absl::InvalidArgumentError("socket_id must be 1..128 bytes");
  }
  for (char c : p.socket_id) {
    if (c < 0x21 || c > 0x7E) {
      return absl::InvalidArgumentError("socket_id must be printable ASCII without spaces");
    }
  }
  if (p.username.size() > kMaxPayloadNameBytes) {
    return absl::InvalidArgumentError("username too long");
  }
  if (p.uuid.size() > kMaxUuidBytes) return absl::InvalidArgumentError("uuid too long");
  if (p.token.size() > kMaxTokenBytes) return absl::InvalidArgumentError("token too long");
  return p;
}

std::string ConnectPayloadToJson(const ConnectPayload& p) {
  return JsonObjectWriter()
      .String("username", p.username)
      .String("uuid", p.uuid)
      .String("socket_id", p.socket_id)
      .Bool("is_member", p.is_member)
      .String("token", p.token)
      .Int("ts", p.ts_ms)
      .Finish();
}

std::string BuildConnectResource(const ConnectPayload& p, const PublicKey& seal_public) {
  return absl::StrCat(kConnectPathPrefix,
                      Base64UrlEncode(Seal(ConnectPayloadToJson(p), seal_public)));
}

std::string RandomSocketId() {
  EnsureSodiumInitialized();
  unsigned char bytes[16];
  randombytes_buf(bytes, sizeof bytes);
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

std::string SanitizeUsername(std::string_view raw) {
  return CleanUserText(raw, kMaxUsernameBytes, CleanOptions{});
}

}  // namespace tutti::crypto
