#include "server/server.h"

#include <sys/resource.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>
#include <utility>

#include <boost/asio/post.hpp>

#include "server/dispatcher.h"
#include "server/endpoint.h"
#include "server/ids.h"
#include "server/maintenance.h"
#include "server/room_list.h"
#include "server/shard.h"
#include "server/token_refresh.h"
#include "server/version.h"

namespace tutti::server {
namespace {

constexpr int kMaxSlowPending = 64;

// The ceiling when the operator set none: what RLIMIT_NOFILE leaves after the reserve.
size_t DefaultMaxConnections(const ServerConfig& config) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 1 << 20;
  const int64_t left = static_cast<int64_t>(limit.rlim_cur) - config.fd_reserve;
  return left > 0 ? static_cast<size_t>(left) : 1;
}

// The layers above a shard, wired in here so that shard.cc includes none of them.
class ShardLayers final : public ShardHooks {
 public:
  ShardLayers(Shard* shard, RoomListService* room_list)
      : dispatcher_(shard), tokens_(shard), room_feed_(shard), room_list_(room_list) {}

  void SessionStarted(Session& s) override {
    tokens_.Track(s);
    dispatcher_.SendWelcome(s);
  }
  void SessionEnded(SessionId id) override {
    tokens_.Forget(id);
    dispatcher_.SessionEnded(id);
  }
  void OnFrame(Session& s, const std::string& payload, bool binary, int64_t arrival_us) override {
    dispatcher_.Handle(s, payload, binary, arrival_us);
  }
  void OnLinkFrame(Session& s, const std::string& payload, bool binary,
                   int64_t arrival_us) override {
    dispatcher_.HandleLinked(s, payload, binary, arrival_us);
  }
  void RoomChanged(const std::string& room_id) override { room_feed_.MarkDirty(room_id); }
  bool ForgetRoomList(SessionId id) override { return room_feed_.Forget(id); }
  void SubscribeRoomList(SessionId id) override { room_feed_.Subscribe(id, ""); }
  void Stop() override {
    tokens_.Stop();
    room_feed_.Stop();
    if (room_list_) room_list_->Stop();
  }
  Dispatcher& dispatcher() override { return dispatcher_; }
  SessionTokens& tokens() override { return tokens_; }
  RoomListFeed& room_feed() override { return room_feed_; }

 private:
  Dispatcher dispatcher_;
  SessionTokens tokens_;
  RoomListFeed room_feed_;
  RoomListService* const room_list_;  // shard 0's only: it lives there
};

int ShardCountFor(const ServerConfig& config) {
  int n = config.shards > 0 ? config.shards : static_cast<int>(std::thread::hardware_concurrency());
  if (n < 1) n = 1;
  return n > kMaxShards ? kMaxShards : n;
}

}  // namespace

Server::Server(ServerConfig config, crypto::ServerKeys keys, std::shared_ptr<const Clock> clock)
    : config_(std::move(config)), clock_(std::move(clock)) {
  ServerLog::Options log;
  log.format = ParseLogFormat(config_.log_format).value_or(LogFormat::kKeyValue);
  log.level = ParseLogLevel(config_.log_level).value_or(LogLevel::kInfo);
  log.lines_per_second = config_.log_stream_lines_per_second;
  log.burst = config_.log_stream_burst;
  log.max_subscribers = config_.max_log_subscribers;
  log_ = std::make_unique<ServerLog>(log, stderr, clock_.get());
  crypto::AuthenticatorOptions auth;
  auth.max_resource_bytes = config_.max_resource_bytes;
  auth.allow_guests = config_.allow_guests;
  auth.token_leeway_s = config_.token_leeway_s;
  // The replay cache starts empty: payloads sealed before now may have been used on the
  // previous run (docs/AUTH.md, "Freshness and single use").
  auth.not_before_unix_ms = clock_->UnixMs();
  const Clock* c = clock_.get();
  // Read before the keys move into the authenticator. Loading the web root is blocking
  // file I/O, done here once so that no shard thread ever touches the disk for it.
  http_site_ = std::make_unique<const HttpSite>(
      WebRoot::Load(config_.web_root), ServerInfoJson(config_, keys.seal_public, kServerVersion));
  authenticator_ =
      std::make_unique<crypto::Authenticator>(std::move(keys), auth, [c] { return c->UnixMs(); });
  resume_tokens_ = std::make_unique<ResumeTokens>(c, int64_t{config_.resume_grace_ms} * 1000);
  moderation::AuthFailureTracker::Options brake;
  brake.max_failures = config_.auth_failure_limit;
  brake.window_ms = config_.auth_failure_window_ms;
  brake.ban_ms = config_.auth_failure_ban_ms;
  auth_failures_ = std::make_unique<moderation::AuthFailureTracker>(brake);
  const int n = ShardCountFor(config_);
  for (int i = 0; i < n; ++i) shards_.push_back(std::make_unique<Shard>(i, this, this));
  social_ = std::make_unique<Social>(shards_[0].get());
  room_list_ = std::make_unique<RoomListService>(shards_[0].get());
  // Rooms across nodes: Social hears the other nodes through shard 0's engine, and hands
  // the rooms they list to the room list, which shares this node's.
  NodeBus* bus = shards_[0]->broker()->node_bus();
  room_list_->AttachBus(bus, [social = social_.get()] { social->CountBusPublished(); });
  social_->AttachBus(bus, room_list_.get());
  maintenance_ = std::make_unique<Maintenance>(this);
  for (int i = 0; i < n; ++i) {
    shards_[i]->Attach(
        std::make_unique<ShardLayers>(shards_[i].get(), i == 0 ? room_list_.get() : nullptr));
  }
}

