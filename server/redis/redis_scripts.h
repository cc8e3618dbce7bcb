// The Lua scripts of the Redis broker engine, each one atomic step on one room's keys
// (every key of a room shares the hash tag {room}, so a room lives on one primary and
// a cluster would keep them together). Constants only; no thread affinity.
#ifndef TUTTI_SERVER_REDIS_REDIS_SCRIPTS_H_
#define TUTTI_SERVER_REDIS_REDIS_SCRIPTS_H_

#include <string>
#include <string_view>

namespace tutti::server::redis {

// Publish a batch of events of one room, in order:
//   KEYS[1] the room's meta hash (epoch, offset, time), KEYS[2] its history stream,
//   KEYS[3] its chat list (the kept lines' wire events, oldest first), KEYS[4] and
//   KEYS[5] its bans and mutes (sorted sets: user id, score = the end in unix ms, +inf
//   for permanent), KEYS[6] its state hash (owner, room: a serialized RoomInfo,
//   password_hash, version, settings_version, tempo: a serialized TempoState), KEYS[7] its
//   moderators (a set of user ids), KEYS[8]
//   its presence hash (read only); ARGV[1] the room's channel, ARGV[2] an epoch to start when the
//   hash is new, ARGV[3] the history's entry bound (MAXLEN ~), ARGV[4] its age bound in ms (MINID
//   ~), ARGV[5] the keys' TTL in seconds, ARGV[6] one ChatMark digit per event (0 none, 1 keep:
//   RPUSH, 2 clear: DEL), ARGV[7] the chat list's bound (LTRIM), ARGV[8] the number c of ban and
//   mute changes, then 4 x c arguments (kind: b ban, B unban, m mute, M unmute; the end or +inf;
//   the user id; the index, from 1, of the event announcing it), then the number s of owner,
//   settings and moderator changes and 10 x s arguments (kind: n open, s settings, o owner, + add
//   moderator, - remove moderator, c nothing but the check, t tempo; a user id (for c: the
//   command's target); the serialized RoomInfo (for t: the TempoState); the password hash;
//   the moderators, newline-separated; the
//   publishing engine; the index, from 1, of the event announcing it; the acting user;
//   the precondition on the kept roles: "" none, o the actor is the owner, m the owner or
//   a moderator, r the owner, or a moderator while the user is neither; for s, the
//   settings version it was built on, "" for none), then one wire
//   request per event (stream_wire.h). The changes are checked and applied in order
//   before the events are sequenced: a change whose precondition fails (on a kept state)
//   is not written and its event is neither sequenced nor published (nor is that event's
//   ban or mute change written), and the others take the offsets in order without a gap.
//   A settings change with a base version is refused so (as stale) too when the kept
//   `settings_version` is another: it was built on an older state, whose later changes
//   its whole RoomInfo would revert.
//   The changes are applied in the same atomic
//   step that sequences the events (a change and the event announcing it share one
//   order); ended bans and mutes are dropped when something changes, and the sets and
//   the state hash expire with the room's other keys. An open writes everything (the
//   moderators replaced) when no state is kept or when no other engine has a live member entry
//   in the presence hash (a claimed seat is none) (the kept state is an earlier life's: its
//   tempo is dropped), and nothing otherwise; the other kinds change a kept state only (alone
//   they would make a partial
//   one); every change written bumps `version`, an open or a settings change written
//   `settings_version` too.
// Returns {epoch, first offset, server time in µs, {indices of the refused events},
// {indices of those refused as stale}}
// (the first offset is the first sequenced event's). The time is Redis's TIME, never
// below the last one given in this epoch.
extern const std::string_view kPublishScript;

// Everything after a position, oldest first:
//   KEYS as above; ARGV[1] the asked epoch, ARGV[2] the asked offset, ARGV[3] the most
//   events the caller would take.
// Returns {epoch, top offset, wire events...}; no events when the epoch differs, the
// offset is beyond the top or more than ARGV[3] events would be needed.
extern const std::string_view kHistoryScript;

// The room's current position, creating its epoch when the meta hash is gone (a Redis
// that restarted without its data), as the publish script would, or when the server is
// another than the one the epoch was kept on (a replica promoted in a failover, which may
// lack the last events: offsets would be given twice):
//   KEYS as above; ARGV[1] an epoch to start when the hash is new, ARGV[2] the TTL (s),
//   ARGV[3] the run id of the server the caller saw before it lost the link ("": unknown,
//   no check). The run id the epoch was last checked on is kept in the hash (`run`); a
//   hash without one was kept on the server the caller saw.
// Returns {epoch, top offset}. Run by a node whose link to the primary came back, to
// learn whether its rooms' streams went on, moved on without it, or started anew.
extern const std::string_view kEnsureEpochScript;

// Presence: one hash per room, a field per session "<engine>:<session>" whose value is
// "<expires_ms>:<reconnecting>:" + the member's serialized UserInfo, expiry by Redis's
// clock; <reconnecting> is 0 or 1 for a member, j for a seat a join claimed (SeatClaim)
// that its room has not confirmed yet.
//   Set:  KEYS[1] the hash; ARGV[1] field, ARGV[2] ttl ms, ARGV[3] 0/1, ARGV[4] UserInfo.
//   Read: KEYS[1] the hash; returns {{field, value, ...} of the live entries,
//         {field, value, ...} of the expired ones}, deleting the expired ones in the same
//         atomic step: a crashed node's sessions go within one ttl, and exactly one reader
//         is told each of them went.
extern const std::string_view kPresenceSetScript;
extern const std::string_view kPresenceReadScript;

// A joiner's seat (Broker::ClaimSeat), decided in one atomic step for every node:
//   KEYS[1] the presence hash, KEYS[2] the room's bans, KEYS[3] its state hash;
//   ARGV[1] the joiner's field, ARGV[2] ttl ms, ARGV[3] the room's capacity, ARGV[4] the
//   joiner's UserInfo, ARGV[5] its user id, ARGV[6] the settings version its node checked
//   the join against ("": no check).
// Returns 2 when ARGV[5] has a ban in KEYS[2] that has not ended (by Redis's TIME; +inf
// never ends); 3 when KEYS[3] keeps a room whose settings_version is not ARGV[6] (the
// joining node checked the password and settings against an older copy; a state not kept
// checks nothing, as the publish script's preconditions); then counts the live entries
// (expiry after Redis's TIME) other than ARGV[1]: at or above the capacity it returns 0;
// each of these writes nothing. Else it writes ARGV[1] as a claimed seat (j), unless a
// live entry of its own is there already (kept as it is), and returns 1. Expired entries
// are neither counted nor deleted: the presence read that deletes one tells its reader
// that member went.
extern const std::string_view kSeatClaimScript;

// Resume state other nodes can find (docs/SCALE-OUT.md, "Resume on another node"): one
// hash per resume token, `tutti:resume:{<key>}` (ResumeKey), fields `user` (the
// serialized UserInfo of the old session) and `room`.
//   Keep: KEYS[1] the hash; ARGV[1] user, ARGV[2] room, ARGV[3] ttl ms, ARGV[4] "1" to
//         create it, "0" to update it only while it exists (not taken by another node).
//         Returns 1 when written, 0 when it was gone.
//   Take: KEYS[1] the hash; returns its {field, value, ...} and deletes it, in one step,
//         so whichever node asks first spends the token; {} when it is not there.
extern const std::string_view kResumeKeepScript;
extern const std::string_view kResumeTakeScript;

// The engine's scripts by index (a primary keeps each one's digest once loaded).
enum Script {
  kPublish,
  kHistory,
  kPresenceSet,
  kPresenceRead,
  kEnsureEpoch,
  kResumeKeep,
  kResumeTake,
  kSeatClaim,
  kScriptCount
};
std::string_view ScriptText(int script);

// The keys and channel of a room.
std::string MetaKey(std::string_view room);
std::string LogKey(std::string_view room);
std::string ChatKey(std::string_view room);
std::string PresenceKey(std::string_view room);
std::string BansKey(std::string_view room);   // sorted set: user id -> end (ms, +inf)
std::string MutesKey(std::string_view room);  // the same for mutes
// hash: owner, room, password_hash, version, settings_version, tempo
std::string StateKey(std::string_view room);
std::string ModsKey(std::string_view room);  // set: the room moderators' user ids
std::string Channel(std::string_view room);
// The key of a resume token's state (its own hash tag: spread over the primaries).
std::string ResumeKey(std::string_view key);

}  // namespace tutti::server::redis

#endif  // TUTTI_SERVER_REDIS_REDIS_SCRIPTS_H_
