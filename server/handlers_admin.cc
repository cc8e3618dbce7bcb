// Dispatcher handlers for server administration: the paged list of server bans
// (ServerCommand LIST_BANS -> BanList), the whole server's audit log (/log outside a
// room) and the server's status (GET_STATUS: process figures from /proc, every shard's
// counters). They run on the caller's shard; the store is read on the
// storage thread and the answer is sent back from the caller's shard.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/audit_wire.h"
#include "server/dispatcher.h"
#include "server/envelope.h"
#include "server/metrics/proc_stat.h"
#include "server/moderation/permissions.h"
#include "server/shard.h"
#include "server/shard_gather.h"
#include "server/store/store.h"

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

struct ProcessUsage {
  double cpu_seconds = 0;
  uint64_t rss_bytes = 0;
};

// This process's CPU time and resident memory, from /proc (Linux): one small read, on an
// admin's request only.
ProcessUsage ReadProcessUsage() {
  ProcessUsage u;
  if (auto stat = metrics::ReadProcStat("/proc/self/stat")) {
    const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    u.cpu_seconds = static_cast<double>(stat->utime_ticks + stat->stime_ticks) / tick;
    u.rss_bytes = stat->rss_pages * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  }
  return u;
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
  Cluster& server = shard_->cluster();
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
  if (!queued) RateLimited(s, metrics::RateBucket::kBusy, "server busy, try again", rid);
}

void Dispatcher::OnServerLog(Session& s, const moderation::ParsedCommand& cmd,
                             const std::string& rid) {
  const int count = cmd.count > 0 ? cmd.count : moderation::kDefaultLogCount;
  auto log = std::make_shared<absl::StatusOr<std::vector<moderation::AuditRecord>>>();
  Shard* shard = shard_;
  SessionId id = s.id();
  bool queued = shard_->cluster().RunStorage(
      *shard_, [log, count](store::Store& st) { *log = st.ListAudit(std::nullopt, count); },
      [shard, log, id, rid] {
        if (!log->ok()) {
          shard->SendLocal(id,
                           MakeFrame(MakeError(proto::INTERNAL_ERROR, "cannot read the log", rid)));
          return;
        }
        proto::ClientMessage out;
        AppendAuditEntries(**log, out.mutable_audit_log());
        out.set_request_id(rid);
        StampType(&out);
        shard->SendLocal(id, MakeFrame(out));
      });
  if (!queued) RateLimited(s, metrics::RateBucket::kBusy, "server busy, try again", rid);
}

// ServerCommand GET_STATUS (admins): this process's figures and every shard's counters,
// gathered from each shard on its own thread and added up on the asking shard.
void Dispatcher::OnGetStatus(Session& s, const std::string& rid) {
  if (!s.identity().is_admin) {
    return Error(s, proto::PERMISSION_DENIED, "server administrators only", rid);
  }
  // Gathered from every shard like the room list.
  struct ShardCounts {
    uint64_t connections = 0, frames_in = 0, frames_out = 0;
  };
  Cluster& server = shard_->cluster();
  proto::ServerStatus status;
  status.set_shards(static_cast<uint32_t>(server.shard_count()));
  status.set_rooms(server.rooms());
  status.set_uptime_ms((shard_->NowUs() - server.started_us()) / 1000);
  ProcessUsage usage = ReadProcessUsage();
  status.set_cpu_seconds(usage.cpu_seconds);
  status.set_rss_bytes(usage.rss_bytes);
  GatherFromShards<ShardCounts>(
      *shard_,
      [](Shard& t) {
        return ShardCounts{t.session_count(), t.counters().frames_in, t.counters().frames_out};
      },
      [origin = shard_, id = s.id(), rid, status](std::vector<ShardCounts> parts) mutable {
        for (const ShardCounts& c : parts) {
          status.set_connections(status.connections() + c.connections);
          status.set_frames_in(status.frames_in() + c.frames_in);
          status.set_frames_out(status.frames_out() + c.frames_out);
        }
        proto::ClientMessage msg;
        *msg.mutable_server_status() = std::move(status);
        msg.set_request_id(rid);
        StampType(&msg);
        origin->SendLocal(id, MakeFrame(msg));
      });
}

}  // namespace tutti::server