Server::~Server() {
  Shutdown();
  Wait();
  slow_pool_.join();
  // Running recordings end as "server stopped", their files final. Its answers post to
  // shards that no longer run them.
  if (recordings_) recordings_->Stop();
  // After the shards: their last posts may still write (e.g. an audit record).
  if (storage_) storage_->Stop();
}

std::optional<int64_t> Server::AuditCutoffMs() const {
  if (config_.audit_retention_days <= 0) return std::nullopt;
  return clock_->UnixMs() - int64_t{config_.audit_retention_days} * 24 * 3600 * 1000;
}

absl::Status Server::Start() {
  started_us_ = clock_->NowUs();
  if (config_.upgrades_per_second_per_address > 0 && config_.upgrade_burst_per_address < 1) {
    return absl::InvalidArgumentError(
        "upgrade_burst_per_address must be at least 1 when upgrades are rate limited");
  }
  if (config_.control_frame_burst < 1) {
    return absl::InvalidArgumentError("control_frame_burst must be at least 1");
  }
  auto exempt = moderation::ConnectionLimits::ParseNetworks(config_.exempt_networks);
  if (!exempt.ok()) return exempt.status();
  auto proxies = moderation::ConnectionLimits::ParseNetworks(config_.trusted_proxies);
  if (!proxies.ok()) return proxies.status();
  auto proxy_header = moderation::ParseForwardedHeaderName(config_.proxy_header);
  if (!proxy_header.ok()) return proxy_header.status();
  trusted_proxies_ = moderation::TrustedProxies(std::move(*proxies), *proxy_header);
  moderation::ConnectionLimits::Options door;
  door.max_connections =
      config_.max_connections > 0 ? config_.max_connections : DefaultMaxConnections(config_);
  door.max_per_address = config_.max_connections_per_address;
  door.max_guests_per_address = config_.max_guests_per_address;
  door.attempts_per_second = config_.upgrades_per_second_per_address;
  door.attempt_burst = config_.upgrade_burst_per_address;
  door.exempt = std::move(*exempt);
  connection_limits_ = std::make_unique<moderation::ConnectionLimits>(std::move(door));
  std::string path = config_.store_path;
  if (path.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(config_.data_dir, ec);
    if (ec)
      return absl::UnavailableError("cannot create " + config_.data_dir + ": " + ec.message());
    path = config_.data_dir + "/tutti.db";
  }
  auto store = store::Store::Open(path);
  if (!store.ok()) return store.status();
  if (!config_.redis.empty() && !store::Store::Shareable(path)) {
    // Not refused: several nodes on one machine for development share rooms this way.
    // But each node saves registered rooms and their bans to its own file and learns
    // another node's registered room only while Redis keeps it, so after restarts the
    // nodes disagree about them (docs/OPERATIONS.md, "Several nodes with Redis").
    log_->Warn("store.not_shared",
               {{"store", "sqlite"},
                {"why", "persistent rooms across nodes need one shared --database postgres://"}});
  }
  // Restore what must survive a restart before any thread runs: server bans for the
  // gate, and persistent rooms on their home shards.
  RepublishBans(**store);
  if (std::optional<int64_t> cutoff = AuditCutoffMs()) {
    auto pruned = (*store)->PruneAudit(*cutoff);
    if (!pruned.ok()) return pruned.status();
  }
  auto rooms = (*store)->ListPersistentRooms();
  if (!rooms.ok()) return rooms.status();
  const int64_t now_ms = clock_->UnixMs();
  for (auto& record : *rooms) {
    auto bans = (*store)->ListRoomBans(record.room_id, now_ms);
    if (!bans.ok()) return bans.status();
    if (!ReserveRoom()) break;
    RoomHome(record.room_id).RestoreRoom(std::move(record), std::move(*bans));
  }
  storage_ = std::make_unique<store::StorageThread>(std::move(*store));
  if (config_.recordings_dir != "-") {
    recordings_ = std::make_unique<RecordingWriter>(
        config_.recordings_dir.empty() ? config_.data_dir + "/recordings" : config_.recordings_dir,
        config_, *clock_);
    recordings_->StartThread();
  }

  uint16_t port = config_.port;
  for (auto& shard : shards_) {
    absl::Status st = shard->endpoint().Listen(config_.listen_address, port);
    if (!st.ok()) return st;
    if (port == 0) port = shard->endpoint().LocalPort();
  }
  port_ = port;
  for (auto& shard : shards_) shard->StartThread();
  log_->Info("server.start", {{"version", kServerVersion},
                              {"address", config_.listen_address},
                              {"port", std::to_string(port_)},
                              {"shards", std::to_string(shards_.size())},
                              {"trusted_proxies", config_.trusted_proxies}});
  return absl::OkStatus();
}

