#include "server/parked_sessions.h"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>

#include "protos/tutti.pb.h"

namespace tutti::server {

ParkedSessions::ParkedSessions(boost::asio::io_context& io, const Clock* clock,
                               std::function<void(Parked)> expired)
    : io_(io), clock_(clock), expired_(std::move(expired)), timer_(io) {
  // A manual clock that jumps may make deadlines due at once; the real timer would wait for
  // the real time left. The callback only posts to this shard's loop.
  jump_subscription_ =
      clock_->SubscribeJumps([this] { boost::asio::post(io_, [this] { Fire(); }); });
}

ParkedSessions::~ParkedSessions() { clock_->UnsubscribeJumps(jump_subscription_); }

void ParkedSessions::Park(SessionId id, Parked parked) {
  if (stopped_) return;
  deadlines_.emplace(parked.deadline_us, id);
  parked_[id] = std::move(parked);
  Arm();
}

std::optional<ParkedSessions::Parked> ParkedSessions::Take(SessionId id) {
  auto it = parked_.find(id);
  if (it == parked_.end()) return std::nullopt;
  Parked p = std::move(it->second);
  parked_.erase(it);
  return p;
}

ParkedSessions::Parked* ParkedSessions::Find(SessionId id) {
  auto it = parked_.find(id);
  return it == parked_.end() ? nullptr : &it->second;
}

bool ParkedSessions::Hold(SessionId id, const Frame& frame) {
  Parked* p = Find(id);
  if (p == nullptr) return false;
  // Only what the session cannot get back by asking: answers to requests of the dead
  // connection, room-list deltas and the like are of no use to the next one.
  proto::ClientMessage m;
  if (!m.ParseFromString(frame->payload())) return true;
  if (!m.has_private_message() && !m.has_friend_event()) return true;
  p->held.push_back(frame);
  p->held_bytes += frame->wire_size();
  while (p->held.size() > kMaxHeldFrames || p->held_bytes > kMaxHeldBytes) {
    p->held_bytes -= p->held.front()->wire_size();
    p->held.pop_front();
  }
  return true;
}

void ParkedSessions::Stop() {
  stopped_ = true;
  ++generation_;
  armed_for_us_.reset();
  timer_.cancel();
}

void ParkedSessions::Arm() {
  if (stopped_ || deadlines_.empty()) return;
  const int64_t next = deadlines_.begin()->first;
  if (armed_for_us_ && *armed_for_us_ <= next) return;
  armed_for_us_ = next;
  const uint64_t generation = ++generation_;
  const int64_t wait_us = std::max<int64_t>(0, next - clock_->NowUs());
  timer_.expires_after(std::chrono::microseconds(wait_us));
  timer_.async_wait([this, generation](const boost::system::error_code& ec) {
    if (ec || generation != generation_) return;
    armed_for_us_.reset();
    Fire();
  });
}

void ParkedSessions::Fire() {
  if (stopped_) return;
  const int64_t now = clock_->NowUs();
  std::vector<Parked> due;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const SessionId id = deadlines_.begin()->second;
    const int64_t deadline = deadlines_.begin()->first;
    deadlines_.erase(deadlines_.begin());
    auto it = parked_.find(id);
    // Resumed meanwhile (taken), or parked again under a later deadline: not due.
    if (it == parked_.end() || it->second.deadline_us != deadline) continue;
    due.push_back(std::move(it->second));
    parked_.erase(it);
  }
  for (Parked& p : due) expired_(std::move(p));
  Arm();
}

}  // namespace tutti::server
