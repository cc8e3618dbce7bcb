// ClockOffsetWindow: how far this node's server time is from Redis's clock, estimated
// from the publish script's round trips (docs/SCALE-OUT.md, "One timeline"). The script
// stamps each call with Redis's TIME; a call sent at server time s and answered at a
// was stamped somewhere in [s, a], so mid = (s + a) / 2 minus the stamp is the offset,
// off by at most half the round trip. The round trip grows with load and queues, never
// shrinks below the wire's, so each window keeps its fastest call's estimate, as NTP
// clients keep their best samples.
// ClockOffsetAlarm: whether those estimates say the node's clock has strayed from Redis's
// by more than a limit (then the operator is told once, and once more when it is back
// within half the limit, so an offset near the limit does not repeat the warning).
// Thread affinity: none; a ClockOffsetWindow is owned by a RedisBroker and used on its
// shard's thread, a ClockOffsetAlarm by the callback of shard 0's engine (broker_select.cc).
// Ownership: plain values. No transport: the engine hands them the times.
#ifndef TUTTI_SERVER_REDIS_CLOCK_OFFSET_H_
#define TUTTI_SERVER_REDIS_CLOCK_OFFSET_H_

#include <cstdint>
#include <optional>

namespace tutti::server::redis {

class ClockOffsetWindow {
 public:
  explicit ClockOffsetWindow(int64_t window_us) : window_us_(window_us) {}

  // One call sent at `sent_us`, answered at `answered_us` (server time), stamped
  // `redis_us` by the script (Redis's clock, µs since the Unix epoch).
  void Sample(int64_t sent_us, int64_t answered_us, int64_t redis_us) {
    if (answered_us < sent_us || redis_us <= 0) return;
    const int64_t rtt = answered_us - sent_us;
    if (!best_rtt_ || rtt < *best_rtt_) {
      best_rtt_ = rtt;
      best_offset_ = sent_us + rtt / 2 - redis_us;
    }
    if (window_start_ < 0) window_start_ = sent_us;
  }

  // The best estimate of a window that is over at `now_us` (then a new window starts);
  // nothing while the window runs or had no sample. The first sample is reported at once
  // (a rough figure at start beats none for a window).
  std::optional<int64_t> TakeIfDue(int64_t now_us) {
    if (window_start_ < 0) return std::nullopt;
    if (reported_ && now_us - window_start_ < window_us_) return std::nullopt;
    reported_ = true;
    std::optional<int64_t> out;
    if (best_rtt_) out = best_offset_;
    best_rtt_.reset();
    window_start_ = -1;
    return out;
  }

 private:
  const int64_t window_us_;
  int64_t window_start_ = -1;
  std::optional<int64_t> best_rtt_;
  int64_t best_offset_ = 0;
  bool reported_ = false;
};

class ClockOffsetAlarm {
 public:
  enum class Change { kNone, kOver, kBack };
  explicit ClockOffsetAlarm(int64_t limit_us) : limit_us_(limit_us) {}

  // One estimate (either sign): kOver when it passes the limit while the alarm was quiet,
  // kBack when it is within half the limit again, else kNone.
  Change Observe(int64_t offset_us) {
    const int64_t size = offset_us < 0 ? -offset_us : offset_us;
    if (!over_ && size > limit_us_) {
      over_ = true;
      return Change::kOver;
    }
    if (over_ && size <= limit_us_ / 2) {
      over_ = false;
      return Change::kBack;
    }
    return Change::kNone;
  }

 private:
  const int64_t limit_us_;
  bool over_ = false;
};

}  // namespace tutti::server::redis

#endif  // TUTTI_SERVER_REDIS_CLOCK_OFFSET_H_
