#include "midi/timing_c_api.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "midi/channel_message.h"
#include "midi/clock_sync.h"
#include "midi/jitter_buffer.h"

using tutti::midi::ChannelMessage;
using tutti::midi::ClockSync;
using tutti::midi::JitterBuffer;
using tutti::midi::PlayedEvent;

struct TuttiClockSync {
  ClockSync sync;
  int64_t last_rtt_us = 0;
};

struct TuttiJitterBuffer {
  explicit TuttiJitterBuffer(const ClockSync* clock) : buffer(clock) {}
  JitterBuffer buffer;
  tutti::midi::RelayedBatch batch;
  tutti::midi::HeldSnapshot snapshot;
  tutti::midi::PushResult last_push;
  std::vector<PlayedEvent> out;
};

namespace {

// Doubles from JavaScript to int64 microseconds, without the undefined behaviour of casting
// NaN or an out-of-range value. Identical natively and in wasm: both are IEEE doubles.
int64_t Us(double v) {
  if (std::isnan(v)) return 0;
  // +-2^53 us (285 years): past every real clock, and far enough from the int64 limits that
  // the arithmetic inside the core cannot overflow.
  constexpr double kMax = 9007199254740992.0;
  if (v >= kMax) return static_cast<int64_t>(kMax);
  if (v <= -kMax) return -static_cast<int64_t>(kMax);
  return static_cast<int64_t>(std::llround(v));
}

double D(int64_t v) { return static_cast<double>(v); }
double D(uint64_t v) { return static_cast<double>(v); }

uint64_t Session(uint32_t hi, uint32_t lo) { return (uint64_t{hi} << 32) | lo; }

// Batch sequence numbers: NaN and negatives are 0 (not sequenced); like times, values are
// clamped at 2^53, where llround is still defined (beyond int64 it is not).
uint64_t Sequence(double v) {
  if (!(v > 0)) return 0;
  constexpr double kMax = 9007199254740992.0;
  if (v >= kMax) return static_cast<uint64_t>(kMax);
  return static_cast<uint64_t>(std::llround(v));
}

const PlayedEvent* Out(const TuttiJitterBuffer* jb, int i) {
  if (i < 0 || static_cast<size_t>(i) >= jb->out.size()) return nullptr;
  return &jb->out[static_cast<size_t>(i)];
}

int Count(const TuttiJitterBuffer* jb) { return static_cast<int>(jb->out.size()); }

}  // namespace

