// What one MIDI source holds right now: keys down and sustain pedals down, per channel.
//
// Owns: a fixed 16 x 128 table of held velocities and a 16-bit sustain mask (about 2 KB, no
// allocation after construction).
// Thread affinity: single-threaded; not synchronized.
// Who owns it: the server keeps one per sender session (to build HeldNotesSnapshot and the
// synthetic note-offs when a sender leaves); the receiver keeps one per remote sender (what
// it has played to the local synth, for reconciliation and release on drop).
//
// Invariants: held_count() equals the number of non-zero entries in the table; a note is held
// from its note-on until a note-off, CC120/CC123 on its channel, or ReleaseAll(). The pedal
// does not keep keys "held" here: a released key under a down pedal still sounds, but
// ReleaseAll() silences it through the CC64 0 it emits for that channel.
#ifndef TUTTI_MIDI_HELD_NOTES_H_
#define TUTTI_MIDI_HELD_NOTES_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "midi/channel_message.h"

namespace tutti::midi {

class HeldNotes {
 public:
  HeldNotes() = default;

  // Note on/off (velocity 0 = off), CC64 sustain (>= 64 down), CC120 (all sound off) and
  // CC123 (all notes off) release the channel's keys, CC121 (reset all controllers) lifts the
  // pedal. A repeated note-on for a held key keeps one entry (latest velocity). Everything else
  // is ignored.
  void Apply(const ChannelMessage& m);

  // No held notes and no sustain pedal down.
  bool Empty() const { return held_count_ == 0 && sustain_mask_ == 0; }

  // Note-offs for every held note (channel then note order), then sustain-off (CC64 0) for
  // every channel with the pedal down; clears the state.
  std::vector<ChannelMessage> ReleaseAll();

  // Calls fn for every held note, channel then note order.
  void ForEachHeld(
      const std::function<void(uint8_t channel, uint8_t note, uint8_t velocity)>& fn) const;

  bool IsHeld(uint8_t channel, uint8_t note) const {
    return velocity_[channel & 0x0F][note & 0x7F] != 0;
  }
  bool SustainDown(uint8_t channel) const { return (sustain_mask_ >> (channel & 0x0F)) & 1; }

  // Bit c set = sustain pedal down on channel c (HeldNotesSnapshot.sustain_channels).
  uint16_t sustain_mask() const { return sustain_mask_; }
  size_t held_count() const { return held_count_; }

  void Clear();

 private:
  void Release(uint8_t channel, uint8_t note);
  void ReleaseChannel(uint8_t channel);

  // velocity_[c][n] = velocity of the held key, 0 = not held.
  std::array<std::array<uint8_t, 128>, 16> velocity_{};
  uint16_t sustain_mask_ = 0;
  size_t held_count_ = 0;
};

}  // namespace tutti::midi

#endif  // TUTTI_MIDI_HELD_NOTES_H_
