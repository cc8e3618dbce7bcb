#include "tests/midi/sim_link.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace tutti::midi::sim {

Link::Link(PathProfile p, uint64_t seed, Loop* loop) : p_(std::move(p)), rng_(seed), loop_(loop) {}

int64_t Link::Transit(int64_t t) {
  int64_t floor = p_.floor_us;
  for (const auto& [at, delta] : p_.steps) {
    if (t >= at) floor += delta;
  }
  const double jitter = p_.gaussian
                            ? std::max(0.0, p_.jitter_scale_us + p_.gaussian_sd_us * rng_.Normal())
                            : std::abs(rng_.Normal()) * p_.jitter_scale_us;
  return floor + std::llround(jitter);
}

void Link::Send(int64_t t, std::function<void()> deliver) {
  if (p_.recovery == LossRecovery::kFixedStall || (p_.loss <= 0 && p_.drop_transmissions.empty())) {
    // The draws and their order are those of the model's first version, so its rows reproduce.
    int64_t transit = Transit(t);
    if (p_.loss > 0 && rng_.Uniform() < p_.loss) {
      transit += p_.rto_us;
      // Bounded: a path lossy enough to lose 20 retransmissions in a row is not modelled.
      for (int64_t rto = 2 * p_.rto_us, n = 0;
           p_.lossy_retransmissions && n < 20 && rng_.Uniform() < p_.loss; rto *= 2, ++n) {
        transit += rto;
      }
    }
    last_ = std::max(last_, t + transit);
    loop_->At(last_, std::move(deliver));
    return;
  }
  loop_->At(t, [this, deliver = std::move(deliver)]() mutable {
    const uint64_t seq = next_seq_++;
    segs_.push_back(Segment{});
    segs_.back().deliver = std::move(deliver);
    Transmit(seq);
    // RFC 8985 7.2: sending new data (re)arms the probe while no loss is known.
    if (Open()) tlp_deadline_ = loop_->now() + Pto();
    ArmTimer();
  });
}

Link::Segment* Link::At(uint64_t seq) {
  if (seq < base_ || seq >= base_ + segs_.size()) return nullptr;
  return &segs_[seq - base_];
}

const Link::Segment* Link::At(uint64_t seq) const {
  if (seq < base_ || seq >= base_ + segs_.size()) return nullptr;
  return &segs_[seq - base_];
}

void Link::Transmit(uint64_t seq) {
  Segment* s = At(seq);
  if (s == nullptr) return;
  const int64_t now = loop_->now();
  s->xmit_us = now;
  s->marked_lost = false;
  const uint64_t n = counters_.segments++;
  const int64_t transit = Transit(now);
  const bool dropped = std::find(p_.drop_transmissions.begin(), p_.drop_transmissions.end(), n) !=
                       p_.drop_transmissions.end();
  if (rng_.Uniform() < p_.loss || dropped) {
    ++counters_.lost;
    if (s->first_loss_us < 0) s->first_loss_us = now;
    return;
  }
  if (s->first_loss_us >= 0) {
    counters_.repair_us.push_back(now - s->first_loss_us);
    s->first_loss_us = -1;
  }
  // The network itself keeps order (a queue delays, it does not reorder).
  const int64_t arrive = std::max(now + transit, data_last_);
  data_last_ = arrive;
  loop_->At(arrive, [this, seq, now] { Arrive(seq, now); });
}

void Link::Arrive(uint64_t seq, int64_t xmit_us) {
  Segment* s = At(seq);
  const bool duplicate = s == nullptr || s->arrived;
  if (!duplicate) s->arrived = true;
  const uint64_t before = delivered_;
  while (delivered_ < next_seq_) {
    Segment* d = At(delivered_);
    if (d == nullptr || !d->arrived) break;
    std::function<void()> fn = std::move(d->deliver);
    ++delivered_;
    fn();
  }
  // Out of order, filling a hole, or a duplicate: ACKed at once; in-order data after the
  // delayed-ACK timer.
  const bool at_once = duplicate || seq != before || delivered_ - before > 1;
  const int64_t transit = Transit(loop_->now());
  if (rng_.Uniform() < p_.loss) return;  // the ACK is lost; a later one covers it
  const int64_t sent = loop_->now() + (at_once ? 0 : p_.tcp.delayed_ack_us);
  const int64_t at = std::max(sent + transit, ack_last_);
  ack_last_ = at;
  const uint64_t cumulative = delivered_;
  loop_->At(at, [this, seq, xmit_us, cumulative] { OnAck(seq, xmit_us, cumulative); });
}

