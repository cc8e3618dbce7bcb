// MIDI 1.0 channel-message parsing and validation.
//
// Owns: nothing (pure functions over caller-owned buffers).
// Thread affinity: none; every function is reentrant.
// ChannelMessage itself and its builders live in midi/channel_message.h (no abseil), so the
// timing core builds without abseil, also to WebAssembly (docs/WEB.md).
// Who uses it: the server session (validating inbound MidiMessage bytes), the receiver
// (decoding relayed events), tools and tests.
//
// Only channel voice messages (status 0x80..0xEF) are accepted. Running status, SysEx and
// system messages are refused on purpose: every event on the wire is one self-contained
// message, so a receiver that missed a batch can never misread the next one.
#ifndef TUTTI_MIDI_MIDI_PARSE_H_
#define TUTTI_MIDI_MIDI_PARSE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "midi/channel_message.h"

namespace tutti::midi {

// Appends every message in `data` to *out. Refuses (INVALID_ARGUMENT with a short reason):
// empty data, more than max_messages, a data byte where a status byte is expected (running
// status is not allowed), status >= 0xF0 (SysEx/system), truncated message, data byte > 0x7F.
// On refusal *out is left exactly as it was.
absl::Status ParseChannelMessages(std::string_view data, size_t max_messages,
                                  std::vector<ChannelMessage>* out);

// Parses `data` as exactly one channel message (a MidiEvent's payload).
absl::Status ParseOneChannelMessage(std::string_view data, ChannelMessage* out);

// Appends the 2 or 3 wire bytes of `m`.
void AppendBytes(const ChannelMessage& m, std::string* out);

}  // namespace tutti::midi

#endif  // TUTTI_MIDI_MIDI_PARSE_H_
