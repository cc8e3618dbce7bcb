// RedisBroker, its presence side: which sessions of this engine are in which room
// stream, kept in one Redis hash per room (`tutti:{<room>}:presence`, a field per
// session of this node, each with its own expiry set by the presence script), refreshed
// every third of the presence TTL together with the resume state, and read back for
// other nodes' members. Split from redis_broker.cc by role.
// Same class, owner and thread as redis_broker.cc.
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
  RunScript(PrimaryFor(stream), kPresenceSet,
            {key, field, ttl, e.reconnecting ? "1" : "0", e.user_id}, 1, nullptr);
}

void RedisBroker::SetPresence(const std::string& stream, const PresenceEntry& entry) {
  presence_[stream][entry.session] = entry;
  SendPresence(stream, entry.session, entry);
  ArmPresenceRefresh();
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
  // Armed once: a new entry must not push the refresh of the others back.
  if ((presence_.empty() && resume_.empty()) || stopped_ || refresh_armed_) return;
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
  ArmPresenceRefresh();
}

void RedisBroker::Presence(const std::string& stream, PresenceDone done) {
  const std::string key = PresenceKey(stream);
  auto shared_done = std::make_shared<PresenceDone>(std::move(done));
  const bool sent =
      RunScript(PrimaryFor(stream), kPresenceRead, {key}, 1, [shared_done](const redisReply* r) {
        std::vector<PresenceEntry> out;
        for (size_t i = 0; i + 1 < (r && r->type == REDIS_REPLY_ARRAY ? r->elements : 0); i += 2) {
          const std::string_view field = ReplyString(r->element[i]);
          const std::string_view value = ReplyString(r->element[i + 1]);
          const size_t colon = field.rfind(':');
          const size_t v1 = value.find(':');
          const size_t v2 = v1 == std::string_view::npos ? v1 : value.find(':', v1 + 1);
          if (colon == std::string_view::npos || v2 == std::string_view::npos) continue;
          PresenceEntry e;
          e.session = std::strtoull(std::string(field.substr(colon + 1)).c_str(), nullptr, 10);
          e.reconnecting = value.substr(v1 + 1, v2 - v1 - 1) == "1";
          e.user_id = std::string(value.substr(v2 + 1));
          out.push_back(std::move(e));
        }
        (*shared_done)(std::move(out));
      });
  if (!sent) (*shared_done)({});
}

}  // namespace tutti::server::redis