void Link::OnAck(uint64_t seq, int64_t xmit_us, uint64_t cumulative) {
  const int64_t now = loop_->now();
  // RTT estimate, RFC 6298 2.2-2.3 (timestamps make retransmissions' samples unambiguous).
  const int64_t rtt = now - xmit_us;
  if (srtt_us_ == 0) {
    srtt_us_ = std::max<int64_t>(rtt, 1);
    rttvar_us_ = rtt / 2;
  } else {
    rttvar_us_ = (3 * rttvar_us_ + std::abs(srtt_us_ - rtt)) / 4;
    srtt_us_ = std::max<int64_t>((7 * srtt_us_ + rtt) / 8, 1);
  }
  min_rtt_us_ = min_rtt_us_ == 0 ? rtt : std::min(min_rtt_us_, rtt);
  // RACK, RFC 8985 6.2: remember the most recently sent segment known delivered.
  if (xmit_us > rack_xmit_us_ || (xmit_us == rack_xmit_us_ && seq > rack_seq_)) {
    rack_xmit_us_ = xmit_us;
    rack_seq_ = seq;
    rack_rtt_us_ = rtt;
  }
  if (Segment* s = At(seq)) s->acked = true;
  if (cumulative > snd_una_) {
    for (uint64_t q = snd_una_; q < cumulative; ++q) {
      if (Segment* s = At(q)) s->acked = true;
    }
    snd_una_ = cumulative;
    backoff_ = 0;
    // RFC 6298 5.3: an ACK of new data restarts the RTO timer.
    rto_deadline_ = snd_una_ < next_seq_ ? now + Rto() : -1;
    if (in_recovery_ && snd_una_ >= recovery_end_) in_recovery_ = false;
    tlp_deadline_ = Open() && snd_una_ < next_seq_ ? now + Pto() : -1;
  }
  while (!segs_.empty() && base_ < delivered_ && base_ < snd_una_) {
    segs_.pop_front();
    ++base_;
  }
  DetectLosses();
  ArmTimer();
}

void Link::DetectLosses() {
  if (rack_xmit_us_ < 0) return;
  const int64_t now = loop_->now();
  int sacked_above = 0;
  for (uint64_t q = snd_una_ + 1; q < next_seq_; ++q) {
    if (const Segment* s = At(q); s != nullptr && s->acked) ++sacked_above;
  }
  const int64_t reo_wnd = in_recovery_ || sacked_above >= p_.tcp.dupthresh
                              ? 0
                              : std::min(min_rtt_us_ / p_.tcp.reo_wnd_min_rtt_divisor, srtt_us_);
  int64_t earliest = -1;
  std::vector<uint64_t> lost;
  for (uint64_t q = snd_una_; q < next_seq_; ++q) {
    const Segment* s = At(q);
    if (s == nullptr || s->acked || s->marked_lost) continue;
    // Only a segment sent before one that was delivered can be lost (RFC 8985 6.2).
    if (!(s->xmit_us < rack_xmit_us_ || (s->xmit_us == rack_xmit_us_ && q < rack_seq_))) continue;
    const int64_t deadline = s->xmit_us + rack_rtt_us_ + reo_wnd;
    if (deadline <= now) {
      lost.push_back(q);
    } else if (earliest < 0 || deadline < earliest) {
      earliest = deadline;
    }
  }
  for (uint64_t q : lost) {
    if (!in_recovery_) {
      in_recovery_ = true;
      recovery_end_ = next_seq_;
    }
    At(q)->marked_lost = true;
    ++counters_.rack;
    Transmit(q);
    // Retransmitting the first unacknowledged segment restarts the RTO, as Linux's
    // retransmission of the queue's head does.
    if (q == snd_una_) rto_deadline_ = now + Rto();
  }
  if (!lost.empty()) tlp_deadline_ = -1;
  // RACK's reordering timer: look again when the earliest candidate's window has passed.
  if (earliest >= 0 && (reo_timer_at_ < now || earliest < reo_timer_at_)) {
    reo_timer_at_ = earliest;
    loop_->At(earliest, [this] {
      reo_timer_at_ = -1;
      DetectLosses();
      ArmTimer();
    });
  }
}

