// The storage thread: owns the Store and runs every database operation on one
// dedicated std::thread, so that SQLite I/O (an fsync per committed write) never
// blocks a shard's event loop.
//
// Thread affinity: Post/Submit/stats may be called from any thread (a mutex guards
// the queue; each call holds it for a push). The work functions run on the storage
// thread only; completions run wherever the caller's Executor puts them (a shard's
// io_context, via asio::post).
// Ownership: one instance for the server, created at startup from an opened Store and
// stopped at shutdown after the shards stop submitting and before they stop running
// (Stop drains the queue, and the completions it posts need a live executor).
//
// Flow control: the queue is bounded; a full queue refuses with RESOURCE_EXHAUSTED at
// once instead of blocking the caller's event loop, and the caller turns that into a
// typed error reply. Order: work items run in submission order (FIFO), so two writes
// from one shard commit in the order they were submitted.
#ifndef TUTTI_SERVER_STORE_STORAGE_THREAD_H_
#define TUTTI_SERVER_STORE_STORAGE_THREAD_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "server/metrics/shard_histogram.h"
#include "server/store/store.h"

namespace tutti::server::store {

class StorageThread {
 public:
  // How a caller receives completions: it gets a closure and must run it on the
  // caller's own thread (e.g. [io](auto f) { asio::post(io, std::move(f)); }).
  using Executor = std::function<void(std::function<void()>)>;
  // Monotonic nanoseconds, for the queue-latency figures only.
  using Clock = std::function<int64_t()>;

  struct Options {
    // 4096 waiting operations is several seconds of commits at fsync speed; a longer
    // queue would only hide an overloaded disk behind growing latency.
    size_t max_queue = 4096;
    Clock clock;  // empty = std::chrono::steady_clock
  };

  // Latency and load figures for metrics. Wait = enqueue to start; run = start to end.
  struct Stats {
    uint64_t submitted = 0;
    uint64_t completed = 0;
    uint64_t rejected = 0;    // refused because the queue was full or stopped
    uint64_t exceptions = 0;  // work items that threw (caught; the thread lives on)
    size_t depth = 0;
    size_t max_depth = 0;
    int64_t max_wait_ns = 0;
    int64_t total_wait_ns = 0;
    int64_t max_run_ns = 0;
    int64_t total_run_ns = 0;
    double avg_wait_us() const { return completed ? total_wait_ns / 1e3 / completed : 0.0; }
    double avg_run_us() const { return completed ? total_run_ns / 1e3 / completed : 0.0; }
  };

  StorageThread(std::unique_ptr<Store> store, Options options);
  explicit StorageThread(std::unique_ptr<Store> store);
  // Stops (draining the queue) if Stop was not called.
  ~StorageThread();

  StorageThread(const StorageThread&) = delete;
  StorageThread& operator=(const StorageThread&) = delete;

  // Queues `work` to run on the storage thread with the Store. RESOURCE_EXHAUSTED when
  // the queue is full, FAILED_PRECONDITION after Stop. The caller learns nothing of
  // the outcome; use Submit for that.
  absl::Status Post(std::function<void(Store&)> work);

  // Runs `work(store)` on the storage thread, then `done(result)` through `reply_to`.
  // `done` is called exactly once if and only if Submit returns OK. If `work` throws and
  // its result type is constructible from absl::Status (Status, StatusOr<T>), `done`
  // receives INTERNAL; other result types get no call in that case. Work, Done and
  // the result must be copyable (they travel inside std::function).
  template <typename Work, typename Done>
  absl::Status Submit(Work work, Executor reply_to, Done done);

  // Refuses new work, runs everything already queued, and joins the thread.
  // Idempotent. Must not be called from a work item (it would wait for itself).
  void Stop();

  Stats stats() const;
  // Histograms for the operator, readable from any thread: queue wait and run time of
  // each operation (written by the storage thread) and the depth each submission found
  // (written under the queue's mutex).
  const metrics::ShardHistogram& wait_histogram() const { return wait_us_; }
  const metrics::ShardHistogram& run_histogram() const { return run_us_; }
  const metrics::ShardHistogram& depth_histogram() const { return depth_at_submit_; }

 private:
  struct Item {
    std::function<void(Store&)> work;
    int64_t enqueued_ns;
  };

  void Run();
  int64_t Now() const;

  std::unique_ptr<Store> store_;
  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Item> queue_;  // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  Stats stats_;             // guarded by mu_
  metrics::ShardHistogram wait_us_{metrics::kLatencyUs};
  metrics::ShardHistogram run_us_{metrics::kLatencyUs};
  metrics::ShardHistogram depth_at_submit_{metrics::kQueueDepth};
  std::thread thread_;  // started last, after every member above exists
};

template <typename Work, typename Done>
absl::Status StorageThread::Submit(Work work, Executor reply_to, Done done) {
  using Result = std::invoke_result_t<Work&, Store&>;
  return Post([work = std::move(work), reply_to = std::move(reply_to),
               done = std::move(done)](Store& store) mutable {
    if constexpr (std::is_void_v<Result>) {
      work(store);
      reply_to(done);
    } else {
      // shared_ptr: the result is handed over without another copy even though the
      // closure must be copyable for std::function.
      std::shared_ptr<Result> result;
      try {
        result = std::make_shared<Result>(work(store));
      } catch (...) {
        if constexpr (std::is_constructible_v<Result, absl::Status>) {
          result = std::make_shared<Result>(absl::InternalError("storage operation threw"));
          reply_to([done, result]() mutable { done(std::move(*result)); });
        }
        throw;  // counted by the thread loop
      }
      reply_to([done, result]() mutable { done(std::move(*result)); });
    }
  });
}

}  // namespace tutti::server::store

#endif  // TUTTI_SERVER_STORE_STORAGE_THREAD_H_
