// MidiFlag bits (protos/tutti.proto), repeated here so midi/ does not depend on protobuf.
//
// Owns: constants only. Thread affinity: none. Used by the stamper (server) and the jitter
// buffer (clients).
#ifndef TUTTI_MIDI_MIDI_FLAGS_H_
#define TUTTI_MIDI_MIDI_FLAGS_H_

#include <cstdint>

namespace tutti::midi {

inline constexpr uint32_t kFlagClamped = 1;    // sender's time was out of bounds and clamped
inline constexpr uint32_t kFlagRestamped = 2;  // sender unsynced: stamped on arrival
inline constexpr uint32_t kFlagSynthetic = 4;  // made by the server (departed sender's note-offs)

}  // namespace tutti::midi

#endif  // TUTTI_MIDI_MIDI_FLAGS_H_
