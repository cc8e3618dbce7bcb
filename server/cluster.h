// Cluster: what a Shard, and the per-shard layers above it (dispatcher, room list, token
// clock), see of the process around them — the other shards, the Social actor and the
// room-list service (both on shard 0), the read-only configuration and clock, the
// authenticator, the slow-work pool, the storage thread, the count of live rooms and the
// server-ban snapshot. An interface so that they depend on it and not on the Server
// that implements it: server.cc owns the shards and wires those layers in, so it
// includes them, and the include graph stays one-way.
//
// Thread affinity: every method may be called from any shard thread (the Server's
// implementations are either immutable, atomic or thread-safe queues). shard(i) and
// social() hand out objects that belong to one thread: reach them through the typed
// calls in shard.h (Shard::OnShard, OnRoom, OnSocial, OnSession), never directly.
// Ownership: implemented and owned by Server, which outlives every shard.
#ifndef TUTTI_SERVER_CLUSTER_H_
#define TUTTI_SERVER_CLUSTER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "crypto/authenticator.h"
#include "server/clock.h"
#include "server/config.h"
#include "server/ids.h"
#include "server/moderation/ban_list.h"

namespace tutti::server {

class Maintenance;
class Shard;
class Social;
class ResumeTokens;
class RecordingService;
class RoomListService;
class ServerLog;
namespace store {
class Store;
}

class Cluster {
 public:
  virtual ~Cluster() = default;

  virtual const ServerConfig& config() const = 0;
  virtual const Clock& clock() const = 0;
  virtual int shard_count() const = 0;
  virtual Shard& shard(int i) = 0;
  // The room's home shard: FNV-1a of its id modulo the shard count (ids.h).
  int RoomHomeIndex(const std::string& room_id) const {
    return HomeShardOfRoom(room_id, shard_count());
  }
  Shard& RoomHome(const std::string& room_id) { return shard(RoomHomeIndex(room_id)); }
  // Friends, presence, blocks, private messages: lives on shard 0 (Shard::OnSocial).
  virtual Social& social() = 0;
  // The live room list's directory and publisher: lives on shard 0.
  virtual RoomListService& room_list() = 0;
  // Verifies tokens (thread-safe: the upgrade gate and token refreshes on every shard).
  virtual crypto::Authenticator& authenticator() = 0;
  // Which resume token may restore which dropped session (thread-safe: issued on the old
  // session's shard, redeemed at the upgrade on any shard).
  virtual ResumeTokens& resume_tokens() = 0;

  // Runs `fn` on the slow-work pool. False (and `fn` dropped) when too much is queued,
  // so a flood of password joins cannot build an unbounded backlog.
  virtual bool PostSlow(std::function<void()> fn) = 0;
  // Runs `work` on the storage thread, then `then` on `shard`. False when the storage
  // queue is full (nothing runs); callers answer RATE_LIMITED or INTERNAL_ERROR.
  virtual bool RunStorage(Shard& shard, std::function<void(store::Store&)> work,
                          std::function<void()> then) = 0;

  // The server-ban snapshot, read without a lock.
  virtual std::shared_ptr<const moderation::BanList> bans() const = 0;
  // Rebuilds the snapshot from the store; call on the storage thread after a change.
  virtual void RepublishBans(store::Store& store) = 0;
  // Audit records stamped before this are past audit_retention_days; none when the
  // retention is 0 (keep everything).
  virtual std::optional<int64_t> AuditCutoffMs() const = 0;

  // Rooms alive across all shards, for max_rooms. Reserve before creating.
  virtual bool ReserveRoom() = 0;
  virtual void ReleaseRoom() = 0;
  virtual size_t rooms() const = 0;
  // The recording writer (recording_service.h; thread-safe); null when recording is off.
  virtual RecordingService* recordings() { return nullptr; }
  // Server time (clock().NowUs()) when Start began, for uptime.
  virtual int64_t started_us() const = 0;
  // Maintenance mode and drains (maintenance.h); thread-safe.
  virtual Maintenance& maintenance() = 0;
  // The structured log (server/server_log.h); thread-safe.
  virtual ServerLog& log() = 0;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_CLUSTER_H_
