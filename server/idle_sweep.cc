#include "server/idle_sweep.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include <boost/asio/post.hpp>

namespace tutti::server {
namespace {

// The old sweep looked at every session every 250 ms; deadlines keep that precision, or
// an eighth of the timeout when that is shorter (a session is closed at most that late).
int64_t SlotUs(int64_t idle_us) { return std::clamp<int64_t>(idle_us / 8, 1000, 250 * 1000); }

}  // namespace

// --- IdleDeadlines ----------------------------------------------------------------------

void IdleDeadlines::Add(SessionId id, int64_t deadline_us) {
  // Rounded up: a slot is never due before the deadlines filed in it.
  int64_t slot = deadline_us / slot_us_ * slot_us_;
  if (slot < deadline_us) slot += slot_us_;
  slots_[slot].push_back(id);
  ++size_;
}

std::optional<int64_t> IdleDeadlines::NextDueUs() const {
  if (slots_.empty()) return std::nullopt;
  return slots_.begin()->first;
}

std::vector<SessionId> IdleDeadlines::TakeDue(int64_t now_us) {
  std::vector<SessionId> due;
  while (!slots_.empty() && slots_.begin()->first <= now_us) {
    auto first = slots_.begin();
    size_ -= first->second.size();
    if (due.empty()) {
      due = std::move(first->second);
    } else {
      due.insert(due.end(), first->second.begin(), first->second.end());
    }
    slots_.erase(first);
  }
  return due;
}

// --- IdleSweeper --------------------------------------------------------------------------

IdleSweeper::IdleSweeper(boost::asio::io_context& io, const Clock& clock, int idle_timeout_ms,
                         LastHeard last_heard, CloseIdle close_idle)
    : clock_(clock),
      io_(io),
      last_heard_(std::move(last_heard)),
      close_idle_(std::move(close_idle)),
      idle_us_(int64_t{idle_timeout_ms} * 1000),
      deadlines_(SlotUs(idle_us_)),
      timer_(io) {
  // A manual clock that jumps makes deadlines due at once; the real timer would wait for
  // the real time left. The callback only posts to this shard's loop.
  jump_subscription_ =
      clock_.SubscribeJumps([this] { boost::asio::post(io_, [this] { Fire(); }); });
}

IdleSweeper::~IdleSweeper() { clock_.UnsubscribeJumps(jump_subscription_); }

void IdleSweeper::Track(const SessionId id) {
  if (stopped_) return;
  deadlines_.Add(id, clock_.NowUs() + idle_us_);
  Arm();
}

void IdleSweeper::Stop() {
  stopped_ = true;
  ++generation_;
  armed_for_us_.reset();
  timer_.cancel();
}

void IdleSweeper::Arm() {
  if (stopped_) return;
  const std::optional<int64_t> next = deadlines_.NextDueUs();
  if (!next) return;  // nothing filed: no timer at all
  if (armed_for_us_ && *armed_for_us_ <= *next) return;
  armed_for_us_ = next;
  const uint64_t generation = ++generation_;
  const int64_t wait_us = std::max<int64_t>(0, *next - clock_.NowUs());
  timer_.expires_after(std::chrono::microseconds(wait_us));
  timer_.async_wait([this, generation](const boost::system::error_code& ec) {
    if (ec || generation != generation_) return;
    armed_for_us_.reset();
    Fire();
  });
}

void IdleSweeper::Fire() {
  if (stopped_) return;
  const int64_t now = clock_.NowUs();
  for (SessionId id : deadlines_.TakeDue(now)) {
    const std::optional<int64_t> heard = last_heard_(id);
    if (!heard) continue;  // ended, or on its way out
    const int64_t deadline = *heard + idle_us_;
    if (deadline <= now) {
      close_idle_(id);
    } else {
      deadlines_.Add(id, deadline);  // heard from since it was filed: file it again
    }
  }
  Arm();
}

}  // namespace tutti::server
