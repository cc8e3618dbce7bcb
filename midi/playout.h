// The playout offset of one remote sender: how the delay in use follows the DelayEstimator's
// target without distorting rhythm.
//
// Owns: the offset in use for one sender (local play time = LocalFromServer(stamp) + offset)
// and counters of how it moved.
// Thread affinity: single-threaded; not synchronized. Time is passed in (microseconds).
// Who owns it: JitterBuffer, one per remote sender.
//
// Why: every change of the offset between two onsets changes that interval by the change.
// Before this, the offset followed the estimator at once upwards (in 0.5 ms histogram steps)
// and by 2 % of the interval downwards: 17-34 moves a minute on a 30 +- 10 ms path, and they
// were most of the IOI error measured on real sockets (docs/TIMING.md, "Playout policy").
//
// Rules (all per batch, in the sender's stamped time):
//   * Events of one batch are scheduled with one offset, so a chord and everything a batch
//     carries keep their spacing exactly.
//   * In a rest (no batch for rest_us of stamped time) the offset jumps to the target: the
//     move falls in silence.
//   * Otherwise it moves toward the target by at most stretch_fraction of the stamped time
//     since the previous batch (1 %: 1.25 ms over a 125 ms sixteenth, below what a listener
//     resolves), up or down.
//   * Catch-up: a batch that arrived after the time the current offset gives it plays at
//     arrival whatever is done. If its transit is one the estimator expects (<= target), the
//     offset moves up to it, so the events after it keep their spacing relative to it instead
//     of one more interval being bent when they fall back on time. Transits above the target
//     (stalls, which the estimator discards) are not learnt as a new level. Optionally
//     (max_stall_lift_us > 0; off by default) a stall's backlog is played with its own spacing: the
//     offset rises to the late batch's transit (up to max_stall_lift_us), so the events queued
//     behind the stall, which arrive together, are not piled onto one instant, and then falls back
//     to the target by at most recover_fraction of the time since the previous batch while more
//     than recover_above_us above it (or at once in a rest), once its backlog has been played. One
//     interval is bent per stall instead of every interval of the backlog.
#ifndef TUTTI_MIDI_PLAYOUT_H_
#define TUTTI_MIDI_PLAYOUT_H_

#include <cstdint>

namespace tutti::midi {

struct PlayoutOptions {
  // A gap of this much stamped time between batches is a rest: the offset may jump.
  // 1 s: longer than any beat of ordinary music (a half note at 120 bpm is 1 s), so a jump
  // never lands inside a pulse a listener keeps.
  int64_t rest_us = 1000000;
  // While a phrase goes on, the offset moves by at most this share of the time since the
  // previous batch (~1 %, what audio jitter buffers allow when they stretch time).
  double stretch_fraction = 0.01;
  // How far a stall may lift the offset above the target; 0 (the default): never, stalled
  // events play at once (JitterBuffer's stall policy: late, shortened). A lift of up to 300 ms
  // (one TCP retransmission and a path) plays a stall's backlog with its spacing instead, at
  // the price of the lift in latency until it is given back, and recover_fraction of every
  // interval meanwhile: measured in docs/TIMING.md, it bent more intervals (p95) and added
  // 35-120 ms median latency at 0.5 % stalls, so it is off unless a client asks for it.
  int64_t max_stall_lift_us = 0;
  // A batch less late than this beyond the target plays at once instead: the lift and its
  // recovery would bend more intervals than the one late batch does.
  int64_t min_stall_lift_us = 20000;
  // After a stall the extra offset is given back by this share of each interval: 5 % is
  // 6 ms over a sixteenth at 120 bpm, so a 200 ms lift is gone after ~4 s of music.
  double recover_fraction = 0.05;
  // ... but only while the offset is this far above the target; a smaller excess (a batch a
  // few ms beyond the target) is given back at stretch_fraction like any drift.
  int64_t recover_above_us = 20000;
};

struct PlayoutCounters {
  uint64_t moves = 0;        // batches scheduled with a different offset than the previous one
  uint64_t rest_jumps = 0;   // moves made in a rest
  uint64_t catch_ups = 0;    // moves up to a late batch's transit
  uint64_t stall_lifts = 0;  // lifts above the target to play a stall's backlog spaced
};

class PlayoutOffset {
 public:
  explicit PlayoutOffset(PlayoutOptions o = {}) : options_(o) {}

  // The offset to schedule a batch with. target_us: the estimator's target for it;
  // transit_us: the offset that would play its first event exactly at arrival (arrival -
  // LocalFromServer(first stamp)); gap_us: stamped time since the previous batch's last event;
  // ioi_us: stamped time since the previous batch's first event (<= 0 or huge when unknown).
  int64_t Next(int64_t target_us, int64_t transit_us, int64_t gap_us, int64_t ioi_us);

  // Forget the offset: the next batch takes the target as is (the clock mapping stepped).
  void Reset() { have_ = false; }

  void set_options(const PlayoutOptions& o) { options_ = o; }
  const PlayoutOptions& options() const { return options_; }
  int64_t offset_us() const { return offset_us_; }
  bool has_offset() const { return have_; }
  const PlayoutCounters& counters() const { return counters_; }

 private:
  PlayoutOptions options_;
  bool have_ = false;
  bool lifted_ = false;  // above the target because of a stall lift, not yet given back
  int64_t offset_us_ = 0;
  PlayoutCounters counters_;
};

}  // namespace tutti::midi

#endif  // TUTTI_MIDI_PLAYOUT_H_
