// Fuzz target: the words of the /tempo chat command (server/tempo.h ParseTempoWords) and
// the tempo rules they feed (Tempo::Apply), which see whatever a moderator types.
//
// Input: the text after "/tempo".
// Properties: a parsed change either is refused by Apply and leaves the grid exactly as it
// was, or is applied and leaves a grid within the limits (finite BPM in range, meter in
// range) whose beat is finite now and later and never jumps at the change.
#include <cmath>
#include <string_view>

#include "server/tempo.h"
#include "tests/fuzz/fuzz_target.h"

namespace srv = tutti::server;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = tutti::fuzz::AsText(data, size);
  absl::StatusOr<srv::TempoChange> change = srv::ParseTempoWords(text);
  if (!change.ok()) return 0;
  const srv::TempoLimits limits;
  srv::Tempo tempo;
  srv::TempoChange start;
  start.transport = srv::TempoChange::Transport::kStart;
  FUZZ_CHECK(tempo.Apply(start, limits, 1'000'000).ok());
  const int64_t now = 5'000'000;
  const double before = tempo.BeatAt(now);
  const srv::Tempo copy = tempo;
  if (!tempo.Apply(*change, limits, now).ok()) {
    FUZZ_CHECK(tempo.bpm() == copy.bpm() && tempo.anchor_us() == copy.anchor_us() &&
               tempo.running() == copy.running() && tempo.beats_per_bar() == copy.beats_per_bar());
    return 0;
  }
  FUZZ_CHECK(std::isfinite(tempo.bpm()) && tempo.bpm() >= limits.min_bpm &&
             tempo.bpm() <= limits.max_bpm);
  FUZZ_CHECK(tempo.beats_per_bar() >= 1 && tempo.beats_per_bar() <= limits.max_beats_per_bar);
  FUZZ_CHECK(std::isfinite(tempo.BeatAt(now)) && std::isfinite(tempo.BeatAt(now + 60'000'000)));
  if (change->transport == srv::TempoChange::Transport::kKeep) {
    FUZZ_CHECK(std::fabs(tempo.BeatAt(now) - before) < 1e-6);
  }
  return 0;
}
