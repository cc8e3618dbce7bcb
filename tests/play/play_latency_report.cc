// play_latency_report: measures tutti-play's local key-press-to-sound latency (driver to synth)
// on a private JACK server (dummy driver, 48 kHz, 256-frame periods; tests/midi_io/jack_server.h).
// A probe client plays a note into a JACK MIDI port at the first frame of a cycle; tutti-play
// (--midi_api jack, its built-in synth on fluidsynth's JACK audio driver) reads it as its
// keyboard and plays it locally; the probe listens to the synth's output port and finds the
// first frame of sound. The latency of a press is that frame minus the press's frame, both on
// JACK's frame clock. A measurement tool, not a test: the figures depend on the machine's
// load and on JACK's settings. Results and method: docs/TIMING.md.
//
//   play_latency_report [--presses N]
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
#include <string>
#include <thread>
#include <vector>

#include "tests/midi_io/jack_server.h"
#include "tests/play/play_process.h"

namespace {

constexpr double kRate = 48000;
constexpr float kThreshold = 1e-4f;

struct Probe {
  jack_client_t* client = nullptr;
  jack_port_t* keys = nullptr;
  jack_port_t* ear = nullptr;
  std::atomic<int> command{0};  // 1: press, 2: release (taken by the process callback)
  std::atomic<bool> listening{false};
  std::atomic<int64_t> press_frame{-1};
  std::atomic<int64_t> onset_frame{-1};
  std::atomic<int> quiet_cycles{0};  // cycles in a row with no sample above the threshold
};

int Process(jack_nframes_t n, void* arg) {
  auto* p = static_cast<Probe*>(arg);
  const int64_t start = jack_last_frame_time(p->client);
  void* midi = jack_port_get_buffer(p->keys, n);
  jack_midi_clear_buffer(midi);
  const int cmd = p->command.exchange(0);
  if (cmd != 0) {
    const jack_midi_data_t on[3] = {0x90, 60, 110};
    const jack_midi_data_t off[3] = {0x80, 60, 0};
    jack_midi_event_write(midi, 0, cmd == 1 ? on : off, 3);
    if (cmd == 1) {
      p->onset_frame.store(-1);
      p->press_frame.store(start);
      p->listening.store(true);
    }
  }
  const float* in = static_cast<const float*>(jack_port_get_buffer(p->ear, n));
  bool quiet = true;
  for (jack_nframes_t i = 0; i < n && quiet; ++i) quiet = std::fabs(in[i]) <= kThreshold;
  p->quiet_cycles.store(quiet ? p->quiet_cycles.load() + 1 : 0);
  if (p->listening.load()) {
    for (jack_nframes_t i = 0; i < n; ++i) {
      if (std::fabs(in[i]) > kThreshold) {
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

}  // namespace

int main(int argc, char** argv) {
  int presses = 40;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--presses") == 0) presses = std::max(1, std::atoi(argv[i + 1]));
  }
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
  const double period_ms = jack_get_buffer_size(probe.client) / kRate * 1000;

  char dir[] = "/tmp/tutti-latency-XXXXXX";
  if (mkdtemp(dir) == nullptr) return 1;
  // No server to reach: local echo plays offline (the loop keeps trying to connect).
  tutti::testing::PlayProcess play(
      {TUTTI_PLAY_BINARY, "--server=127.0.0.1:9", "--name=Probe", "--ui=line", "--config_dir=none",
       "--midi_api=jack", "--input=latency-probe:keys", "--audio_driver=jack",
       "--audio_period=" + std::to_string(jack_get_buffer_size(probe.client))},
      std::string(dir) + "/play.log");
  // Its synth's output to our ear, once fluidsynth's ports exist; its keyboard on our keys.
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
    std::fprintf(stderr, "tutti-play did not connect:\n%s\n", play.Log().c_str());
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::vector<double> ms;
  for (int i = 0; i < presses; ++i) {
    // Only from silence (the last note's release has died away): the onset is this press's.
    if (!WaitUntil([&] { return probe.quiet_cycles.load() >= 10; }, std::chrono::seconds(10))) {
      std::fprintf(stderr, "press %d: the synth never went quiet\n", i);
      continue;
    }
    probe.command.store(1);
    if (!WaitUntil([&] { return probe.onset_frame.load() >= 0; }, std::chrono::seconds(5))) {
      std::fprintf(stderr, "press %d: no sound\n", i);
      continue;
    }
    ms.push_back((probe.onset_frame.load() - probe.press_frame.load()) / kRate * 1000);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    probe.command.store(2);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));  // the release dies away
  }
  play.Stop(SIGTERM);
  jack_client_close(probe.client);
  if (ms.empty()) return 1;
  std::vector<double> s = ms;
  std::sort(s.begin(), s.end());
  auto pct = [&](double p) {
    return s[std::min(s.size() - 1, static_cast<size_t>(p / 100 * static_cast<double>(s.size())))];
  };
  std::printf("tutti-play local key-to-sound latency, JACK dummy driver, %.0f Hz, period %.2f ms\n",
              kRate, period_ms);
  std::printf("presses %zu  min %.2f  median %.2f  p90 %.2f  max %.2f ms\n", s.size(), s.front(),
              pct(50), pct(90), s.back());
  return 0;
}
