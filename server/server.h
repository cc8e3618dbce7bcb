// Server: owns the shards, the configuration, the clock, the authenticator and the small
// pool for slow work (password hashing), and starts and stops them; wires each shard's
// upper layers (ShardHooks: dispatcher, token clock, room-list feed) and is what the
// shards and those layers see as their Cluster (cluster.h). Created by main() or a
// test; Start/Shutdown/Wait may be called from any thread. State that belongs to one
// shard is reached through that shard (its typed calls), never through locks here.
#ifndef TUTTI_SERVER_SERVER_H_
#define TUTTI_SERVER_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "absl/status/status.h"
#include "crypto/authenticator.h"
#include "crypto/keys.h"
#include "server/clock.h"
#include "server/cluster.h"
#include "server/config.h"
#include "server/door_services.h"
#include "server/http_site.h"
#include "server/metrics/shard_histogram.h"
#include "server/moderation/auth_failure_tracker.h"
#include "server/moderation/ban_list.h"
#include "server/moderation/connection_limits.h"
#include "server/moderation/forwarded.h"
#include "server/recording_writer.h"
#include "server/resume_tokens.h"
#include "server/server_log.h"
#include "server/social.h"
#include "server/store/storage_thread.h"

namespace tutti::server {

class Shard;
class Maintenance;
class RoomListService;

class Server final : public Cluster, public DoorServices {
 public:
  Server(ServerConfig config, crypto::ServerKeys keys, std::shared_ptr<const Clock> clock);
  ~Server() override;

  // Opens the store (restoring server bans and persistent rooms), binds every shard's
  // listener (the first picks the port when config.port == 0) and starts the threads.
  absl::Status Start();
  uint16_t port() const { return port_; }
  // Thread-safe and idempotent: stop accepting, close clients with 1001, drain.
  void Shutdown();
  // Blocks until every shard thread has exited.
  void Wait();

  // --- Cluster (cluster.h: what the shards see of the server) ---------------------------
  const ServerConfig& config() const override { return config_; }
  const Clock& clock() const override { return *clock_; }
  int shard_count() const override { return static_cast<int>(shards_.size()); }
  Shard& shard(int i) override { return *shards_[i]; }
  // Friends, presence, blocks, private messages: touched only on shard 0.
  Social& social() override { return *social_; }
  // The live room list's directory and publisher: touched only on shard 0.
  RoomListService& room_list() override { return *room_list_; }
  crypto::Authenticator& authenticator() override { return *authenticator_; }
  ResumeTokens& resume_tokens() override { return *resume_tokens_; }
  bool PostSlow(std::function<void()> fn) override;
  bool RunStorage(Shard& shard, std::function<void(store::Store&)> work,
                  std::function<void()> then) override;
  std::shared_ptr<const moderation::BanList> bans() const override {
    return std::atomic_load(&bans_);
  }
  std::optional<int64_t> AuditCutoffMs() const override;
  bool ReserveRoom() override;
  void ReleaseRoom() override;
  size_t rooms() const override { return rooms_.load(); }
  int64_t started_us() const override { return started_us_; }
  RecordingService* recordings() override { return recordings_.get(); }
  void RepublishBans(store::Store& store) override;
  ServerLog& log() override { return *log_; }

  // SIGHUP: runs `change` on the configuration while every shard thread is parked in a
  // posted task, so that no shard reads it meanwhile (the shards read it without locks).
  // Call from one thread outside the shards (tutti-server's main); false, and nothing
  // changed, when a shard did not park within a few seconds. Only fields that are read
  // where they are used may change (config_file.h: the reloadable keys); no other thread
  // reads those.
  bool UpdateConfig(const std::function<void(ServerConfig&)>& change);
  // SIGHUP: the server-ban snapshot is rebuilt from the store, and sessions it now bans
  // are closed (4003) on every shard. Any thread.
  void ReloadBans();

  // Plain-HTTP answers (static files, /api/server-info, /healthz); immutable.
  const HttpSite& http_site() const override { return *http_site_; }

  moderation::AuthFailureTracker& auth_failures() override { return *auth_failures_; }
  // The door's counters (ceiling, per-address limits); made by Start().
  moderation::ConnectionLimits& connection_limits() override { return *connection_limits_; }
  // --trusted-proxy and --proxy-header, parsed by Start(); read-only after.
  const moderation::TrustedProxies& trusted_proxies() const override { return trusted_proxies_; }

  // For /readyz: true from Shutdown() on and in maintenance mode (a drain included).
  bool draining() const;
  // Maintenance mode and drains (maintenance.h); made by the constructor.
  Maintenance& maintenance() override { return *maintenance_; }
  bool InMaintenance(std::string* reason) const override;
  // The store opened at Start and its thread takes work, as far as the server can tell
  // without a probe of its own: false before Start and once its queue refuses work.
  bool store_ok() const;
  // The storage thread's queue figures; all zero before Start. Any thread.
  store::StorageThread::Stats storage_stats() const;
  // Null before Start. Its histograms may be read from any thread.
  const store::StorageThread* storage_thread() const { return storage_.get(); }
  // The password-hashing pool: work waiting now, work refused (queue full), and how long
  // each item waited before it ran (written by the pool's one thread). Any thread.
  int slow_pending() const { return slow_pending_.load(); }
  uint64_t slow_rejected() const { return slow_rejected_.load(); }
  const metrics::ShardHistogram& slow_wait_histogram() const { return slow_wait_us_; }

 private:
  ServerConfig config_;
  std::shared_ptr<const Clock> clock_;
  // First and last: every other part may log until it is gone.
  std::unique_ptr<ServerLog> log_;
  std::unique_ptr<crypto::Authenticator> authenticator_;
  std::unique_ptr<ResumeTokens> resume_tokens_;  // memory only: a restart forgets every token
  // Before shards_: their rooms hand a last Stop to it as they go (it no longer runs).
  std::unique_ptr<RecordingWriter> recordings_;
  // Before shards_: connections give their tickets back as the shards' endpoints go.
  std::unique_ptr<moderation::ConnectionLimits> connection_limits_;
  moderation::TrustedProxies trusted_proxies_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unique_ptr<store::StorageThread> storage_;
  std::shared_ptr<const moderation::BanList> bans_ = moderation::BanList::Empty();
  std::unique_ptr<moderation::AuthFailureTracker> auth_failures_;
  std::unique_ptr<Social> social_;
  std::unique_ptr<RoomListService> room_list_;
  std::unique_ptr<const HttpSite> http_site_;
  // After shards_: destroyed first, its timer being on shard 0's loop.
  std::unique_ptr<Maintenance> maintenance_;
  boost::asio::thread_pool slow_pool_{1};
  std::atomic<int> slow_pending_{0};
  std::atomic<uint64_t> slow_rejected_{0};
  metrics::ShardHistogram slow_wait_us_{metrics::kLatencyUs};  // the pool's thread writes it
  std::atomic<size_t> rooms_{0};
  std::atomic<bool> shutting_down_{false};
  uint16_t port_ = 0;
  int64_t started_us_ = 0;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_SERVER_H_
