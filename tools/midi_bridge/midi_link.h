// MidiLink: the MIDI timing side of one client connection, between the wire (protobuf) and the
// timing core (midi/): clock sync over heartbeats, source stamping of outgoing batches, and the
// jitter buffer for everything the room relays.
//
// Owns: the connection's ClockSync and JitterBuffer, the heartbeat schedule, the senders whose
// departure is being played out, and counters.
// Thread affinity: single-threaded; not synchronized. Time is passed in (the client's local
// monotonic clock, microseconds); nothing here reads a clock or touches a socket. The caller's
// loop feeds received messages and local MIDI in, and sends / plays what comes out.
// Who owns it: tutti-midi-bridge (one per connection) and the timing harness bots.
//
// Rules (docs/TIMING.md):
//   * Heartbeats are the clock-sync pings (a burst on connect, then every 500 ms); each one
//     carries the ClockSyncStatus the server's stamper trusts and, once synced, the link's
//     quality (round trip, offset error, late and dropped shares: QualityMeter).
//   * An outgoing batch carries its source time mapped to server time while synced, else 0
//     (the server restamps it on arrival).
//   * A sender that left is removed only once its queued events have played (or after a grace
//     period): the server's synthetic note-offs, queued like any batch, are what release its
//     notes; the local release is the fallback.
//   * A HeldNotesSnapshot's controller state (program, pitch bend, mod wheel, pedals down)
//     goes to the output at once, so a late joiner's synthesizer plays the sender's later
//     notes with the right instrument, pitch and pedals. The jitter buffer does not track
//     what a snapshot set, so the link keeps its undo (pedals up, bend centred) and plays it
//     when the sender is removed, the room is left or the connection drops.
//   * A sequence gap asks the server for a state sync (at most once per resync interval).
//   * Leaving the room or losing the connection releases everything sounding.
//   * With output_lookahead_us, due events leave early with their play times: play on time,
//     not on wake-up.
//   * Replayed MIDI (a resume's missed events, docs/PROTOCOL.md §12) is history, never played
//     late as if live: it is fast-forwarded — note-ons dropped; note-offs, pedals,
//     controllers, program changes and bends played at once — so the output ends where the
//     sender left it and nothing sounds that was meant for seconds ago.
//   * A member who resumed under a new session id (MemberConnection with a previous id) is a
//     new sender; the old one departs as after a leave.
#ifndef TUTTI_TOOLS_MIDI_BRIDGE_MIDI_LINK_H_
#define TUTTI_TOOLS_MIDI_BRIDGE_MIDI_LINK_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "midi/clock_sync.h"
#include "midi/jitter_buffer.h"
#include "midi/midi_parse.h"
#include "protos/tutti.pb.h"
#include "tools/midi_bridge/quality_meter.h"

namespace tutti::bridge {

struct MidiLinkOptions {
  midi::ClockSyncOptions clock;
  midi::ReceiverOptions receiver;
  // Channel messages per outgoing batch (the server's limit; the Welcome may lower it).
  size_t max_events_per_batch = 64;
  // At most one SYNC_STATE request per this interval (gaps come in bursts).
  int64_t resync_interval_us = 1000000;
  // How long a departed sender's queue may keep playing before it is released locally: longer
  // than any target delay (max_delay_us is 500 ms) so the synthetic note-offs play first.
  int64_t leave_grace_us = 700000;
  int64_t watchdog_interval_us = 1000000;
  // Events are handed out this long before they are due, each with its play time
  // (PlayedEvent::local_us), for an output that plays at a given time (a JACK frame offset, a
  // sequencer queue, an AudioContext time): a late wake-up of the caller's thread then costs
  // nothing as long as it is shorter than this. 0: handed out when due (an output that plays
  // on arrival).
  int64_t output_lookahead_us = 0;
  // Heartbeats carry the link's measured quality once synced (docs/PROTOCOL.md, "Connection
  // quality"; QualityMeter says what is measured).
  bool report_quality = true;
  QualityMeterOptions quality;
};

// What the link wants done by its caller.
struct LinkOutput {
  std::vector<proto::ServerMessage> send;
  std::vector<midi::PlayedEvent> play;
};

struct LinkCounters {
  uint64_t batches_sent = 0;
  uint64_t events_sent = 0;
  uint64_t unsynced_batches = 0;  // sent with timestamp 0
  uint64_t heartbeats_sent = 0;
  uint64_t clock_samples = 0;
  uint64_t batches_received = 0;
  uint64_t synthetic_batches = 0;  // server note-offs for a departed sender
  uint64_t undecodable_batches = 0;
  uint64_t snapshots_applied = 0;
  uint64_t snapshot_controls = 0;  // controller messages played from snapshots
  // Their undo, played on removal, leave or drop (often redundant: the server's synthetic
  // note-offs release pedals too), so not counted as local_releases.
  uint64_t snapshot_undos = 0;
  uint64_t gaps = 0;
  uint64_t sync_requests = 0;
  uint64_t errors = 0;          // ErrorMessage replies
  uint64_t local_releases = 0;  // events generated here (departure fallback, drop, watchdog)
  uint64_t senders_removed = 0;
  uint64_t replayed_batches = 0;    // replayed MIDI batches (fast-forwarded, never queued)
  uint64_t replayed_dropped = 0;    // their note-ons, not played
  uint64_t replayed_forwarded = 0;  // their other events, played at once
};

class MidiLink {
 public:
  explicit MidiLink(MidiLinkOptions o = {});
  MidiLink(const MidiLink&) = delete;
  MidiLink& operator=(const MidiLink&) = delete;

