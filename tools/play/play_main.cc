// tutti-play: play a MIDI keyboard with others in a Tutti room, hearing yourself at once and
// the others through the built-in synth. docs/DESKTOP.md says how to use it.
//
// Threads: the App loop owns everything; the signal thread (StopSignals), the network pump,
// the RtMidi input callback and the line UI's reader only post to its Inbox.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "tools/common/main_flags.h"
#include "tools/play/app.h"
#include "tools/play/platform.h"
#include "tools/play/settings.h"
#include "tools/play/sign_in.h"

ABSL_FLAG(std::string, server, "",
          "host:port of the Tutti server (remembered; default 127.0.0.1:8080)");
ABSL_FLAG(std::string, name, "", "your name in the room (remembered; default $USER)");
ABSL_FLAG(std::string, token_file, "",
          "sign in as a member with the token in this file (else the TUTTI_TOKEN environment "
          "variable; with neither, as a guest)");
ABSL_FLAG(std::string, room, "", "room to join or create (default: the next lobby with room)");
ABSL_FLAG(std::string, midi_api, "auto",
          "MIDI system: auto (ALSA where /dev/snd/seq exists, else JACK), alsa, jack, coremidi, "
          "winmm, none");
ABSL_FLAG(std::string, input, "",
          "the keyboard: a number from --list_devices or (part of) its name; remembered; "
          "'none' for no keyboard");
ABSL_FLAG(std::string, output, "",
          "where the room sounds: 'synth' (the built-in synth, default) or a MIDI output's "
          "number or name (an external synth or DAW); remembered");
ABSL_FLAG(bool, list_devices, false, "print the MIDI inputs and outputs, numbered, and exit");
ABSL_FLAG(std::string, soundfont, "",
          "General MIDI soundfont (.sf2) for the built-in synth (default: Debian's "
          "fluid-soundfont-gm or timgm6mb-soundfont)");
ABSL_FLAG(std::string, audio_driver, "auto",
          "the synth's audio output: auto, pipewire, pulseaudio, alsa, jack, sdl2, file (with "
          "--audio_file: raw s16le stereo), none");
ABSL_FLAG(std::string, audio_file, "", "with --audio_driver file: where the audio goes");
ABSL_FLAG(int, audio_period, 256, "audio period in frames (lower: less latency, more CPU)");
ABSL_FLAG(std::string, ui, "auto",
          "auto (the terminal UI on a terminal, else lines), tui, or line (plain lines in and "
          "out)");
ABSL_FLAG(double, min_delay_ms, 5, "lowest playout delay for the others' notes");
ABSL_FLAG(double, max_delay_ms, 500, "highest playout delay for the others' notes");
ABSL_FLAG(double, output_lookahead_ms, 10,
          "the others' notes go to the synth's sequencer this long ahead, each at its time "
          "(0..1000; 0: played when due)");
ABSL_FLAG(bool, reconnect, true, "reconnect with backoff when the connection is lost");
ABSL_FLAG(int, links, 2,
          "connections to the session: 2 (default) also opens a linked connection and sends "
          "each batch on both, so one connection's stall does not delay the notes "
          "(docs/DESKTOP.md); 1 uses one connection");
ABSL_FLAG(std::string, record, "",
          "record what the room plays from the start, saved to this .mid file at exit (/record "
          "in the UI starts and saves recordings too)");
ABSL_FLAG(std::string, record_dir, ".", "where /record saves its .mid files");
ABSL_FLAG(std::string, config_dir, "",
          "where choices are remembered (default $XDG_CONFIG_HOME/tutti or ~/.config/tutti; "
          "'none' remembers nothing)");

