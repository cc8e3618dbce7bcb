// jack_output_report: measures how far from its due time a MIDI event lands on a JACK port when
// an ordinary thread plays it, before and after TimedMidiOutput (docs/TIMING.md, "Play on
// time"). Starts a private jackd (tests/midi_io/jack_server.h), a recording client, and plays
// the same schedule of notes twice from a normal-priority thread:
//   before: RtMidi's output (MidiOutput), sent when the thread wakes at the due time (what the
//           bridge did): lands at the first frame of the next cycle;
//   after:  TimedMidiOutput, handed over --lookahead-ms early with the due time: lands at the
//           frame of its due time.
// The error of an event is its arrival frame, as JACK time on its cycle's own mapping, minus its
// due time in JACK time; the IOI error is the difference of two consecutive errors. A
// measurement tool, not a test: its figures depend on the machine's load.
//
//   jack_output_report [--events N] [--interval-ms MS] [--lookahead-ms MS]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "midi/jack_timed_output.h"
#include "midi/rtmidi_port.h"
#include "tests/midi_io/jack_recorder.h"
#include "tests/midi_io/jack_server.h"

namespace {

using tutti::midi::Arrival;
using tutti::midi::MonotonicNowUs;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

struct Figures {
  double err_p50 = 0, err_p99 = 0, err_max = 0;  // |arrival - due|, ms
  double ioi_p50 = 0, ioi_p95 = 0, ioi_p99 = 0;  // |error(i) - error(i-1)|, ms
  double jitter_p99 = 0;     // |error - median error|, ms: the error that is not a constant delay
  double wake_late_p99 = 0;  // the thread woke this late, ms
  double cycle_lag_p50 = 0, cycle_lag_p99 = 0;  // a cycle ran this long after its start, ms
  size_t count = 0;
};

Figures Summarize(const std::vector<Arrival>& got, uint8_t tag, const std::vector<double>& due,
                  const std::vector<double>& wake_late) {
  std::vector<double> err(due.size(), NAN);
  // Arrivals of one run come in schedule order (both outputs are FIFO).
  size_t k = 0;
  for (const Arrival& a : got) {
    if (a.bytes[2] != tag || k >= due.size()) continue;
    err[k] = (a.jack_time_us() - due[k]) / 1000.0;
    ++k;
  }
  Figures f;
  f.count = k;
  std::vector<double> abs_err, ioi, lag;
  for (const Arrival& a : got) {
    if (a.bytes[2] == tag)
      lag.push_back((static_cast<double>(a.processed_at) - static_cast<double>(a.cycle_start)) /
                    1000);
  }
  std::vector<double> signed_err(err.begin(), err.begin() + static_cast<long>(k));
  const double median = Percentile(signed_err, 50);
  std::vector<double> jitter;
  for (size_t i = 0; i < k; ++i) {
    abs_err.push_back(std::fabs(err[i]));
    jitter.push_back(std::fabs(err[i] - median));
    if (i > 0) ioi.push_back(std::fabs(err[i] - err[i - 1]));
  }
  f.err_p50 = Percentile(abs_err, 50);
  f.err_p99 = Percentile(abs_err, 99);
  f.err_max = abs_err.empty() ? 0 : *std::max_element(abs_err.begin(), abs_err.end());
  f.jitter_p99 = Percentile(jitter, 99);
  f.cycle_lag_p50 = Percentile(lag, 50);
  f.cycle_lag_p99 = Percentile(lag, 99);
  f.ioi_p50 = Percentile(ioi, 50);
  f.ioi_p95 = Percentile(ioi, 95);
  f.ioi_p99 = Percentile(ioi, 99);
  f.wake_late_p99 = Percentile(wake_late, 99);
  return f;
}

void Print(const char* name, const Figures& f) {
  std::printf(
      "%s\n  events %zu  |error| p50 %.3f p99 %.3f max %.3f ms  jitter (|error - median|) p99 "
      "%.3f ms\n  IOI error p50 %.3f p95 %.3f p99 %.3f ms  thread woke late p99 %.3f ms  "
      "JACK cycle ran after its start p50 %.3f p99 %.3f ms\n",
      name, f.count, f.err_p50, f.err_p99, f.err_max, f.jitter_p99, f.ioi_p50, f.ioi_p95, f.ioi_p99,
      f.wake_late_p99, f.cycle_lag_p50, f.cycle_lag_p99);
}

}  // namespace

