#include "tools/play/click_track.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tutti::play {
namespace {

constexpr uint8_t kDrumChannel = 9;  // MIDI channel 10, General MIDI percussion

}  // namespace

midi::TempoGrid GridOf(const proto::TempoState& t) {
  midi::TempoGrid g;
  g.bpm = t.bpm();
  g.beats_per_bar = t.beats_per_bar();
  g.beat_unit = t.beat_unit();
  g.running = t.running();
  g.anchor_server_us = t.anchor_server_time();
  g.anchor_beat = t.anchor_beat();
  return g;
}

void ClickTrack::SetTempo(const proto::TempoState& t, const midi::ClockSync& clock,
                          int64_t local_now) {
  // A TempoState with no tempo (an old server, a RoomInfo without one) is not a grid.
  if (t.bpm() <= 0) return;
  metronome_.SetGrid(GridOf(t), clock.ServerTimeFromLocal(local_now));
  grid_epoch_ = clock.epoch();
  have_grid_ = true;
}

void ClickTrack::Clear() {
  have_grid_ = false;
  metronome_.SetGrid(midi::TempoGrid{}, 0);  // stopped: no clicks
}

void ClickTrack::Poll(const midi::ClockSync& clock, int64_t local_now,
                      std::vector<ClickEvent>* out) {
  const size_t from = out->size();
  const int64_t horizon = local_now + o_.lookahead_us;
  if (!enabled_ || !have_grid_ || !clock.locked()) {
    // Not clicking: the next click is re-seated on the first beat from now, so that turning
    // the clicks on (or the clock locking) starts there instead of catching up on the beats
    // that went by.
    metronome_.SetGrid(metronome_.grid(), clock.ServerTimeFromLocal(local_now));
    grid_epoch_ = clock.epoch();
  } else {
    if (clock.epoch() != grid_epoch_) {
      // The clock stepped: beats seated with the old offset may be far off now.
      metronome_.SetGrid(metronome_.grid(), clock.ServerTimeFromLocal(local_now));
      grid_epoch_ = clock.epoch();
    }
    while (true) {
      const std::optional<midi::Click> c = metronome_.Next();
      if (!c) break;
      const int64_t at = clock.LocalFromServer(c->server_us);
      if (at > horizon) break;
      metronome_.Poll(c->server_us);  // takes exactly this click
      if (c->beat < 0) continue;      // the count-in before the transport starts is silent
      if (at < local_now - o_.max_late_us) {
        ++skipped_;
        continue;
      }
      const bool accent = c->beat_in_bar == 0;
      const uint8_t note = accent ? o_.accent_note : o_.beat_note;
      ClickEvent on;
      on.local_us = at;
      on.beat = c->beat;
      on.message = {static_cast<uint8_t>(0x90 | kDrumChannel), note,
                    accent ? o_.accent_velocity : o_.beat_velocity, 3};
      out->push_back(on);
      ClickEvent off = on;
      off.local_us = at + o_.click_length_us;
      off.message = {static_cast<uint8_t>(0x80 | kDrumChannel), note, 0, 3};
      offs_.push_back(off);
      ++clicks_;
    }
  }
  while (!offs_.empty() && offs_.front().local_us <= horizon) {
    out->push_back(offs_.front());
    offs_.pop_front();
  }
  std::stable_sort(
      out->begin() + static_cast<std::ptrdiff_t>(from), out->end(),
      [](const ClickEvent& a, const ClickEvent& b) { return a.local_us < b.local_us; });
}

std::optional<int64_t> ClickTrack::NextWake(const midi::ClockSync& clock, int64_t) const {
  std::optional<int64_t> wake;
  if (!offs_.empty()) wake = offs_.front().local_us - o_.lookahead_us;
  if (enabled_ && have_grid_ && clock.locked()) {
    if (const std::optional<midi::Click> c = metronome_.Next()) {
      const int64_t at = clock.LocalFromServer(c->server_us) - o_.lookahead_us;
      wake = wake ? std::min(*wake, at) : at;
    }
  }
  return wake;
}

std::string ClickTrack::Describe() const {
  if (!have_grid_) return "";
  const midi::TempoGrid& g = metronome_.grid();
  char buf[128];
  std::snprintf(buf, sizeof buf, "%.0f BPM %u/%u, %s", g.bpm, g.beats_per_bar, g.beat_unit,
                g.running ? "running" : "stopped");
  return std::string(buf) + (enabled_ ? "  [click on]" : "  (/metronome: click)");
}

std::string ClickTrack::Beat(const midi::ClockSync& clock, int64_t local_now) const {
  const midi::TempoGrid& g = metronome_.grid();
  if (!have_grid_ || !g.running || g.bpm <= 0) return "";
  const double beat = midi::BeatAt(g, clock.ServerTimeFromLocal(local_now));
  if (beat < 0) return "count-in";
  const midi::Click c = midi::ClickOf(g, static_cast<int64_t>(std::floor(beat)));
  char buf[64];
  std::snprintf(buf, sizeof buf, "bar %lld beat %u", static_cast<long long>(c.bar + 1),
                c.beat_in_bar + 1);
  return buf;
}

}  // namespace tutti::play
