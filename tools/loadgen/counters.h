// The load generator's one counter design. A worker loop counts into a LoopTally (plain
// integers: the hot path pays an increment, no atomics); once per tick it copies the counts
// into its PublishedCounts (relaxed atomics) so that main can print progress while the loops
// run; at the end main adds the loops' tallies up with the same operator+=, and the report
// (Results, loadgen.h) is filled from that sum. Every figure derived from several counters
// (failed = failed + refused, expected = expected - refunded) is defined once, here.
//
// Thread affinity: a LoopTally belongs to its loop's thread until the loop is joined;
// PublishedCounts is written by that thread and read by main. Owner: Loop (loop.h).
#ifndef TUTTI_TOOLS_LOADGEN_COUNTERS_H_
#define TUTTI_TOOLS_LOADGEN_COUNTERS_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "tools/loadgen/histogram.h"

namespace tutti::loadgen {

enum Counter : size_t {
  kOpened,          // connections that completed the upgrade
  kFailed,          // connections that failed before or during the upgrade
  kRefused,         // upgrades answered with something other than 101
  kJoinedRoom,      // members in their room
  kJoinFailed,      // joins refused or failed
  kClosedByServer,  // open connections the server closed or reset
  kMidiSent,        // MIDI messages sent
  kMidiExpected,    // deliveries those should cause (receivers at send time)
  kMidiRefunded,    // deliveries taken back because the server refused the send
  kMidiRefused,     // sends the server refused
  kMidiReceived,    // MIDI deliveries received by members
  kMidiClamped,     // of those, stamped as clamped by the server
  kMidiExtra,       // MIDI received by connections that expect none (churners)
  kChatSent,        // chat lines sent
  kChatExpected,    // deliveries those should cause (the sender gets its own back)
  kChatRefunded,    // deliveries taken back because the server refused the line
  kChatRefused,     // lines the server refused
  kChatReceived,    // chat deliveries received
  kWindowSent,      // MIDI and chat sent inside the measurement window
  kWindowReceived,  // MIDI and chat received inside the measurement window
  kChurnCycles,     // connect/join/leave/close cycles completed
  kChurnFailed,     // cycles that failed somewhere
  kNumCounters
};

struct Counts {
  std::array<uint64_t, kNumCounters> n{};
  int64_t last_open_us = 0;     // latest upgrade completed (a maximum, not a sum)
  int64_t max_send_lag_us = 0;  // furthest a sender fell behind its schedule (a maximum)

  uint64_t& operator[](Counter c) { return n[c]; }
  uint64_t operator[](Counter c) const { return n[c]; }
  Counts& operator+=(const Counts& o) {
    for (size_t i = 0; i < kNumCounters; ++i) n[i] += o.n[i];
    last_open_us = std::max(last_open_us, o.last_open_us);
    max_send_lag_us = std::max(max_send_lag_us, o.max_send_lag_us);
    return *this;
  }

  uint64_t failed() const { return n[kFailed] + n[kRefused]; }
  uint64_t midi_expected() const { return n[kMidiExpected] - n[kMidiRefunded]; }
  uint64_t chat_expected() const { return n[kChatExpected] - n[kChatRefunded]; }
  uint64_t midi_lost() const {
    return midi_expected() > n[kMidiReceived] ? midi_expected() - n[kMidiReceived] : 0;
  }
  uint64_t chat_lost() const {
    return chat_expected() > n[kChatReceived] ? chat_expected() - n[kChatReceived] : 0;
  }
};

// A loop's Counts as main may read them while the loop runs.
class PublishedCounts {
 public:
  void Store(const Counts& c) {
    for (size_t i = 0; i < kNumCounters; ++i) n_[i].store(c.n[i], std::memory_order_relaxed);
    last_open_us_.store(c.last_open_us, std::memory_order_relaxed);
    max_send_lag_us_.store(c.max_send_lag_us, std::memory_order_relaxed);
  }
  Counts Load() const {
    Counts c;
    for (size_t i = 0; i < kNumCounters; ++i) c.n[i] = n_[i].load(std::memory_order_relaxed);
    c.last_open_us = last_open_us_.load(std::memory_order_relaxed);
    c.max_send_lag_us = max_send_lag_us_.load(std::memory_order_relaxed);
    return c;
  }

 private:
  std::array<std::atomic<uint64_t>, kNumCounters> n_{};
  std::atomic<int64_t> last_open_us_{0};
  std::atomic<int64_t> max_send_lag_us_{0};
};

// Everything a loop measures: the counts plus what is not a count.
struct LoopTally {
  Counts counts;
  int refused_status = 0;  // one non-101 status seen, for the report
  LatencyHistogram latency, chat_latency, churn_cycle;
  std::string first_error;

  LoopTally& operator+=(const LoopTally& o) {
    counts += o.counts;
    if (o.refused_status != 0) refused_status = o.refused_status;
    latency.Merge(o.latency);
    chat_latency.Merge(o.chat_latency);
    churn_cycle.Merge(o.churn_cycle);
    if (first_error.empty()) first_error = o.first_error;
    return *this;
  }
};

}  // namespace tutti::loadgen

#endif  // TUTTI_TOOLS_LOADGEN_COUNTERS_H_
