// Timing measurement shared by the layer-1 simulation (tests/midi/timing_sim.h) and the
// layer-2 real-socket harness (tools/timing_harness/), so both print the same figures computed
// the same way.
//
// Owns: reference musical material (16ths, trills, chords, pedal holds), a seeded generator
// that gives the same numbers on every platform, a model of what a synthesizer is sounding, and
// the onset log that turns "what was played when" into the figures of docs/TIMING.md.
// Thread affinity: single-threaded; not synchronized. Times are passed in (any one monotonic
// time base per log: the simulation's true time, or the shared monotonic clock of processes on
// one machine); nothing here reads a clock.
// Who owns it: the simulation and the harness, one log per measured sender.
#ifndef TUTTI_MIDI_TIMING_METRICS_H_
#define TUTTI_MIDI_TIMING_METRICS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "midi/jitter_buffer.h"
#include "midi/midi_parse.h"

namespace tutti::midi::timing {

// splitmix64: tiny, fully specified, identical on every platform (std distributions are not),
// so a seed reproduces a run anywhere.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed)
      : state_(seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull) {}
  uint64_t Next();
  double Uniform();  // [0, 1)
  double Normal();   // N(0, 1), Box-Muller

 private:
  uint64_t state_;
};

// A group of events happening at the same source instant.
struct SourceGroup {
  int64_t t_us = 0;
  std::vector<ChannelMessage> messages;
};

// Musical material, sorted by time, groups at equal times merged.
std::vector<SourceGroup> Sixteenths(int64_t start_us, int64_t duration_us, int bpm = 120);
std::vector<SourceGroup> Trill(int64_t start_us, int64_t duration_us, int64_t ioi_us = 60000);
std::vector<SourceGroup> Chords(int64_t start_us, int64_t duration_us, int64_t every_us = 500000);
std::vector<SourceGroup> PedalHolds(int64_t start_us, int64_t duration_us);
// Sections of the four above, one after the other, until duration.
std::vector<SourceGroup> MixedPiece(int64_t start_us, int64_t duration_us, uint64_t seed);
std::vector<SourceGroup> Merge(std::vector<SourceGroup> a, const std::vector<SourceGroup>& b);

// What a synthesizer would be sounding: keys down, and keys released under a down pedal.
class SoundingModel {
 public:
  void Apply(const ChannelMessage& m);
  int Sounding() const;

 private:
  std::array<std::array<bool, 128>, 16> down_{};
  std::array<std::array<bool, 128>, 16> sustained_{};
  std::array<bool, 16> pedal_{};
};

// The q-quantile (nearest rank) of v; 0 for an empty v.
double Percentile(std::vector<double> v, double q);

// The figures of one sender as heard by one receiver (docs/TIMING.md's table).
struct TimingFigures {
  // Inter-onset-interval error |played IOI - source IOI|, ms, over consecutive onsets.
  double ioi_p50_ms = 0, ioi_p95_ms = 0, ioi_p99_ms = 0, ioi_max_ms = 0;
  size_t ioi_pairs = 0;
  double chord_spread_max_ms = 0;  // largest spread of note-ons with one source time
  double transit_median_ms = 0;    // source -> receiver arrival, median
  double latency_median_ms = 0;    // source -> played, median (note-ons)
  double latency_p99_ms = 0;
  double added_latency_ms = 0;  // latency_median - transit_median
  double late_fraction = 0;     // of note-ons
  double dropped_fraction = 0;  // of note-ons
  double target_median_ms = 0;  // receiver target delay sampled once per second
  double target_max_ms = 0;
  std::vector<double> targets_ms;  // receiver target delay, once per second
  size_t note_ons = 0;
  SenderStats stats;
  // Largest (play time - push time) of any event, ms: the buffer's bound.
  double max_scheduled_ahead_ms = 0;
  // Clock sync of this sender's client.
  double clock_p95_ms = 0, clock_max_ms = 0, clock_at_1s_ms = 0;
  double skew_error_ppm = 0;
  bool clock_within_bound = true;
};

// Records source groups, their arrival and the play times of their note-ons; Summarize fills
// the onset figures. A group counts only if every one of its note-ons was played (a dropped
// note-on breaks the IOI chain there instead of faking an interval).
class OnsetLog {
 public:
  // A group of the source stream with note_ons > 0 note-ons, at source time src_us.
  void Expect(int group, int64_t src_us, int note_ons);
  // The batch carrying `group` reached the receiver at arrival_us (transit sample).
  void Arrived(int group, int64_t arrival_us);
  // One note-on of `group` was played at play_us.
  void Played(int group, int64_t play_us);

  // Fills ioi_*, chord_spread_max_ms, transit_median_ms, latency_*, added_latency_ms.
  void Summarize(TimingFigures* f) const;

 private:
  struct Group {
    int64_t src_us = 0;
    int note_ons = 0;
    int64_t arrival_us = -1;
    std::vector<int64_t> played;
  };
  std::map<int, Group> groups_;
};

// Fills late/dropped fractions, note_ons and stats from the receiver's counters, and the target
// summary from targets_ms.
void SummarizeReceiver(const SenderStats& stats, TimingFigures* f);

// Clock error samples of one client: |mapped server time - true server time|, ms, taken every
// 100 ms from 1 s after connect.
struct ClockErrorLog {
  std::vector<double> errors_ms;
  double at_1s_ms = 1e9;
  bool within_bound = true;
  // Records one sample `t_since_connect_us` after connect; error_us is the signed error,
  // bound_us the reported error bound (checked only when locked).
  void Add(int64_t t_since_connect_us, double error_us, bool locked, int64_t bound_us);
  void Summarize(double* p95_ms, double* max_ms, double* at_1s_ms, bool* within) const;
};

// d(server - local)/d(local) of a clock running skew_ppm fast against server time, so a
// client's fitted skew can be compared with the truth.
double TrueOffsetSlopePpm(double clock_skew_ppm);

// One line of figures (no leading label, ends with a newline): the layout of
// midi_timing_report and tutti-timing-harness.
std::string DescribeFigures(const TimingFigures& x);

}  // namespace tutti::midi::timing

#endif  // TUTTI_MIDI_TIMING_METRICS_H_
