// The receiver's jitter buffer: turns relayed MIDI batches from every remote sender into events
// at local play times, steady in spacing, with nothing left sounding.
//
// Owns: per remote sender (keyed by server session id): a DelayEstimator, the queue of
// scheduled events, what has been played (sounding) and what will be once the queue drains
// (expected), sequence tracking and counters.
// Thread affinity: single-threaded; not synchronized. Time is passed in (the receiver's local
// monotonic clock, microseconds). Foreign threads (network, MIDI output) must post to the
// owner's thread.
// Who owns it: the client (native client, load generator, simulation), one per connection.
// It reads the connection's ClockSync (not owned; must outlive the buffer).
//
// Rules (docs/TIMING.md):
//   * An event stamped s (server time, batch stamp + delay) plays at LocalFromServer(s) + offset,
//     where offset follows the sender's DelayEstimator target under the playout policy of
//     midi/playout.h (jumps only in rests, else stretches time by <= 1 %). One batch is
//     scheduled with one offset: its events keep their spacing exactly.
//   * Per sender, play times never go backwards (same order as on the wire) and never lie
//     beyond push time + max_delay_us, whatever the stamps say.
//   * Stall policy, per kind. Late events (due before they arrived) play at once. A late
//     note-on within the grace window (max_late_note_on_us) plays late and shortened: its
//     note-off keeps its own time, but the note sounds at least late_note_min_us. Past the
//     grace window a note-on is dropped, and so is the note-off that ends it. Note-offs,
//     pedal-ups and other controllers are never dropped.
//   * Callers hand events to their output ahead of time with their play times (PopDue with
//     now + the output's lookahead; PlayedEvent::local_us is the time to play at), so a late
//     thread wake-up does not become timing error.
//   * A sequence gap is counted and reported (the caller asks for a state sync); a
//     HeldNotesSnapshot releases notes that the snapshot says are no longer held.
//   * Connection drop, sender removal and the stuck-note watchdog release everything sounding
//     (note-offs, then sustain off), so no note can hang.
#ifndef TUTTI_MIDI_JITTER_BUFFER_H_
#define TUTTI_MIDI_JITTER_BUFFER_H_

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <vector>

#include "midi/channel_message.h"
#include "midi/clock_sync.h"
#include "midi/delay_estimator.h"
#include "midi/held_notes.h"
#include "midi/midi_flags.h"
#include "midi/playout.h"

namespace tutti::midi {

struct RelayedEvent {
  ChannelMessage message;
  int64_t delay_us = 0;  // after the batch's stamped time
};

// A relayed MidiMessage in plain form (the client decodes the proto into this).
struct RelayedBatch {
  uint64_t session_id = 0;  // the sender's server session
  uint64_t sequence = 0;    // per sender, +1 per batch; 0 = not sequenced
  int64_t stamped_us = 0;   // server time
  uint32_t flags = 0;       // MidiFlag bits
  std::vector<RelayedEvent> events;
};

// A sender's held state as published by the server (HeldNotesSnapshot in plain form).
struct HeldSnapshot {
  uint64_t session_id = 0;
  uint64_t sequence = 0;  // last batch the snapshot covers
  struct Note {
    uint8_t channel = 0;
    uint8_t note = 0;
  };
  std::vector<Note> notes;
  uint16_t sustain_channels = 0;
};

struct PlayedEvent {
  uint64_t session_id = 0;
  int64_t local_us = 0;  // when it is due (PopDue returns it at or after this time)
  ChannelMessage message;
  uint32_t flags = 0;      // the batch's MidiFlag bits
  bool late = false;       // arrived after its play time; played at once
  bool generated = false;  // made here (snapshot reconcile, drop, watchdog)
  uint64_t sequence = 0;   // the batch it came from (0 if generated)
  uint32_t index = 0;      // position in that batch
};

struct ReceiverOptions {
  DelayOptions delay;
  PlayoutOptions playout;
  // The grace window: a note-on up to this late is played (late, shortened); later, dropped.
  // 300 ms covers one TCP retransmission stall (Linux's minimum RTO is 200 ms) plus a path's
  // usual delay, so a single stall loses no notes; a second RTO (400+ ms) does.
  int64_t max_late_note_on_us = 300000;
  // A note-on played late sounds at least this long, even when its note-off (late too)
  // arrived with it: a zero-length note is silence on most synthesizers.
  int64_t late_note_min_us = 40000;
  // Per-sender queue cap: past it, note-ons are dropped and everything else plays at once.
  size_t max_queued_per_sender = 4096;
  // A sender whose notes have sounded this long without any batch or snapshot from it is
  // released (the last resort; the server's synthetic note-offs normally arrive first).
  int64_t stuck_note_timeout_us = 60000000;
};

struct SenderStats {
  uint64_t batches = 0;
  uint64_t duplicates = 0;
  uint64_t gaps = 0;
  uint64_t note_ons = 0;
  uint64_t late_note_ons = 0;
  uint64_t dropped_note_ons = 0;
  uint64_t late_other = 0;     // late note-offs/controllers (played at once, never dropped)
  uint64_t bound_clamped = 0;  // events pulled in to push time + max_delay_us
  uint64_t snapshot_releases = 0;
  uint64_t watchdog_releases = 0;
  uint64_t stalls_discarded = 0;
  int64_t target_us = 0;  // the DelayEstimator's target
  // Playout (midi/playout.h): the offset in use and how it moved.
  int64_t playout_us = 0;
  uint64_t playout_moves = 0;
  uint64_t playout_rest_jumps = 0;
  uint64_t playout_catch_ups = 0;
  uint64_t playout_stall_lifts = 0;
  uint64_t late_shortened = 0;  // note-offs held back so a late note-on sounds late_note_min_us
};

struct PushResult {
  bool duplicate = false;  // sequence already seen: ignored
  bool gap = false;        // batches were missed: ask the server for a state sync
  size_t scheduled = 0;
  size_t dropped = 0;
};

class JitterBuffer {
 public:
  // `clock` maps server to local time; it must outlive the buffer.
  explicit JitterBuffer(const ClockSync* clock, ReceiverOptions o = {});

