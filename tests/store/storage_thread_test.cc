#include "server/store/storage_thread.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/store/temp_dir.h"

namespace tutti::server::store {
namespace {

// Stands in for a shard: completions are queued and run on the test's thread, the
// way a shard runs them on its io_context.
class FakeShard {
 public:
  StorageThread::Executor executor() {
    return [this](std::function<void()> fn) {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(fn));
      cv_.notify_one();
    };
  }

  // Runs completions on this thread until `n` have run; false on a 10 s timeout.
  bool RunCompletions(int n) {
    for (int i = 0; i < n; ++i) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (!cv_.wait_for(lock, std::chrono::seconds(10), [&] { return !queue_.empty(); })) {
          return false;
        }
        fn = std::move(queue_.front());
        queue_.pop_front();
      }
      EXPECT_EQ(std::this_thread::get_id(), owner_);
      fn();
    }
    return true;
  }

  size_t pending() {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_.size();
  }

 private:
  const std::thread::id owner_ = std::this_thread::get_id();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
};

class StorageThreadTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> OpenStore() {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir_.File("t.db"));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  TempDir dir_;
  FakeShard shard_;
};

TEST_F(StorageThreadTest, WorkRunsOffTheCallerThreadAndCompletesOnTheExecutor) {
  StorageThread storage(OpenStore());
  const std::thread::id caller = std::this_thread::get_id();
  std::thread::id worker;
  absl::Status result = absl::UnknownError("not called");
  ASSERT_TRUE(storage
                  .Submit(
                      [&](Store& store) {
                        worker = std::this_thread::get_id();
                        return store.AddServerBan(moderation::ServerBan{"eve", "", "", 1, 0});
                      },
                      shard_.executor(), [&](absl::Status status) { result = status; })
                  .ok());
  ASSERT_TRUE(shard_.RunCompletions(1));
  EXPECT_TRUE(result.ok()) << result;
  EXPECT_NE(worker, caller);
}

TEST_F(StorageThreadTest, ResultsOfAnyTypeAreHandedBack) {
  StorageThread storage(OpenStore());
  std::vector<moderation::ServerBan> bans;
  ASSERT_TRUE(storage
                  .Submit(
                      [](Store& store) {
                        (void)store.AddServerBan(moderation::ServerBan{"a", "", "", 1, 0});
                        return store.ListServerBans(0);
                      },
                      shard_.executor(),
                      [&](absl::StatusOr<std::vector<moderation::ServerBan>> listed) {
                        ASSERT_TRUE(listed.ok());
                        bans = std::move(*listed);
                      })
                  .ok());
  bool void_done = false;
  ASSERT_TRUE(storage.Submit([](Store&) {}, shard_.executor(), [&] { void_done = true; }).ok());
  ASSERT_TRUE(shard_.RunCompletions(2));
  ASSERT_EQ(bans.size(), 1u);
  EXPECT_EQ(bans[0].target, "a");
  EXPECT_TRUE(void_done);
}

TEST_F(StorageThreadTest, RunsInSubmissionOrder) {
  StorageThread storage(OpenStore());
  std::vector<int> ran;  // touched only on the storage thread, then read after Stop
  std::vector<int> completed;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(storage
                    .Submit(
                        [&ran, i](Store&) {
                          ran.push_back(i);
                          return i;
                        },
                        shard_.executor(),
                        [&completed](int i_done) { completed.push_back(i_done); })
                    .ok());
  }
  ASSERT_TRUE(shard_.RunCompletions(100));
  storage.Stop();
  ASSERT_EQ(ran.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(ran[i], i);
    EXPECT_EQ(completed[i], i);
  }
}

TEST_F(StorageThreadTest, FullQueueRefusesWithoutBlocking) {
  StorageThread::Options options;
  options.max_queue = 2;
  StorageThread storage(OpenStore(), options);
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> release_future = release.get_future().share();
  ASSERT_TRUE(storage
                  .Post([&started, release_future](Store&) {
                    started.set_value();
                    release_future.wait();
                  })
                  .ok());
  started.get_future().wait();  // the worker is busy; the queue is empty
  ASSERT_TRUE(storage.Post([](Store&) {}).ok());
  ASSERT_TRUE(storage.Post([](Store&) {}).ok());
  bool called = false;
  absl::Status refused = storage.Submit([](Store&) { return absl::OkStatus(); }, shard_.executor(),
                                        [&](absl::Status) { called = true; });
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(storage.Post([](Store&) {}).code(), absl::StatusCode::kResourceExhausted);
  release.set_value();
  storage.Stop();
  EXPECT_FALSE(called);  // a refused Submit never completes
  EXPECT_EQ(shard_.pending(), 0u);
  StorageThread::Stats stats = storage.stats();
  EXPECT_EQ(stats.rejected, 2u);
  EXPECT_EQ(stats.completed, 3u);
  EXPECT_EQ(stats.max_depth, 2u);
}

