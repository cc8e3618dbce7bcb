// Synth: tutti-play's built-in General MIDI synthesizer, libfluidsynth with a GM soundfont.
//
// Owns: the fluidsynth settings, synth, sequencer and (when one opened) audio driver. The driver
// renders on fluidsynth's own audio thread; every call here goes through fluidsynth's
// thread-safe API (the sequencer's queue is locked).
//
// Play on time, not on wake-up (docs/TIMING.md): PlayAt schedules an event in fluidsynth's
// sequencer, whose clock is the synth's rendered samples (no system timer), so it sounds at its
// time in the audio stream (1 ms ticks, processed every 64 samples) however late the caller's
// thread woke. Local monotonic time maps to sequencer ticks through the upper envelope of
// (tick - local) read over the last 2 s: the tick jumps by an audio period at each render, and
// the reading just after a render is the one that matches the audio.
// A release played at once (pedal up, all notes off or sound off on a channel) is also queued
// one tick after the last event scheduled for that channel, so nothing queued outlives it.
// Thread affinity: create, play and destroy on the owner's thread (tutti-play's main loop);
// Render only when no audio driver runs (tests, offline rendering).
// Who owns it: tutti-play's Sound; the synth tests.
//
// fluidsynth logs to stderr by default, which belongs to the terminal UI; its messages are kept
// (last_log) instead and shown in the status line.
#ifndef TUTTI_TOOLS_PLAY_SYNTH_H_
#define TUTTI_TOOLS_PLAY_SYNTH_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "midi/channel_message.h"

namespace tutti::play {

struct SynthOptions {
  std::string soundfont;  // a .sf2 path; empty = FindSoundfont()
  // "auto" tries the platform's drivers in turn (PipeWire, PulseAudio, ALSA, JACK, SDL2 on
  // Linux); a fluidsynth driver name forces one; "file" renders to `file`; "none" opens no
  // device (Render() then produces the samples).
  std::string audio_driver = "auto";
  std::string file;  // with "file": raw signed 16-bit little-endian stereo at sample_rate
  double sample_rate = 48000;
  double gain = 0.6;
  // Audio period in frames: smaller is lower latency, more CPU.
  int period_size = 256;
};

// The soundfonts searched when none is given, in order: Debian's fluid-soundfont-gm and
// timgm6mb-soundfont (through the default-GM.sf2 alternative first), then other usual places.
const std::vector<std::string>& SoundfontSearchPath();
// The first soundfont that exists, or NotFound naming the packages to install.
absl::StatusOr<std::string> FindSoundfont();

class Synth {
 public:
  static absl::StatusOr<std::unique_ptr<Synth>> Create(const SynthOptions& options);
  ~Synth();
  Synth(const Synth&) = delete;
  Synth& operator=(const Synth&) = delete;

  void Play(const midi::ChannelMessage& m);
  // Plays `m` at local time at_us, the caller's clock reading local_now (both monotonic
  // microseconds). At once when at_us is not ahead of the sequencer; never before an event
  // scheduled earlier on the same channel. Without an audio driver nothing advances the
  // sequencer unless Render() is called (offline rendering, from the first call on): until
  // then events play at once.
  void PlayAt(const midi::ChannelMessage& m, int64_t at_us, int64_t local_now);
  // Events scheduled ahead (PlayAt) and played at once because their time had come.
  uint64_t scheduled() const { return scheduled_; }
  uint64_t immediate() const { return immediate_; }
  // Every note released and every sound cut on every channel (disconnect, exit); what was
  // scheduled is dropped.
  void AllNotesOff();
  // Renders `frames` stereo frames (interleaved left/right floats) into `out`. Only without an
  // audio driver; from the first call (even of 0 frames) on, the rendering is the sequencer's
  // clock.
  void Render(int frames, std::vector<float>* out);

  const std::string& soundfont() const { return soundfont_; }
  // The driver that opened ("pulseaudio", "file", ...) or "" when none did.
  const std::string& driver() const { return driver_; }
  // Why no driver opened, when one was asked for.
  const std::string& driver_error() const { return driver_error_; }
  static std::string last_log();

  struct Impl;

 private:
  explicit Synth(std::unique_ptr<Impl> impl);
  // Sequencer ticks (ms) minus local time (us -> ms), by the envelope rule above, in us.
  int64_t TickOffsetUs(int64_t local_now);
  void Schedule(const midi::ChannelMessage& m, unsigned tick);
  std::unique_ptr<Impl> impl_;
  uint64_t scheduled_ = 0;
  uint64_t immediate_ = 0;
  std::string soundfont_;
  std::string driver_;
  std::string driver_error_;
};

}  // namespace tutti::play

#endif  // TUTTI_TOOLS_PLAY_SYNTH_H_
