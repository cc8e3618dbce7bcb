#include "server/ban_sync.h"

#include <map>
#include <string>

#include "server/store/store.h"

namespace tutti::server {

BanSyncResult SyncServerBans(store::Store& store, const std::vector<BanChange>& changes,
                             int64_t now_unix_ms) {
  BanSyncResult out;
  absl::StatusOr<std::vector<moderation::ServerBan>> listed = store.ListServerBans(now_unix_ms);
  if (!listed.ok()) {
    out.status = listed.status();
    return out;
  }
  std::map<std::string, moderation::ServerBan> have;
  for (moderation::ServerBan& b : *listed) have.emplace(b.target, std::move(b));
  for (const auto& [ban, add] : changes) {
    auto it = have.find(ban.target);
    absl::Status s;
    if (add && !ban.ActiveAt(now_unix_ms)) {
      // Over already: nothing to refuse. But it replaced any older ban of the target (a
      // permanent ban shortened to an hour that has passed), so that one goes.
      if (it == have.end() || it->second.created_unix_ms >= ban.created_unix_ms) continue;
      s = store.RemoveServerBan(ban.target);
      if (s.ok() || absl::IsNotFound(s)) {
        have.erase(it);
        s = absl::OkStatus();
      }
      if (s.ok()) {
        out.applied.emplace_back(ban, false);  // to this node, a lift
      } else if (out.status.ok()) {
        out.status = s;
      }
      continue;
    }
    if (add) {
      if (it != have.end() && it->second.created_unix_ms >= ban.created_unix_ms) continue;
      s = store.AddServerBan(ban);
      if (s.ok()) have[ban.target] = ban;
    } else {
      if (it == have.end() || it->second.created_unix_ms > ban.created_unix_ms) continue;
      s = store.RemoveServerBan(ban.target);
      if (s.ok() || absl::IsNotFound(s)) {
        have.erase(it);
        s = absl::OkStatus();
      }
    }
    if (s.ok()) {
      out.applied.emplace_back(ban, add);
    } else if (out.status.ok()) {
      out.status = s;
    }
  }
  return out;
}

BanFollowUp FollowUpBanSync(const moderation::BanList& snapshot,
                            const std::vector<BanChange>& changes, const BanSyncResult& result,
                            int64_t now_unix_ms) {
  BanFollowUp out;
  for (const auto& [ban, add] : result.applied) {
    out.republish = true;
    if (add && ban.ActiveAt(now_unix_ms)) out.close = true;
  }
  // The snapshot holds only bans in force, one per target (the longest-lasting).
  std::map<std::string, const moderation::ServerBan*> held;
  for (const moderation::ServerBan& b : snapshot.entries()) {
    auto [it, fresh] = held.emplace(b.target, &b);
    if (!fresh && it->second->created_unix_ms < b.created_unix_ms) it->second = &b;
  }
  for (const auto& [ban, add] : changes) {
    auto it = held.find(ban.target);
    const moderation::ServerBan* have = it == held.end() ? nullptr : it->second;
    if (add && ban.ActiveAt(now_unix_ms)) {
      // In force and newer than what the snapshot refuses: the store has it (it was
      // there, or the sync just wrote it) and the snapshot does not yet.
      if (have == nullptr || have->created_unix_ms < ban.created_unix_ms) {
        out.republish = true;
        out.close = true;
      }
    } else if (have != nullptr && (add ? have->created_unix_ms < ban.created_unix_ms
                                       : have->created_unix_ms <= ban.created_unix_ms)) {
      // A lift (or a newer ban that is over) of what the snapshot still refuses, by the
      // rules SyncServerBans applies to the store.
      out.republish = true;
    }
  }
  return out;
}

}  // namespace tutti::server
