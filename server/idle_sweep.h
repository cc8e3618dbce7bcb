// Idle deadlines of one shard's sessions. IdleDeadlines is the pure part: a timer wheel of
// coarse slots (session ids due at a slot time), checked lazily — a frame only updates the
// session's last_activity_us, and a session is looked at again only when the deadline it
// was filed under comes; still active, it is filed again under its real deadline. So an
// idle shard does nothing between deadlines, and the work is one visit per session per
// idle_timeout_ms at most, not one per session per sweep. IdleSweeper puts it on a shard:
// one steady_timer armed for the earliest slot (none while nothing is filed), woken early
// when a manual clock jumps (clock.h), closing what is past its deadline. It knows sessions
// by id only: the shard hands it the calls that read a session's last activity and close it
// (so this module does not depend on Shard or Session).
// IdleDeadlines: plain data, not thread-safe. IdleSweeper: owned by one Shard, used on its
// thread only (the io_context it is given; the clock's jump callback only posts to it).
#ifndef TUTTI_SERVER_IDLE_SWEEP_H_
#define TUTTI_SERVER_IDLE_SWEEP_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "server/clock.h"
#include "server/ids.h"

namespace tutti::server {

class IdleDeadlines {
 public:
  // Deadlines are rounded up to a multiple of `slot_us`: a session is looked at no earlier
  // than its deadline and at most one slot after it.
  explicit IdleDeadlines(int64_t slot_us) : slot_us_(slot_us > 0 ? slot_us : 1) {}

  // Files `id` to be looked at when `deadline_us` has come. A session is filed once at a
  // time; ids of sessions that ended stay filed until their slot comes (the caller skips
  // them), which bounds the leftovers by the sessions ended within one timeout.
  void Add(SessionId id, int64_t deadline_us);
  // When the earliest filed slot comes; nullopt when nothing is filed.
  std::optional<int64_t> NextDueUs() const;
  // Unfiles and returns every id whose slot has come at `now_us`, earliest slot first.
  std::vector<SessionId> TakeDue(int64_t now_us);
  size_t size() const { return size_; }

 private:
  const int64_t slot_us_;
  std::map<int64_t, std::vector<SessionId>> slots_;  // slot time (us) -> ids filed there
  size_t size_ = 0;
};

class IdleSweeper {
 public:
  // When the session was last heard from (clock time, us); nullopt when it has ended or is
  // closing. Called once per look, which is what Counters::idle_checks counts.
  using LastHeard = std::function<std::optional<int64_t>(SessionId)>;
  // Closes a session past its deadline (close code 4000).
  using CloseIdle = std::function<void(SessionId)>;

  IdleSweeper(boost::asio::io_context& io, const Clock& clock, int idle_timeout_ms,
              LastHeard last_heard, CloseIdle close_idle);
  ~IdleSweeper();
  IdleSweeper(const IdleSweeper&) = delete;
  IdleSweeper& operator=(const IdleSweeper&) = delete;

  // A new session: its first deadline is idle_timeout_ms from now.
  void Track(const SessionId id);
  // Shutting down: the timer is cancelled and nothing is closed for idleness any more.
  void Stop();

  size_t filed() const { return deadlines_.size(); }

 private:
  void Arm();
  void Fire();

  const Clock& clock_;
  boost::asio::io_context& io_;
  const LastHeard last_heard_;
  const CloseIdle close_idle_;
  const int64_t idle_us_;
  IdleDeadlines deadlines_;
  boost::asio::steady_timer timer_;
  std::optional<int64_t> armed_for_us_;  // the clock time the pending wait is for
  uint64_t generation_ = 0;              // a wait replaced by a nearer one is ignored
  int jump_subscription_ = 0;
  bool stopped_ = false;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_IDLE_SWEEP_H_
