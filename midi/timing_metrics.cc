#include "midi/timing_metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

namespace tutti::midi::timing {

namespace {

constexpr double kPi = 3.14159265358979323846;

void AddNote(std::vector<SourceGroup>* g, int64_t on, int64_t off, uint8_t note, uint8_t vel,
             uint8_t ch = 0) {
  g->push_back({on, {MakeNoteOn(ch, note, vel)}});
  g->push_back({off, {MakeNoteOff(ch, note)}});
}

std::vector<SourceGroup> Normalize(std::vector<SourceGroup> v) {
  std::stable_sort(v.begin(), v.end(),
                   [](const SourceGroup& a, const SourceGroup& b) { return a.t_us < b.t_us; });
  std::vector<SourceGroup> out;
  for (SourceGroup& g : v) {
    if (!out.empty() && out.back().t_us == g.t_us) {
      out.back().messages.insert(out.back().messages.end(), g.messages.begin(), g.messages.end());
    } else {
      out.push_back(std::move(g));
    }
  }
  return out;
}

}  // namespace

uint64_t SplitMix64::Next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double SplitMix64::Uniform() {
  return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0);
}

double SplitMix64::Normal() {
  const double u1 = std::max(Uniform(), 1e-300);
  const double u2 = Uniform();
  return std::sqrt(-2 * std::log(u1)) * std::cos(2 * kPi * u2);
}

std::vector<SourceGroup> Sixteenths(int64_t start_us, int64_t duration_us, int bpm) {
  static const uint8_t kPattern[] = {60, 64, 67, 72, 67, 64, 62, 65, 69, 74, 69, 65};
  const int64_t step = 60000000 / bpm / 4;
  std::vector<SourceGroup> g;
  int i = 0;
  for (int64_t t = start_us; t + step <= start_us + duration_us; t += step, ++i) {
    AddNote(&g, t, t + step * 8 / 10, kPattern[i % 12], static_cast<uint8_t>(70 + (i % 4) * 10));
  }
  return Normalize(std::move(g));
}

std::vector<SourceGroup> Trill(int64_t start_us, int64_t duration_us, int64_t ioi_us) {
  std::vector<SourceGroup> g;
  int i = 0;
  for (int64_t t = start_us; t + ioi_us <= start_us + duration_us; t += ioi_us, ++i) {
    AddNote(&g, t, t + ioi_us * 85 / 100, (i % 2) ? 74 : 72, 80);
  }
  return Normalize(std::move(g));
}

std::vector<SourceGroup> Chords(int64_t start_us, int64_t duration_us, int64_t every_us) {
  static const uint8_t kChords[][4] = {{48, 60, 64, 67}, {53, 60, 65, 69}, {55, 59, 62, 67}};
  std::vector<SourceGroup> g;
  int i = 0;
  for (int64_t t = start_us; t + every_us <= start_us + duration_us; t += every_us, ++i) {
    for (uint8_t n : kChords[i % 3]) AddNote(&g, t, t + every_us * 8 / 10, n, 90);
  }
  return Normalize(std::move(g));
}

std::vector<SourceGroup> PedalHolds(int64_t start_us, int64_t duration_us) {
  std::vector<SourceGroup> g;
  for (int64_t c = start_us; c + 4000000 <= start_us + duration_us; c += 4000000) {
    g.push_back({c, {MakeControlChange(0, kCcSustain, 127)}});
    int i = 0;
    for (int64_t t = c + 20000; t < c + 3000000; t += 250000, ++i) {
      AddNote(&g, t, t + 150000, static_cast<uint8_t>(48 + (i * 7) % 36), 75);
    }
    g.push_back({c + 3900000, {MakeControlChange(0, kCcSustain, 0)}});
  }
  return Normalize(std::move(g));
}

std::vector<SourceGroup> Merge(std::vector<SourceGroup> a, const std::vector<SourceGroup>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return Normalize(std::move(a));
}

std::vector<SourceGroup> MixedPiece(int64_t start_us, int64_t duration_us, uint64_t seed) {
  std::vector<SourceGroup> out;
  const int64_t end = start_us + duration_us;
  int64_t t = start_us;
  int section = static_cast<int>(seed % 4);
  while (t < end) {
    int64_t len = 0;
    std::vector<SourceGroup> part;
    switch (section % 4) {
      case 0:
        len = std::min<int64_t>(8000000, end - t);
        part = Sixteenths(t, len);
        break;
      case 1:
        len = std::min<int64_t>(3000000, end - t);
        part = Trill(t, len);
        break;
      case 2:
        len = std::min<int64_t>(5000000, end - t);
        part = Chords(t, len);
        break;
      default:
        len = std::min<int64_t>(8000000, end - t);
        part = PedalHolds(t, len);
        break;
    }
    out.insert(out.end(), part.begin(), part.end());
    t += len + 50000;
    ++section;
  }
  return Normalize(std::move(out));
}

void SoundingModel::Apply(const ChannelMessage& m) {
  const int ch = m.channel();
  if (m.IsNoteOn()) {
    down_[ch][m.data1] = true;
  } else if (m.IsNoteOff()) {
    if (down_[ch][m.data1] && pedal_[ch]) sustained_[ch][m.data1] = true;
    down_[ch][m.data1] = false;
  } else if (m.IsControlChange()) {
    if (m.data1 == kCcSustain) {
      pedal_[ch] = m.data2 >= 64;
      if (!pedal_[ch]) sustained_[ch].fill(false);
    } else if (m.data1 == kCcAllNotesOff || m.data1 == kCcAllSoundOff) {
      down_[ch].fill(false);
      if (m.data1 == kCcAllSoundOff) sustained_[ch].fill(false);
    }
  }
}

