// Platform: every operating-system-specific call of tutti-play, behind portable functions.
// The rest of tools/play is plain C++17 plus RtMidi, fluidsynth and curses, which build on
// Linux, macOS and Windows; only platform_posix.cc knows about /dev/snd, signals and $HOME.
//
// Owns: nothing long-lived except the threads of StopSignals and StdinLines (each started and
// joined by its object).
// Thread affinity: the free functions are safe from any thread (RedirectStderr and
// NoJackAutostart are meant for startup). StopSignals is created and destroyed on the main
// thread, before any other thread starts (so they inherit the signal mask); StdinLines on its
// owner's thread.
// Who owns it: tutti-play's main and its tests.
#ifndef TUTTI_TOOLS_PLAY_PLATFORM_H_
#define TUTTI_TOOLS_PLAY_PLATFORM_H_

#include <functional>
#include <memory>
#include <string>

namespace tutti::play {

// True where the ALSA sequencer device exists (Linux with snd-seq loaded). Without it RtMidi's
// ALSA API cannot open a client, so JACK is used instead.
bool AlsaSequencerPresent();

// Where settings are remembered: $XDG_CONFIG_HOME/tutti, else $HOME/.config/tutti. Empty when
// neither is set (then nothing is remembered).
std::string ConfigDir();

// Creates `dir` and its parents; false if it cannot.
bool MakeDirs(const std::string& dir);

// Never let a library start a JACK server as a side effect: libjack does, unless told not to
// (JACK_NO_START_SERVER), when RtMidi or fluidsynth's JACK driver looks for a server.
void NoJackAutostart();

// Native libraries (libasound, libjack) write to the process's standard error, which the
// terminal UI's screen shares: send it to `log_path` (appended), or discard it when that cannot
// be opened.
void RedirectStderr(const std::string& log_path);

// True if standard input and output are a terminal (the curses UI needs one).
bool IsInteractiveTerminal();

// SIGINT and SIGTERM (Ctrl-C in another terminal, a service manager) become a call of
// `on_stop` on a private thread, which must only post (set a flag, wake the loop). Broken
// pipes are ignored. Construct before starting other threads.
class StopSignals {
 public:
  explicit StopSignals(std::function<void()> on_stop);
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Reads lines from standard input on its own thread and hands each to `on_line` (which must
// only post). The thread checks for its stop every 100 ms, so destruction never hangs on a
// terminal that types nothing. End of input ends the thread (the program goes on).
class StdinLines {
 public:
  explicit StdinLines(std::function<void(std::string)> on_line);
  ~StdinLines();
  StdinLines(const StdinLines&) = delete;
  StdinLines& operator=(const StdinLines&) = delete;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tutti::play

#endif  // TUTTI_TOOLS_PLAY_PLATFORM_H_