namespace {

// Takes the flag when given (and remembers it), else the remembered value, else `fallback`.
std::string Choose(tutti::play::Settings& settings, const char* key, const std::string& flag,
                   const std::string& fallback) {
  if (!flag.empty()) {
    settings.Set(key, flag);
    return flag;
  }
  const std::string remembered = settings.Get(key);
  return remembered.empty() ? fallback : remembered;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "tutti-play: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // The conventions every Tutti main shares (tools/common/main_flags.h): dashes or
  // underscores in names, --help on stdout with status 0, usage errors with status 2.
  tutti::main_support::ParseFlags(
      argc, argv,
      "play a MIDI keyboard in a Tutti room.\n"
      "  tutti-play --server HOST:PORT --name NAME [--room ROOM] [--input KEYBOARD]\n"
      "Commands inside: /help. docs/DESKTOP.md has the details.");
  tutti::play::NoJackAutostart();
  using tutti::play::AppOptions;

  // Before any other thread starts, so that all of them leave the signals to this one.
  std::atomic<tutti::play::App*> app_ptr{nullptr};
  tutti::play::StopSignals signals([&app_ptr] {
    if (auto* a = app_ptr.load()) a->Stop();
  });

  const std::string config_flag = absl::GetFlag(FLAGS_config_dir);
  tutti::play::Settings settings(config_flag == "none" ? ""
                                 : config_flag.empty() ? tutti::play::ConfigDir()
                                                       : config_flag);
  AppOptions o;
  auto api = tutti::play::ParseMidiApi(absl::GetFlag(FLAGS_midi_api));
  if (!api.ok()) return Fail(std::string(api.status().message()));
  o.midi_api = *api;
  if (absl::GetFlag(FLAGS_list_devices)) {
    tutti::play::MidiDevices devices(o.midi_api, "tutti-play");
    std::printf("MIDI system: %s%s\n", devices.api_name().c_str(),
                devices.warning().empty() ? "" : (" (" + devices.warning() + ")").c_str());
    const auto inputs = devices.Inputs();
    std::printf("inputs (--input N or NAME):\n");
    for (size_t i = 0; i < inputs.size(); ++i) std::printf("  %zu. %s\n", i + 1, inputs[i].c_str());
    const auto outputs = devices.Outputs();
    std::printf("outputs (--output N or NAME):\n");
    for (size_t i = 0; i < outputs.size(); ++i) {
      std::printf("  %zu. %s\n", i + 1, outputs[i].c_str());
    }
    return 0;
  }

  const std::string server =
      Choose(settings, "server", absl::GetFlag(FLAGS_server), "127.0.0.1:8080");
  const size_t colon = server.rfind(':');
  o.host = colon == std::string::npos ? server : server.substr(0, colon);
  o.port = colon == std::string::npos ? 8080 : std::atoi(server.c_str() + colon + 1);
  if (o.host.empty() || o.port <= 0 || o.port > 65535) {
    return Fail("--server wants HOST:PORT, not '" + server + "'");
  }
  const char* user = std::getenv("USER");
  o.name = Choose(settings, "name", absl::GetFlag(FLAGS_name), user != nullptr ? user : "player");
  auto token = tutti::play::LoadToken(absl::GetFlag(FLAGS_token_file));
  if (!token.ok()) return Fail(std::string(token.status().message()));
  o.token = *token;
  if (!o.token.empty()) {
    auto id = tutti::play::ReadTokenIdentity(o.token);
    if (!id.ok()) return Fail("the token cannot be used: " + std::string(id.status().message()));
    if (absl::GetFlag(FLAGS_name).empty() && !id->name.empty()) o.name = id->name;
  }
  o.room = absl::GetFlag(FLAGS_room);
  o.input = Choose(settings, "input", absl::GetFlag(FLAGS_input), "");
  if (o.input == "none") o.input.clear();
  o.output = Choose(settings, "output", absl::GetFlag(FLAGS_output), "synth");
  o.synth.soundfont = Choose(settings, "soundfont", absl::GetFlag(FLAGS_soundfont), "");
  o.synth.audio_driver = absl::GetFlag(FLAGS_audio_driver);
  o.synth.file = absl::GetFlag(FLAGS_audio_file);
  o.synth.period_size = absl::GetFlag(FLAGS_audio_period);
  if (o.synth.audio_driver == "file" && o.synth.file.empty()) {
    return Fail("--audio_driver file needs --audio_file");
  }
  o.ui = absl::GetFlag(FLAGS_ui);
  if (!settings.path().empty() &&
      tutti::play::MakeDirs(settings.path().substr(0, settings.path().rfind('/')))) {
    o.log_file = settings.path().substr(0, settings.path().rfind('/')) + "/play.log";
  }
  if (o.ui != "auto" && o.ui != "tui" && o.ui != "line") return Fail("--ui is auto, tui or line");
  const double min_ms = absl::GetFlag(FLAGS_min_delay_ms);
  const double max_ms = absl::GetFlag(FLAGS_max_delay_ms);
  if (!(min_ms >= 0 && max_ms >= min_ms && max_ms <= 5000)) {
    return Fail("need 0 <= --min_delay_ms <= --max_delay_ms <= 5000");
  }
  o.min_delay_us = static_cast<int64_t>(min_ms * 1000);
  o.max_delay_us = static_cast<int64_t>(max_ms * 1000);
  const double lookahead_ms = absl::GetFlag(FLAGS_output_lookahead_ms);
  if (!(lookahead_ms >= 0 && lookahead_ms <= 1000))
    return Fail("need 0 <= --output_lookahead_ms <= 1000");
  o.output_lookahead_us = static_cast<int64_t>(lookahead_ms * 1000);
  o.reconnect = absl::GetFlag(FLAGS_reconnect);
  o.links = absl::GetFlag(FLAGS_links);
  if (o.links != 1 && o.links != 2) return Fail("--links is 1 or 2");
  o.record_file = absl::GetFlag(FLAGS_record);
  o.record_dir = absl::GetFlag(FLAGS_record_dir);

  int code = 0;
  {
    tutti::play::App app(o, &settings);
    app_ptr.store(&app);
    code = app.Run();
    app_ptr.store(nullptr);
  }
  return code;
}
