// App: tutti-play's single owner loop. It connects (guest or member token, a fresh sealed
// payload per connection), joins the room, plays the keyboard locally at once (local echo) and
// sends it stamped at its source, plays the others through the jitter buffer (MidiLink, the
// timing core in midi/), runs the typed commands, keeps the MIDI devices followed, reconnects
// with backoff and rejoins, clicks the room's tempo when asked (/metronome), and releases every
// note at disconnect and at exit.
//
// Owns: the connection (Client, NetworkPump) and its linked connection, MidiLink, the devices, the
// synth, Sound, RoomView, the Recorder and the UI; everything on the thread that calls Run().
// Thread affinity: Run() on one thread; Stop() from any thread (a signal thread): it only sets
// a flag and wakes the loop. The network pump, the RtMidi callback and the UI's reader only post
// to the Inbox. Who owns it: tutti-play's main.
#ifndef TUTTI_TOOLS_PLAY_APP_H_
#define TUTTI_TOOLS_PLAY_APP_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tools/client/client.h"
#include "tools/client/resume_state.h"
#include "tools/midi_bridge/inbox.h"
#include "tools/midi_bridge/linked_connection.h"
#include "tools/midi_bridge/midi_link.h"
#include "tools/play/click_track.h"
#include "tools/play/midi_devices.h"
#include "tools/play/player_choices.h"
#include "tools/play/recorder.h"
#include "tools/play/room_view.h"
#include "tools/play/settings.h"
#include "tools/play/sign_in.h"
#include "tools/play/sound.h"
#include "tools/play/synth.h"
#include "tools/play/ui.h"

namespace tutti::play {

struct AppOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string name;
  std::string token;  // empty: guest
  std::string room;   // empty: the next lobby with room
  MidiApiChoice midi_api = MidiApiChoice::kAuto;
  std::string input;   // number or name; empty: none
  std::string output;  // "synth" (default) or a MIDI output number or name
  SynthOptions synth;
  std::string ui = "auto";  // auto, tui, line
  std::string log_file;     // the terminal UI sends libraries' stderr here
  int64_t min_delay_us = 5000;
  int64_t max_delay_us = 500000;
  // The room's notes (and the metronome's clicks) leave the jitter buffer this much before
  // they are due, each with its time, into the synth's sequencer: a late wake-up of the loop
  // shorter than this costs no timing (docs/TIMING.md, "Play on time, not on wake-up").
  int64_t output_lookahead_us = 10000;
  bool reconnect = true;
  // 2: a linked connection beside the session's (docs/PROTOCOL.md §16); 1: none.
  int links = 2;
  std::string record_file;       // record from the start, saved here at exit
  std::string record_dir = ".";  // where /record saves
};

class App {
 public:
  App(AppOptions options, Settings* settings);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Runs until /quit, Stop() or a refusal that retrying cannot fix; returns the exit code.
  int Run();
  void Stop();

 private:
  bool Connect();
  void Disconnected(int64_t now);
  void HandleLine(const std::string& line, int64_t now);
  void SendLocal(int64_t now, bridge::LinkOutput* out);
  void Play(const bridge::LinkOutput& o);
  // Where every sound goes: the built-in synth, or the chosen MIDI output.
  void Output(const midi::ChannelMessage& m);
  // The same at local time at_us: scheduled in the synth; held here until due for a MIDI output
  // (RtMidi has no timestamped output).
  void OutputAt(const midi::ChannelMessage& m, int64_t at_us);
  // Sends what is held for the MIDI output and due by `now`; DropHeld forgets it (a release).
  void FlushHeld(int64_t now);
  void ReleaseEverything();
  // The room's tempo in a server message (join, broadcast, snapshot, resume), if it has one.
  void FollowTempo(const proto::ClientMessage& m, int64_t now);
  void PlayClicks(int64_t now);
  void PollDevices();
  void ForgetDeparted();
  void UpdateStatus();
  void ChooseOutput(const std::string& choice);
  void Join(const std::string& room);
  void ListDevices();
  uint64_t PlayerFor(const std::string& who);
  void ToggleRecording(int64_t now);
  std::string NameOf(uint64_t session_id) const;

  AppOptions o_;
  Settings* settings_;
  std::atomic<bool> stop_{false};
  bridge::Inbox inbox_;
  bridge::MidiLink link_;
  RoomView view_;
  std::unique_ptr<MidiDevices> devices_;
  std::unique_ptr<KeyboardInput> keyboard_;
  std::unique_ptr<ExternalOutput> external_;
  std::unique_ptr<Synth> synth_;
  std::string synth_error_;
  std::unique_ptr<Sound> sound_;
  std::unique_ptr<Ui> ui_;
  Recorder recorder_;
  ClickTrack clicks_;      // the metronome (/metronome)
  PlayerChoices choices_;  // /program and /volume for the others, kept across reconnects
  struct Held {
    int64_t at_us;
    midi::ChannelMessage message;
  };
  std::deque<Held> held_;    // for the MIDI output, in time order
  std::string record_path_;  // where the running recording goes (empty: a name made at save)
  std::unique_ptr<client::Client> client_;
  std::unique_ptr<bridge::NetworkPump> pump_;  // after client_: destroyed first
  // The link beside the session's connection: every batch on both, the first copy of each
  // room event kept. Declared after inbox_ (its pump posts there), so destroyed before it.
  bridge::LinkedConnection linked_;
  bool have_info_ = false;
  ServerInfo info_;
  bool use_external_ = false;  // MIDI out instead of the synth
  bool connected_ = false;
  bool quit_ = false;
  int exit_code_ = 0;
  int attempt_ = 0;
  int64_t reconnect_at_ = 0;
  std::string last_error_;
  std::string joined_room_;     // rejoined after a reconnect the server could not resume
  client::ResumeState resume_;  // resumes the session after a drop (PROTOCOL.md §12)
  std::mt19937 rng_;
  uint64_t local_events_ = 0;
  uint64_t remote_events_ = 0;
};

}  // namespace tutti::play

#endif  // TUTTI_TOOLS_PLAY_APP_H_