  PushResult Push(const RelayedBatch& batch, int64_t local_now);
  // Appends every event due at or before local_now, in play-time order. An output that plays
  // events at their local_us may pass now + its lookahead; releases made later (DropConnection,
  // RemoveSender, Tick) are then timed no earlier than what was handed out.
  void PopDue(int64_t local_now, std::vector<PlayedEvent>* out);
  // Earliest queued play time, if any (so an event loop can sleep until then).
  std::optional<int64_t> NextDue() const;

  // Reconciles with the sender's published state. Returns false (and does nothing) for a
  // snapshot older than the batches already received.
  bool ApplySnapshot(const HeldSnapshot& s, int64_t local_now);
  // The connection to the server dropped: discard queues, release everything sounding now
  // (appended to out), forget all senders.
  void DropConnection(int64_t local_now, std::vector<PlayedEvent>* out);
  // One sender left: the same for that sender only.
  void RemoveSender(uint64_t session_id, int64_t local_now, std::vector<PlayedEvent>* out);
  // Stuck-note watchdog; call now and then (e.g. once a second).
  void Tick(int64_t local_now, std::vector<PlayedEvent>* out);

  // User settings, applied to every sender.
  void SetDelayBounds(int64_t min_delay_us, int64_t max_delay_us);
  void SetSmoothness(Smoothness s);
  void SetPercentile(double p);
  const ReceiverOptions& options() const { return options_; }

  SenderStats Stats(uint64_t session_id) const;
  size_t sender_count() const { return senders_.size(); }
  size_t queued(uint64_t session_id) const;
  // True if nothing is sounding or queued for any sender.
  bool Idle() const;

 private:
  struct Scheduled {
    PlayedEvent event;
    uint64_t order = 0;  // tie-break across senders
  };
  struct Sender {
    Sender(const DelayOptions& d, const PlayoutOptions& p) : delay(d), playout(p) {}
    DelayEstimator delay;
    PlayoutOffset playout;
    std::deque<Scheduled> queue;  // play times non-decreasing
    // Note-offs held back past later events (late_note_min_us), by play time.
    std::multimap<int64_t, Scheduled> deferred;
    // Keys whose note-on was played late: when it plays (for late_note_min_us).
    std::map<size_t, int64_t> late_on_us;
    HeldNotes sounding;             // what the synthesizer was told
    HeldNotes expected;             // sounding + queued
    std::bitset<16 * 128> dropped;  // keys whose note-on was dropped: swallow the note-off
    uint64_t last_sequence = 0;
    bool have_stamp = false;
    int64_t first_stamp_us = 0;  // of the previous batch
    int64_t last_stamp_us = 0;
    int64_t last_play_us = 0;
    bool have_play = false;
    int64_t last_out_us = std::numeric_limits<int64_t>::min();  // latest time PopDue handed out
    int64_t last_activity_us = 0;
    SenderStats stats;
  };

  Sender& GetSender(uint64_t session_id);
  void Enqueue(Sender& s, PlayedEvent ev);
  void Defer(Sender& s, PlayedEvent ev);
  // A note-on for key is about to be queued at `at`: a deferred note-off of the same key must
  // not come after it.
  void PullDeferredNoteOff(Sender& s, size_t key, int64_t at);
  void ReleaseSender(Sender& s, uint64_t session_id, int64_t local_now,
                     std::vector<PlayedEvent>* out);
  void ApplyDelayOptions();

  const ClockSync* clock_;
  ReceiverOptions options_;
  std::map<uint64_t, Sender> senders_;
  uint64_t clock_epoch_;
  uint64_t next_order_ = 0;
};

}  // namespace tutti::midi

#endif  // TUTTI_MIDI_JITTER_BUFFER_H_
