// Tempo: a room's shared beat grid (BPM, meter, running or stopped transport) and the
// rules for changing it, anchored to server time so that every synced client computes the
// same beat at the same instant (docs/PROTOCOL.md, "Shared tempo", gives the formula).
//
// Thread affinity: none; a Tempo value is owned by its Room and used on the room's shard.
// Ownership: plain value, no references. Pure domain code: no transport, no storage.
#ifndef TUTTI_SERVER_TEMPO_H_
#define TUTTI_SERVER_TEMPO_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/music_limits.h"

namespace tutti::server {

// A requested change; zero / kKeep fields keep the current value.
struct TempoChange {
  enum class Transport { kKeep, kStart, kStop };
  double bpm = 0;
  uint32_t beats_per_bar = 0;
  uint32_t beat_unit = 0;
  Transport transport = Transport::kKeep;
};

class Tempo {
 public:
  double bpm() const { return bpm_; }
  uint32_t beats_per_bar() const { return beats_per_bar_; }
  uint32_t beat_unit() const { return beat_unit_; }
  bool running() const { return running_; }
  int64_t anchor_us() const { return anchor_us_; }
  double anchor_beat() const { return anchor_beat_; }

  // beat(t) = anchor_beat + (running ? (t - anchor_us) * bpm / 60e6 : 0).
  double BeatAt(int64_t server_time_us) const;

  // Checks `change` against `limits` (INVALID_ARGUMENT naming the bad field) and applies
  // it at server time `now_us`: the grid is re-anchored at now with the beat it had, so a
  // tempo or meter change never jumps the phase; a start puts beat 0 at now + lead; a stop
  // freezes the beat reached. Nothing changes when the check fails.
  absl::Status Apply(const TempoChange& change, const TempoLimits& limits, int64_t now_us);
  // The grid as another node set it (its TempoState, on the shared timeline): taken whole
  // when every field is one Apply could have set (INVALID_ARGUMENT, nothing changed, else).
  absl::Status Restore(double bpm, uint32_t beats_per_bar, uint32_t beat_unit, bool running,
                       int64_t anchor_us, double anchor_beat, const TempoLimits& limits);

 private:
  double bpm_ = 120.0;
  uint32_t beats_per_bar_ = 4;
  uint32_t beat_unit_ = 4;
  bool running_ = false;
  int64_t anchor_us_ = 0;
  double anchor_beat_ = 0;
};

// The words of "/tempo": "120", "96.5 3/4", "6/8", "start", "stop", "120 start".
// INVALID_ARGUMENT with a usage hint for anything else (range checks are Apply's).
absl::StatusOr<TempoChange> ParseTempoWords(std::string_view words);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_TEMPO_H_
