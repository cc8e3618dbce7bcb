// Dispatcher handlers for server staff's views of server-wide moderation: the paged list
// of server bans (ServerCommand LIST_BANS -> BanList) and the whole server's audit log
// (/log outside a room). They run on the caller's shard; the store is read on the
// storage thread and the answer is sent back from the caller's shard.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/dispatcher.h"
#include "server/envelope.h"
#include "server/moderation/permissions.h"
#include "server/server.h"
#include "server/shard.h"

namespace tutti::server {
namespace {

constexpr uint32_t kDefaultBanPage = 50;
constexpr uint32_t kMaxBanPage = 200;

// A small non-negative decimal ("" = `fallback`); false when it is not one.
bool ParseCount(const std::string& text, uint32_t fallback, uint32_t* out) {
  if (text.empty()) {
    *out = fallback;
    return true;
  }
  if (text.size() > 9) return false;
  uint32_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  *out = n;
  return true;
}

proto::ModerationAction ActionOf(moderation::AuditAction a) {
  // The enums share their order (tutti.proto ModerationAction mirrors AuditAction).
  return static_cast<proto::ModerationAction>(static_cast<int>(a));
}

}  // namespace

void Dispatcher::OnListBans(Session& s, const proto::ServerCommand& cmd, const std::string& rid) {
  if (!s.identity().is_admin && !s.identity().is_moderator) {
    return Error(s, proto::PERMISSION_DENIED, "server bans are for server staff", rid);
  }
  auto param = [&cmd](const char* key) {
    auto it = cmd.parameters().find(key);
    return it == cmd.parameters().end() ? std::string() : it->second;
  };
  uint32_t offset = 0, limit = 0;
  if (!ParseCount(param("offset"), 0, &offset) ||
      !ParseCount(param("limit"), kDefaultBanPage, &limit) || limit < 1 || limit > kMaxBanPage) {
    return Error(s, proto::INVALID_PARAMETERS,
                 "offset must be a number, limit a number from 1 to 200", rid);
  }
  Server& server = shard_->server();
  const int64_t now = server.clock().UnixMs();
  auto bans = std::make_shared<absl::StatusOr<std::vector<moderation::ServerBan>>>();
  Shard* shard = shard_;
  SessionId id = s.id();
  bool queued = server.RunStorage(
      *shard_, [bans, now](store::Store& st) { *bans = st.ListServerBans(now); },
      [shard, bans, id, rid, offset, limit] {
        if (!bans->ok()) {
          shard->SendLocal(
              id, MakeFrame(MakeError(proto::INTERNAL_ERROR, "cannot read the bans", rid)));
          return;
        }
        const auto& all = **bans;
        proto::ClientMessage out;
        auto* list = out.mutable_ban_list();
        list->set_total(static_cast<uint32_t>(all.size()));
        const size_t end = std::min(all.size(), static_cast<size_t>(offset) + limit);
        for (size_t i = offset; i < end; ++i) {
          auto* e = list->add_bans();
          e->set_target(all[i].target);
          e->set_reason(all[i].reason);
          e->set_actor_user_id(all[i].actor);
          e->set_until_unix_ms(all[i].until_unix_ms);
          e->set_created_unix_ms(all[i].created_unix_ms);
        }
        list->set_next_offset(end < all.size() ? static_cast<uint32_t>(end) : 0);
        out.set_request_id(rid);
        StampType(&out);
        shard->SendLocal(id, MakeFrame(out));
      });
  if (!queued) Error(s, proto::RATE_LIMITED, "server busy, try again", rid);
}

void Dispatcher::OnServerLog(Session& s, const moderation::ParsedCommand& cmd,
                             const std::string& rid) {
  const int count = cmd.count > 0 ? cmd.count : moderation::kDefaultLogCount;
  auto log = std::make_shared<absl::StatusOr<std::vector<moderation::AuditRecord>>>();
  Shard* shard = shard_;
  SessionId id = s.id();
  bool queued = shard_->server().RunStorage(
      *shard_, [log, count](store::Store& st) { *log = st.ListAudit(std::nullopt, count); },
      [shard, log, id, rid] {
        if (!log->ok()) {
          shard->SendLocal(id,
                           MakeFrame(MakeError(proto::INTERNAL_ERROR, "cannot read the log", rid)));
          return;
        }
        proto::ClientMessage out;
        out.mutable_audit_log();
        for (const auto& r : **log) {
          auto* e = out.mutable_audit_log()->add_entries();
          e->set_unix_ms(r.unix_ms);
          e->set_actor_user_id(r.actor);
          e->set_action(ActionOf(r.action));
          e->set_target(r.target);
          e->set_room_id(r.room_id);
          e->set_reason(r.reason);
          e->set_until_unix_ms(r.until_unix_ms);
        }
        out.set_request_id(rid);
        StampType(&out);
        shard->SendLocal(id, MakeFrame(out));
      });
  if (!queued) Error(s, proto::RATE_LIMITED, "server busy, try again", rid);
}

}  // namespace tutti::server
