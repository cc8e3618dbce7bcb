// The records a node reads back from what the Redis scripts keep for rooms and sessions
// (docs/SCALE-OUT.md, keys table): a room's kept owner and settings (`tutti:{R}:state`),
// its kept bans and mutes (`:bans`, `:mutes`), its presence entries, and a parked
// session's resume state. Anyone with access to Redis can write those keys, so each
// parser takes a record only when it parses whole, and a protobuf only when its strings
// are UTF-8 (libprotobuf would log a line for each that is not). RedisBroker counts what
// they refuse as malformed.
// Stateless functions; no thread affinity. Fuzzed by tests/fuzz/fuzz_kept_wire.cc.
#ifndef TUTTI_SERVER_REDIS_KEPT_WIRE_H_
#define TUTTI_SERVER_REDIS_KEPT_WIRE_H_

#include <string_view>
#include <utility>
#include <vector>

#include "server/broker.h"

namespace tutti::server::redis {

// A hash as HGETALL answers it: field, value, in the order Redis gave them.
using HashFields = std::vector<std::pair<std::string_view, std::string_view>>;

enum class KeptParse {
  kTaken,      // parsed whole
  kAbsent,     // nothing kept (no record, or a record with nothing to take)
  kMalformed,  // bytes that do not parse: dropped whole and counted
};

// `tutti:{R}:state` and the members of `tutti:{R}:mods`. Taken only with a `room` field
// that is a RoomInfo with UTF-8 strings and, if present, a `tempo` that is a TempoState
// with UTF-8 strings and numeric `version` and `settings_version`; on
// anything else `out` is left as no state (`found` false, every field empty).
KeptParse ParseKeptRoomState(const HashFields& state, const std::vector<std::string_view>& mods,
                             KeptRoomState* out);

// One member of `:bans` or `:mutes` with its score: a time in Unix milliseconds above 0,
// or "inf" for a permanent one. An empty user id is absent.
KeptParse ParseKeptPenalty(KeptPenalty::Kind kind, std::string_view user_id, std::string_view score,
                           KeptPenalty* out);

// One field and value of a room's presence hash:
//   field "<origin>:<session>", value "<expiry>:<reconnecting 0|1>:" + serialized UserInfo.
// `self` is the reading engine's origin (an entry it wrote has no origin); `expired`
// is whether the read found the entry expired. Taken only with a writer and a session above 0.
bool ParsePresenceEntry(std::string_view field, std::string_view value, bool expired,
                        std::string_view self, PresenceEntry* out);

// A parked session's kept resume state (`user`: serialized UserInfo, `room`). Taken only
// with a user that parses with UTF-8 strings.
bool ParseKeptResume(const HashFields& fields, SharedResume* out);

}  // namespace tutti::server::redis

#endif  // TUTTI_SERVER_REDIS_KEPT_WIRE_H_
