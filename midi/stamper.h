// Server-side stamping of inbound MIDI batches: the server's monotonic clock is the time
// reference, and this is where a sender's claimed times are held to it.
//
// Owns: the per-sender stamping state (the end of the last stamped batch).
// Thread affinity: single-threaded; not synchronized.
// Who owns it: the server keeps one Stamper per sender session, in the room actor that relays
// that sender's MIDI (so calls are already serialized).
//
// Rules (docs/TIMING.md explains why):
//   * A synced client stamps each batch at its source, in server time; the spacing of the
//     events inside a batch (their delays) is trusted. Only the absolute time is checked.
//   * The batch end (stamped + span) may not be later than its own arrival plus the sender's
//     reported clock error bound (kept within [min_ahead_us, max_ahead_cap_us]). A real event
//     cannot arrive before it happened, so anything later is a lie or a broken clock.
//   * No batch is stamped older than arrival - max_age_us.
//   * An unsynced client (synced == false or client_time_us == 0) is anchored so its last event
//     lands on arrival: stamped = arrival - span (the anchor rule), flagged RESTAMPED.
//   * Events of one batch keep their spacing on every path: the span is never shortened (only
//     a span above max_span_us is cut to it, and the server refuses those before stamping).
//   * Per sender, batches never go backwards: a batch starts no earlier than the previous
//     batch's end (the floor), so event order on the wire equals event order in time. Batches
//     bunched by the network (after a stall, or back to back) are pushed later, whole.
//   * The floor may push a batch's end past arrival + the allowed lead, up to arrival +
//     max_lead_us; a batch that would end later still (only a sender claiming more event time
//     than passes) starts at arrival + max_lead_us - span instead and overlaps the previous
//     batch's tail. Any such move sets CLAMPED.
// Invariants (given non-decreasing arrivals): max_delay_us == min(span, max_span_us);
//   stamped_us + max_delay_us <= arrival_us + max_lead_us, and <= arrival_us + the allowed lead
//   when the floor did not move the batch; stamped_us >= the previous batch's end whenever that
//   end + span <= arrival_us + max_lead_us.
#ifndef TUTTI_MIDI_STAMPER_H_
#define TUTTI_MIDI_STAMPER_H_

#include <cstdint>

#include "absl/status/status.h"
#include "midi/midi_flags.h"

namespace tutti::midi {

struct StampInput {
  int64_t client_time_us = 0;  // sender's source time in server time; 0 = unsynced
  int64_t arrival_us = 0;      // server time the batch was read
  int64_t span_us = 0;         // largest event delay inside the batch
  bool synced = false;
  int64_t error_bound_us = 0;  // the sender's reported |offset error| (ClockSyncStatus)
};

struct StampOutput {
  int64_t stamped_us = 0;
  uint32_t flags = 0;  // MidiFlag bits: 1 CLAMPED, 2 RESTAMPED
  // The largest delay the relayed batch may carry: the input span, cut to max_span_us.
  // The relay must cap each event's delay at this value (ClampDelay).
  int64_t max_delay_us = 0;

  int64_t ClampDelay(int64_t delay_us) const {
    return delay_us < 0 ? 0 : (delay_us > max_delay_us ? max_delay_us : delay_us);
  }
};

struct StamperOptions {
  // Largest lead of a batch end over its arrival, whatever error bound the sender reports:
  // bounds how far into the future a sender can place notes.
  int64_t max_ahead_cap_us = 25000;
  // Lead always allowed, so a well-synced sender with a tiny error bound is not clamped by
  // rounding. Kept <= max_ahead_cap_us.
  int64_t min_ahead_us = 1000;
  // Oldest stamp accepted, relative to arrival.
  int64_t max_age_us = 2000000;
  // Largest span (last event delay) of one batch; kept <= max_age_us. Batching is for events
  // already due together, so a real batch spans milliseconds (a throttled browser tab: ~1 s).
  int64_t max_span_us = 1000000;
  // Largest lead of a batch end over its arrival when the floor pushes the batch later (kept
  // >= max_ahead_cap_us). Honest batches bunched by a stall need as much lead as the stall was
  // long; receivers hold early events in their buffer, so a lead costs them only memory.
  int64_t max_lead_us = 1000000;
};

class Stamper {
 public:
  explicit Stamper(StamperOptions o = {});

  // Stamps one batch and advances the per-sender floor. Never fails: out-of-bounds input is
  // clamped and flagged.
  StampOutput Stamp(const StampInput& in);

  // For a server that prefers refusing to clamping: INVALID_ARGUMENT for a negative span or
  // one above max_span_us. Does not change state.
  absl::Status CheckSpan(int64_t span_us) const;

  const StamperOptions& options() const { return options_; }
  // Latest end (stamped + max_delay) of any batch so far, or INT64_MIN before the first.
  int64_t last_end_us() const { return last_end_us_; }

 private:
  StamperOptions options_;
  int64_t last_end_us_;
  int64_t last_arrival_us_;
};

}  // namespace tutti::midi

#endif  // TUTTI_MIDI_STAMPER_H_
