#include "midi/metronome.h"

#include <cmath>

namespace tutti::midi {

double BeatAt(const TempoGrid& g, int64_t server_us) {
  if (!g.running) return g.anchor_beat;
  return g.anchor_beat + static_cast<double>(server_us - g.anchor_server_us) * g.bpm / 60e6;
}

int64_t TimeOfBeat(const TempoGrid& g, double beat) {
  return g.anchor_server_us +
         static_cast<int64_t>(std::llround((beat - g.anchor_beat) * 60e6 / g.bpm));
}

Click ClickOf(const TempoGrid& g, int64_t beat) {
  Click c;
  c.beat = beat;
  c.server_us = TimeOfBeat(g, static_cast<double>(beat));
  const int64_t per_bar = g.beats_per_bar == 0 ? 1 : g.beats_per_bar;
  // Floor division, so that a count-in's negative beats land in bar -1, not bar 0.
  c.bar = beat >= 0 ? beat / per_bar : -((-beat + per_bar - 1) / per_bar);
  c.beat_in_bar = static_cast<uint32_t>(beat - c.bar * per_bar);
  return c;
}

void Metronome::SetGrid(const TempoGrid& g, int64_t server_now_us) {
  grid_ = g;
  // The first whole beat at or after now (a beat exactly now is still due).
  next_beat_ = static_cast<int64_t>(std::ceil(BeatAt(g, server_now_us) - 1e-9));
}

std::optional<Click> Metronome::Next() const {
  if (!grid_.running || grid_.bpm <= 0) return std::nullopt;
  return ClickOf(grid_, next_beat_);
}

std::optional<Click> Metronome::Poll(int64_t server_now_us) {
  std::optional<Click> due;
  while (true) {
    std::optional<Click> c = Next();
    if (!c || c->server_us > server_now_us) break;
    due = c;
    ++next_beat_;
  }
  return due;
}

}  // namespace tutti::midi