int SoundingModel::Sounding() const {
  int n = 0;
  for (int c = 0; c < 16; ++c) {
    for (int k = 0; k < 128; ++k) n += (down_[c][k] || sustained_[c][k]) ? 1 : 0;
  }
  return n;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

void OnsetLog::Expect(int group, int64_t src_us, int note_ons) {
  Group& g = groups_[group];
  g.src_us = src_us;
  g.note_ons = note_ons;
}

void OnsetLog::Arrived(int group, int64_t arrival_us) {
  auto it = groups_.find(group);
  if (it != groups_.end()) it->second.arrival_us = arrival_us;
}

void OnsetLog::Played(int group, int64_t play_us) {
  auto it = groups_.find(group);
  if (it != groups_.end()) it->second.played.push_back(play_us);
}

void OnsetLog::Summarize(TimingFigures* f) const {
  std::vector<double> transit;
  std::vector<double> latency;
  std::vector<double> ioi;
  bool have_prev = false;
  int64_t prev_src = 0;
  int64_t prev_play = 0;
  for (const auto& [index, g] : groups_) {
    if (g.arrival_us >= 0) transit.push_back(static_cast<double>(g.arrival_us - g.src_us) / 1000);
    if (g.note_ons <= 0) continue;
    const bool complete = static_cast<int>(g.played.size()) == g.note_ons;
    if (!complete) {
      have_prev = false;
      continue;
    }
    const auto [lo, hi] = std::minmax_element(g.played.begin(), g.played.end());
    f->chord_spread_max_ms =
        std::max(f->chord_spread_max_ms, static_cast<double>(*hi - *lo) / 1000);
    for (int64_t p : g.played) latency.push_back(static_cast<double>(p - g.src_us) / 1000);
    if (have_prev) {
      ioi.push_back(std::abs(static_cast<double>((*lo - prev_play) - (g.src_us - prev_src))) /
                    1000);
    }
    have_prev = true;
    prev_src = g.src_us;
    prev_play = *lo;
  }
  f->ioi_pairs = ioi.size();
  f->ioi_p50_ms = Percentile(ioi, 0.50);
  f->ioi_p95_ms = Percentile(ioi, 0.95);
  f->ioi_p99_ms = Percentile(ioi, 0.99);
  f->ioi_max_ms = Percentile(ioi, 1.0);
  f->transit_median_ms = Percentile(transit, 0.5);
  f->latency_median_ms = Percentile(latency, 0.5);
  f->latency_p99_ms = Percentile(latency, 0.99);
  f->added_latency_ms = f->latency_median_ms - f->transit_median_ms;
}

void SummarizeReceiver(const SenderStats& stats, TimingFigures* f) {
  f->stats = stats;
  f->note_ons = stats.note_ons;
  if (f->note_ons > 0) {
    f->late_fraction = static_cast<double>(stats.late_note_ons) / static_cast<double>(f->note_ons);
    f->dropped_fraction =
        static_cast<double>(stats.dropped_note_ons) / static_cast<double>(f->note_ons);
  }
  f->target_median_ms = Percentile(f->targets_ms, 0.5);
  f->target_max_ms = Percentile(f->targets_ms, 1.0);
}

void ClockErrorLog::Add(int64_t t_since_connect_us, double error_us, bool locked,
                        int64_t bound_us) {
  const double err_ms = std::abs(error_us) / 1000;
  if (t_since_connect_us >= 1000000 && at_1s_ms >= 1e9) at_1s_ms = err_ms;
  if (t_since_connect_us >= 1000000) errors_ms.push_back(err_ms);
  if (locked && std::abs(error_us) > static_cast<double>(bound_us) + 1) within_bound = false;
}

void ClockErrorLog::Summarize(double* p95_ms, double* max_ms, double* at_1s, bool* within) const {
  *p95_ms = Percentile(errors_ms, 0.95);
  *max_ms = errors_ms.empty() ? 0 : *std::max_element(errors_ms.begin(), errors_ms.end());
  *at_1s = at_1s_ms;
  *within = within_bound;
}

double TrueOffsetSlopePpm(double clock_skew_ppm) {
  const double s = clock_skew_ppm * 1e-6;
  return -s / (1 + s) * 1e6;
}

std::string DescribeFigures(const TimingFigures& x) {
  char buf[1024];
  std::snprintf(
      buf, sizeof(buf),
      "IOI err p50 %.2f p95 %.2f p99 %.2f max %.1f ms (%zu pairs), chord spread "
      "%.3f ms, transit median %.1f ms, added latency %.1f ms (latency p99 %.1f), target "
      "median %.1f max %.1f ms, late %.2f%% dropped %.2f%% of %zu note-ons, stalls discarded "
      "%llu, ahead max %.1f ms, clock p95 %.2f ms (at 1 s %.2f), skew err %.2f ppm%s\n",
      x.ioi_p50_ms, x.ioi_p95_ms, x.ioi_p99_ms, x.ioi_max_ms, x.ioi_pairs, x.chord_spread_max_ms,
      x.transit_median_ms, x.added_latency_ms, x.latency_p99_ms, x.target_median_ms,
      x.target_max_ms, 100 * x.late_fraction, 100 * x.dropped_fraction, x.note_ons,
      static_cast<unsigned long long>(x.stats.stalls_discarded), x.max_scheduled_ahead_ms,
      x.clock_p95_ms, x.clock_at_1s_ms, x.skew_error_ppm,
      x.clock_within_bound ? "" : " (ERROR OUTSIDE BOUND)");
  return buf;
}

}  // namespace tutti::midi::timing
