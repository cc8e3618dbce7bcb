#include "server/link_quality.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tutti::server {
namespace {

bool PercentOk(float p) { return std::isfinite(p) && p >= 0.0f && p <= 100.0f; }

}  // namespace

absl::Status ValidateQuality(const proto::ConnectionQuality& q, const QualityThresholds& t) {
  if (q.rtt_us() > t.max_rtt_us) {
    return absl::InvalidArgumentError(absl::StrCat("rtt_us above ", t.max_rtt_us));
  }
  if (q.offset_error_us() > t.max_offset_error_us) {
    return absl::InvalidArgumentError(
        absl::StrCat("offset_error_us above ", t.max_offset_error_us));
  }
  if (!PercentOk(q.late_percent())) {
    return absl::InvalidArgumentError("late_percent must be a number from 0 to 100");
  }
  if (!PercentOk(q.dropped_percent())) {
    return absl::InvalidArgumentError("dropped_percent must be a number from 0 to 100");
  }
  return absl::OkStatus();
}

proto::QualityGrade GradeQuality(const proto::ConnectionQuality& q, const QualityThresholds& t) {
  if (q.rtt_us() > t.poor_rtt_us || q.offset_error_us() > t.poor_offset_error_us ||
      q.late_percent() > t.poor_late_percent || q.dropped_percent() > t.poor_dropped_percent) {
    return proto::QUALITY_POOR;
  }
  if (q.rtt_us() > t.fair_rtt_us || q.offset_error_us() > t.fair_offset_error_us ||
      q.late_percent() > t.fair_late_percent || q.dropped_percent() > t.fair_dropped_percent) {
    return proto::QUALITY_FAIR;
  }
  return proto::QUALITY_GOOD;
}

const char* GradeName(proto::QualityGrade grade) {
  switch (grade) {
    case proto::QUALITY_GOOD:
      return "good";
    case proto::QUALITY_FAIR:
      return "fair";
    case proto::QUALITY_POOR:
      return "poor";
    default:
      return "unknown";
  }
}

std::string DescribeQuality(const proto::ConnectionQuality& q) {
  if (q.grade() == proto::QUALITY_UNKNOWN) return "quality unknown";
  return absl::StrFormat("%s: rtt %.1f ms, offset error %.1f ms, late %.1f%%, dropped %.1f%%",
                         GradeName(q.grade()), q.rtt_us() / 1000.0, q.offset_error_us() / 1000.0,
                         q.late_percent(), q.dropped_percent());
}

}  // namespace tutti::server
