// QualityMeter: the link figures a client reports in its heartbeats (HeartbeatMessage.quality,
// docs/PROTOCOL.md "Connection quality"): the round trip of the clock-sync exchanges, the
// clock's offset error bound, and the share of received events that were late or dropped.
//
// Owns: the recent round trips and per-period event counts.
// Thread affinity: single-threaded; not synchronized. Time is passed in (the client's local
// monotonic clock, microseconds); nothing here reads a clock.
// Who owns it: MidiLink (one per connection: tutti-midi-bridge, tutti-play, the harness bots).
//
// Why these figures: the server grades the latest report (a player late for everyone should
// see why now, not averaged over an evening), so the counts cover a sliding window (the last
// window_us, in three periods) and the round trip is the median of the last rtt_samples
// exchanges (the typical path; one queued exchange does not make it poor, nor one fast
// exchange good). A missed batch (a sequence gap) counts as one dropped event: the number of
// events it held is unknown, so the figure is a lower bound.
#ifndef TUTTI_TOOLS_MIDI_BRIDGE_QUALITY_METER_H_
#define TUTTI_TOOLS_MIDI_BRIDGE_QUALITY_METER_H_

#include <cstddef>
#include <cstdint>
#include <deque>

#include "protos/tutti.pb.h"

namespace tutti::bridge {

struct QualityMeterOptions {
  int64_t window_us = 30000000;
  size_t rtt_samples = 16;
};

class QualityMeter {
 public:
  explicit QualityMeter(QualityMeterOptions o = {}) : o_(o) {}

  // One clock-sync exchange's round trip.
  void OnRoundTrip(int64_t rtt_us);
  // A relayed batch: `events` in it, `dropped` of them not played (queue overflow, too late),
  // `missed_batches` before it (a sequence gap).
  void OnReceived(uint64_t events, uint64_t dropped, uint64_t missed_batches, int64_t local_now);
  // Relayed events handed to the output, `late` of them after their play time.
  void OnPlayed(uint64_t events, uint64_t late, int64_t local_now);

  // Fills `q` (rtt, offset error, late %, dropped %) once a round trip is known; false (and
  // nothing filled) before. Every figure within the protocol's bounds.
  bool Fill(int64_t offset_error_us, int64_t local_now, proto::ConnectionQuality* q) const;
  // The median round trip of the recent exchanges, or -1 before any.
  int64_t rtt_us() const;

 private:
  struct Period {
    int64_t start_us = 0;
    uint64_t received = 0;
    uint64_t dropped = 0;
    uint64_t played = 0;
    uint64_t late = 0;
  };
  Period& Current(int64_t local_now);

  QualityMeterOptions o_;
  std::deque<int64_t> rtts_;
  std::deque<Period> periods_;
};

}  // namespace tutti::bridge

#endif  // TUTTI_TOOLS_MIDI_BRIDGE_QUALITY_METER_H_
