// LinkQuality: the connection figures a client reports in its heartbeats (round trip,
// clock offset error, late and dropped percentages), their bounds, and the coarse grade
// the server gives them (docs/PROTOCOL.md, "Connection quality").
//
// Thread affinity: none (pure functions). Ownership: no state; the session's shard
// validates a report, the room's shard keeps the graded figures with the member.
#ifndef TUTTI_SERVER_LINK_QUALITY_H_
#define TUTTI_SERVER_LINK_QUALITY_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "protos/tutti.pb.h"
#include "server/music_limits.h"

namespace tutti::server {

// INVALID_ARGUMENT naming the field when a figure is out of bounds (a percentage that is
// not a finite number from 0 to 100, a time above its maximum).
absl::Status ValidateQuality(const proto::ConnectionQuality& q, const QualityThresholds& t);

proto::QualityGrade GradeQuality(const proto::ConnectionQuality& q, const QualityThresholds& t);

// "good", "fair", "poor", "unknown".
const char* GradeName(proto::QualityGrade grade);

// "fair: rtt 140 ms, offset error 2.1 ms, late 0.3%, dropped 0%".
std::string DescribeQuality(const proto::ConnectionQuality& q);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_LINK_QUALITY_H_
