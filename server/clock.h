// Clock: the injected source of time for everything in the server. Server time is the
// monotonic clock in microseconds; the wall clock is used only for display and for
// expiry of stored bans (which must survive a restart). With several nodes, server time
// is the monotonic clock plus a constant taken at start that puts it on the wall clock
// (SystemClock(WallAnchorUs())): one node's MIDI stamps and tempo anchors reach clients
// synced to another node, and two machines' monotonic clocks count from their boots, so
// only the wall clocks (kept together by NTP) give them one timeline. The constant keeps
// server time monotonic when the wall clock is stepped later. SystemClock is immutable
// and safe from any thread; tests substitute a FakeClock they advance by hand. Timers that
// sleep until a time of this clock (idle deadlines) subscribe to hear when a FakeClock
// jumps, so a test's clock drives them without any periodic polling; the system clock
// never jumps and never calls back.
#ifndef TUTTI_SERVER_CLOCK_H_
#define TUTTI_SERVER_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <utility>

namespace tutti::server {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowUs() const = 0;   // monotonic, microseconds
  virtual int64_t UnixMs() const = 0;  // wall clock, milliseconds
  // `fn` runs (on the thread that moved the clock) after every jump of a manual clock;
  // it must only post work elsewhere. Returns an id for Unsubscribe (0: this clock never
  // jumps and keeps nothing).
  virtual int SubscribeJumps(std::function<void()> fn) const { return 0; }
  // After it returns, the subscription's function is not running and never runs again.
  virtual void UnsubscribeJumps(int id) const {}
};

class SystemClock final : public Clock {
 public:
  // `offset_us` is added to the monotonic clock (0: server time is the monotonic clock).
  explicit SystemClock(int64_t offset_us = 0) : offset_us_(offset_us) {}
  int64_t NowUs() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
               .count() +
           offset_us_;
  }
  int64_t UnixMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

 private:
  const int64_t offset_us_;
};

// The offset that puts the monotonic clock on the wall clock now (µs since the Unix
// epoch): taken once, at a node's start.
inline int64_t WallAnchorUs() {
  using std::chrono::microseconds;
  const auto wall = std::chrono::system_clock::now().time_since_epoch();
  const auto mono = std::chrono::steady_clock::now().time_since_epoch();
  return std::chrono::duration_cast<microseconds>(wall).count() -
         std::chrono::duration_cast<microseconds>(mono).count();
}

// Thread-safe manual clock for tests.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_us = 1'000'000'000, int64_t unix_ms = 1'700'000'000'000)
      : now_us_(now_us), unix_ms_(unix_ms) {}
  int64_t NowUs() const override { return now_us_.load(); }
  int64_t UnixMs() const override { return unix_ms_.load(); }
  void AdvanceUs(int64_t us) {
    now_us_ += us;
    unix_ms_ += us / 1000;
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, fn] : subscribers_) fn();
  }
  int SubscribeJumps(std::function<void()> fn) const override {
    std::lock_guard<std::mutex> lock(mu_);
    subscribers_.emplace(++last_id_, std::move(fn));
    return last_id_;
  }
  void UnsubscribeJumps(int id) const override {
    std::lock_guard<std::mutex> lock(mu_);
    subscribers_.erase(id);
  }

 private:
  std::atomic<int64_t> now_us_;
  std::atomic<int64_t> unix_ms_;
  // Subscriptions are bookkeeping, not time: a const clock (as the server holds it) takes
  // them too. Held during the calls, so an unsubscribe waits for a running one.
  mutable std::mutex mu_;
  mutable std::map<int, std::function<void()>> subscribers_;
  mutable int last_id_ = 0;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_CLOCK_H_
