// RedisBroker, its room-state side (docs/SCALE-OUT.md, "Owner, settings and moderators
// across nodes" and "Room moderation across nodes"): the arguments a room's owner, settings,
// moderator or tempo change adds to the publish script call that sequences the event announcing
// it, and the reads of what the script keeps (`tutti:{<room>}:state`, a hash, and
// `tutti:{<room>}:mods`, a set: RoomState; `:bans` and `:mutes`, sorted sets: Penalties).
// Split from redis_broker.cc by role.
// Same class, owner and thread as redis_broker.cc.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/redis/kept_wire.h"
#include "server/redis/redis_broker.h"
#include "server/redis/redis_primary.h"
#include "server/redis/redis_scripts.h"

namespace tutti::server::redis {

void RedisBroker::AppendStateArgs(const RoomStateChange& change, size_t event,
                                  std::vector<std::string>* out) const {
  using Kind = RoomStateChange::Kind;
  const char* kind = "s";
  switch (change.kind) {
    case Kind::kOpen:
      kind = "n";
      break;
    case Kind::kSettings:
      kind = "s";
      break;
    case Kind::kOwner:
      kind = "o";
      break;
    case Kind::kAddModerator:
      kind = "+";
      break;
    case Kind::kRemoveModerator:
      kind = "-";
      break;
    case Kind::kCheckOnly:
      kind = "c";
      break;
    case Kind::kTempo:
      kind = "t";
      break;
  }
  // User ids never hold a newline (they are tokens' subjects or "guest:..."), so the
  // moderators travel as one argument.
  std::string mods;
  for (const std::string& m : change.moderators) {
    if (m.find('\n') != std::string::npos) continue;
    if (!mods.empty()) mods += '\n';
    mods += m;
  }
  out->push_back(kind);
  out->push_back(change.user);
  // A tempo change has no RoomInfo: its TempoState takes that place.
  out->push_back(change.kind == Kind::kTempo ? change.tempo : change.room);
  out->push_back(change.password_hash);
  out->push_back(std::move(mods));
  out->push_back(origin_);
  out->push_back(std::to_string(event));
  out->push_back(change.actor);
  using Check = RoomStateChange::Check;
  const char* check = "";
  switch (change.check) {
    case Check::kNone:
      break;
    case Check::kOwner:
      check = "o";
      break;
    case Check::kModerator:
      check = "m";
      break;
    case Check::kOutranks:
      check = "r";
      break;
  }
  out->push_back(check);
  // A settings change's base version ("" checks nothing).
  out->push_back(change.kind == RoomStateChange::Kind::kSettings && change.base_version >= 0
                     ? std::to_string(change.base_version)
                     : std::string());
}

void RedisBroker::RoomState(const std::string& stream, RoomStateDone done) {
  if (WhenSubscribed(stream, [this, stream, done] { RoomState(stream, done); })) return;
  // Two reads on one link, answered in order: the second's answer completes it.
  auto hash = std::make_shared<std::vector<std::string>>();
  Primary& p = PrimaryFor(stream);
  auto read_hash = [hash](const redisReply* r) {
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY) return;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
      hash->emplace_back(ReplyString(r->element[i]));
      hash->emplace_back(ReplyString(r->element[i + 1]));
    }
  };
  auto read_mods = [this, hash, done](const redisReply* r) {
    HashFields fields;
    for (size_t i = 0; i + 1 < hash->size(); i += 2)
      fields.emplace_back((*hash)[i], (*hash)[i + 1]);
    std::vector<std::string_view> mods;
    if (r != nullptr && r->type == REDIS_REPLY_ARRAY) {
      for (size_t i = 0; i < r->elements; ++i) mods.push_back(ReplyString(r->element[i]));
    }
    KeptRoomState kept;
    if (ParseKeptRoomState(fields, mods, &kept) == KeptParse::kMalformed) ++stats_.malformed;
    done(std::move(kept));
  };
  const bool sent = p.cmd.Command({"HGETALL", StateKey(stream)}, read_hash) &&
                    p.cmd.Command({"SMEMBERS", ModsKey(stream)}, read_mods);
  if (!sent) done({});
}

void RedisBroker::Penalties(const std::string& stream, PenaltiesDone done) {
  if (WhenSubscribed(stream, [this, stream, done] { Penalties(stream, done); })) return;
  // Two reads on one link, answered in order: the second's answer completes it.
  auto kept = std::make_shared<std::vector<KeptPenalty>>();
  auto take = [this, kept](KeptPenalty::Kind kind, const redisReply* r) {
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY) return;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
      KeptPenalty k;
      switch (
          ParseKeptPenalty(kind, ReplyString(r->element[i]), ReplyString(r->element[i + 1]), &k)) {
        case KeptParse::kTaken:
          kept->push_back(std::move(k));
          break;
        case KeptParse::kMalformed:
          ++stats_.malformed;
          break;
        case KeptParse::kAbsent:
          break;
      }
    }
  };
  Primary& p = PrimaryFor(stream);
  const bool sent =
      p.cmd.Command({"ZRANGE", BansKey(stream), "0", "-1", "WITHSCORES"},
                    [take](const redisReply* r) { take(KeptPenalty::Kind::kBan, r); }) &&
      p.cmd.Command({"ZRANGE", MutesKey(stream), "0", "-1", "WITHSCORES"},
                    [take, kept, done](const redisReply* r) {
                      take(KeptPenalty::Kind::kMute, r);
                      done(std::move(*kept));
                    });
  if (!sent) done({});
}

}  // namespace tutti::server::redis
