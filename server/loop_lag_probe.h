// LoopLagProbe: measures a shard's event-loop lag, the best single health signal of an
// actor server: a timer is due every kPeriod and its lateness (when its handler ran less
// when it was due) is how long any posted work waited for the loop. Runs on the shard's
// thread (its timer lives on the shard's io_context) and writes the shard's counters
// (loop_lag_last_us, loop_lag_max_us, loop_probes), which the admin listener reads.
// Owned by its Shard; Stop() before the loop drains at shutdown.
#ifndef TUTTI_SERVER_LOOP_LAG_PROBE_H_
#define TUTTI_SERVER_LOOP_LAG_PROBE_H_

#include <chrono>
#include <functional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "server/metrics/shard_counter.h"

namespace tutti::server {

class LoopLagProbe {
 public:
  static constexpr std::chrono::milliseconds kPeriod{1000};

  // `on_tick` (may be empty) runs on each probe, on the shard's thread: the shard
  // samples its gauges there (the outbound queue bytes).
  LoopLagProbe(boost::asio::io_context& io, metrics::ShardCounter* last_us,
               metrics::ShardCounter* max_us, metrics::ShardCounter* probes,
               std::function<void()> on_tick = {});
  void Start();
  void Stop();

 private:
  void Arm();

  boost::asio::steady_timer timer_;
  metrics::ShardCounter* const last_us_;
  metrics::ShardCounter* const max_us_;
  metrics::ShardCounter* const probes_;
  std::function<void()> on_tick_;
  bool stopped_ = false;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_LOOP_LAG_PROBE_H_
