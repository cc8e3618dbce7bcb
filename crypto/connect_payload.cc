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

bool IsDroppedCodePoint(uint32_t cp) {
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return true;  // C0, DEL, C1
  if (cp == 0x00AD) return true;                             // soft hyphen
  if (cp >= 0x200B && cp <= 0x200F) return true;             // zero-width, LRM/RLM
  if (cp >= 0x202A && cp <= 0x202E) return true;             // bidi embeddings/overrides
  if (cp >= 0x2060 && cp <= 0x2069) return true;             // word joiner, bidi isolates
  if (cp == 0x2028 || cp == 0x2029) return true;             // line/paragraph separators
  if (cp == 0xFEFF) return true;                             // BOM / zero-width no-break space
  if (cp >= 0xFFF9 && cp <= 0xFFFB) return true;             // interlinear annotation
  if ((cp & 0xFFFE) == 0xFFFE || (cp >= 0xFDD0 && cp <= 0xFDEF)) return true;  // nonchars
  if (cp >= 0xE0000 && cp <= 0xE007F) return true;                             // tag characters
  return false;
}

bool IsSpaceCodePoint(uint32_t cp) {
  return cp == ' ' || cp == 0x00A0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
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
  std::string out;
  out.reserve(std::min(raw.size(), kMaxUsernameBytes));
  bool pending_space = false;
  size_t pos = 0;
  while (pos < raw.size()) {
    uint32_t cp;
    if (!NextUtf8CodePoint(raw, &pos, &cp)) continue;
    // Tabs and newlines separate words; treat them as spaces, not as nothing.
    if (IsSpaceCodePoint(cp) || cp == '\t' || cp == '\n' || cp == '\r' || cp == 0x85) {
      pending_space = !out.empty();  // leading spaces vanish; runs collapse
      continue;
    }
    if (IsDroppedCodePoint(cp)) continue;
    std::string piece;
    if (pending_space) piece.push_back(' ');
    AppendUtf8(&piece, cp);
    // Stop at the first character that does not fit whole; trailing spaces are
    // never emitted because a space is only written before a visible character.
    if (out.size() + piece.size() > kMaxUsernameBytes) break;
    out += piece;
    pending_space = false;
  }
  return out;
}

}  // namespace tutti::crypto
