// RedisBroker, its presence side: which sessions of this engine are in which room
// stream, kept in one Redis hash per room (`tutti:{<room>}:presence`, a field per
// session of this node with the member's UserInfo, each with its own expiry set by the
// presence script), refreshed every third of the presence TTL together with the resume
// state, and read back for other nodes' members: at a room's opening (Presence) and at
// every refresh for each room with a subscriber here (OnPresence), which is how the
// rooms learn that a dead node's members are gone. Split from redis_broker.cc by role.
// Same class, owner and thread as redis_broker.cc.
#include <chrono>
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

void RedisBroker::RemoveStream(const std::string& stream) {
  auto it = presence_.find(stream);
  if (it == presence_.end()) return;
  const std::string key = PresenceKey(stream);
  for (const auto& [sid, e] : it->second) {
    const std::string field = origin_ + ":" + std::to_string(sid);
    PrimaryFor(stream).cmd.Command({"HDEL", key, field}, nullptr);
  }
  presence_.erase(it);
}

void RedisBroker::SendPresence(const std::string& stream, SessionId session,
                               const PresenceEntry& e) {
  const std::string key = PresenceKey(stream);
  const std::string field = origin_ + ":" + std::to_string(session);
  const std::string ttl = std::to_string(options_.presence_ttl_ms);
  const std::string user = e.user.SerializeAsString();
  RunScript(PrimaryFor(stream), kPresenceSet, {key, field, ttl, e.reconnecting ? "1" : "0", user},
            1, nullptr);
}

void RedisBroker::SetPresence(const std::string& stream, const PresenceEntry& entry) {
  PresenceEntry& kept = presence_[stream][entry.session];
  kept = entry;
  // What other nodes show: the user as given, under this entry's session id and user id.
  kept.user.set_session_id(entry.session);
  if (kept.user.user_id().empty()) kept.user.set_user_id(entry.user_id);
  kept.user.set_reconnecting(entry.reconnecting);
  SendPresence(stream, entry.session, kept);
  ArmPresenceRefresh();
}

void RedisBroker::ClaimSeat(const std::string& stream, const PresenceEntry& entry, int capacity,
                            int64_t settings_version, SeatDone done) {
  PresenceEntry e = entry;
  e.user.set_session_id(entry.session);
  if (e.user.user_id().empty()) e.user.set_user_id(entry.user_id);
  const std::string key = PresenceKey(stream);
  const std::string field = origin_ + ":" + std::to_string(entry.session);
  const std::string ttl = std::to_string(options_.presence_ttl_ms);
  const std::string cap = std::to_string(capacity);
  const std::string user = e.user.SerializeAsString();
  const std::string bans = BansKey(stream);
  const std::string state = StateKey(stream);
  const std::string version = settings_version < 0 ? "" : std::to_string(settings_version);
  auto shared_done = std::make_shared<SeatDone>(std::move(done));
  // Not kept in presence_ (nothing refreshes it): the room confirms the seat with
  // SetPresence, on this same link, or gives it back.
  const bool sent = RunScript(PrimaryFor(stream), kSeatClaim,
                              {key, bans, state, field, ttl, cap, user, e.user.user_id(), version},
                              3, [shared_done](const redisReply* r) {
                                int64_t answer = 0;
                                if (ReplyIsError(r) || !ReplyInteger(r, &answer)) {
                                  // Lost with the link (or refused): whether it ran is unknown.
                                  return (*shared_done)(SeatClaim::kUnreachable);
                                }
                                switch (answer) {
                                  case 1:
                                    return (*shared_done)(SeatClaim::kTaken);
                                  case 2:
                                    return (*shared_done)(SeatClaim::kBanned);
                                  case 3:
                                    return (*shared_done)(SeatClaim::kStale);
                                  default:
                                    return (*shared_done)(SeatClaim::kFull);
                                }
                              });
  if (!sent) (*shared_done)(SeatClaim::kUnreachable);
}

void RedisBroker::RemoveOtherPresence(const std::string& stream, const std::string& origin,
                                      SessionId session) {
  if (origin.empty() || origin == origin_) return RemovePresence(stream, session);
  PrimaryFor(stream).cmd.Command(
      {"HDEL", PresenceKey(stream), origin + ":" + std::to_string(session)}, nullptr);
}

void RedisBroker::RemovePresence(const std::string& stream, SessionId session) {
  auto it = presence_.find(stream);
  if (it != presence_.end()) {
    it->second.erase(session);
    if (it->second.empty()) presence_.erase(it);
  }
  const std::string key = PresenceKey(stream);
  const std::string field = origin_ + ":" + std::to_string(session);
  PrimaryFor(stream).cmd.Command({"HDEL", key, field}, nullptr);
}

void RedisBroker::ArmPresenceRefresh() {
  // Armed once: a new entry must not push the refresh of the others back. A room here
  // with no entry of this node (a lobby whose members are elsewhere) still reads.
  if ((presence_.empty() && resume_.empty() && streams_.empty()) || stopped_ || refresh_armed_) {
    return;
  }
  refresh_armed_ = true;
  presence_timer_.expires_after(std::chrono::milliseconds(options_.presence_ttl_ms / 3));
  presence_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: the engine is going
    refresh_armed_ = false;
    RefreshPresence();
  });
}

void RedisBroker::RefreshPresence() {
  for (const auto& [stream, entries] : presence_) {
    for (const auto& [sid, e] : entries) SendPresence(stream, sid, e);
  }
  RefreshResume();
  // Each room here learns of other nodes' members that went without a word (their node
  // died): the read that deletes an expired entry hands it to its subscribers, once.
  for (const auto& [name, st] : streams_) {
    if (st.subscribers.empty()) continue;
    const std::string stream = name;
    Presence(stream, [this, stream,
                      alive = std::weak_ptr<bool>(alive_)](std::vector<PresenceEntry> entries) {
      if (alive.expired()) return;
      auto it = streams_.find(stream);
      if (it == streams_.end()) return;
      const std::vector<StreamSubscriber*> subscribers = it->second.subscribers;
      for (StreamSubscriber* sub : subscribers) sub->OnPresence(stream, entries);
    });
  }
  ArmPresenceRefresh();
}

void RedisBroker::Presence(const std::string& stream, PresenceDone done) {
  if (WhenSubscribed(stream, [this, stream, done] { Presence(stream, done); })) return;
  const std::string key = PresenceKey(stream);
  auto shared_done = std::make_shared<PresenceDone>(std::move(done));
  const bool sent = RunScript(
      PrimaryFor(stream), kPresenceRead, {key}, 1, [this, shared_done](const redisReply* r) {
        std::vector<PresenceEntry> out;
        const size_t parts = r != nullptr && r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
        for (size_t part = 0; part < parts && part < 2; ++part) {
          const redisReply* list = r->element[part];
          if (list == nullptr || list->type != REDIS_REPLY_ARRAY) continue;
          for (size_t i = 0; i + 1 < list->elements; i += 2) {
            PresenceEntry e;
            if (ParsePresenceEntry(ReplyString(list->element[i]), ReplyString(list->element[i + 1]),
                                   part == 1, origin_, &e)) {
              out.push_back(std::move(e));
            } else {
              ++stats_.malformed;
            }
          }
        }
        (*shared_done)(std::move(out));
      });
  if (!sent) (*shared_done)({});
}

}  // namespace tutti::server::redis
