/* A C API over the timing core (ClockSync, JitterBuffer with its DelayEstimator), so that the
 * browser runs the very same C++ compiled to WebAssembly (tools/build_wasm.sh,
 * web/src/timing/core.ts) instead of a port. Native code uses the C++ classes directly; this
 * API is compiled natively too, for its unit test and the shared test vectors.
 *
 * Owns: nothing global. Each handle owns one C++ object plus the small staging and output
 * buffers that let a caller without pointers into wasm memory (JavaScript) pass batches in and
 * read events out one scalar at a time.
 * Thread affinity: a handle is single-threaded, like the classes it wraps.
 * Owner: the caller; destroy what you create. A jitter buffer reads its clock sync, which must
 * outlive it.
 *
 * Conventions: times are integer microseconds carried as doubles (exact below 2^53 us, about
 * 285 years; a fractional value is rounded to the nearest microsecond, NaN counts as 0 and
 * anything beyond +-2^53, infinities included, as +-2^53), local times on the caller's monotonic
 * clock, server times on the server's (docs/TIMING.md). A server session id (uint64) is passed as
 * two uint32 halves, hi and lo. No call allocates on the caller's behalf or keeps a caller's
 * pointer. Nothing here is a new algorithm: every call maps onto one method of midi/clock_sync.h or
 * midi/jitter_buffer.h, except tutti_clock_sync_last_rtt_us, which is (t4 - t1) - (t3 - t2)
 * of the last accepted exchange. */
#ifndef TUTTI_MIDI_TIMING_C_API_H_
#define TUTTI_MIDI_TIMING_C_API_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct TuttiClockSync TuttiClockSync;
typedef struct TuttiJitterBuffer TuttiJitterBuffer;

/* ---- ClockSync (default ClockSyncOptions) --------------------------------------------- */
TuttiClockSync* tutti_clock_sync_create(void);
void tutti_clock_sync_destroy(TuttiClockSync* cs);
/* One heartbeat exchange: t1 client send, t2 server receive, t3 server send, t4 client
 * receive. 1 if used, 0 if impossible (t4 < t1 or t3 < t2) and ignored. */
int tutti_clock_sync_on_sample(TuttiClockSync* cs, double t1, double t2, double t3, double t4);
double tutti_clock_sync_server_from_local(const TuttiClockSync* cs, double local_us);
double tutti_clock_sync_local_from_server(const TuttiClockSync* cs, double server_us);
/* ClockSync::Status(local_now), field by field. */
int tutti_clock_sync_synced(const TuttiClockSync* cs, double local_now);
double tutti_clock_sync_offset_us(const TuttiClockSync* cs, double local_now);
double tutti_clock_sync_error_bound_us(const TuttiClockSync* cs, double local_now);
double tutti_clock_sync_skew_ppm(const TuttiClockSync* cs);
/* Round trip of the last accepted exchange minus the server's hold time; 0 before any. */
double tutti_clock_sync_last_rtt_us(const TuttiClockSync* cs);
double tutti_clock_sync_next_ping_delay(const TuttiClockSync* cs, double local_now);
void tutti_clock_sync_on_ping_sent(TuttiClockSync* cs, double local_now);
void tutti_clock_sync_on_reconnect(TuttiClockSync* cs);
int tutti_clock_sync_has_estimate(const TuttiClockSync* cs);
int tutti_clock_sync_locked(const TuttiClockSync* cs);
double tutti_clock_sync_epoch(const TuttiClockSync* cs);
double tutti_clock_sync_sample_count(const TuttiClockSync* cs);
double tutti_clock_sync_anomalies(const TuttiClockSync* cs);
double tutti_clock_sync_path_changes(const TuttiClockSync* cs);
double tutti_clock_sync_estimated_offset(const TuttiClockSync* cs, double local_us);

/* ---- JitterBuffer (default ReceiverOptions) ------------------------------------------- */
TuttiJitterBuffer* tutti_jitter_create(const TuttiClockSync* clock);
void tutti_jitter_destroy(TuttiJitterBuffer* jb);

/* A relayed batch, staged then pushed: begin, add each event, push. sequence 0 = not
 * sequenced. add returns 0 (and stages nothing) when status/data do not form a channel
 * message (status 0x80..0xEF, data bytes <= 0x7F; data2 is ignored for 2-byte kinds). */
void tutti_jitter_batch_begin(TuttiJitterBuffer* jb, uint32_t session_hi, uint32_t session_lo,
                              double sequence, double stamped_us, uint32_t flags);
int tutti_jitter_batch_add(TuttiJitterBuffer* jb, uint32_t status, uint32_t data1, uint32_t data2,
                           double delay_us);
/* JitterBuffer::Push(batch, local_now); returns the number scheduled. The rest of the
 * PushResult is read with the three calls after it. */