extern "C" {

TuttiClockSync* tutti_clock_sync_create(void) { return new TuttiClockSync(); }
void tutti_clock_sync_destroy(TuttiClockSync* cs) { delete cs; }

int tutti_clock_sync_on_sample(TuttiClockSync* cs, double t1, double t2, double t3, double t4) {
  const int64_t a = Us(t1), b = Us(t2), c = Us(t3), d = Us(t4);
  if (!cs->sync.OnSample(a, b, c, d)) return 0;
  cs->last_rtt_us = (d - a) - (c - b);
  return 1;
}
double tutti_clock_sync_server_from_local(const TuttiClockSync* cs, double local_us) {
  return D(cs->sync.ServerTimeFromLocal(Us(local_us)));
}
double tutti_clock_sync_local_from_server(const TuttiClockSync* cs, double server_us) {
  return D(cs->sync.LocalFromServer(Us(server_us)));
}
int tutti_clock_sync_synced(const TuttiClockSync* cs, double local_now) {
  return cs->sync.Status(Us(local_now)).synced ? 1 : 0;
}
double tutti_clock_sync_offset_us(const TuttiClockSync* cs, double local_now) {
  return D(cs->sync.Status(Us(local_now)).offset_us);
}
double tutti_clock_sync_error_bound_us(const TuttiClockSync* cs, double local_now) {
  return D(cs->sync.Status(Us(local_now)).error_bound_us);
}
double tutti_clock_sync_skew_ppm(const TuttiClockSync* cs) { return cs->sync.skew_ppm(); }
double tutti_clock_sync_last_rtt_us(const TuttiClockSync* cs) { return D(cs->last_rtt_us); }
double tutti_clock_sync_next_ping_delay(const TuttiClockSync* cs, double local_now) {
  return D(cs->sync.NextPingDelay(Us(local_now)));
}
void tutti_clock_sync_on_ping_sent(TuttiClockSync* cs, double local_now) {
  cs->sync.OnPingSent(Us(local_now));
}
void tutti_clock_sync_on_reconnect(TuttiClockSync* cs) { cs->sync.OnReconnect(); }
int tutti_clock_sync_has_estimate(const TuttiClockSync* cs) {
  return cs->sync.has_estimate() ? 1 : 0;
}
int tutti_clock_sync_locked(const TuttiClockSync* cs) { return cs->sync.locked() ? 1 : 0; }
double tutti_clock_sync_epoch(const TuttiClockSync* cs) { return D(cs->sync.epoch()); }
double tutti_clock_sync_sample_count(const TuttiClockSync* cs) {
  return D(static_cast<uint64_t>(cs->sync.sample_count()));
}
double tutti_clock_sync_anomalies(const TuttiClockSync* cs) { return D(cs->sync.anomalies()); }
double tutti_clock_sync_path_changes(const TuttiClockSync* cs) {
  return D(cs->sync.path_changes());
}
double tutti_clock_sync_estimated_offset(const TuttiClockSync* cs, double local_us) {
  return cs->sync.EstimatedOffset(Us(local_us));
}

TuttiJitterBuffer* tutti_jitter_create(const TuttiClockSync* clock) {
  return new TuttiJitterBuffer(&clock->sync);
}
void tutti_jitter_destroy(TuttiJitterBuffer* jb) { delete jb; }

void tutti_jitter_batch_begin(TuttiJitterBuffer* jb, uint32_t session_hi, uint32_t session_lo,
                              double sequence, double stamped_us, uint32_t flags) {
  jb->batch = tutti::midi::RelayedBatch();
  jb->batch.session_id = Session(session_hi, session_lo);
  jb->batch.sequence = Sequence(sequence);
  jb->batch.stamped_us = Us(stamped_us);
  jb->batch.flags = flags;
}

int tutti_jitter_batch_add(TuttiJitterBuffer* jb, uint32_t status, uint32_t data1, uint32_t data2,
                           double delay_us) {
  if (status > 0xFF) return 0;
  const int size = tutti::midi::ChannelMessageSize(static_cast<uint8_t>(status));
  if (size == 0 || data1 > 0x7F || (size == 3 && data2 > 0x7F)) return 0;
  tutti::midi::RelayedEvent ev;
  ev.message.status = static_cast<uint8_t>(status);
  ev.message.data1 = static_cast<uint8_t>(data1);
  ev.message.data2 = size == 3 ? static_cast<uint8_t>(data2) : 0;
  ev.message.size = static_cast<uint8_t>(size);
  ev.delay_us = Us(delay_us);
  jb->batch.events.push_back(ev);
  return 1;
}

int tutti_jitter_batch_push(TuttiJitterBuffer* jb, double local_now) {
  jb->last_push = jb->buffer.Push(jb->batch, Us(local_now));
  jb->batch = tutti::midi::RelayedBatch();
  return static_cast<int>(jb->last_push.scheduled);
}
int tutti_jitter_last_push_duplicate(const TuttiJitterBuffer* jb) {
  return jb->last_push.duplicate ? 1 : 0;
}
int tutti_jitter_last_push_gap(const TuttiJitterBuffer* jb) { return jb->last_push.gap ? 1 : 0; }
int tutti_jitter_last_push_dropped(const TuttiJitterBuffer* jb) {
  return static_cast<int>(jb->last_push.dropped);
}

void tutti_jitter_snapshot_begin(TuttiJitterBuffer* jb, uint32_t session_hi, uint32_t session_lo,
                                 double sequence, uint32_t sustain_channels) {
  jb->snapshot = tutti::midi::HeldSnapshot();
  jb->snapshot.session_id = Session(session_hi, session_lo);
  jb->snapshot.sequence = Sequence(sequence);
  jb->snapshot.sustain_channels = static_cast<uint16_t>(sustain_channels & 0xFFFF);
}
void tutti_jitter_snapshot_add_note(TuttiJitterBuffer* jb, uint32_t channel, uint32_t note) {
  tutti::midi::HeldSnapshot::Note n;
  n.channel = static_cast<uint8_t>(channel & 0x0F);
  n.note = static_cast<uint8_t>(note & 0x7F);
  jb->snapshot.notes.push_back(n);
}
int tutti_jitter_snapshot_apply(TuttiJitterBuffer* jb, double local_now) {
  const bool applied = jb->buffer.ApplySnapshot(jb->snapshot, Us(local_now));
  jb->snapshot = tutti::midi::HeldSnapshot();
  return applied ? 1 : 0;
}

int tutti_jitter_pop_due(TuttiJitterBuffer* jb, double local_now) {
  jb->out.clear();
  jb->buffer.PopDue(Us(local_now), &jb->out);
  return Count(jb);
}
int tutti_jitter_drop_connection(TuttiJitterBuffer* jb, double local_now) {
  jb->out.clear();
  jb->buffer.DropConnection(Us(local_now), &jb->out);
  return Count(jb);
}
int tutti_jitter_remove_sender(TuttiJitterBuffer* jb, uint32_t session_hi, uint32_t session_lo,
                               double local_now) {
  jb->out.clear();
  jb->buffer.RemoveSender(Session(session_hi, session_lo), Us(local_now), &jb->out);
  return Count(jb);
}
int tutti_jitter_tick(TuttiJitterBuffer* jb, double local_now) {
  jb->out.clear();
  jb->buffer.Tick(Us(local_now), &jb->out);
  return Count(jb);
}

uint32_t tutti_jitter_out_session_hi(const TuttiJitterBuffer* jb, int i) {
  const PlayedEvent* e = Out(jb, i);
  return e ? static_cast<uint32_t>(e->session_id >> 32) : 0;
}
uint32_t tutti_jitter_out_session_lo(const TuttiJitterBuffer* jb, int i) {
  const PlayedEvent* e = Out(jb, i);
  return e ? static_cast<uint32_t>(e->session_id & 0xFFFFFFFFu) : 0;
}
double tutti_jitter_out_local_us(const TuttiJitterBuffer* jb, int i) {
  const PlayedEvent* e = Out(jb, i);
  return e ? D(e->local_us) : 0;
}
uint32_t tutti_jitter_out_status(const TuttiJitterBuffer* jb, int i) {
  const PlayedEvent* e = Out(jb, i);
  return e ? e->message.status : 0;
}
uint32_t tutti_jitter_out_data1(const TuttiJitterBuffer* jb, int i) {
  const PlayedEvent* e = Out(jb, i);
  return e ? e->message.data1 : 0;
}
uint32_t tutti_jitter_out_data2(const TuttiJitterBuffer* jb, int i) {
  const PlayedEvent* e = Out(jb, i);
  return e ? e->message.data2 : 0;
}
uint32_t tutti_jitter_out_flags(const TuttiJitterBuffer* jb, int i) {
  const PlayedEvent* e = Out(jb, i);
  return e ? e->flags : 0;
}
int tutti_jitter_out_late(const TuttiJitterBuffer* jb, int i) {
  const PlayedEvent* e = Out(jb, i);
  return e && e->late ? 1 : 0;
}
int tutti_jitter_out_generated(const TuttiJitterBuffer* jb, int i) {
  const PlayedEvent* e = Out(jb, i);
  return e && e->generated ? 1 : 0;
}
double tutti_jitter_out_sequence(const TuttiJitterBuffer* jb, int i) {
  const PlayedEvent* e = Out(jb, i);
  return e ? D(e->sequence) : 0;
}
uint32_t tutti_jitter_out_index(const TuttiJitterBuffer* jb, int i) {
  const PlayedEvent* e = Out(jb, i);
  return e ? e->index : 0;
}

double tutti_jitter_next_due(const TuttiJitterBuffer* jb) {
  std::optional<int64_t> due = jb->buffer.NextDue();
  return due ? D(*due) : std::numeric_limits<double>::quiet_NaN();
}

void tutti_jitter_set_delay_bounds(TuttiJitterBuffer* jb, double min_delay_us,
                                   double max_delay_us) {
  jb->buffer.SetDelayBounds(Us(min_delay_us), Us(max_delay_us));
}
void tutti_jitter_set_smoothness(TuttiJitterBuffer* jb, int smoothness) {
  using tutti::midi::Smoothness;
  switch (smoothness) {
    case 0:
      jb->buffer.SetSmoothness(Smoothness::kLowLatency);
      break;
    case 1:
      jb->buffer.SetSmoothness(Smoothness::kBalanced);
      break;
    case 2:
      jb->buffer.SetSmoothness(Smoothness::kSmooth);
      break;
    default:
      break;
  }
}
void tutti_jitter_set_percentile(TuttiJitterBuffer* jb, double percentile) {
  jb->buffer.SetPercentile(percentile);
}

double tutti_jitter_stat(const TuttiJitterBuffer* jb, uint32_t session_hi, uint32_t session_lo,
                         int stat) {
  const tutti::midi::SenderStats s = jb->buffer.Stats(Session(session_hi, session_lo));
  switch (stat) {
    case TUTTI_STAT_BATCHES:
      return D(s.batches);
    case TUTTI_STAT_DUPLICATES:
      return D(s.duplicates);
    case TUTTI_STAT_GAPS:
      return D(s.gaps);
    case TUTTI_STAT_NOTE_ONS:
      return D(s.note_ons);
    case TUTTI_STAT_LATE_NOTE_ONS:
      return D(s.late_note_ons);
    case TUTTI_STAT_DROPPED_NOTE_ONS:
      return D(s.dropped_note_ons);
    case TUTTI_STAT_LATE_OTHER:
      return D(s.late_other);
    case TUTTI_STAT_BOUND_CLAMPED:
      return D(s.bound_clamped);
    case TUTTI_STAT_SNAPSHOT_RELEASES:
      return D(s.snapshot_releases);
    case TUTTI_STAT_WATCHDOG_RELEASES:
      return D(s.watchdog_releases);
    case TUTTI_STAT_STALLS_DISCARDED:
      return D(s.stalls_discarded);
    case TUTTI_STAT_TARGET_US:
      return D(s.target_us);
    case TUTTI_STAT_PLAYOUT_US:
      return D(s.playout_us);
    case TUTTI_STAT_PLAYOUT_MOVES:
      return D(s.playout_moves);
    case TUTTI_STAT_PLAYOUT_REST_JUMPS:
      return D(s.playout_rest_jumps);
    case TUTTI_STAT_PLAYOUT_CATCH_UPS:
      return D(s.playout_catch_ups);
    case TUTTI_STAT_PLAYOUT_STALL_LIFTS:
      return D(s.playout_stall_lifts);
    case TUTTI_STAT_LATE_SHORTENED:
      return D(s.late_shortened);
    default:
      return 0;
  }
}
int tutti_jitter_sender_count(const TuttiJitterBuffer* jb) {
  return static_cast<int>(jb->buffer.sender_count());
}
int tutti_jitter_queued(const TuttiJitterBuffer* jb, uint32_t session_hi, uint32_t session_lo) {
  return static_cast<int>(jb->buffer.queued(Session(session_hi, session_lo)));
}
int tutti_jitter_idle(const TuttiJitterBuffer* jb) { return jb->buffer.Idle() ? 1 : 0; }

}  // extern "C"
