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
                         GetJsonBool(*object, "is_member", false, &p.is_member),
                         GetJsonString(*object, "resume_token", false, &p.resume_token),
                         GetJsonString(*object, "resume_room", false, &p.resume_room),
                         GetJsonString(*object, "resume_epoch", false, &p.resume_epoch),
                         GetJsonInt64(*object, "resume_offset", false, &p.resume_offset),
                         GetJsonString(*object, "link_token", false, &p.link_token)}) {
    if (!s.ok()) return s;
  }
  if (p.resume_token.size() > kMaxResumeTokenBytes) {
    return absl::InvalidArgumentError("resume_token too long");
  }
  if (p.resume_epoch.size() > kMaxResumeEpochBytes) {
    return absl::InvalidArgumentError("resume_epoch too long");
  }
  if (p.resume_room.size() > kMaxResumeRoomBytes) {
    return absl::InvalidArgumentError("resume_room too long");
  }
  if (p.resume_offset < 0) return absl::InvalidArgumentError("resume_offset must be >= 0");
  if (p.resume_token.empty() &&
      (!p.resume_room.empty() || !p.resume_epoch.empty() || p.resume_offset != 0)) {
    return absl::InvalidArgumentError("resume fields need a resume_token");
  }
  if (p.link_token.size() > kMaxLinkTokenBytes) {
    return absl::InvalidArgumentError("link_token too long");
  }
  if (!p.link_token.empty() && (!p.resume_token.empty() || !p.resume_room.empty() ||
                                !p.resume_epoch.empty() || p.resume_offset != 0)) {
    return absl::InvalidArgumentError("link_token cannot be combined with a resume");
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
  JsonObjectWriter writer;
  writer.String("username", p.username)
      .String("uuid", p.uuid)
      .String("socket_id", p.socket_id)
      .Bool("is_member", p.is_member)
      .String("token", p.token)
      .Int("ts", p.ts_ms);
  // Only when asked, so an ordinary connect URL stays as short as it was.
  if (p.has_resume() || !p.resume_room.empty() || !p.resume_epoch.empty() || p.resume_offset != 0) {
    writer.String("resume_token", p.resume_token)
        .String("resume_room", p.resume_room)
        .String("resume_epoch", p.resume_epoch)
        .Int("resume_offset", p.resume_offset);
  }
  if (!p.link_token.empty()) writer.String("link_token", p.link_token);
  return writer.Finish();
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
