// The layer-2 timing run: the real server, real WebSocket clients and real TCP on 127.0.0.1,
// with a userspace relay adding delay, jitter and stalls to every leg. It plays the
// simulation's musical material (midi/timing_metrics.h) from a sender bot to a receiver bot and
// measures with the monotonic clock that every process on one machine shares (the server stamps
// with it too, so "true server time" is known exactly and clock error can be measured).
//
// Owns: for the length of RunHarness, a tutti-server child process, two in-process relays (one
// per bot; four with links, one per connection), the two bots (each a MidiLink behind a
// blocking Client, and with links a second Client for the linked connection) and their threads.
// Thread affinity: RunHarness blocks its caller; it starts and joins every thread it uses.
// Who owns it: tutti-timing-harness (main) and its ctest smoke run.
//
// Bots keep their own local clocks, offset far from server time and skewed (sender 100 ppm
// fast, receiver 100 ppm slow, as in the simulation), so clock sync does real work.
#ifndef TUTTI_TOOLS_TIMING_HARNESS_TIMING_HARNESS_H_
#define TUTTI_TOOLS_TIMING_HARNESS_TIMING_HARNESS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "midi/timing_metrics.h"
#include "tools/netem_relay/netem_relay.h"

namespace tutti::harness {

struct HarnessOptions {
  std::string name = "layer 2";
  std::string server_binary;  // tutti-server
  std::string work_dir;       // keys and data of the child server (created if missing)
  int server_shards = 2;
  // Where the server listens, and the named network namespace it runs in (empty: this one).
  // tools/timing_harness/real_loss.sh puts it across a veth pair with kernel packet loss.
  std::string server_host = "127.0.0.1";
  std::string server_netns;
  // Every leg (sender up/down, receiver up/down) gets this profile.
  netem::DirectionProfile path;
  uint64_t seed = 1;
  // Music runs from 2 s after the sender connects for this long.
  int64_t music_us = 30000000;
  // At the end the sender puts the pedal down, starts a chord and is killed mid-chord (its
  // connection severed as a process kill would): the server's synthetic note-offs must release
  // everything.
  bool kill_mid_chord = true;
  // How long the receiver keeps running after the sender stops.
  int64_t drain_us = 3000000;
  // ACK the server's segments at once (TCP_QUICKACK on the relay's server side), so a server
  // socket without TCP_NODELAY never waits for a delayed ACK: what the figures would be with
  // Nagle off on the server. Off by default: measure the server as it is.
  bool quickack = false;
  // The path loses packets outside the harness (real_loss.sh's kernel drops): TCP's
  // retransmissions stall it as the relay's injected stalls do, so note-ons dropped by the
  // stall policy are measured, not counted as a correctness failure (CheckCorrectness).
  bool external_loss = false;
  // The receiver hands events to its output this long ahead, with their play times, and the
  // output model plays each at max(its time, when it was handed over), as a JACK frame offset
  // or an AudioContext time does (MidiLinkOptions::output_lookahead_us). 0: the receiver
  // thread plays each event when it wakes for it (wake-up latency becomes timing error).
  int64_t output_lookahead_us = 10000;
  // Per-batch leg times on stderr.
  bool trace = false;
  // Connections per bot: 2 gives each bot a linked connection (docs/PROTOCOL.md §16) through
  // a relay of its own (independent delay, jitter and stalls); the sender sends every batch
  // on both, the receiver plays the first copy of each room event.
  int links = 1;
  double sender_skew_ppm = 100;
  double receiver_skew_ppm = -100;
};

struct HarnessReport {
  std::string name;
  midi::timing::TimingFigures sender;  // as heard by the receiver; clock fields: sender's
  // Receiver's own clock sync.
  double clock_p95_ms = 0, clock_max_ms = 0, clock_at_1s_ms = 0, skew_error_ppm = 0;
  bool clock_within_bound = true;
  int stuck_notes = 0;  // sounding in the synthesizer model at the end
  bool buffer_idle = true;
  size_t source_note_ons = 0;  // note-ons the sender sent
  bool killed = false;
  uint64_t synthetic_batches = 0;  // server note-offs for the killed sender
  uint64_t local_releases = 0;     // releases the receiver had to make itself (fallback)
  uint64_t gaps = 0;
  uint64_t server_errors = 0;  // ErrorMessage replies to either bot
  uint64_t sender_unsynced_batches = 0;
  // Relay hold per leg (ms): what the path added, p50 / p99.
  double sender_up_p50_ms = 0, sender_up_p99_ms = 0;
  double receiver_down_p50_ms = 0, receiver_down_p99_ms = 0;
  uint64_t stalls = 0;             // injected on any leg
  bool stalls_configured = false;  // injected by the relay, or --external-loss
  // IOI error of the play times the buffer scheduled (before this machine's wake-up latency),
  // how often the playout offset changed, and how late the receiver thread handed a due note
  // to the output (after its play time; with a lookahead, 0 unless it woke later than that).
  double scheduled_ioi_p95_ms = 0, scheduled_ioi_p99_ms = 0;
  uint64_t target_moves = 0;
  double wake_late_p50_ms = 0, wake_late_p99_ms = 0;
  int64_t output_lookahead_us = 0;
  // Playout policy counters (midi/playout.h) and note-ons shortened after a stall.
  uint64_t rest_jumps = 0, catch_ups = 0, stall_lifts = 0, late_shortened = 0;
  // --links 2: room events the receiver took first from each connection, copies dropped.
  int links = 1;
  uint64_t first_from_primary = 0, first_from_link = 0, duplicates = 0;
};

absl::StatusOr<HarnessReport> RunHarness(const HarnessOptions& options);

// The simulation's layout (midi_timing_report), plus the layer-2 lines.
std::string DescribeReport(const HarnessReport& r);

// Correctness only (the ctest smoke run): no stuck notes, every note-on delivered and none
// dropped (unless stalls were injected: then late note-ons are dropped by design), the killed
// sender released by the server. Empty if fine, else what failed.
std::string CheckCorrectness(const HarnessReport& r);

}  // namespace tutti::harness

#endif  // TUTTI_TOOLS_TIMING_HARNESS_TIMING_HARNESS_H_
