// The limits of the room music features (tempo bounds, the start lead, link-quality
// grading thresholds), as plain values so that ServerConfig can hold them without
// including the code that applies them (server/tempo.h, server/link_quality.h).
// Thread affinity: none; read-only after start like the rest of ServerConfig.
#ifndef TUTTI_SERVER_MUSIC_LIMITS_H_
#define TUTTI_SERVER_MUSIC_LIMITS_H_

#include <cstdint>

namespace tutti::server {

struct TempoLimits {
  double min_bpm = 20.0;
  double max_bpm = 400.0;
  uint32_t max_beats_per_bar = 32;
  // A start puts beat 0 this far ahead of the change, so that the TempoState reaches the
  // clients before the first click is due (a count-in reads negative beats).
  int64_t start_lead_us = 500'000;
};

// A figure past any of the `poor_*` thresholds grades POOR, else past any `fair_*` FAIR,
// else GOOD. A report above the `max_*` bounds is refused as nonsense.
struct QualityThresholds {
  uint32_t fair_rtt_us = 120'000;
  uint32_t poor_rtt_us = 300'000;
  uint32_t fair_offset_error_us = 5'000;
  uint32_t poor_offset_error_us = 20'000;
  float fair_late_percent = 1.0f;
  float poor_late_percent = 5.0f;
  float fair_dropped_percent = 0.5f;
  float poor_dropped_percent = 2.0f;
  uint32_t max_rtt_us = 60'000'000;
  uint32_t max_offset_error_us = 60'000'000;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_MUSIC_LIMITS_H_
