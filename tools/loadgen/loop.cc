#include "tools/loadgen/loop.h"

#include <algorithm>
#include <chrono>
#include <random>

namespace tutti::loadgen {

namespace asio = boost::asio;

void Loop::ChurnFinished(Conn* c, bool ok) {
  if (ok) {
    ++tally_.counts[kChurnCycles];
    tally_.churn_cycle.Record(NowUs() - c->started_us);
  } else {
    ++tally_.counts[kChurnFailed];
  }
  // Erased after the current handler returns: the caller still runs on `c`. It may
  // also sit in the dirty list (a frame queued before it finished); drop it there
  // first, or the next Tick would flush a freed connection.
  asio::post(io_, [this, c] {
    dirty_.erase(std::remove(dirty_.begin(), dirty_.end(), c), dirty_.end());
    churners_.erase(c);
  });
}

void Loop::SetSchedules(int64_t play_start, const Options& o) {
  std::mt19937 rng(static_cast<unsigned>(index_) + 7);
  std::uniform_real_distribution<double> unit(0, 1);
  const double start = static_cast<double>(play_start);
  for (Conn* p : players_) p->next_midi_us = start + (o.rate > 0 ? unit(rng) * 1e6 / o.rate : 0);
  for (auto& c : members_) {
    c->next_chat_us = start + (o.chat_rate > 0 ? unit(rng) * 1e6 / o.chat_rate : 0);
  }
}

void Loop::Begin() {
  const Options& o = shared_->options;
  connect_budget_ = std::max(1, o.max_connecting / std::max(1, o.threads));
  StartMoreConnects();
  ScheduleTick();
}

void Loop::StartMoreConnects() {
  while (connecting_ < connect_budget_ && next_connect_ < members_.size()) {
    ++connecting_;
    members_[next_connect_++]->Start();
  }
}

void Loop::ConnectDone(Conn* c) {
  if (c->kind_ == Conn::Kind::kChurn) return;
  --connecting_;
  StartMoreConnects();
}

void Loop::ScheduleTick() {
  timer_.expires_after(std::chrono::microseconds(shared_->options.tick_us));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || shutting_down_) return;
    Tick();
    ScheduleTick();
  });
}

void Loop::Tick() {
  const int64_t now = NowUs();
  const Options& o = shared_->options;
  const int phase = shared_->phase.load(std::memory_order_acquire);
  if (phase == kPlay) {
    const int64_t stop = shared_->send_stop_us.load(std::memory_order_relaxed);
    const int64_t window = shared_->window_start_us.load(std::memory_order_relaxed);
    const int64_t send_until = std::min(now, stop);
    if (o.rate > 0) {
      const double period = 1e6 / o.rate;
      for (Conn* p : players_) {
        // Open loop: catch up on a late tick, but in bounded bursts.
        int burst = 0;
        while (p->next_midi_us <= static_cast<double>(send_until) && burst < 64) {
          tally_.counts.max_send_lag_us = std::max<int64_t>(
              tally_.counts.max_send_lag_us, now - static_cast<int64_t>(p->next_midi_us));
          p->SendMidi(now);
          if (now >= window) ++tally_.counts[kWindowSent];
          p->next_midi_us += period;
          ++burst;
        }
      }
    }
    if (o.chat_rate > 0) {
      const double period = 1e6 / o.chat_rate;
      for (auto& c : members_) {
        if (!c->joined()) continue;
        int burst = 0;
        while (c->next_chat_us <= static_cast<double>(send_until) && burst < 8) {
          c->SendChat(now);
          if (now >= window) ++tally_.counts[kWindowSent];
          c->next_chat_us += period;
          ++burst;
        }
      }
    }
    if (o.churn_rate > 0 && now < stop) {
      const double per_loop = o.churn_rate / std::max(1, o.threads);
      const double elapsed =
          static_cast<double>(now - shared_->play_start_us.load(std::memory_order_relaxed));
      const uint64_t due = static_cast<uint64_t>(elapsed * per_loop / 1e6);
      while (churn_started_ < due && static_cast<int>(churners_.size()) < o.churn_max_active) {
        StartChurner();
      }
    }
  }
  if (phase == kPlay && !play_started_) play_started_ = true;
  if (o.heartbeat_s > 0 &&
      now - last_heartbeat_us_ >= static_cast<int64_t>(o.heartbeat_s) * 1000000) {
    last_heartbeat_us_ = now;
    if (heartbeats_started_) {
      for (auto& c : members_) {
        if (c->open()) c->SendHeartbeat(false);
      }
    }
    heartbeats_started_ = true;
  }
  for (Conn* c : dirty_) c->Flush();
  dirty_.clear();
  Publish();
}

void Loop::StartChurner() {
  const Options& o = shared_->options;
  const int users = static_cast<int>(shared_->user_ids.size()) - shared_->churn_user_base;
  const int user = shared_->churn_user_base + static_cast<int>(churn_started_ % users);
  // Spread over the rooms; a churner never plays.
  const int room = static_cast<int>((churn_started_ * 7 + index_) % o.rooms);
  auto c = std::make_shared<Conn>(this, Conn::Kind::kChurn, user, room, false,
                                  static_cast<int>(churn_started_));
  ++churn_started_;
  Conn* raw = c.get();
  churners_.emplace(raw, std::move(c));
  raw->Start();
}

void Loop::DoShutdown() {
  Publish();
  shutting_down_ = true;
  timer_.cancel();
  for (auto& c : members_) c->Shutdown();
  for (auto& [raw, c] : churners_) c->Shutdown();
  work_.reset();
}

}  // namespace tutti::loadgen