int tutti_jitter_batch_push(TuttiJitterBuffer* jb, double local_now);
int tutti_jitter_last_push_duplicate(const TuttiJitterBuffer* jb);
int tutti_jitter_last_push_gap(const TuttiJitterBuffer* jb);
int tutti_jitter_last_push_dropped(const TuttiJitterBuffer* jb);

/* A HeldNotesSnapshot, staged the same way; apply returns 1 if applied, 0 if stale. */
void tutti_jitter_snapshot_begin(TuttiJitterBuffer* jb, uint32_t session_hi, uint32_t session_lo,
                                 double sequence, uint32_t sustain_channels);
void tutti_jitter_snapshot_add_note(TuttiJitterBuffer* jb, uint32_t channel, uint32_t note);
int tutti_jitter_snapshot_apply(TuttiJitterBuffer* jb, double local_now);

/* Calls that produce events replace the output list with them and return how many there
 * are; read event i (0-based) with tutti_jitter_out_* until the next such call. */
int tutti_jitter_pop_due(TuttiJitterBuffer* jb, double local_now);
int tutti_jitter_drop_connection(TuttiJitterBuffer* jb, double local_now);
int tutti_jitter_remove_sender(TuttiJitterBuffer* jb, uint32_t session_hi, uint32_t session_lo,
                               double local_now);
int tutti_jitter_tick(TuttiJitterBuffer* jb, double local_now);
uint32_t tutti_jitter_out_session_hi(const TuttiJitterBuffer* jb, int i);
uint32_t tutti_jitter_out_session_lo(const TuttiJitterBuffer* jb, int i);
double tutti_jitter_out_local_us(const TuttiJitterBuffer* jb, int i);
uint32_t tutti_jitter_out_status(const TuttiJitterBuffer* jb, int i);
uint32_t tutti_jitter_out_data1(const TuttiJitterBuffer* jb, int i);
uint32_t tutti_jitter_out_data2(const TuttiJitterBuffer* jb, int i);
uint32_t tutti_jitter_out_flags(const TuttiJitterBuffer* jb, int i);
int tutti_jitter_out_late(const TuttiJitterBuffer* jb, int i);
int tutti_jitter_out_generated(const TuttiJitterBuffer* jb, int i);
double tutti_jitter_out_sequence(const TuttiJitterBuffer* jb, int i);
uint32_t tutti_jitter_out_index(const TuttiJitterBuffer* jb, int i);

/* JitterBuffer::NextDue(): the earliest queued play time, or NaN when nothing is queued. */
double tutti_jitter_next_due(const TuttiJitterBuffer* jb);

void tutti_jitter_set_delay_bounds(TuttiJitterBuffer* jb, double min_delay_us, double max_delay_us);
/* 0 low latency, 1 balanced, 2 smooth (Smoothness); other values are ignored. */
void tutti_jitter_set_smoothness(TuttiJitterBuffer* jb, int smoothness);
void tutti_jitter_set_percentile(TuttiJitterBuffer* jb, double percentile);

/* SenderStats fields, by number. */
enum TuttiSenderStat {
  TUTTI_STAT_BATCHES = 0,
  TUTTI_STAT_DUPLICATES = 1,
  TUTTI_STAT_GAPS = 2,
  TUTTI_STAT_NOTE_ONS = 3,
  TUTTI_STAT_LATE_NOTE_ONS = 4,
  TUTTI_STAT_DROPPED_NOTE_ONS = 5,
  TUTTI_STAT_LATE_OTHER = 6,
  TUTTI_STAT_BOUND_CLAMPED = 7,
  TUTTI_STAT_SNAPSHOT_RELEASES = 8,
  TUTTI_STAT_WATCHDOG_RELEASES = 9,
  TUTTI_STAT_STALLS_DISCARDED = 10,
  TUTTI_STAT_TARGET_US = 11,
  /* The playout offset in use and how it moved (midi/playout.h). */
  TUTTI_STAT_PLAYOUT_US = 12,
  TUTTI_STAT_PLAYOUT_MOVES = 13,
  TUTTI_STAT_PLAYOUT_REST_JUMPS = 14,
  TUTTI_STAT_PLAYOUT_CATCH_UPS = 15,
  TUTTI_STAT_PLAYOUT_STALL_LIFTS = 16,
  TUTTI_STAT_LATE_SHORTENED = 17,
};
/* The stat of that sender (0 for an unknown sender or stat). */
double tutti_jitter_stat(const TuttiJitterBuffer* jb, uint32_t session_hi, uint32_t session_lo,
                         int stat);
int tutti_jitter_sender_count(const TuttiJitterBuffer* jb);
int tutti_jitter_queued(const TuttiJitterBuffer* jb, uint32_t session_hi, uint32_t session_lo);
int tutti_jitter_idle(const TuttiJitterBuffer* jb);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // TUTTI_MIDI_TIMING_C_API_H_
