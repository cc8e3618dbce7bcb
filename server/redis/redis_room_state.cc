// RedisBroker, its room-state side (docs/SCALE-OUT.md, "Owner, settings and moderators
// across nodes" and "Room moderation across nodes"): the arguments a room's owner, settings
// or moderator change adds to the publish script call that sequences the event announcing
// it, and the reads of what the script keeps (`tutti:{<room>}:state`, a hash, and
// `tutti:{<room>}:mods`, a set: RoomState; `:bans` and `:mutes`, sorted sets: Penalties).
// Split from redis_broker.cc by role.
// Same class, owner and thread as redis_broker.cc.
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protos/tutti.pb.h"
#include "server/proto_utf8.h"
#include "server/redis/redis_broker.h"
#include "server/redis/redis_primary.h"
#include "server/redis/redis_scripts.h"

namespace tutti::server::redis {

void RedisBroker::AppendStateArgs(const RoomStateChange& change,
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
  out->push_back(change.room);
  out->push_back(change.password_hash);
  out->push_back(std::move(mods));
  out->push_back(origin_);
}

void RedisBroker::RoomState(const std::string& stream, RoomStateDone done) {
  // Two reads on one link, answered in order: the second's answer completes it.
  auto kept = std::make_shared<KeptRoomState>();
  Primary& p = PrimaryFor(stream);
  auto read_hash = [this, kept](const redisReply* r) {
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY) return;
    bool has_room = false;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
      const std::string_view field = ReplyString(r->element[i]);
      const std::string_view value = ReplyString(r->element[i + 1]);
      if (field == "owner") {
        kept->owner = std::string(value);
      } else if (field == "room") {
        kept->room = std::string(value);
        has_room = true;
      } else if (field == "password_hash") {
        kept->password_hash = std::string(value);
      } else if (field == "version") {
        const std::string v(value);
        char* end = nullptr;
        kept->version = std::strtoll(v.c_str(), &end, 10);
        if (end == v.c_str()) {
          ++stats_.malformed;
          return;
        }
      }
    }
    // Anyone with access to Redis could write the hash: bytes that do not parse cleanly
    // are no state (and would make libprotobuf log a line each time).
    if (has_room && !StringFieldsAreUtf8(kept->room, *proto::RoomInfo::descriptor())) {
      ++stats_.malformed;
      has_room = false;
    }
    kept->found = has_room;
  };
  auto read_mods = [kept, done](const redisReply* r) {
    if (r != nullptr && r->type == REDIS_REPLY_ARRAY && kept->found) {
      for (size_t i = 0; i < r->elements; ++i) {
        const std::string_view id = ReplyString(r->element[i]);
        if (!id.empty()) kept->moderators.emplace_back(id);
      }
    }
    if (!kept->found) *kept = KeptRoomState();
    done(std::move(*kept));
  };
  const bool sent = p.cmd.Command({"HGETALL", StateKey(stream)}, read_hash) &&
                    p.cmd.Command({"SMEMBERS", ModsKey(stream)}, read_mods);
  if (!sent) done({});
}

void RedisBroker::Penalties(const std::string& stream, PenaltiesDone done) {
  // Two reads on one link, answered in order: the second's answer completes it.
  auto kept = std::make_shared<std::vector<KeptPenalty>>();
  auto take = [this, kept](KeptPenalty::Kind kind, const redisReply* r) {
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY) return;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
      KeptPenalty k;
      k.kind = kind;
      k.user_id = std::string(ReplyString(r->element[i]));
      const std::string score(ReplyString(r->element[i + 1]));
      if (score != "inf") {
        char* end = nullptr;
        k.until_unix_ms = std::strtoll(score.c_str(), &end, 10);
        if (end == score.c_str() || k.until_unix_ms <= 0) {
          ++stats_.malformed;
          continue;
        }
      }
      if (k.user_id.empty()) continue;
      kept->push_back(std::move(k));
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
