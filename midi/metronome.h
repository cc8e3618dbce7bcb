// Metronome: the client side of a room's shared tempo (docs/PROTOCOL.md, "Shared tempo").
// Given the room's TempoState fields it says which beat falls at a server time and when
// the next click is due, so every synced client clicks together.
//
// Owns: a copy of the grid (bpm, meter, transport, anchor) and the last beat clicked.
// Thread affinity: single-threaded; not synchronized. Times are server microseconds,
// passed in (the caller maps its clock with ClockSync); nothing here reads a clock.
// Who owns it: one per client room view (tutti-cli, tutti-play); the web client has the
// same arithmetic in web/src/ui/metronome.ts.
#ifndef TUTTI_MIDI_METRONOME_H_
#define TUTTI_MIDI_METRONOME_H_

#include <cstdint>
#include <optional>

namespace tutti::midi {

struct TempoGrid {
  double bpm = 120;
  uint32_t beats_per_bar = 4;
  uint32_t beat_unit = 4;
  bool running = false;
  int64_t anchor_server_us = 0;
  double anchor_beat = 0;
};

struct Click {
  int64_t beat = 0;          // integer beat index (may be negative in a count-in)
  int64_t server_us = 0;     // when it is due
  int64_t bar = 0;           // floor(beat / beats_per_bar)
  uint32_t beat_in_bar = 0;  // 0 = the accented first beat
};

// beat(t) = anchor_beat + (running ? (t - anchor) * bpm / 60e6 : 0).
double BeatAt(const TempoGrid& g, int64_t server_us);
// The server time at which `beat` falls (running grids only).
int64_t TimeOfBeat(const TempoGrid& g, double beat);
// The click of integer beat `beat`.
Click ClickOf(const TempoGrid& g, int64_t beat);

class Metronome {
 public:
  // A new grid (a TempoState arrived): clicks restart from the first beat after `now`.
  void SetGrid(const TempoGrid& g, int64_t server_now_us);
  const TempoGrid& grid() const { return grid_; }
  // The next click not yet taken, if the transport runs.
  std::optional<Click> Next() const;
  // Takes every click due by `server_now_us` and returns the latest of them (earlier ones
  // were missed: a client that slept past several beats clicks once, on time or not at all).
  std::optional<Click> Poll(int64_t server_now_us);

 private:
  TempoGrid grid_;
  int64_t next_beat_ = 0;
};

}  // namespace tutti::midi

#endif  // TUTTI_MIDI_METRONOME_H_
