// Fuzz target: what a node reads back from the keys the Redis scripts keep
// (server/redis/kept_wire.h): a room's kept state and moderators, its kept bans and
// mutes, its presence entries and a parked session's resume state. Anyone with access
// to Redis can write those keys.
//
// Input: a mode byte, then fields separated by '|' (protobuf bytes often hold a newline):
//   'S': field, value pairs of the state hash up to an empty field, then moderator ids;
//   'P': user id, score (a ban), then user id, score (a mute);
//   'E': field, value, expired ("1"), the reading engine's origin (a presence entry);
//   'R': field, value pairs of a resume hash.
// Properties: a record is either taken whole or refused with no partial result; what is
// taken holds what its parser promises (a state with a room that parses as RoomInfo and a
// tempo, if any, that parses as TempoState, a penalty with a user and a positive end or
// none, a presence entry with a session that its user carries and an origin only when
// another engine wrote it, a resume state whose user serializes to what parses again).
#include <string>
#include <string_view>
#include <vector>

#include "protos/tutti.pb.h"
#include "server/proto_utf8.h"
#include "server/redis/kept_wire.h"
#include "tests/fuzz/fuzz_target.h"

namespace redis = tutti::server::redis;
using tutti::server::KeptPenalty;
using tutti::server::KeptRoomState;

namespace {

constexpr char kSep = '|';

redis::HashFields TakePairs(tutti::fuzz::FuzzInput& in) {
  redis::HashFields fields;
  while (!in.Rest().empty()) {
    const std::string_view field = in.TakeField(kSep);
    if (field.empty()) break;
    fields.emplace_back(field, in.TakeField(kSep));
  }
  return fields;
}

void State(tutti::fuzz::FuzzInput& in) {
  const redis::HashFields state = TakePairs(in);
  std::vector<std::string_view> mods;
  while (!in.Rest().empty()) mods.push_back(in.TakeField(kSep));
  KeptRoomState kept;
  kept.owner = "left over";
  const redis::KeptParse r = redis::ParseKeptRoomState(state, mods, &kept);
  FUZZ_CHECK(kept.found == (r == redis::KeptParse::kTaken));
  if (r != redis::KeptParse::kTaken) {
    FUZZ_CHECK(kept.owner.empty() && kept.room.empty() && kept.password_hash.empty());
    FUZZ_CHECK(kept.moderators.empty() && kept.version == 0 && kept.tempo.empty());
    return;
  }
  FUZZ_CHECK(kept.moderators.size() <= mods.size());
  for (const std::string& m : kept.moderators) FUZZ_CHECK(!m.empty());
  // The room parses it and checks the type; its strings must be UTF-8 by then.
  FUZZ_CHECK(tutti::server::StringFieldsAreUtf8(kept.room, *tutti::proto::RoomInfo::descriptor()));
  // So does the kept tempo's (AdoptState), when there is one.
  FUZZ_CHECK(
      tutti::server::StringFieldsAreUtf8(kept.tempo, *tutti::proto::TempoState::descriptor()));
}

void Penalties(tutti::fuzz::FuzzInput& in) {
  for (KeptPenalty::Kind kind : {KeptPenalty::Kind::kBan, KeptPenalty::Kind::kMute}) {
    const std::string_view user = in.TakeField(kSep);
    const std::string_view score = in.TakeField(kSep);
    KeptPenalty k;
    k.user_id = "left over";
    const redis::KeptParse r = redis::ParseKeptPenalty(kind, user, score, &k);
    if (r != redis::KeptParse::kTaken) {
      FUZZ_CHECK(k.user_id == "left over");
      continue;
    }
    FUZZ_CHECK(k.kind == kind);
    FUZZ_CHECK(!k.user_id.empty() && k.user_id == user);
    FUZZ_CHECK(score == "inf" ? k.until_unix_ms == 0 : k.until_unix_ms > 0);
  }
}

void Presence(tutti::fuzz::FuzzInput& in) {
  const std::string_view field = in.TakeField(kSep);
  const std::string_view value = in.TakeField(kSep);
  const bool expired = in.TakeField(kSep) == "1";
  const std::string_view self = in.TakeField(kSep);
  tutti::server::PresenceEntry e;
  if (!redis::ParsePresenceEntry(field, value, expired, self, &e)) {
    FUZZ_CHECK(e.session == 0 && e.user_id.empty());
    return;
  }
  FUZZ_CHECK(e.session != 0);
  FUZZ_CHECK(e.user.session_id() == e.session);
  FUZZ_CHECK(e.user.reconnecting() == e.reconnecting);
  FUZZ_CHECK(e.user_id == e.user.user_id());
  FUZZ_CHECK(e.expired == expired);
  // An entry this engine wrote has no origin; another engine's keeps the one it wrote.
  const std::string_view writer = field.substr(0, field.rfind(':'));
  FUZZ_CHECK(e.origin.empty() ? writer == self : writer == e.origin);
}

void Resume(tutti::fuzz::FuzzInput& in) {
  const redis::HashFields fields = TakePairs(in);
  tutti::server::SharedResume r;
  r.room_id = "left over";
  if (!redis::ParseKeptResume(fields, &r)) {
    FUZZ_CHECK(r.room_id == "left over");
    return;
  }
  tutti::proto::UserInfo again;
  FUZZ_CHECK(again.ParseFromString(r.user.SerializeAsString()));
  FUZZ_CHECK(again.user_id() == r.user.user_id());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tutti::fuzz::FuzzInput in(data, size);
  switch (in.TakeByte()) {
    case 'S':
      State(in);
      break;
    case 'P':
      Penalties(in);
      break;
    case 'E':
      Presence(in);
      break;
    case 'R':
      Resume(in);
      break;
    default:
      break;
  }
  return 0;
}
