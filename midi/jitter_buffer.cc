#include "midi/jitter_buffer.h"

#include <algorithm>
#include <limits>
#include <numeric>

namespace tutti::midi {

namespace {
size_t KeyIndex(const ChannelMessage& m) {
  return static_cast<size_t>(m.channel()) * 128 + (m.data1 & 0x7F);
}
}  // namespace

JitterBuffer::JitterBuffer(const ClockSync* clock, ReceiverOptions o)
    : clock_(clock), options_(o), clock_epoch_(clock->epoch()) {
  ApplyDelayOptions();
}

JitterBuffer::Sender& JitterBuffer::GetSender(uint64_t session_id) {
  auto it = senders_.find(session_id);
  if (it == senders_.end()) {
    it = senders_.emplace(session_id, Sender(options_.delay, options_.playout)).first;
  }
  return it->second;
}

void JitterBuffer::Enqueue(Sender& s, PlayedEvent ev) {
  s.last_play_us = ev.local_us;
  s.have_play = true;
  s.queue.push_back(Scheduled{std::move(ev), next_order_++});
}

void JitterBuffer::Defer(Sender& s, PlayedEvent ev) {
  const int64_t at = ev.local_us;
  s.deferred.emplace(at, Scheduled{std::move(ev), next_order_++});
}

void JitterBuffer::PullDeferredNoteOff(Sender& s, size_t key, int64_t at) {
  for (auto it = s.deferred.begin(); it != s.deferred.end(); ++it) {
    if (KeyIndex(it->second.event.message) != key || it->first <= at) continue;
    // Keeps its order number, so at equal times it still plays before the new note-on.
    Scheduled moved = std::move(it->second);
    s.deferred.erase(it);
    moved.event.local_us = at;
    s.deferred.emplace(at, std::move(moved));
    return;
  }
}

PushResult JitterBuffer::Push(const RelayedBatch& batch, int64_t local_now) {
  PushResult r;
  if (clock_->epoch() != clock_epoch_) {
    // The mapping stepped: every transit measured so far is off by the step.
    clock_epoch_ = clock_->epoch();
    for (auto& [id, sender] : senders_) {
      sender.delay.Reset();
      sender.playout.Reset();
    }
  }
  Sender& s = GetSender(batch.session_id);
  s.last_activity_us = local_now;
  if (batch.sequence != 0) {
    if (s.last_sequence != 0 && batch.sequence <= s.last_sequence) {
      ++s.stats.duplicates;
      r.duplicate = true;
      return r;
    }
    if (s.last_sequence != 0 && batch.sequence > s.last_sequence + 1) {
      ++s.stats.gaps;
      r.gap = true;
    }
    s.last_sequence = batch.sequence;
  }
  ++s.stats.batches;
  if (batch.events.empty()) return r;

  // Events in delay order (stable), so equal stamps keep their wire order.
  std::vector<size_t> order(batch.events.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return batch.events[a].delay_us < batch.events[b].delay_us;
  });
  const int64_t first_stamp =
      batch.stamped_us + std::max<int64_t>(0, batch.events[order.front()].delay_us);
  const int64_t last_stamp =
      batch.stamped_us + std::max<int64_t>(0, batch.events[order.back()].delay_us);

  const bool mapped = clock_->has_estimate();
  int64_t offset = 0;
  // Lateness is judged against the offset in force when the batch arrived: a batch that
  // lifts the offset (midi/playout.h) to play on arrival is still late.
  int64_t prior_offset = 0;
  if (mapped) {
    const int64_t transit = local_now - clock_->LocalFromServer(first_stamp);
    // Server-made events (synthetic note-offs) are stamped at relay time: their transit says
    // nothing about the sender's path.
    if ((batch.flags & kFlagSynthetic) == 0) s.delay.AddSample(transit, local_now);
    constexpr int64_t kUnknown = std::numeric_limits<int64_t>::max() / 4;
    const int64_t ioi = s.have_stamp ? first_stamp - s.first_stamp_us : kUnknown;
    const int64_t gap = s.have_stamp ? first_stamp - s.last_stamp_us : kUnknown;
    // The estimator's long-rest rule reads the silence before the batch.
    const int64_t target = s.delay.TargetForBatch(gap, local_now);
    prior_offset = s.playout.has_offset() ? s.playout.offset_us() : target;
    offset = s.playout.Next(target, transit, gap, ioi);
  }
  s.first_stamp_us = first_stamp;
  s.last_stamp_us = s.have_stamp ? std::max(s.last_stamp_us, last_stamp) : last_stamp;
  s.have_stamp = true;

