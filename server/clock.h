// Clock: the injected source of time for everything in the server. Server time is the
// monotonic clock in microseconds; the wall clock is used only for display and for
// expiry of stored bans (which must survive a restart). SystemClock is stateless and
// safe from any thread; tests substitute a FakeClock they advance by hand.
#ifndef TUTTI_SERVER_CLOCK_H_
#define TUTTI_SERVER_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>

namespace tutti::server {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowUs() const = 0;   // monotonic, microseconds
  virtual int64_t UnixMs() const = 0;  // wall clock, milliseconds
};

class SystemClock final : public Clock {
 public:
  int64_t NowUs() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  int64_t UnixMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

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
  }

 private:
  std::atomic<int64_t> now_us_;
  std::atomic<int64_t> unix_ms_;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_CLOCK_H_
