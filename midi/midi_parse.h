// MIDI 1.0 channel-message parsing and validation.
//
// Owns: nothing (pure functions over caller-owned buffers).
// Thread affinity: none; every function is reentrant.
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

namespace tutti::midi {

// One MIDI 1.0 channel message. Invariant when produced by the parser: `status` is in
// 0x80..0xEF, `size` is 2 or 3 and matches the status, data bytes are <= 0x7F, and data2 is 0
// for two-byte messages.
struct ChannelMessage {
  uint8_t status = 0;
  uint8_t data1 = 0;
  uint8_t data2 = 0;
  uint8_t size = 0;  // 2 or 3

  uint8_t channel() const { return status & 0x0F; }
  uint8_t kind() const { return status & 0xF0; }
  // A note-on with velocity 0 is a note-off (MIDI 1.0 convention).
  bool IsNoteOn() const { return kind() == 0x90 && data2 > 0; }
  bool IsNoteOff() const { return kind() == 0x80 || (kind() == 0x90 && data2 == 0); }
  bool IsControlChange() const { return kind() == 0xB0; }

  friend bool operator==(const ChannelMessage& a, const ChannelMessage& b) {
    return a.status == b.status && a.data1 == b.data1 && a.data2 == b.data2 && a.size == b.size;
  }
  friend bool operator!=(const ChannelMessage& a, const ChannelMessage& b) { return !(a == b); }
};

// MIDI status kinds and controllers the project relies on.
inline constexpr uint8_t kNoteOff = 0x80;
inline constexpr uint8_t kNoteOn = 0x90;
inline constexpr uint8_t kPolyPressure = 0xA0;
inline constexpr uint8_t kControlChange = 0xB0;
inline constexpr uint8_t kProgramChange = 0xC0;
inline constexpr uint8_t kChannelPressure = 0xD0;
inline constexpr uint8_t kPitchBend = 0xE0;
inline constexpr uint8_t kCcSustain = 64;
inline constexpr uint8_t kCcAllSoundOff = 120;
inline constexpr uint8_t kCcResetAllControllers = 121;
inline constexpr uint8_t kCcAllNotesOff = 123;

// Total size (status included) of a channel message with this status byte, or 0 if the byte
// is not a channel status (a data byte or >= 0xF0).
int ChannelMessageSize(uint8_t status);

// Builders for tests and synthetic events. Arguments are masked to their valid ranges.
ChannelMessage MakeNoteOn(uint8_t channel, uint8_t note, uint8_t velocity);
ChannelMessage MakeNoteOff(uint8_t channel, uint8_t note, uint8_t velocity = 0);
ChannelMessage MakeControlChange(uint8_t channel, uint8_t controller, uint8_t value);

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
