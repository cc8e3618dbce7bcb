// Synth: tutti-play's built-in General MIDI synthesizer, libfluidsynth with a GM soundfont.
//
// Owns: the fluidsynth settings, synth and (when one opened) audio driver. The driver renders
// on fluidsynth's own audio thread; every call here goes through fluidsynth's thread-safe API.
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
  // Every note released and every sound cut on every channel (disconnect, exit).
  void AllNotesOff();
  // Renders `frames` stereo frames (interleaved left/right floats) into `out`. Only without an
  // audio driver.
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
  std::unique_ptr<Impl> impl_;
  std::string soundfont_;
  std::string driver_;
  std::string driver_error_;
};

}  // namespace tutti::play

#endif  // TUTTI_TOOLS_PLAY_SYNTH_H_