  const int64_t bound = local_now + options_.delay.max_delay_us;
  for (size_t idx : order) {
    const RelayedEvent& e = batch.events[idx];
    const ChannelMessage& m = e.message;
    int64_t due = local_now;
    int64_t late_by = 0;
    if (mapped) {
      const int64_t at =
          clock_->LocalFromServer(batch.stamped_us + std::max<int64_t>(0, e.delay_us));
      due = at + offset;
      late_by = local_now - (at + std::min(offset, prior_offset));
    }
    const bool late = late_by > 0;
    const size_t key = KeyIndex(m);
    bool hold_back = false;
    if (m.IsNoteOn()) {
      ++s.stats.note_ons;
      if ((late && late_by > options_.max_late_note_on_us) ||
          s.queue.size() >= options_.max_queued_per_sender) {
        s.dropped.set(key);
        ++s.stats.dropped_note_ons;
        ++r.dropped;
        continue;
      }
      if (late) ++s.stats.late_note_ons;
      s.dropped.reset(key);
    } else if (m.IsNoteOff()) {
      const bool was_dropped = s.dropped.test(key);
      s.dropped.reset(key);
      if (was_dropped && !s.expected.IsHeld(m.channel(), m.data1)) continue;
      if (late) ++s.stats.late_other;
      auto lo = s.late_on_us.find(key);
      if (lo != s.late_on_us.end()) {
        // The note-on of this key was played late: it is shortened, but not to nothing.
        const int64_t min_off = lo->second + options_.late_note_min_us;
        s.late_on_us.erase(lo);
        if (std::max({due, local_now, s.have_play ? s.last_play_us : due}) < min_off) {
          due = min_off;
          hold_back = true;
        }
      }
    } else if (late) {
      ++s.stats.late_other;
    }
    if (!hold_back) {
      due = std::max(due, local_now);
      if (due > bound) {
        due = bound;
        ++s.stats.bound_clamped;
      }
      // Never before an event already queued for this sender.
      if (s.have_play) due = std::max(due, s.last_play_us);
    }
    if (m.IsNoteOn()) {
      PullDeferredNoteOff(s, key, due);
      if (late) {
        s.late_on_us[key] = due;
      } else {
        s.late_on_us.erase(key);
      }
    }
    s.expected.Apply(m);
    PlayedEvent ev;
    ev.session_id = batch.session_id;
    ev.local_us = due;
    ev.message = m;
    ev.flags = batch.flags;
    ev.late = late;
    ev.sequence = batch.sequence;
    ev.index = static_cast<uint32_t>(idx);
    if (hold_back) {
      ++s.stats.late_shortened;
      Defer(s, ev);
    } else {
      Enqueue(s, ev);
    }
    ++r.scheduled;
  }
  return r;
}

void JitterBuffer::PopDue(int64_t local_now, std::vector<PlayedEvent>* out) {
  std::vector<Scheduled> due;
  const auto before = [](const Scheduled& a, const Scheduled& b) {
    return a.event.local_us != b.event.local_us ? a.event.local_us < b.event.local_us
                                                : a.order < b.order;
  };
  for (auto& [id, s] : senders_) {
    const size_t from = due.size();
    while (!s.queue.empty() && s.queue.front().event.local_us <= local_now) {
      due.push_back(std::move(s.queue.front()));
      s.queue.pop_front();
    }
    while (!s.deferred.empty() && s.deferred.begin()->first <= local_now) {
      due.push_back(std::move(s.deferred.begin()->second));
      s.deferred.erase(s.deferred.begin());
    }
    // The synthesizer model follows play order (a deferred note-off may precede a re-strike).
    std::sort(due.begin() + static_cast<std::ptrdiff_t>(from), due.end(), before);
    for (size_t i = from; i < due.size(); ++i) {
      s.sounding.Apply(due[i].event.message);
      s.last_out_us = std::max(s.last_out_us, due[i].event.local_us);
    }
  }
  std::sort(due.begin(), due.end(), before);
  for (Scheduled& d : due) out->push_back(std::move(d.event));
}

std::optional<int64_t> JitterBuffer::NextDue() const {
  std::optional<int64_t> next;
  for (const auto& [id, s] : senders_) {
    if (!s.queue.empty()) {
      const int64_t t = s.queue.front().event.local_us;
      if (!next || t < *next) next = t;
    }
    if (!s.deferred.empty()) {
      const int64_t t = s.deferred.begin()->first;
      if (!next || t < *next) next = t;
    }
  }
  return next;
}

