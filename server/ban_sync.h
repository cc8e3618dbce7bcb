// SyncServerBans: server-ban changes that came from other nodes (the node bus's message,
// or the deployment's ban hash read when the bus comes up; docs/SCALE-OUT.md "Node bus")
// applied to this node's store, only where they change something: the latest change of
// a target wins, by created_unix_ms (for a lifted ban, when it was lifted), so an old
// record read again after a reconnect never undoes a newer local decision; and what the
// node must do about its ban snapshot and sessions afterwards (FollowUpBanSync).
// Thread affinity: the storage thread (it runs store queries). Owner: none.
#ifndef TUTTI_SERVER_BAN_SYNC_H_
#define TUTTI_SERVER_BAN_SYNC_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "server/moderation/ban_list.h"

namespace tutti::server {

namespace store {
class Store;
}

// One change: the ban, and whether it was made (true) or lifted (false).
using BanChange = std::pair<moderation::ServerBan, bool>;

struct BanSyncResult {
  absl::Status status;             // the first store error (the other changes still ran)
  std::vector<BanChange> applied;  // what changed this node's store
};

BanSyncResult SyncServerBans(store::Store& store, const std::vector<BanChange>& changes,
                             int64_t now_unix_ms);

// What the node does after a sync. The ban snapshot is rebuilt from the store only when
// the sync changed the store or the snapshot lags behind `changes` (a shared store that
// the other node wrote already); the sessions are scanned for bans only when the
// snapshot is about to gain a ban in force. The whole ban hash read again after a Redis
// reconnect, all of it known already, does neither.
struct BanFollowUp {
  bool republish = false;  // RepublishBans
  bool close = false;      // CloseBannedSessions on every shard (after the republish)
};
BanFollowUp FollowUpBanSync(const moderation::BanList& snapshot,
                            const std::vector<BanChange>& changes, const BanSyncResult& result,
                            int64_t now_unix_ms);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_BAN_SYNC_H_
