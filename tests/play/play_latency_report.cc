// play_latency_report: measures tutti-play's key-press-to-sound latency on a private JACK server
// (dummy driver, 48 kHz, 256-frame periods; tests/midi_io/jack_server.h). A probe client plays a
// note into a JACK MIDI port at the first frame of a cycle and listens to a synth's output port
// for the first frame of sound; the latency of a press is that frame minus the press's frame,
// both on JACK's frame clock, so the two ends need no clock of their own.
//   local (default): one tutti-play reads the probe's port as its keyboard and plays the note on
//     its built-in synth (fluidsynth's JACK audio driver): driver to synth, no network.
//   --remote: a tutti-server child and an in-process netem relay (tools/netem_relay) in front of
//     it; a sender tutti-play reads the probe's port (no sound of its own) and a listener
//     tutti-play (no keyboard) plays what the room sends on its synth, so a press crosses the
//     sender's leg, the server, the listener's leg and its jitter buffer. --delay-ms and
//     --jitter-ms set each direction of every connection through the relay.
// A measurement tool, not a test: the figures depend on the machine's load and on JACK's
// settings. Results and method: docs/TIMING.md.
//
//   play_latency_report [--presses N] [--remote [--delay-ms D] [--jitter-ms J] [--warmup N]]
#include <jack/jack.h>
#include <jack/midiport.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/midi_io/jack_server.h"
#include "tests/play/play_process.h"
#include "tools/netem_relay/netem_relay.h"
#include "tools/timing_harness/server_process.h"

namespace {

constexpr double kRate = 48000;
// Silence is every sample at or under kQuiet; a press's onset is the first sample over
// kOnset, ten times higher (-60 dBFS; a velocity-110 piano attack passes it within a
// fraction of a millisecond). With one threshold for both, the synth's reverb tail, which
// hovers around -80 dBFS, could sit under it for the required quiet cycles, then rise
// over it just after a press and be taken for that press's sound.
constexpr float kQuiet = 1e-4f;
constexpr float kOnset = 1e-3f;
// Cycles of silence before a press (~107 ms at 256 frames).
constexpr int kQuietCycles = 20;

struct Probe {
  jack_client_t* client = nullptr;
  jack_port_t* keys = nullptr;
  jack_port_t* ear = nullptr;
  std::atomic<int> command{0};  // 1: press, 2: release (taken by the process callback)
  std::atomic<bool> listening{false};
  std::atomic<int64_t> press_frame{-1};
  std::atomic<int64_t> onset_frame{-1};
  // The same two moments on JACK's microsecond clock, read when the cycle runs: the frame
  // clock counts only the cycles JACK processed, so when a loaded machine starves the dummy
  // driver it falls behind the wall and a press looks faster than its path can be.
  std::atomic<int64_t> press_us{-1};
  std::atomic<int64_t> onset_us{-1};
  std::atomic<int> quiet_cycles{0};  // cycles in a row with no sample above the threshold
};

int Process(jack_nframes_t n, void* arg) {
  auto* p = static_cast<Probe*>(arg);
  const int64_t start = jack_last_frame_time(p->client);
  const auto now_us = static_cast<int64_t>(jack_get_time());
  void* midi = jack_port_get_buffer(p->keys, n);
  jack_midi_clear_buffer(midi);
  const int cmd = p->command.exchange(0);
  if (cmd != 0) {
    const jack_midi_data_t on[3] = {0x90, 60, 110};
    const jack_midi_data_t off[3] = {0x80, 60, 0};
    jack_midi_event_write(midi, 0, cmd == 1 ? on : off, 3);
    if (cmd == 1) {
      p->onset_frame.store(-1);
      p->onset_us.store(-1);
      p->press_us.store(now_us);
      p->press_frame.store(start);
      p->listening.store(true);
    }
  }
  const float* in = static_cast<const float*>(jack_port_get_buffer(p->ear, n));
  bool quiet = true;
  for (jack_nframes_t i = 0; i < n && quiet; ++i) quiet = std::fabs(in[i]) <= kQuiet;
  p->quiet_cycles.store(quiet ? p->quiet_cycles.load() + 1 : 0);
  if (p->listening.load()) {
    for (jack_nframes_t i = 0; i < n; ++i) {
      if (std::fabs(in[i]) > kOnset) {
        p->onset_us.store(now_us + static_cast<int64_t>(i * 1e6 / kRate));
        p->onset_frame.store(start + i);
        p->listening.store(false);
        break;
      }
    }
  }
  return 0;
}

bool WaitUntil(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

struct Options {
  int presses = 40;
  bool remote = false;
  double delay_ms = 0;   // per direction, --remote only
  double jitter_ms = 0;  // per direction, --remote only
  int warmup = 5;        // --remote: presses not counted while the jitter buffer settles
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--remote") == 0) {
      o.remote = true;
    } else if (has_value && std::strcmp(argv[i], "--presses") == 0) {
      o.presses = std::max(1, std::atoi(argv[++i]));
    } else if (has_value && std::strcmp(argv[i], "--delay-ms") == 0) {
      o.delay_ms = std::max(0.0, std::atof(argv[++i]));
    } else if (has_value && std::strcmp(argv[i], "--jitter-ms") == 0) {
      o.jitter_ms = std::max(0.0, std::atof(argv[++i]));
    } else if (has_value && std::strcmp(argv[i], "--warmup") == 0) {
      o.warmup = std::max(0, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr,
                   "usage: play_latency_report [--presses N] [--remote [--delay-ms D] "
                   "[--jitter-ms J] [--warmup N]]\n");
      std::exit(2);
    }
  }
  return o;
}

