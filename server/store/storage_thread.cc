#include "server/store/storage_thread.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"

namespace tutti::server::store {

StorageThread::StorageThread(std::unique_ptr<Store> store)
    : StorageThread(std::move(store), Options()) {}

StorageThread::StorageThread(std::unique_ptr<Store> store, Options options)
    : store_(std::move(store)), options_(std::move(options)) {
  thread_ = std::thread([this] { Run(); });
}

StorageThread::~StorageThread() { Stop(); }

int64_t StorageThread::Now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

absl::Status StorageThread::Post(std::function<void(Store&)> work) {
  const int64_t now = Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      ++stats_.rejected;
      return absl::FailedPreconditionError("the storage thread is stopped");
    }
    if (queue_.size() >= options_.max_queue) {
      ++stats_.rejected;
      return absl::ResourceExhaustedError(
          absl::StrCat("storage queue full (", queue_.size(), " operations waiting)"));
    }
    depth_at_submit_.Observe(queue_.size());
    queue_.push_back(Item{std::move(work), now});
    ++stats_.submitted;
    stats_.depth = queue_.size();
    stats_.max_depth = std::max(stats_.max_depth, stats_.depth);
  }
  wake_.notify_one();
  return absl::OkStatus();
}

void StorageThread::Run() {
  while (true) {
    Item item;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued has run
      item = std::move(queue_.front());
      queue_.pop_front();
      stats_.depth = queue_.size();
    }
    const int64_t start = Now();
    bool threw = false;
    // An exception must not end the thread: every later operation would be lost.
    try {
      item.work(*store_);
    } catch (...) {
      threw = true;
    }
    const int64_t end = Now();
    // The closure may hold the caller's objects; release them before the next wait.
    item.work = nullptr;
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.completed;
    if (threw) ++stats_.exceptions;
    const int64_t wait = start - item.enqueued_ns;
    const int64_t run = end - start;
    stats_.total_wait_ns += wait;
    stats_.total_run_ns += run;
    wait_us_.Observe(wait > 0 ? static_cast<uint64_t>(wait / 1000) : 0);
    run_us_.Observe(run > 0 ? static_cast<uint64_t>(run / 1000) : 0);
    stats_.max_wait_ns = std::max(stats_.max_wait_ns, wait);
    stats_.max_run_ns = std::max(stats_.max_run_ns, run);
  }
}

void StorageThread::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

StorageThread::Stats StorageThread::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace tutti::server::store