TEST_F(StorageThreadTest, StopDrainsTheQueueThenRefuses) {
  StorageThread storage(OpenStore());
  std::atomic<int> ran{0};
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(storage
                    .Post([&ran](Store& store) {
                      moderation::AuditRecord record;
                      record.actor = "a";
                      (void)store.AppendAudit(record);
                      ++ran;
                    })
                    .ok());
  }
  storage.Stop();
  EXPECT_EQ(ran.load(), 50);
  EXPECT_EQ(storage.Post([](Store&) {}).code(), absl::StatusCode::kFailedPrecondition);
  storage.Stop();  // idempotent
}

TEST_F(StorageThreadTest, AThrowingOperationReportsInternalAndTheThreadLivesOn) {
  StorageThread storage(OpenStore());
  absl::Status first = absl::OkStatus();
  absl::Status second = absl::UnknownError("not called");
  ASSERT_TRUE(storage
                  .Submit([](Store&) -> absl::Status { throw std::runtime_error("disk on fire"); },
                          shard_.executor(), [&](absl::Status s) { first = s; })
                  .ok());
  ASSERT_TRUE(storage
                  .Submit([](Store&) { return absl::OkStatus(); }, shard_.executor(),
                          [&](absl::Status s) { second = s; })
                  .ok());
  ASSERT_TRUE(shard_.RunCompletions(2));
  EXPECT_EQ(first.code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(second.ok());
  storage.Stop();
  EXPECT_EQ(storage.stats().exceptions, 1u);
}

TEST_F(StorageThreadTest, MeasuresQueueWaitAndRunTimeWithTheInjectedClock) {
  std::atomic<int64_t> fake_ns{0};
  StorageThread::Options options;
  options.clock = [&fake_ns] { return fake_ns.load(); };
  StorageThread storage(OpenStore(), options);
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> release_future = release.get_future().share();
  // A: enqueued and started at 0, blocks until released at 1000.
  ASSERT_TRUE(storage
                  .Post([&started, release_future](Store&) {
                    started.set_value();
                    release_future.wait();
                  })
                  .ok());
  started.get_future().wait();
  fake_ns = 100;
  ASSERT_TRUE(storage.Post([](Store&) {}).ok());  // B: enqueued at 100
  fake_ns = 1000;
  release.set_value();
  storage.Stop();
  StorageThread::Stats stats = storage.stats();
  EXPECT_EQ(stats.completed, 2u);
  EXPECT_EQ(stats.max_run_ns, 1000);  // A
  EXPECT_EQ(stats.max_wait_ns, 900);  // B waited from 100 to 1000
  EXPECT_EQ(stats.total_wait_ns, 900);
  EXPECT_DOUBLE_EQ(stats.avg_wait_us(), 0.45);
}

TEST_F(StorageThreadTest, ManyShardsSubmitConcurrently) {
  StorageThread storage(OpenStore());
  constexpr int kThreads = 4;
  constexpr int kEach = 50;
  std::vector<std::thread> shards;
  std::atomic<int> ok{0};
  for (int t = 0; t < kThreads; ++t) {
    shards.emplace_back([&, t] {
      FakeShard shard;
      for (int i = 0; i < kEach; ++i) {
        const std::string user = "u" + std::to_string(t) + "_" + std::to_string(i);
        absl::Status submitted = storage.Submit(
            [user](Store& store) {
              return store.UpsertProfile(Profile{user, user, "", 0, "", 1});
            },
            shard.executor(), [&ok](absl::Status s) { ok += s.ok(); });
        ASSERT_TRUE(submitted.ok());
      }
      ASSERT_TRUE(shard.RunCompletions(kEach));
    });
  }
  for (std::thread& shard : shards) shard.join();
  EXPECT_EQ(ok.load(), kThreads * kEach);
  int found = 0;
  ASSERT_TRUE(
      storage
          .Submit(
              [](Store& store) {
                int n = 0;
                for (int t = 0; t < kThreads; ++t) {
                  for (int i = 0; i < kEach; ++i) {
                    n += store.GetProfile("u" + std::to_string(t) + "_" + std::to_string(i)).ok();
                  }
                }
                return n;
              },
              shard_.executor(), [&found](int n) { found = n; })
          .ok());
  ASSERT_TRUE(shard_.RunCompletions(1));
  EXPECT_EQ(found, kThreads * kEach);
}

}  // namespace
}  // namespace tutti::server::store
