// CollectMetrics: one MetricsSnapshot of a running Server — every shard's counters
// (relaxed atomics, read without posting to the shard, so a stuck shard cannot stall a
// scrape and shows up as lag instead), the room count, the draining and store state,
// and the process's resources. Called on the admin listener's thread; never on a shard
// thread (it reads /proc).
#ifndef TUTTI_SERVER_METRICS_COLLECTOR_H_
#define TUTTI_SERVER_METRICS_COLLECTOR_H_

#include "server/metrics/snapshot.h"

namespace tutti::server {

class Server;

metrics::MetricsSnapshot CollectMetrics(Server& server);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_METRICS_COLLECTOR_H_