bool Link::Open() const {
  if (in_recovery_) return false;
  for (uint64_t q = snd_una_ + 1; q < next_seq_; ++q) {
    const Segment* s = At(q);
    if (s != nullptr && s->acked) return false;
  }
  return true;
}

int64_t Link::Rto() const {
  if (srtt_us_ == 0) return p_.tcp.initial_rto_us;
  // Linux floors the variance term at TCP_RTO_MIN rather than the whole RTO (RFC 6298 2.4
  // floors the sum at 1 s), so RTO = SRTT + max(4 RTTVAR, 200 ms).
  int64_t rto = srtt_us_ + std::max(4 * rttvar_us_, p_.tcp.min_rto_us);
  for (int i = 0; i < backoff_ && rto < p_.tcp.max_rto_us; ++i) rto *= 2;
  return std::min(rto, p_.tcp.max_rto_us);
}

int64_t Link::Pto() const {
  if (srtt_us_ == 0) return p_.tcp.initial_rto_us;
  const uint64_t in_flight = next_seq_ - snd_una_;
  return 2 * srtt_us_ +
         (in_flight <= 1 ? p_.tcp.tlp_one_in_flight_us : p_.tcp.tlp_more_in_flight_us);
}

void Link::ArmTimer() {
  const int64_t now = loop_->now();
  if (snd_una_ >= next_seq_) {
    rto_deadline_ = tlp_deadline_ = -1;
    timer_at_ = -1;
    ++timer_generation_;
    return;
  }
  if (rto_deadline_ < 0) rto_deadline_ = now + Rto();
  if (!Open()) tlp_deadline_ = -1;
  // The probe never fires later than the RTO would (RFC 8985 7.2); when both are due, Linux's
  // one timer fires as the probe (tcp_schedule_loss_probe takes the earlier of the two).
  if (tlp_deadline_ >= 0) tlp_deadline_ = std::min(tlp_deadline_, rto_deadline_);
  const int64_t fire = tlp_deadline_ >= 0 ? tlp_deadline_ : rto_deadline_;
  if (fire == timer_at_) return;
  timer_at_ = fire;
  const uint64_t generation = ++timer_generation_;
  loop_->At(std::max(fire, now), [this, generation] { OnTimer(generation); });
}

void Link::OnTimer(uint64_t generation) {
  if (generation != timer_generation_) return;  // re-armed since
  timer_at_ = -1;
  const int64_t now = loop_->now();
  if (snd_una_ >= next_seq_) return;
  if (tlp_deadline_ >= 0 && tlp_deadline_ <= rto_deadline_ && Open()) {
    // Tail loss probe: the highest segment not yet acknowledged goes again; its ACK (a SACK)
    // lets RACK find any hole before it. Then the RTO restarts.
    tlp_deadline_ = -1;
    ++counters_.probes;
    for (uint64_t q = next_seq_; q-- > snd_una_;) {
      if (const Segment* s = At(q); s != nullptr && !s->acked) {
        Transmit(q);
        break;
      }
    }
    rto_deadline_ = now + Rto();
  } else {
    // Retransmission timeout: the first unacknowledged segment goes again and the timeout
    // doubles (RFC 6298 5.4-5.6); the rest follow by RACK once its ACK is back (in recovery
    // the reordering window is 0), as Linux resends them one ACK-clocked window at a time.
    ++counters_.timeouts;
    if (!in_recovery_) {
      in_recovery_ = true;
      recovery_end_ = next_seq_;
    }
    tlp_deadline_ = -1;
    for (uint64_t q = snd_una_; q < next_seq_; ++q) {
      if (const Segment* s = At(q); s != nullptr && !s->acked) {
        Transmit(q);
        break;
      }
    }
    ++backoff_;
    rto_deadline_ = now + Rto();
  }
  ArmTimer();
}

}  // namespace tutti::midi::sim
