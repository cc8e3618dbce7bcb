// One MIDI 1.0 channel message, the constants the project relies on and builders.
//
// Owns: nothing (a value type and pure functions).
// Thread affinity: none; every function is reentrant.
// Who uses it: everything that handles MIDI: the parser (midi_parse.h), held-note tracking,
// the stamper, the receiver's jitter buffer. Kept apart from midi_parse.h, which needs
// abseil, so that the timing core (clock sync, delay estimator, jitter buffer) compiles with
// the standard library alone, also to WebAssembly for the browser (midi/timing_c_api.h).
#ifndef TUTTI_MIDI_CHANNEL_MESSAGE_H_
#define TUTTI_MIDI_CHANNEL_MESSAGE_H_

#include <cstdint>

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
inline constexpr uint8_t kCcModWheel = 1;
inline constexpr uint8_t kCcSustain = 64;
inline constexpr uint8_t kCcSostenuto = 66;
inline constexpr uint8_t kCcSoft = 67;
inline constexpr uint8_t kCcAllSoundOff = 120;
inline constexpr uint8_t kCcResetAllControllers = 121;
inline constexpr uint8_t kCcAllNotesOff = 123;
inline constexpr uint16_t kPitchBendCenter = 8192;  // 14-bit value, no bend

// Total size (status included) of a channel message with this status byte, or 0 if the byte
// is not a channel status (a data byte or >= 0xF0).
int ChannelMessageSize(uint8_t status);

// Builders for tests and synthetic events. Arguments are masked to their valid ranges.
ChannelMessage MakeNoteOn(uint8_t channel, uint8_t note, uint8_t velocity);
ChannelMessage MakeNoteOff(uint8_t channel, uint8_t note, uint8_t velocity = 0);
ChannelMessage MakeControlChange(uint8_t channel, uint8_t controller, uint8_t value);
ChannelMessage MakeProgramChange(uint8_t channel, uint8_t program);
ChannelMessage MakePitchBend(uint8_t channel, uint16_t value);  // 0..16383, 8192 = center

}  // namespace tutti::midi

#endif  // TUTTI_MIDI_CHANNEL_MESSAGE_H_