void Server::Shutdown() {
  if (shutting_down_.exchange(true)) return;
  log_->Info("server.stop", {});
  maintenance_->Cancel();
  for (auto& shard : shards_) {
    Shard* s = shard.get();
    s->Post([s] { s->BeginShutdown(); });
  }
}

void Server::Wait() {
  for (auto& shard : shards_) shard->Join();
}

bool Server::PostSlow(std::function<void()> fn) {
  if (slow_pending_.fetch_add(1) >= kMaxSlowPending) {
    slow_pending_.fetch_sub(1);
    slow_rejected_.fetch_add(1);
    return false;
  }
  const int64_t posted_us = clock_->NowUs();
  boost::asio::post(slow_pool_, [this, posted_us, fn = std::move(fn)] {
    slow_pending_.fetch_sub(1);
    const int64_t waited = clock_->NowUs() - posted_us;
    // One pool thread: the histogram's only writer.
    slow_wait_us_.Observe(waited > 0 ? static_cast<uint64_t>(waited) : 0);
    fn();
  });
  return true;
}

bool Server::RunStorage(Shard& shard, std::function<void(store::Store&)> work,
                        std::function<void()> then) {
  Shard* target = &shard;
  absl::Status st = storage_->Post(
      [work = std::move(work), then = std::move(then), target](store::Store& store) mutable {
        work(store);
        target->Post(std::move(then));
      });
  return st.ok();
}

void Server::RepublishBans(store::Store& store) {
  const int64_t now = clock_->UnixMs();
  auto bans = store.ListServerBans(now);
  if (!bans.ok()) {
    log_->Error("bans.read_failed", {{"error", std::string(bans.status().message())}});
    return;
  }
  std::atomic_store(&bans_, moderation::BanList::Build(std::move(*bans), now));
}

bool Server::UpdateConfig(const std::function<void(ServerConfig&)>& change) {
  struct Barrier {
    std::mutex mu;
    std::condition_variable cv;
    size_t parked = 0;
    bool released = false;
  };
  auto b = std::make_shared<Barrier>();
  for (auto& shard : shards_) {
    shard->Post([b] {
      std::unique_lock<std::mutex> lock(b->mu);
      ++b->parked;
      b->cv.notify_all();
      b->cv.wait(lock, [&b] { return b->released; });
    });
  }
  std::unique_lock<std::mutex> lock(b->mu);
  const bool all =
      b->cv.wait_for(lock, std::chrono::seconds(10), [&] { return b->parked == shards_.size(); });
  if (all) change(config_);
  b->released = true;
  b->cv.notify_all();
  return all;
}

void Server::ReloadBans() {
  Shard* zero = shards_[0].get();
  RunStorage(
      *zero, [this](store::Store& st) { RepublishBans(st); },
      [this, zero] {
        for (int i = 0; i < shard_count(); ++i) {
          zero->OnShard(i, [](Shard& s) { s.CloseBannedSessions(); });
        }
      });
}

bool Server::ReserveRoom() {
  if (rooms_.fetch_add(1) >= config_.max_rooms) {
    rooms_.fetch_sub(1);
    return false;
  }
  return true;
}

void Server::ReleaseRoom() { rooms_.fetch_sub(1); }

bool Server::InMaintenance(std::string* reason) const {
  if (!maintenance_->on()) return false;
  *reason = maintenance_->reason();
  return true;
}

bool Server::draining() const { return shutting_down_.load() || maintenance_->on(); }

bool Server::store_ok() const {
  if (!storage_) return false;
  const store::StorageThread::Stats st = storage_->stats();
  return st.depth < store::StorageThread::Options().max_queue;
}

store::StorageThread::Stats Server::storage_stats() const {
  return storage_ ? storage_->stats() : store::StorageThread::Stats{};
}

}  // namespace tutti::server
