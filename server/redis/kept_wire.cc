// The parsers of what the Redis scripts keep (kept_wire.h). Stateless.
#include "server/redis/kept_wire.h"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "protos/tutti.pb.h"
#include "server/proto_utf8.h"

namespace tutti::server::redis {
namespace {

// A whole decimal integer (strtoll alone would take "12abc" as 12 and "" as 0).
bool ParseInt64(std::string_view text, int64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  const std::string s(text);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end != s.c_str() + s.size()) return false;
  *out = v;
  return true;
}

// A whole decimal session id (ids.h: the serial shifted left a byte, so the full range).
bool ParseUint64(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 20 || text[0] < '0' || text[0] > '9') return false;
  const std::string s(text);
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno != 0 || end != s.c_str() + s.size()) return false;
  *out = v;
  return true;
}

}  // namespace

KeptParse ParseKeptRoomState(const HashFields& state, const std::vector<std::string_view>& mods,
                             KeptRoomState* out) {
  *out = KeptRoomState();
  KeptRoomState kept;
  bool has_room = false;
  for (const auto& [field, value] : state) {
    if (field == "owner") {
      kept.owner = std::string(value);
    } else if (field == "room") {
      kept.room = std::string(value);
      has_room = true;
    } else if (field == "tempo") {
      kept.tempo = std::string(value);
    } else if (field == "password_hash") {
      kept.password_hash = std::string(value);
    } else if (field == "version") {
      if (!ParseInt64(value, &kept.version)) return KeptParse::kMalformed;
    } else if (field == "settings_version") {
      if (!ParseInt64(value, &kept.settings_version)) return KeptParse::kMalformed;
    }
  }
  if (!has_room) return KeptParse::kAbsent;
  if (!StringFieldsAreUtf8(kept.room, *proto::RoomInfo::descriptor())) return KeptParse::kMalformed;
  if (!StringFieldsAreUtf8(kept.tempo, *proto::TempoState::descriptor())) {
    return KeptParse::kMalformed;
  }
  for (std::string_view id : mods) {
    if (!id.empty()) kept.moderators.emplace_back(id);
  }
  kept.found = true;
  *out = std::move(kept);
  return KeptParse::kTaken;
}

KeptParse ParseKeptPenalty(KeptPenalty::Kind kind, std::string_view user_id, std::string_view score,
                           KeptPenalty* out) {
  KeptPenalty k;
  k.kind = kind;
  if (score != "inf" && (!ParseInt64(score, &k.until_unix_ms) || k.until_unix_ms <= 0)) {
    return KeptParse::kMalformed;
  }
  if (user_id.empty()) return KeptParse::kAbsent;
  k.user_id = std::string(user_id);
  *out = std::move(k);
  return KeptParse::kTaken;
}

bool ParsePresenceEntry(std::string_view field, std::string_view value, bool expired,
                        std::string_view self, PresenceEntry* out) {
  const size_t colon = field.rfind(':');
  const size_t v1 = value.find(':');
  const size_t v2 = v1 == std::string_view::npos ? v1 : value.find(':', v1 + 1);
  if (colon == std::string_view::npos || v2 == std::string_view::npos) return false;
  uint64_t session = 0;
  if (!ParseUint64(field.substr(colon + 1), &session) || session == 0) return false;
  const std::string_view bytes = value.substr(v2 + 1);
  PresenceEntry e;
  if (!StringFieldsAreUtf8(bytes, *proto::UserInfo::descriptor()) ||
      !e.user.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return false;
  }
  e.session = session;
  const std::string_view origin = field.substr(0, colon);
  if (origin.empty()) return false;  // no engine's: it would pass for the reader's own
  e.origin = origin == self ? std::string() : std::string(origin);
  const std::string_view state = value.substr(v1 + 1, v2 - v1 - 1);
  e.reconnecting = state == "1";
  e.claiming = state == "j";  // a join's seat (kSeatClaimScript), not a member yet
  e.user_id = e.user.user_id();
  e.user.set_session_id(e.session);
  e.user.set_reconnecting(e.reconnecting);
  e.expired = expired;
  *out = std::move(e);
  return true;
}

bool ParseKeptResume(const HashFields& fields, SharedResume* out) {
  SharedResume r;
  bool have_user = false;
  for (const auto& [field, value] : fields) {
    if (field == "user") {
      have_user = StringFieldsAreUtf8(value, *proto::UserInfo::descriptor()) &&
                  r.user.ParseFromArray(value.data(), static_cast<int>(value.size()));
    } else if (field == "room") {
      r.room_id = std::string(value);
    }
  }
  if (!have_user) return false;
  *out = std::move(r);
  return true;
}

}  // namespace tutti::server::redis