bool JitterBuffer::ApplySnapshot(const HeldSnapshot& snap, int64_t local_now) {
  Sender& s = GetSender(snap.session_id);
  if (snap.sequence < s.last_sequence) return false;
  s.last_sequence = snap.sequence;
  s.last_activity_us = local_now;
  std::bitset<16 * 128> held;
  for (const HeldSnapshot::Note& n : snap.notes) {
    held.set(static_cast<size_t>(n.channel & 0x0F) * 128 + (n.note & 0x7F));
  }
  std::vector<ChannelMessage> release;
  s.expected.ForEachHeld([&](uint8_t ch, uint8_t note, uint8_t) {
    if (!held.test(static_cast<size_t>(ch) * 128 + note)) release.push_back(MakeNoteOff(ch, note));
  });
  for (uint8_t ch = 0; ch < 16; ++ch) {
    if (s.expected.SustainDown(ch) && ((snap.sustain_channels >> ch) & 1) == 0) {
      release.push_back(MakeControlChange(ch, kCcSustain, 0));
    }
  }
  // A dropped note-on whose key the sender no longer holds will get no note-off to swallow.
  s.dropped &= held;
  int64_t due = local_now;
  if (s.have_play) due = std::max(due, s.last_play_us);
  for (const ChannelMessage& m : release) {
    s.expected.Apply(m);
    PlayedEvent ev;
    ev.session_id = snap.session_id;
    ev.local_us = due;
    ev.message = m;
    ev.generated = true;
    Enqueue(s, ev);
    ++s.stats.snapshot_releases;
  }
  return true;
}

void JitterBuffer::ReleaseSender(Sender& s, uint64_t session_id, int64_t local_now,
                                 std::vector<PlayedEvent>* out) {
  s.queue.clear();
  s.deferred.clear();
  s.late_on_us.clear();
  // Not before what was already handed out ahead of time (PopDue with a lookahead): an output
  // that plays by time would otherwise play the release first and the note after it.
  const int64_t at = std::max(local_now, s.last_out_us);
  for (const ChannelMessage& m : s.sounding.ReleaseAll()) {
    PlayedEvent ev;
    ev.session_id = session_id;
    ev.local_us = at;
    ev.message = m;
    ev.generated = true;
    out->push_back(ev);
  }
  s.expected.Clear();
  s.dropped.reset();
  s.last_play_us = std::max(s.last_play_us, at);
}

void JitterBuffer::DropConnection(int64_t local_now, std::vector<PlayedEvent>* out) {
  for (auto& [id, s] : senders_) ReleaseSender(s, id, local_now, out);
  senders_.clear();
}

void JitterBuffer::RemoveSender(uint64_t session_id, int64_t local_now,
                                std::vector<PlayedEvent>* out) {
  auto it = senders_.find(session_id);
  if (it == senders_.end()) return;
  ReleaseSender(it->second, session_id, local_now, out);
  senders_.erase(it);
}

void JitterBuffer::Tick(int64_t local_now, std::vector<PlayedEvent>* out) {
  for (auto& [id, s] : senders_) {
    if (s.queue.empty() && s.deferred.empty() && !s.sounding.Empty() &&
        local_now - s.last_activity_us >= options_.stuck_note_timeout_us) {
      ReleaseSender(s, id, local_now, out);
      ++s.stats.watchdog_releases;
    }
  }
}

void JitterBuffer::ApplyDelayOptions() {
  for (auto& [id, s] : senders_) {
    s.delay.set_options(options_.delay);
    s.playout.set_options(options_.playout);
    // A user's new setting applies from the next batch, not stretched in over seconds.
    s.playout.Reset();
  }
  // Keep the receiver's copy normalized the same way the estimators are.
  options_.delay = DelayEstimator(options_.delay).options();
}

void JitterBuffer::SetDelayBounds(int64_t min_delay_us, int64_t max_delay_us) {
  options_.delay.min_delay_us = min_delay_us;
  options_.delay.max_delay_us = max_delay_us;
  ApplyDelayOptions();
}

void JitterBuffer::SetSmoothness(Smoothness s) { SetPercentile(PercentileFor(s)); }

void JitterBuffer::SetPercentile(double p) {
  options_.delay.percentile = p;
  ApplyDelayOptions();
}

SenderStats JitterBuffer::Stats(uint64_t session_id) const {
  auto it = senders_.find(session_id);
  if (it == senders_.end()) return {};
  SenderStats st = it->second.stats;
  st.target_us = it->second.delay.target_us();
  st.stalls_discarded = it->second.delay.stalls_discarded();
  const PlayoutOffset& p = it->second.playout;
  st.playout_us = p.has_offset() ? p.offset_us() : st.target_us;
  st.playout_moves = p.counters().moves;
  st.playout_rest_jumps = p.counters().rest_jumps;
  st.playout_catch_ups = p.counters().catch_ups;
  st.playout_stall_lifts = p.counters().stall_lifts;
  return st;
}

size_t JitterBuffer::queued(uint64_t session_id) const {
  auto it = senders_.find(session_id);
  return it == senders_.end() ? 0 : it->second.queue.size() + it->second.deferred.size();
}

bool JitterBuffer::Idle() const {
  for (const auto& [id, s] : senders_) {
    if (!s.queue.empty() || !s.deferred.empty() || !s.sounding.Empty()) return false;
  }
  return true;
}

}  // namespace tutti::midi
