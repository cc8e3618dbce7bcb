// What every worker loop of a load-generator run reads: the options, the keys and tokens,
// the server's address, the per-room member counts and the run's phase and times; plus the
// clocks the loops and main read.
//
// Owns: nothing that outlives a run (Run() in loadgen.cc creates one Shared per run).
// Thread affinity: written by main before the loops start (or, for the play times, before
// `phase` is released); read by every loop; the atomics are the only fields written while
// the loops run. Owner: Run().
#ifndef TUTTI_TOOLS_LOADGEN_RUN_STATE_H_
#define TUTTI_TOOLS_LOADGEN_RUN_STATE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "crypto/keys.h"
#include "tools/loadgen/loadgen.h"

namespace tutti::loadgen {

// The steady clock a single node's server time is (server/clock.h), so a timestamp taken
// here is directly comparable with other connections' and, plus a connection's timeline
// offset (ServerTimelineOffsetUs: 0 for one node), with the server's.
inline int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// What to add to NowUs() to get the server time of a server whose Welcome said
// `welcome_server_time` when NowUs() read `now`. One node's server time is this steady
// clock (0); a node started with --redis puts it on the wall clock at its start
// (server/clock.h), which on this machine is the same offset for every node and for this
// process, so it is exact too. A server on another machine: the Welcome's own reading,
// off by its one-way delay.
inline int64_t ServerTimelineOffsetUs(int64_t welcome_server_time, int64_t now) {
  constexpr int64_t kSecond = 1'000'000;
  if (welcome_server_time > now - kSecond && welcome_server_time < now + kSecond) return 0;
  using std::chrono::microseconds;
  const int64_t anchor =
      std::chrono::duration_cast<microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count() -
      std::chrono::duration_cast<microseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
  const int64_t there = welcome_server_time - now;
  return there > anchor - kSecond && there < anchor + kSecond ? anchor : there;
}

inline int64_t UnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

enum Phase : int { kSetup = 0, kPlay = 1, kStopSending = 2, kShutdown = 3 };

struct Shared {
  Options options;
  crypto::PublicKey seal_public;
  std::vector<boost::asio::ip::tcp::endpoint> servers;  // one per Options::ports
  std::vector<std::string> user_ids;
  std::vector<std::string> tokens;
  int churn_user_base = 0;  // churn connections use users [base, user_ids.size())
  std::unique_ptr<std::atomic<int>[]> room_joined;
  std::atomic<int> phase{kSetup};
  std::atomic<int64_t> play_start_us{0}, window_start_us{0}, send_stop_us{0};
};

}  // namespace tutti::loadgen

#endif  // TUTTI_TOOLS_LOADGEN_RUN_STATE_H_