int main(int argc, char** argv) {
  int events = 500;
  double interval_ms = 20;
  double lookahead_ms = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--events") == 0) {
      events = std::atoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--interval-ms") == 0) {
      interval_ms = std::atof(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--lookahead-ms") == 0) {
      lookahead_ms = std::atof(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: %s [--events N] [--interval-ms MS] [--lookahead-ms MS]\n",
                   argv[0]);
      return 2;
    }
  }
  if (events < 2 || events > 5000 || !(interval_ms >= 1 && interval_ms <= 1000) ||
      !(lookahead_ms >= 0 && lookahead_ms <= 100)) {
    std::fprintf(stderr,
                 "need 2 <= --events <= 5000, 1 <= --interval-ms <= 1000, "
                 "0 <= --lookahead-ms <= 100\n");
    return 2;
  }
  tutti::testing::JackServer server;
  if (!server.ok()) {
    std::fprintf(stderr, "jackd did not start: %s\n", server.error().c_str());
    return 1;
  }
  int rc = 0;
  {
    tutti::midi::Recorder rec(static_cast<size_t>(events) * 2 + 16);
    if (!rec.ok()) {
      std::fprintf(stderr, "recorder client did not open\n");
      return 1;
    }
    tutti::midi::TimedOutputOptions options;
    options.clock_refresh_us = 0;
    auto timed = tutti::midi::TimedMidiOutput::OpenNamed("tutti-timed", rec.port_name(), options);
    auto rt = tutti::midi::MidiOutput::OpenNamed("tutti-rtmidi", rec.port_name());
    if (!timed.ok() || !rt.ok()) {
      std::fprintf(stderr, "outputs did not open\n");
      return 1;
    }
    // The schedule: interval_ms apart, each shifted by a varying fraction of a period so the
    // due times fall everywhere inside JACK cycles.
    auto schedule = [&](int64_t start) {
      std::vector<int64_t> due_local;
      for (int i = 0; i < events; ++i) {
        due_local.push_back(start + static_cast<int64_t>(i * interval_ms * 1000) +
                            (i * 1237) % 5000);
      }
      return due_local;
    };
    std::printf(
        "private jackd (dummy, 48 kHz, 256 frames), %d notes %.0f ms apart, ordinary "
        "thread priority, lookahead %.1f ms\n",
        events, interval_ms, lookahead_ms);
    std::vector<Figures> figures;
    for (int run = 0; run < 2; ++run) {
      const bool timed_run = run == 1;
      const auto due_local = schedule(MonotonicNowUs() + 200000);
      std::vector<double> due_jack;
      std::vector<double> wake_late;
      const int64_t lead = timed_run ? static_cast<int64_t>(lookahead_ms * 1000) : 0;
      for (int i = 0; i < events; ++i) {
        const int64_t due = due_local[static_cast<size_t>(i)];
        std::this_thread::sleep_until(
            std::chrono::steady_clock::time_point(std::chrono::microseconds(due - lead)));
        wake_late.push_back(static_cast<double>(MonotonicNowUs() - (due - lead)) / 1000.0);
        const uint8_t note[3] = {0x90, static_cast<uint8_t>(i % 128),
                                 static_cast<uint8_t>(run + 1)};
        if (timed_run) {
          (*timed)->Schedule(due, note, 3);
        } else {
          (void)(*rt)->Send(note, 3);
        }
        due_jack.push_back(static_cast<double>((*timed)->JackTimeFromLocal(due)));
      }
      const size_t want = static_cast<size_t>(events) * static_cast<size_t>(run + 1);
      const auto got = rec.WaitFor(want, std::chrono::milliseconds(10000));
      if (got.size() < want) {
        std::fprintf(stderr, "only %zu of %zu events arrived\n", got.size(), want);
        rc = 1;
      }
      figures.push_back(Summarize(got, static_cast<uint8_t>(run + 1), due_jack, wake_late));
      Print(
          timed_run ? "after (TimedMidiOutput, frame offset)" : "before (RtMidi, sent on wake-up)",
          figures.back());
    }
    const auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
    std::printf(
        "ratio before/after: jitter p99 %.1fx, IOI error p95 %.1fx, p99 %.1fx; after: late %llu, "
        "dropped %llu\n",
        ratio(figures[0].jitter_p99, figures[1].jitter_p99),
        ratio(figures[0].ioi_p95, figures[1].ioi_p95),
        ratio(figures[0].ioi_p99, figures[1].ioi_p99),
        static_cast<unsigned long long>((*timed)->late()),
        static_cast<unsigned long long>((*timed)->dropped()));
    // Feeding clients first (docs/TIMING.md), then the recorder.
    rt->reset();
    timed->reset();
  }
  tutti::midi::ReleaseJackProbe();
  return rc;
}
