// ReadProcessStats: this process's CPU time, memory and descriptors, read from
// /proc/self (Linux). Stateless; called by whichever thread serves a scrape. Blocking
// file reads of a few hundred bytes: never call it on a shard thread.
#ifndef TUTTI_SERVER_METRICS_PROCESS_STATS_H_
#define TUTTI_SERVER_METRICS_PROCESS_STATS_H_

#include "server/metrics/snapshot.h"

namespace tutti::server::metrics {

// Fills what it can; `ok` is false when /proc/self/stat could not be read.
ProcessSample ReadProcessStats();

}  // namespace tutti::server::metrics

#endif  // TUTTI_SERVER_METRICS_PROCESS_STATS_H_
