#include "server/tempo.h"

#include <cmath>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tutti::server {

double Tempo::BeatAt(int64_t server_time_us) const {
  if (!running_) return anchor_beat_;
  return anchor_beat_ + static_cast<double>(server_time_us - anchor_us_) * bpm_ / 60e6;
}

absl::Status Tempo::Apply(const TempoChange& change, const TempoLimits& limits, int64_t now_us) {
  // Validate everything first: a refused change leaves the grid as it was.
  if (change.bpm != 0 &&
      (!std::isfinite(change.bpm) || change.bpm < limits.min_bpm || change.bpm > limits.max_bpm)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bpm must be from ", limits.min_bpm, " to ", limits.max_bpm));
  }
  if (change.beats_per_bar > limits.max_beats_per_bar) {
    return absl::InvalidArgumentError(
        absl::StrCat("beats per bar must be from 1 to ", limits.max_beats_per_bar));
  }
  const uint32_t unit = change.beat_unit;
  if (unit != 0 && unit != 1 && unit != 2 && unit != 4 && unit != 8 && unit != 16 && unit != 32) {
    return absl::InvalidArgumentError("the beat unit must be 1, 2, 4, 8, 16 or 32");
  }
  // Re-anchor at now under the old tempo: the phase is continuous across the change.
  const double beat_now = BeatAt(now_us);
  anchor_us_ = now_us;
  anchor_beat_ = beat_now;
  if (change.bpm != 0) bpm_ = change.bpm;
  if (change.beats_per_bar != 0) beats_per_bar_ = change.beats_per_bar;
  if (unit != 0) beat_unit_ = unit;
  switch (change.transport) {
    case TempoChange::Transport::kStart:
      running_ = true;
      anchor_us_ = now_us + limits.start_lead_us;
      anchor_beat_ = 0;
      break;
    case TempoChange::Transport::kStop:
      running_ = false;
      break;
    case TempoChange::Transport::kKeep:
      break;
  }
  return absl::OkStatus();
}

absl::Status Tempo::Restore(double bpm, uint32_t beats_per_bar, uint32_t beat_unit, bool running,
                            int64_t anchor_us, double anchor_beat, const TempoLimits& limits) {
  if (!std::isfinite(bpm) || bpm < limits.min_bpm || bpm > limits.max_bpm || beats_per_bar < 1 ||
      beats_per_bar > limits.max_beats_per_bar ||
      (beat_unit != 1 && beat_unit != 2 && beat_unit != 4 && beat_unit != 8 && beat_unit != 16 &&
       beat_unit != 32) ||
      !std::isfinite(anchor_beat)) {
    return absl::InvalidArgumentError("not a tempo this server could have set");
  }
  bpm_ = bpm;
  beats_per_bar_ = beats_per_bar;
  beat_unit_ = beat_unit;
  running_ = running;
  anchor_us_ = anchor_us;
  anchor_beat_ = anchor_beat;
  return absl::OkStatus();
}

absl::StatusOr<TempoChange> ParseTempoWords(std::string_view words) {
  constexpr char kUsage[] = ". Usage: /tempo [bpm] [beats/unit] [start|stop]";
  TempoChange change;
  bool any = false;
  for (absl::string_view word : absl::StrSplit(absl::string_view(words.data(), words.size()),
                                               absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
    const std::string lower = absl::AsciiStrToLower(word);
    any = true;
    if (lower == "start" || lower == "play") {
      change.transport = TempoChange::Transport::kStart;
    } else if (lower == "stop") {
      change.transport = TempoChange::Transport::kStop;
    } else if (std::vector<absl::string_view> parts = absl::StrSplit(word, '/');
               parts.size() == 2) {
      uint32_t beats = 0, unit = 0;
      if (!absl::SimpleAtoi(parts[0], &beats) || !absl::SimpleAtoi(parts[1], &unit) || beats == 0 ||
          unit == 0) {
        return absl::InvalidArgumentError(absl::StrCat("bad meter \"", word, "\"", kUsage));
      }
      change.beats_per_bar = beats;
      change.beat_unit = unit;
    } else {
      double bpm = 0;
      if (!absl::SimpleAtod(word, &bpm) || !std::isfinite(bpm) || bpm <= 0) {
        return absl::InvalidArgumentError(absl::StrCat("bad tempo \"", word, "\"", kUsage));
      }
      change.bpm = bpm;
    }
  }
  if (!any) return absl::InvalidArgumentError(absl::StrCat("nothing to change", kUsage));
  return change;
}

}  // namespace tutti::server
