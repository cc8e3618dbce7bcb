// Client-side clock synchronization against the server's monotonic clock.
//
// Owns: a window of NTP-style exchanges (t1 client send, t2 server receive, t3 server send,
// t4 client receive), the fitted offset/skew estimate, the offset in use and the ping schedule.
// Thread affinity: single-threaded; not synchronized. Time is always passed in (the client's
// own monotonic clock, microseconds); nothing here reads a clock.
// Who owns it: one per client connection to the server (native client, load generator,
// simulation). The receive path (JitterBuffer) reads it through a const pointer.
//
// Estimation (docs/TIMING.md has the reasoning):
//   * Each exchange gives two one-way measurements: u = t2 - t1 = offset + up delay and
//     v = t4 - t3 = down delay - offset. Delays only ever add (queueing, retransmission), so the
//     lower envelope of u (and of v) over time follows offset + minimum delay: a straight line
//     whose slope is the skew. With enough span the line is the lower-convex-hull edge that
//     maximizes the line at the mean sample time (the linear program of Moon, Skelly and
//     Towsley, solved exactly); before that, the slope is held at its prior and the line sits
//     under the recent samples (the NTP minimum-delay clock filter, per direction).
//   * offset = (U(t) - V(t)) / 2 assumes equal minimum delays each way; the asymmetry that
//     cannot be seen is bounded by half the minimum round trip, which is reported as the error
//     bound (plus the residual still being slewed and dispersion since the last sample).
//   * The offset in use moves toward the estimate at most max_slew_ppm (0.5 ms/s) and never
//     steps once locked, except for a correction beyond step_threshold_us (a clock that really
//     jumped, e.g. a server restart). Every step increments epoch().
//   * A sample below an envelope by more than the tolerance cannot come from a faster packet on
//     the same clocks: the path or a clock changed. The window restarts and a burst follows.
#ifndef TUTTI_MIDI_CLOCK_SYNC_H_
#define TUTTI_MIDI_CLOCK_SYNC_H_

#include <cstddef>
#include <cstdint>
#include <deque>

namespace tutti::midi {

struct ClockSyncOptions {
  // Burst on connect and after anomalies: a usable offset well within 1 s.
  int burst_pings = 8;
  int64_t burst_interval_us = 100000;
  // Periodic pings after the burst. Often enough that a 100 ppm skew is tracked between
  // samples and the envelope finds fast exchanges; cheap (one small frame each way).
  int64_t ping_interval_us = 500000;
  // Samples needed before the estimate is trusted (synced); until then every update steps.
  int lock_samples = 4;
  // The window the envelopes are fitted over.
  size_t max_samples = 256;
  int64_t max_sample_age_us = 180000000;
  // Before the window spans min_skew_span_us the skew is not fitted; the offset comes from
  // the last recent_samples exchanges.
  size_t recent_samples = 8;
  // Skew assumed possible before it is fitted (adds to the error bound over the recent window).
  double unfitted_skew_ppm = 200;
  // A path that got slower shows as every one of the last elevated_samples exchanges sitting
  // more than elevated_threshold_us above an envelope: the window restarts from them (the old
  // floor no longer applies, and an envelope edge across the change would fake a skew).
  size_t elevated_samples = 16;
  int64_t elevated_threshold_us = 10000;
  int64_t min_skew_span_us = 20000000;
  double max_skew_ppm = 500;
  // Largest rate at which the offset in use moves toward the estimate (0.5 ms per second).
  double max_slew_ppm = 500;
  // A post-lock correction larger than this steps (and bumps epoch) instead of slewing.
  int64_t step_threshold_us = 200000;
  // How far below an envelope a sample must fall to count as an anomaly.
  int64_t anomaly_tolerance_us = 3000;
  // Growth of the error bound with time since the last sample.
  double dispersion_ppm = 20;
};

// What a client reports with its heartbeats (mirrors proto ClockSyncStatus).
struct ClockSyncStatus {
  bool synced = false;
  int64_t offset_us = 0;       // server_time - client_time in use
  int64_t error_bound_us = 0;  // estimate of |offset error|
  double skew_ppm = 0;
};

class ClockSync {
 public:
  explicit ClockSync(ClockSyncOptions o = {});

  // Feeds one exchange (client t1, t4; server t2, t3). Returns false and ignores it when the
  // times are impossible (t4 < t1 or t3 < t2).
  bool OnSample(int64_t t1, int64_t t2, int64_t t3, int64_t t4);

  // Maps with the offset in use (never the raw estimate). Identity before any sample.
  // Inverse of each other to within a microsecond.
  int64_t ServerTimeFromLocal(int64_t local_us) const;
  int64_t LocalFromServer(int64_t server_us) const;

  ClockSyncStatus Status(int64_t local_now) const;

  // Ping schedule: how long from local_now until the next ping is due (0 = now).
  int64_t NextPingDelay(int64_t local_now) const;
  void OnPingSent(int64_t local_now);
  // The connection was re-established: burst again. The estimate is kept; if the server's
  // clock changed, the first samples are anomalies and the window restarts.
  void OnReconnect();

  bool has_estimate() const { return has_estimate_; }
  bool locked() const { return locked_; }
  // Increments every time the offset in use steps (all pre-lock updates, post-lock jumps).
  // Consumers that cache mapped times (the jitter buffer's transit history) reset on change.
  uint64_t epoch() const { return epoch_; }
  double skew_ppm() const { return skew_ * 1e6; }
  size_t sample_count() const { return samples_.size(); }
  // Window restarts: samples below an envelope (anomalies) and paths that got slower.
  uint64_t anomalies() const { return anomalies_; }
  uint64_t path_changes() const { return path_changes_; }
  // The raw estimate of server - local at local_us (diagnostics and tests).
  double EstimatedOffset(int64_t local_us) const;

 private:
  struct Sample {
    int64_t t1;  // client send
    int64_t t4;  // client receive
    int64_t u;   // t2 - t1 = offset + up delay
    int64_t v;   // t4 - t3 = down delay - offset
  };
  struct Line {  // y = a + b * (t - t0)
    double a = 0;
    double b = 0;
    int64_t t0 = 0;
    double At(int64_t t) const { return a + b * static_cast<double>(t - t0); }
  };

  bool IsAnomaly(const Sample& s) const;
  void Fit();
  double InUseOffset(int64_t local_us) const;
  void UpdateInUse(int64_t now);

  ClockSyncOptions options_;
  std::deque<Sample> samples_;
  Line up_;          // lower envelope of u over t1
  Line down_;        // lower envelope of v over t4
  double skew_ = 0;  // fitted d(offset)/d(local), dimensionless
  bool skew_fitted_ = false;
  bool has_estimate_ = false;
  bool locked_ = false;
  int samples_since_reset_ = 0;
  uint64_t epoch_ = 0;
  uint64_t anomalies_ = 0;
  uint64_t path_changes_ = 0;
  size_t elevated_up_ = 0;
  size_t elevated_down_ = 0;
  int64_t last_sample_local_ = 0;

  // Offset in use: base_ + rate_ * (t - base_t_) + slew correction toward residual_ at no more
  // than max_slew_ppm, starting at base_t_. Continuous in t by construction.
  int64_t base_t_ = 0;
  double base_ = 0;
  double rate_ = 0;
  double residual_ = 0;

  int burst_remaining_;
  bool pinged_ = false;
  int64_t last_ping_ = 0;
};

}  // namespace tutti::midi

#endif  // TUTTI_MIDI_CLOCK_SYNC_H_
