// RenderStatusJson: a MetricsSnapshot as the admin listener's JSON status document
// (uptime, version, CPU %, memory, descriptors, connections, rooms, shards and each
// shard's event-loop lag; docs/OPERATIONS.md). Pure; called by the admin listener's
// thread. CPU % is measured between two samples the caller keeps (CpuPercent).
#ifndef TUTTI_SERVER_METRICS_STATUS_JSON_H_
#define TUTTI_SERVER_METRICS_STATUS_JSON_H_

#include <string>

#include "server/metrics/snapshot.h"

namespace tutti::server::metrics {

// CPU use in percent of one core between two (cpu seconds, wall seconds) samples; the
// average since start when there is no earlier sample (wall_before <= 0).
double CpuPercent(double cpu_before, double wall_before, double cpu_now, double wall_now);

std::string RenderStatusJson(const MetricsSnapshot& s, double cpu_percent);

}  // namespace tutti::server::metrics

#endif  // TUTTI_SERVER_METRICS_STATUS_JSON_H_
