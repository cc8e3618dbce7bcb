#include "server/idle_sweep.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include <boost/asio/post.hpp>

#include "server/session.h"
#include "server/shard.h"

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

IdleSweeper::IdleSweeper(Shard* shard)
    : shard_(shard),
      idle_us_(int64_t{shard->cluster().config().idle_timeout_ms} * 1000),
      deadlines_(SlotUs(idle_us_)),
      timer_(shard->io()) {
  // A manual clock that jumps makes deadlines due at once; the real timer would wait for
  // the real time left. The callback only posts to this shard's loop.
  jump_subscription_ = shard->cluster().clock().SubscribeJumps(
      [this] { boost::asio::post(shard_->io(), [this] { Fire(); }); });
}

IdleSweeper::~IdleSweeper() { shard_->cluster().clock().UnsubscribeJumps(jump_subscription_); }

void IdleSweeper::Track(const SessionId id) {
  if (stopped_) return;
  deadlines_.Add(id, shard_->NowUs() + idle_us_);
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
  const int64_t wait_us = std::max<int64_t>(0, *next - shard_->NowUs());
  timer_.expires_after(std::chrono::microseconds(wait_us));
  timer_.async_wait([this, generation](const boost::system::error_code& ec) {
    if (ec || generation != generation_) return;
    armed_for_us_.reset();
    Fire();
  });
}

void IdleSweeper::Fire() {
  if (stopped_) return;
  const int64_t now = shard_->NowUs();
  for (SessionId id : deadlines_.TakeDue(now)) {
    ++shard_->mutable_counters().idle_checks;
    Session* s = shard_->FindSession(id);
    if (!s || s->closing()) continue;  // ended, or on its way out
    const int64_t deadline = s->last_activity_us + idle_us_;
    if (deadline <= now) {
      s->Close(kCloseIdle, "idle timeout");
    } else {
      deadlines_.Add(id, deadline);  // heard from since it was filed: file it again
    }
  }
  Arm();
}

}  // namespace tutti::server
