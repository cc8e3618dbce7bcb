// MIDI intake: what a MidiMessage passes on its way into a room — validation of its bytes and
// event delays, the note, release and controller quotas, and stamping in server time — as a
// pure function of the message, the limits and the sender's intake state. It needs no shard,
// room or socket, so it is tested on its own (tests/server/midi_intake_test.cc).
//
// Owns: MidiIntakeState (the sender's MIDI buckets, stamper and sequence counter) and
// MidiRelay (a checked, stamped batch on its way to the room).
// Thread affinity: none of its own. A MidiIntakeState belongs to one Session and is used only
// on that session's shard thread; a MidiRelay is moved to the room's shard.
// Who owns it: the Session (its `midi` member); the dispatcher calls TakeMidi.
#ifndef TUTTI_SERVER_MIDI_INTAKE_H_
#define TUTTI_SERVER_MIDI_INTAKE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "midi/midi_parse.h"
#include "midi/stamper.h"
#include "protos/tutti.pb.h"
#include "server/config.h"
#include "server/ids.h"
#include "server/link_token.h"
#include "server/token_bucket.h"

namespace tutti::server {

// A checked and stamped batch on its way to the room that relays it.
struct MidiRelay {
  SessionId session = 0;
  std::string request_id;  // echoed on a refusal the room gives (MUTED)
  uint64_t sequence = 0;
  int64_t stamped_us = 0;
  int64_t arrival_us = 0;
  uint32_t flags = 0;
  std::string midi_data;
  std::vector<std::pair<std::string, uint32_t>> events;  // data, delay_us
  std::vector<midi::ChannelMessage> parsed;              // all events, in time order
};

// What a channel message costs, and from which bucket.
enum class MidiCharge {
  kNote,        // note-on: the note quota
  kRelease,     // note-off, pedal up, all-notes/sound-off, reset: must never be what sticks
  kController,  // CC, program change, pitch bend, channel and poly pressure
};
MidiCharge ChargeOf(const midi::ChannelMessage& m);

// The sender's MIDI limits and stamping state.
struct MidiIntakeState {
  MidiIntakeState(const ServerConfig& config, int64_t now_us);

  TokenBucket note_bucket;
  TokenBucket release_bucket;  // release-only batches: a refused note-off would stick a note
  TokenBucket controller_bucket;
  midi::Stamper stamper;
  uint64_t sequence = 0;  // of the last relayed batch
  // The sender's own batch numbers taken (inbound MidiMessage.sequence): a batch sent on
  // both linked connections is taken once (docs/PROTOCOL.md §16).
  SequenceWindow taken;
};

struct MidiIntakeResult {
  // ERROR_CODE_UNSPECIFIED = accepted; otherwise the typed refusal and its reason.
  proto::ErrorCode code = proto::ERROR_CODE_UNSPECIFIED;
  std::string reason;
  // For a RATE_LIMITED refusal: the quota that refused it.
  MidiCharge quota = MidiCharge::kNote;
  MidiRelay relay;  // filled when accepted

  bool ok() const { return code == proto::ERROR_CODE_UNSPECIFIED; }
};

// Checks `midi`, charges the quotas and stamps it at `arrival_us` (server time). A refused
// batch changes nothing in `state` except the buckets' refill time.
MidiIntakeResult TakeMidi(const proto::MidiMessage& midi, const ServerConfig& config,
                          const proto::ClockSyncStatus& clock, int64_t arrival_us,
                          SessionId session, const std::string& request_id, MidiIntakeState* state);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_MIDI_INTAKE_H_
