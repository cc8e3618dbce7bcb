// RedisBroker, its resume side (docs/SCALE-OUT.md, "Resume on another node"): the
// resume state of this engine's sessions, kept in Redis so that a client whose node died
// can resume on another one. One hash per token, `tutti:resume:{<key>}` (the key names
// the token without being it), written at the token's issue and at each room change,
// refreshed with the presence while the session is connected, left to expire one resume
// window after its connection dropped, and taken (read and deleted in one script) by the
// node that redeems the token.
// Same class, owner and thread as redis_broker.cc.
#include <string>
#include <utility>

#include "server/redis/kept_wire.h"
#include "server/redis/redis_broker.h"
#include "server/redis/redis_primary.h"
#include "server/redis/redis_scripts.h"

namespace tutti::server::redis {

void RedisBroker::SendResume(SessionId session, const KeptResume& k, bool create) {
  // Connected: one window after the last refresh, plus the refresh period's slack.
  int64_t ttl_ms = options_.resume_window_ms + options_.presence_ttl_ms;
  if (k.parked_until_ms != 0) {
    ttl_ms = k.parked_until_ms - clock_->UnixMs();
    if (ttl_ms <= 0) {
      resume_.erase(session);
      return;
    }
  }
  const std::string key = ResumeKey(k.key);
  const std::string ttl = std::to_string(ttl_ms);
  const std::string token_key = k.key;
  RunScript(PrimaryFor(k.key), kResumeKeep, {key, k.user, k.room, ttl, create ? "1" : "0"}, 1,
            [this, session, token_key, alive = std::weak_ptr<bool>(alive_)](const redisReply* r) {
              if (alive.expired()) return;
              int64_t written = 1;
              if (r == nullptr || !ReplyInteger(r, &written) || written != 0) return;
              // Gone from Redis: another node took it (the token is spent), or it
              // expired. It is not made again.
              auto it = resume_.find(session);
              if (it != resume_.end() && it->second.key == token_key) resume_.erase(it);
            });
}

void RedisBroker::KeepResume(SessionId session, const std::string& key, const SharedResume& state,
                             bool create) {
  if (!SharesResume() || stopped_) return;
  auto it = resume_.find(session);
  if (it == resume_.end()) {
    if (!create) return;  // taken elsewhere meanwhile, or never written
    it = resume_.emplace(session, KeptResume{}).first;
  }
  KeptResume& k = it->second;
  if (!key.empty() && key != k.key) {
    // A new token for the session (rotation): the old one's state goes.
    if (!k.key.empty()) PrimaryFor(k.key).cmd.Command({"DEL", ResumeKey(k.key)}, nullptr);
    k.key = key;
  }
  if (k.key.empty()) {
    resume_.erase(it);
    return;
  }
  k.user = state.user.SerializeAsString();
  k.room = state.room_id;
  k.parked_until_ms = 0;
  SendResume(session, k, create);
  ArmPresenceRefresh();
}

void RedisBroker::ParkResume(SessionId session) {
  auto it = resume_.find(session);
  if (it == resume_.end()) return;
  it->second.parked_until_ms = clock_->UnixMs() + options_.resume_window_ms;
  SendResume(session, it->second, /*create=*/false);
}

void RedisBroker::DropResume(SessionId session) {
  auto it = resume_.find(session);
  if (it == resume_.end()) return;
  PrimaryFor(it->second.key).cmd.Command({"DEL", ResumeKey(it->second.key)}, nullptr);
  resume_.erase(it);
}

void RedisBroker::RefreshResume() {
  for (auto it = resume_.begin(); it != resume_.end();) {
    // SendResume may erase the entry it is given (its time is over).
    const SessionId session = it->first;
    const KeptResume k = it->second;
    ++it;
    if (k.parked_until_ms == 0) SendResume(session, k, /*create=*/false);
  }
}

void RedisBroker::ResendResume(Primary& p) {
  // A primary that restarted lost the state; one that was only unreachable still has it
  // (rewriting it is then harmless). Parked sessions keep the TTL they have left.
  for (auto it = resume_.begin(); it != resume_.end();) {
    const SessionId session = it->first;
    const KeptResume k = it->second;
    ++it;
    if (&PrimaryFor(k.key) == &p) SendResume(session, k, /*create=*/true);
  }
}

void RedisBroker::TakeResume(const std::string& key, ResumeTaken done) {
  auto shared_done = std::make_shared<ResumeTaken>(std::move(done));
  if (!SharesResume() || stopped_ || !PrimaryFor(key).cmd.connected()) {
    ResumeTake t;
    t.status = ResumeTake::Status::kUnreachable;
    return (*shared_done)(std::move(t));
  }
  const std::string hash = ResumeKey(key);
  const bool sent =
      RunScript(PrimaryFor(key), kResumeTake, {hash}, 1, [shared_done](const redisReply* r) {
        ResumeTake t;
        if (r == nullptr || r->type != REDIS_REPLY_ARRAY) {
          t.status = ResumeTake::Status::kUnreachable;
          return (*shared_done)(std::move(t));
        }
        HashFields fields;
        for (size_t i = 0; i + 1 < r->elements; i += 2) {
          fields.emplace_back(ReplyString(r->element[i]), ReplyString(r->element[i + 1]));
        }
        // Anything but a whole, parsable state counts as no state (it is deleted all the
        // same: the token is spent).
        t.status = ParseKeptResume(fields, &t.state) ? ResumeTake::Status::kFound
                                                     : ResumeTake::Status::kMissing;
        (*shared_done)(std::move(t));
      });
  if (!sent) {
    ResumeTake t;
    t.status = ResumeTake::Status::kUnreachable;
    (*shared_done)(std::move(t));
  }
}

}  // namespace tutti::server::redis