// The players of a run and what they need (a server and a relay when remote). Members are
// destroyed in reverse order: the players stop before the relay and the server.
struct Players {
  tutti::harness::ServerProcess server;
  std::unique_ptr<tutti::netem::NetemRelay> relay;
  std::unique_ptr<tutti::testing::PlayProcess> sender;    // reads the probe's keys
  std::unique_ptr<tutti::testing::PlayProcess> listener;  // its synth feeds the probe's ear
};

bool StartPlayers(const Options& o, const std::string& dir, const std::string& period, Players* p) {
  const std::vector<std::string> common = {TUTTI_PLAY_BINARY, "--ui=line", "--config_dir=none",
                                           "--midi_api=jack"};
  auto play = [&](std::vector<std::string> args, const std::string& log) {
    args.insert(args.begin(), common.begin(), common.end());
    return std::make_unique<tutti::testing::PlayProcess>(args, dir + "/" + log);
  };
  const std::vector<std::string> synth = {"--audio_driver=jack", "--audio_period=" + period};
  if (!o.remote) {
    // No server to reach: local echo plays offline (the loop keeps trying to connect).
    std::vector<std::string> args = {"--server=127.0.0.1:9", "--name=Probe",
                                     "--input=latency-probe:keys"};
    args.insert(args.end(), synth.begin(), synth.end());
    p->listener = play(args, "play.log");
    return true;
  }
  if (auto st = p->server.Start(TUTTI_SERVER_BINARY, dir, 1); !st.ok()) {
    std::fprintf(stderr, "server: %s\n%s\n", st.ToString().c_str(), p->server.output().c_str());
    return false;
  }
  tutti::netem::RelayOptions ro;
  ro.target_port = p->server.port();
  ro.up.delay_us = ro.down.delay_us = static_cast<int64_t>(o.delay_ms * 1000);
  ro.up.jitter_us = ro.down.jitter_us = static_cast<int64_t>(o.jitter_ms * 1000);
  ro.duration_us = int64_t{3600} * 1000000;  // bounded: an hour at most
  p->relay = std::make_unique<tutti::netem::NetemRelay>(ro);
  if (auto st = p->relay->Start(); !st.ok()) {
    std::fprintf(stderr, "relay: %s\n", st.ToString().c_str());
    return false;
  }
  const std::string via = "--server=127.0.0.1:" + std::to_string(p->relay->port());
  p->sender = play(
      {via, "--name=Sender", "--room=Latency", "--input=latency-probe:keys", "--audio_driver=none"},
      "sender.log");
  std::vector<std::string> args = {via, "--name=Listener", "--room=Latency", "--input=none"};
  args.insert(args.end(), synth.begin(), synth.end());
  p->listener = play(args, "listener.log");
  // Both in the room, each seeing the other, before any press.
  for (auto* who : {p->sender.get(), p->listener.get()}) {
    const bool together = tutti::testing::WaitFor([&] {
      const std::string line = who->LastLine("* players in Latency:");
      return line.find("Sender") != std::string::npos && line.find("Listener") != std::string::npos;
    });
    if (!together) {
      std::fprintf(stderr, "the players did not meet:\n%s\n", who->Log().c_str());
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);
  tutti::testing::JackServer jack;
  if (!jack.ok()) {
    std::fprintf(stderr, "no JACK server: %s\n", jack.error().c_str());
    return 1;
  }
  Probe probe;
  jack_status_t status;
  probe.client = jack_client_open("latency-probe", JackNoStartServer, &status);
  if (probe.client == nullptr) {
    std::fprintf(stderr, "cannot open a JACK client\n");
    return 1;
  }
  probe.keys =
      jack_port_register(probe.client, "keys", JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput, 0);
  probe.ear = jack_port_register(probe.client, "ear", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
  jack_set_process_callback(probe.client, &Process, &probe);
  jack_activate(probe.client);
  const jack_nframes_t jack_period = jack_get_buffer_size(probe.client);
  const double period_ms = jack_period / kRate * 1000;

  char dir[] = "/tmp/tutti-latency-XXXXXX";
  if (mkdtemp(dir) == nullptr) return 1;
  Players players;
  if (!StartPlayers(o, dir, std::to_string(jack_get_buffer_size(probe.client)), &players)) {
    return 1;
  }
  // The listener's synth output to our ear, once fluidsynth's ports exist (only the listener
  // renders to JACK); the sender's keyboard on our keys.
  const bool wired = WaitUntil(
      [&] {
        const char** ports =
            jack_get_ports(probe.client, "fluidsynth", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput);
        if (ports == nullptr) return false;
        const bool ok = jack_connect(probe.client, ports[0], jack_port_name(probe.ear)) == 0 ||
                        jack_port_connected(probe.ear) > 0;
        jack_free(ports);
        return ok && jack_port_connected(probe.keys) > 0;
      },
      std::chrono::seconds(30));
  if (!wired) {
    std::fprintf(stderr, "tutti-play did not connect:\n%s\n%s\n", players.listener->Log().c_str(),
                 players.sender ? players.sender->Log().c_str() : "");
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const int warmup = o.remote ? o.warmup : 0;
  std::vector<double> ms, wall_ms;
  for (int i = 0; i < warmup + o.presses; ++i) {
    // Only from silence (the last note's release has died away): the onset is this press's.
    if (!WaitUntil([&] { return probe.quiet_cycles.load() >= kQuietCycles; },
                   std::chrono::seconds(10))) {
      std::fprintf(stderr, "press %d: the synth never went quiet\n", i);
      continue;
    }
    // Cleared here, not only when the callback takes the press: until it does, the last
    // press's onset is still in place and would be read as this one's.
    probe.onset_frame.store(-1);
    probe.press_frame.store(-1);
    probe.command.store(1);
    if (!WaitUntil([&] { return probe.press_frame.load() >= 0 && probe.onset_frame.load() >= 0; },
                   std::chrono::seconds(5))) {
      std::fprintf(stderr, "press %d: no sound\n", i);
      continue;
    }
    if (i >= warmup) {
      ms.push_back((probe.onset_frame.load() - probe.press_frame.load()) / kRate * 1000);
      wall_ms.push_back(static_cast<double>(probe.onset_us.load() - probe.press_us.load()) / 1000);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    probe.command.store(2);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));  // the release dies away
  }
  if (players.sender) players.sender->Stop(SIGTERM);
  players.listener->Stop(SIGTERM);
  jack_client_close(probe.client);
  if (ms.empty()) return 1;
  std::vector<double> s = ms;
  std::sort(s.begin(), s.end());
  auto pct = [&](double p) {
    return s[std::min(s.size() - 1, static_cast<size_t>(p / 100 * static_cast<double>(s.size())))];
  };
  if (o.remote) {
    std::printf(
        "tutti-play remote key-to-sound latency (sender -> relay -> server -> relay -> "
        "listener's synth), relay %.1f ms +- %.1f ms each way, JACK dummy driver, %.0f Hz, "
        "period %.2f ms\n",
        o.delay_ms, o.jitter_ms, kRate, period_ms);
  } else {
    std::printf(
        "tutti-play local key-to-sound latency, JACK dummy driver, %.0f Hz, period %.2f ms\n",
        kRate, period_ms);
  }
  std::printf("presses %zu  min %.2f  median %.2f  p90 %.2f  max %.2f ms\n", s.size(), s.front(),
              pct(50), pct(90), s.back());
  // Each press in order: a slow start, a lone outlier or a drift shows here, not in the
  // summary.
  std::printf("in order:");
  for (double v : ms) std::printf(" %.1f", v);
  std::printf("\n");
  // Presses where JACK's frame clock fell more than a period behind its microsecond clock:
  // the dummy driver was starved (a loaded machine) and the frame figure is too low.
  int starved = 0;
  std::printf("wall clock:");
  for (size_t i = 0; i < ms.size(); ++i) {
    std::printf(" %.1f", wall_ms[i]);
    if (wall_ms[i] - ms[i] > period_ms) ++starved;
  }
  std::printf("\nframe clock behind the wall by more than a period: %d of %zu presses\n", starved,
              ms.size());
  if (o.remote) {
    // Two legs through the relay cannot take less than twice its floor: a press measured
    // below that, on the wall clock, heard something else; the run says so.
    const double floor_ms = 2 * std::max(0.0, o.delay_ms - o.jitter_ms);
    const auto impossible =
        std::count_if(wall_ms.begin(), wall_ms.end(), [&](double v) { return v < floor_ms; });
    std::printf("below the relay's %.1f ms floor: %td\n", floor_ms, impossible);
    if (impossible > 0) return 2;
  }
  return 0;
}
