// NetemRelay: a userspace TCP relay on 127.0.0.1 that delays each direction of each connection
// by a sampled transit time, with jitter and optional stalls, without ever reordering bytes.
// The kernel here has no netem; this is the layer-2 stand-in for a real path.
//
// Owns: the listening socket, every accepted connection and its outbound connection to the
// target, the chunks waiting for their release time, and the one thread that moves them.
// Thread affinity: all socket work happens on the relay's own thread. Start, Sever, Stop, Wait
// and stats() may be called from any one owner thread; Sever and Stop only post a command.
// Who owns it: tutti-netem-relay (main) or the timing harness (in process).
//
// Scheduling (per connection, per direction): a chunk read at time t is released at
//   max(t + transit, release time of the previous chunk)
// where transit = (delay - jitter) + |N(0, 1.25 * jitter)| (mean `delay`; most chunks within
// delay +- jitter, a tail above, as queueing gives), plus stall_us with probability stall_prob.
// The max() is head-of-line blocking: a stalled chunk holds everything behind it and they are
// released in one burst, as after a TCP retransmission timeout. Bytes are never reordered.
// Time is the monotonic clock (steady_clock); the random numbers come from a seeded splitmix64
// per connection and direction, so a seed reproduces the same samples.
#ifndef TUTTI_TOOLS_NETEM_RELAY_NETEM_RELAY_H_
#define TUTTI_TOOLS_NETEM_RELAY_NETEM_RELAY_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "midi/timing_metrics.h"

namespace tutti::netem {

struct DirectionProfile {
  int64_t delay_us = 0;   // mean transit
  int64_t jitter_us = 0;  // spread (see the header comment)
  double stall_prob = 0;  // per chunk read
  int64_t stall_us = 0;   // added to a stalled chunk (and so to everything queued behind it)
};

struct RelayOptions {
  uint16_t listen_port = 0;  // 0 = any free port (see port())
  uint16_t target_port = 0;  // on target_host
  // An IPv4 address. Not loopback only for the timing harness's real-loss run, whose server
  // sits across a veth pair in a network namespace of its own (tools/timing_harness/).
  std::string target_host = "127.0.0.1";
  DirectionProfile up;    // client -> target
  DirectionProfile down;  // target -> client
  uint64_t seed = 1;
  int64_t duration_us = 600000000;  // the relay stops by itself after this (bounded runs)
  size_t max_connections = 64;
  // Per direction: past this many queued bytes the relay stops reading that side (TCP flow
  // control pushes back to the sender) so memory stays bounded.
  size_t max_queued_bytes = 8 << 20;
  // Set TCP_QUICKACK after every read from the target, so the target's segments are ACKed at
  // once: a target socket with Nagle on then never waits ~40 ms for a delayed ACK. For
  // measuring what a target would do with TCP_NODELAY, not for normal runs.
  bool quickack_target = false;
  // Transit samples kept per direction for stats (the first ones).
  size_t max_samples = 200000;
};

struct DirectionStats {
  uint64_t chunks = 0;
  uint64_t bytes = 0;
  uint64_t stalls = 0;
  std::vector<int64_t> hold_us;  // release - read of each chunk (what the path added)
};

struct RelayStats {
  uint64_t connections = 0;
  DirectionStats up;
  DirectionStats down;
};

class NetemRelay {
 public:
  explicit NetemRelay(RelayOptions options);
  ~NetemRelay();  // Stop() and Wait()
  NetemRelay(const NetemRelay&) = delete;
  NetemRelay& operator=(const NetemRelay&) = delete;

  // Binds 127.0.0.1:listen_port and starts the relay thread.
  absl::Status Start();
  uint16_t port() const { return port_; }

  // Severs connection `index` (accept order, from 0) as if the client process were killed:
  // the client side closes at once and nothing more reaches it; what the client had already
  // sent still reaches the target after its delay, then the target sees end of stream.
  void Sever(int index);
  // Closes everything and ends the thread (idempotent).
  void Stop();
  // Until the thread has ended (Stop or duration).
  void Wait();
  bool running() const;

  RelayStats stats() const;

 private:
  struct Chunk {
    int64_t release_us = 0;
    std::string bytes;
    size_t offset = 0;
  };
  struct Direction {
    int src = -1;
    int dst = -1;
    DirectionProfile profile;
    midi::timing::SplitMix64 rng{0};
    std::deque<Chunk> queue;
    size_t queued_bytes = 0;
    int64_t last_release_us = 0;
    bool src_eof = false;   // nothing more will be read
    bool dst_shut = false;  // end of stream passed on
    bool discard = false;   // the receiving side is gone: drop instead of writing
  };
  struct Connection {
    int index = 0;
    int client_fd = -1;
    int target_fd = -1;
    Direction up;
    Direction down;
    bool dead = false;
  };

  void Run();
  void Accept(int64_t now);
  void ReadInto(Connection& c, Direction& d, DirectionStats& st, int64_t now);
  void Flush(Connection& c, Direction& d, int64_t now);
  void SeverLocked(Connection& c);
  void CloseConnection(Connection& c);
  int64_t SampleTransit(Direction& d, bool* stalled);
  void TakeCommands();

  RelayOptions options_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  int64_t deadline_us_ = 0;

  // Relay thread only.
  std::vector<Connection> connections_;
  int accepted_ = 0;

  mutable std::mutex mu_;  // guards the fields below
  std::vector<int> sever_requests_;
  bool stop_requested_ = false;
  bool running_ = false;
  RelayStats stats_;
};

}  // namespace tutti::netem

#endif  // TUTTI_TOOLS_NETEM_RELAY_NETEM_RELAY_H_
