// Sound: where tutti-play's notes are heard, the player's own (local echo, played at once) and
// the room's (out of the jitter buffer): the built-in synth, or MIDI out to an external synth
// or DAW. Each player gets a channel of their own, so one player's instrument (program change)
// and volume do not change another's.
//
// Owns: the player -> channel map and each channel's program and volume; not the synth or the
// output (tutti-play's main owns them and outlives this object).
// Thread affinity: the owner's thread (tutti-play's main loop). Who owns it: tutti-play's main.
//
// Channel rule: the local player is channel 1 (index 0); remote players take 2..9 and 11..16 in
// the order they are first heard; channel 10 (index 9) stays the GM drum channel for everyone.
// A sixteenth player shares the last channel. Messages a player sends on channel 10 stay there.
#ifndef TUTTI_TOOLS_PLAY_SOUND_H_
#define TUTTI_TOOLS_PLAY_SOUND_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "midi/channel_message.h"

namespace tutti::play {

class Sound {
 public:
  // Where mapped messages go (the synth's Play, or ExternalOutput::Send).
  using Sink = std::function<void(const midi::ChannelMessage&)>;
  static constexpr uint64_t kLocal = 0;  // the player at this keyboard

  // Where mapped messages with a play time go (local monotonic us): an output that plays at a
  // given time (the synth's sequencer). Without one, PlayAt plays at once through the Sink.
  using TimedSink = std::function<void(const midi::ChannelMessage&, int64_t at_us)>;

  explicit Sound(Sink sink) : sink_(std::move(sink)) {}
  void set_sink(Sink sink) { sink_ = std::move(sink); }
  void set_timed_sink(TimedSink sink) { timed_sink_ = std::move(sink); }
  // Told when a player's own program change is heard (PlayerChoices lets it win over a
  // remembered /program for them).
  using ProgramHeard = std::function<void(uint64_t player, uint8_t program)>;
  void set_on_program(ProgramHeard f) { on_program_ = std::move(f); }

  // Plays `m` from `player` (kLocal or a server session id) on that player's channel.
  void Play(uint64_t player, const midi::ChannelMessage& m);
  // The same, to be heard at local time at_us (the room's notes out of the jitter buffer).
  void PlayAt(uint64_t player, const midi::ChannelMessage& m, int64_t at_us);
  // Program 0..127 (General MIDI instrument) for one player.
  void SetProgram(uint64_t player, uint8_t program);
  // Volume 0..127 (MIDI CC 7) for one player.
  void SetVolume(uint64_t player, uint8_t volume);
  // Releases a player's notes (pedal up, all notes off on their channel), frees the channel
  // and forgets their program and volume (PlayerChoices keeps chosen ones by name), so a long
  // session keeps settings only for the players still here.
  void Forget(uint64_t player);
  // Pedal up and all notes off on every channel.
  void ReleaseAll();

  std::optional<uint8_t> ChannelOf(uint64_t player) const;
  // Players that hold a channel or settings now (what Forget would release).
  std::vector<uint64_t> Players() const;
  struct Settings {
    uint8_t program = 0;
    uint8_t volume = 100;
  };
  Settings SettingsOf(uint64_t player) const;

 private:
  uint8_t Assign(uint64_t player);
  void Send(uint8_t status, uint8_t a, uint8_t b, uint8_t size = 3);

  midi::ChannelMessage Map(uint64_t player, const midi::ChannelMessage& m);

  Sink sink_;
  TimedSink timed_sink_;
  ProgramHeard on_program_;
  std::map<uint64_t, uint8_t> channels_;
  std::map<uint64_t, Settings> settings_;
};

}  // namespace tutti::play

#endif  // TUTTI_TOOLS_PLAY_SOUND_H_
