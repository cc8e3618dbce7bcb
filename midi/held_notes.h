// What one MIDI source holds right now: keys down, pedals down (sustain, sostenuto, soft), and
// the controller state a listener needs to hear it right: program, pitch bend and mod wheel,
// per channel.
//
// Owns: a 16 x 128 table of held velocities (2 KB, allocated at the first note-on and kept
// from then on: a source that never plays a note, such as most members of a room, costs
// ~120 bytes, and one that plays allocates once), three 16-bit pedal masks and 16 entries
// of controller state.
// Thread affinity: single-threaded; not synchronized.
// Who owns it: the server keeps one per sender session (to build HeldNotesSnapshot and the
// synthetic note-offs when a sender leaves); the receiver keeps one per remote sender (what
// it has played to the local synth, for reconciliation and release on drop).
//
// Invariants: held_count() equals the number of non-zero entries in the table; a note is held
// from its note-on until a note-off, CC120/CC123 on its channel, or ReleaseAll(). The pedal
// does not keep keys "held" here: a released key under a down pedal still sounds, but
// ReleaseAll() silences it through the CC64/CC66 0 it emits for that channel. The program is
// not something to release: ReleaseAll() keeps it (a muted player keeps their instrument).
#ifndef TUTTI_MIDI_HELD_NOTES_H_
#define TUTTI_MIDI_HELD_NOTES_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "midi/channel_message.h"

namespace tutti::midi {

class HeldNotes {
 public:
  HeldNotes() = default;
  HeldNotes(const HeldNotes& other);
  HeldNotes& operator=(const HeldNotes& other);
  HeldNotes(HeldNotes&&) noexcept = default;
  HeldNotes& operator=(HeldNotes&&) noexcept = default;

  // Note on/off (velocity 0 = off), CC64 sustain, CC66 sostenuto and CC67 soft (>= 64 down),
  // CC1 mod wheel, pitch bend and program change are tracked; CC120 (all sound off) and CC123
  // (all notes off) release the channel's keys, CC121 (reset all controllers) lifts the pedals
  // and centres bend and mod wheel. A repeated note-on for a held key keeps one entry (latest
  // velocity). Everything else is ignored.
  void Apply(const ChannelMessage& m);

  // No held notes and no sustain or sostenuto pedal down: nothing is sounding.
  bool Empty() const { return held_count_ == 0 && sustain_mask_ == 0 && sostenuto_mask_ == 0; }
  // Empty(), and no soft pedal, bend or mod wheel away from rest: ReleaseAll() would emit nothing.
  bool AtRest() const;
  // Something a listener joining now needs to hear this source right (AtRest() is false, or a
  // program was chosen on some channel).
  bool HasState() const;

  // Note-offs for every held note (channel then note order), then per channel: sustain,
  // sostenuto and soft pedal up (CC64/66/67 0) where down, mod wheel to 0 (CC1 0) and pitch
  // bend to centre where moved. Clears everything but the programs.
  std::vector<ChannelMessage> ReleaseAll();

  // Calls fn for every held note, channel then note order.
  void ForEachHeld(
      const std::function<void(uint8_t channel, uint8_t note, uint8_t velocity)>& fn) const;

  bool IsHeld(uint8_t channel, uint8_t note) const {
    return velocity_ && (*velocity_)[channel & 0x0F][note & 0x7F] != 0;
  }
  bool SustainDown(uint8_t channel) const { return (sustain_mask_ >> (channel & 0x0F)) & 1; }

  // Bit c set = that pedal down on channel c (HeldNotesSnapshot.sustain_channels, ...).
  uint16_t sustain_mask() const { return sustain_mask_; }
  uint16_t sostenuto_mask() const { return sostenuto_mask_; }
  uint16_t soft_mask() const { return soft_mask_; }
  // -1 = no program change seen on that channel.
  int program(uint8_t channel) const { return program_[channel & 0x0F]; }
  uint16_t pitch_bend(uint8_t channel) const { return bend_[channel & 0x0F]; }
  uint8_t mod_wheel(uint8_t channel) const { return mod_[channel & 0x0F]; }
  size_t held_count() const { return held_count_; }

  void Clear();

 private:
  void Release(uint8_t channel, uint8_t note);
  void ReleaseChannel(uint8_t channel);
  void ResetControllers(uint8_t channel);

  // (*velocity_)[c][n] = velocity of the held key, 0 = not held; null = nothing ever held.
  using VelocityTable = std::array<std::array<uint8_t, 128>, 16>;
  std::unique_ptr<VelocityTable> velocity_;
  uint16_t sustain_mask_ = 0;
  uint16_t sostenuto_mask_ = 0;
  uint16_t soft_mask_ = 0;
  std::array<int8_t, 16> program_ = MakePrograms();
  std::array<uint16_t, 16> bend_ = MakeBends();
  std::array<uint8_t, 16> mod_{};
  size_t held_count_ = 0;

  static std::array<int8_t, 16> MakePrograms() {
    std::array<int8_t, 16> p;
    p.fill(-1);
    return p;
  }
  static std::array<uint16_t, 16> MakeBends() {
    std::array<uint16_t, 16> b;
    b.fill(kPitchBendCenter);
    return b;
  }
};

}  // namespace tutti::midi

#endif  // TUTTI_MIDI_HELD_NOTES_H_
