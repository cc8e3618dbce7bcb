// Store costs: committed writes (each one an fsync of the WAL, synchronous=FULL),
// reads through cached prepared statements, the storage-thread round trip a shard
// pays on top, and the ban-snapshot lookup the upgrade gate runs per connection.
//
// Run: tutti_store_bench [--benchmark_filter=...]; set TMPDIR to measure another disk.
#include <stdlib.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "server/moderation/ban_list.h"
#include "server/store/storage_thread.h"
#include "server/store/store.h"

namespace tutti::server::store {
namespace {

constexpr int64_t kNow = 1'800'000'000'000;

// A store in a fresh temporary directory, deleted afterwards.
class BenchStore {
 public:
  BenchStore() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/tutti_bench_XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    dir_ = pattern;
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir_ + "/bench.db");
    if (!store.ok()) std::abort();
    store_ = std::move(*store);
  }
  ~BenchStore() {
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  Store& store() { return *store_; }
  std::unique_ptr<Store> Release() { return std::move(store_); }

 private:
  std::string dir_;
  std::unique_ptr<Store> store_;
};

void Check(const absl::Status& status, benchmark::State& state) {
  if (!status.ok()) state.SkipWithError(std::string(status.message()).c_str());
}

void BM_CommitServerBan(benchmark::State& state) {
  BenchStore bench;
  int64_t i = 0;
  for (auto _ : state) {
    Check(bench.store().AddServerBan(
              moderation::ServerBan{"user-" + std::to_string(i++), "spam", "admin", kNow, 0}),
          state);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CommitServerBan)->UseRealTime();

// One friendship end to end: the request and its acceptance, two transactions.
void BM_CommitFriendRequestAndAccept(benchmark::State& state) {
  BenchStore bench;
  int64_t i = 0;
  for (auto _ : state) {
    const std::string a = "a" + std::to_string(i);
    const std::string b = "b" + std::to_string(i++);
    absl::StatusOr<FriendRequestResult> sent = bench.store().SendFriendRequest(a, b, kNow);
    Check(sent.status(), state);
    Check(bench.store().AcceptFriendRequest(b, a, kNow), state);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CommitFriendRequestAndAccept)->UseRealTime();

void BM_CommitSaveRoom(benchmark::State& state) {
  BenchStore bench;
  RoomRecord room;
  room.room_id = "jam";
  room.name = "Jam";
  room.settings = std::string(24, 'x');
  room.owner_id = "olive";
  room.moderators = {"ann", "max", "mia"};
  int64_t i = 0;
  for (auto _ : state) {
    room.topic = "topic " + std::to_string(i++);
    Check(bench.store().SaveRoom(room), state);
  }
}
BENCHMARK(BM_CommitSaveRoom)->UseRealTime();

void BM_CommitAuditRecord(benchmark::State& state) {
  BenchStore bench;
  moderation::AuditRecord record;
  record.actor = "max";
  record.action = moderation::AuditAction::kKick;
  record.target = "bob";
  record.room_id = "jam";
  record.reason = "spam";
  for (auto _ : state) {
    record.unix_ms = kNow + state.iterations();
    Check(bench.store().AppendAudit(record), state);
  }
}
BENCHMARK(BM_CommitAuditRecord)->UseRealTime();

void BM_ReadProfile(benchmark::State& state) {
  BenchStore bench;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = "user" + std::to_string(i);
    Check(bench.store().UpsertProfile(Profile{id, id, std::string(64, 'a'), 0, "hi", kNow}), state);
  }
  int i = 0;
  for (auto _ : state) {
    absl::StatusOr<Profile> profile = bench.store().GetProfile("user" + std::to_string(i++ % 1000));
    benchmark::DoNotOptimize(profile);
  }
}
BENCHMARK(BM_ReadProfile);

// A friend list of state.range(0) friends, with their profiles joined in.
void BM_ReadFriendList(benchmark::State& state) {
  BenchStore bench;
  for (int i = 0; i < state.range(0); ++i) {
    const std::string id = "friend" + std::to_string(i);
    Check(bench.store().UpsertProfile(Profile{id, id, "", 0, "", kNow}), state);
    (void)bench.store().SendFriendRequest("me", id, kNow);
    Check(bench.store().AcceptFriendRequest(id, "me", kNow), state);
  }
  for (auto _ : state) {
    absl::StatusOr<std::vector<FriendRow>> rows = bench.store().ListFriends("me");
    benchmark::DoNotOptimize(rows);
  }
}
BENCHMARK(BM_ReadFriendList)->Arg(10)->Arg(100);

// Loading every server ban and building the gate's snapshot: what a ban or unban
// costs the publisher besides its commit.
void BM_ListServerBansAndBuildSnapshot(benchmark::State& state) {
  BenchStore bench;
  for (int i = 0; i < state.range(0); ++i) {
    std::string target =
        i % 2 ? "user" + std::to_string(i)
              : "10." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) + ".0/24";
    Check(bench.store().AddServerBan(moderation::ServerBan{target, "", "", kNow, 0}), state);
  }
  for (auto _ : state) {
    absl::StatusOr<std::vector<moderation::ServerBan>> bans = bench.store().ListServerBans(kNow);
    auto snapshot = moderation::BanList::Build(std::move(*bans), kNow);
    benchmark::DoNotOptimize(snapshot);
  }
}
BENCHMARK(BM_ListServerBansAndBuildSnapshot)->Arg(1000);

// The upgrade gate's per-connection check against a snapshot of 1000 bans.
void BM_BanSnapshotMatch(benchmark::State& state) {
  std::vector<moderation::ServerBan> bans;
  for (int i = 0; i < 1000; ++i) {
    bans.push_back({i % 2 ? "user" + std::to_string(i)
                          : "10." + std::to_string(i % 256) + ".0.0/" + std::to_string(16 + i % 9),
                    "", "", kNow, 0});
  }
  auto snapshot = moderation::BanList::Build(std::move(bans), kNow);
  for (auto _ : state) {
    auto hit = snapshot->Match("someone", "192.0.2.44", kNow);
    benchmark::DoNotOptimize(hit);
  }
}
BENCHMARK(BM_BanSnapshotMatch);

// What a shard waits from Submit to its completion for a cheap read: the thread hop
// there and back, on top of the work itself.
void BM_StorageThreadRoundTripRead(benchmark::State& state) {
  BenchStore bench;
  Check(bench.store().UpsertProfile(Profile{"u", "U", "", 0, "", kNow}), state);
  StorageThread storage(bench.Release());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::function<void()>> inbox;
  StorageThread::Executor executor = [&](std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu);
    inbox.push_back(std::move(fn));
    cv.notify_one();
  };
  for (auto _ : state) {
    bool done = false;
    Check(storage.Submit([](Store& s) { return s.GetProfile("u"); }, executor,
                         [&done](absl::StatusOr<Profile> p) { done = p.ok(); }),
          state);
    std::function<void()> fn;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return !inbox.empty(); });
      fn = std::move(inbox.back());
      inbox.clear();
    }
    fn();
    if (!done) state.SkipWithError("read failed");
  }
  storage.Stop();
  StorageThread::Stats stats = storage.stats();
  state.counters["avg_queue_wait_us"] = stats.avg_wait_us();
  state.counters["max_queue_wait_us"] = stats.max_wait_ns / 1e3;
}
BENCHMARK(BM_StorageThreadRoundTripRead)->UseRealTime();

}  // namespace
}  // namespace tutti::server::store

BENCHMARK_MAIN();