  // The connection is open: clock sync starts with a burst (sent from the next Poll).
  void OnConnected(int64_t local_now);
  // A message from the server, received at local_now.
  void OnMessage(const proto::ClientMessage& m, int64_t local_now, LinkOutput* out);
  // A replayed room event (client::ResumeState::Kind::kReplayed): MIDI fast-forwarded by the
  // rule above; anything else as OnMessage.
  void OnReplayed(const proto::ClientMessage& m, int64_t local_now, LinkOutput* out);
  // Local MIDI that happened at source_local_us (e.g. an input port's timestamp): one batch
  // (several when more messages than the batch limit), stamped at its source.
  void SendLocal(int64_t source_local_us, const std::vector<midi::ChannelMessage>& messages,
                 int64_t local_now, LinkOutput* out);
  // Heartbeats, due events, the stuck-note watchdog, departures.
  void Poll(int64_t local_now, LinkOutput* out);
  // When Poll next has something to do (local time).
  int64_t NextWake(int64_t local_now) const;
  // The connection is gone: releases everything sounding (into out->play), forgets senders.
  void OnDisconnected(int64_t local_now, LinkOutput* out);

  const midi::ClockSync& clock() const { return clock_; }
  const midi::JitterBuffer& buffer() const { return buffer_; }
  midi::JitterBuffer& buffer() { return buffer_; }
  const LinkCounters& counters() const { return counters_; }
  const QualityMeter& quality() const { return quality_; }
  // Our own server session (from the Welcome), 0 before it.
  uint64_t session_id() const { return session_id_; }
  bool connected() const { return connected_; }

 private:
  void ApplySnapshot(const proto::HeldNotesSnapshot& s, int64_t local_now, LinkOutput* out);
  // Plays the undo of what snapshots set for `session` (every session when 0) and forgets it.
  void ReleaseSnapshotControls(uint64_t session, int64_t local_now, LinkOutput* out);
  void OnMidi(const proto::MidiMessage& m, int64_t local_now, LinkOutput* out);
  void RequestSync(int64_t local_now, LinkOutput* out);
  void CountGenerated(const std::vector<midi::PlayedEvent>& played, size_t from);

  MidiLinkOptions options_;
  midi::ClockSync clock_;
  midi::JitterBuffer buffer_;
  LinkCounters counters_;
  QualityMeter quality_;
  bool connected_ = false;
  uint64_t session_id_ = 0;
  bool have_sync_request_ = false;
  int64_t last_sync_request_us_ = 0;
  int64_t next_watchdog_us_ = 0;
  std::map<uint64_t, int64_t> departing_;  // sender session -> release-by (local time)
  // sender session -> what undoes the controller state its snapshots put on the output.
  std::map<uint64_t, std::vector<midi::ChannelMessage>> snapshot_undo_;
};

// Decodes a relayed MidiMessage into the jitter buffer's form: midi_data's messages at the
// batch time, then each event at its delay. False if any byte sequence is not a valid channel
// message (the server validates, so this means a corrupt or hostile frame).
bool DecodeRelayed(const proto::MidiMessage& m, midi::RelayedBatch* out);

// The HeldNotesSnapshot in plain form.
midi::HeldSnapshot DecodeSnapshot(const proto::HeldNotesSnapshot& s);

// The sender's controller state a snapshot carries, as the channel messages that set it on a
// fresh synthesizer: per listed channel its program (when one was seen), pitch bend (when off
// centre) and mod wheel (when not 0), then CC64 / CC66 / CC67 at 127 for each pedal down.
std::vector<midi::ChannelMessage> SnapshotControllerMessages(const proto::HeldNotesSnapshot& s);

}  // namespace tutti::bridge

#endif  // TUTTI_TOOLS_MIDI_BRIDGE_MIDI_LINK_H_
