// One direction of one simulated TCP connection of the timing simulation: its delay profile and
// what a lost packet costs, under one of two loss models (docs/TIMING.md, "Packet loss: how the
// kernel repairs it").
//
// Owns: the connection's random draws and, with the TCP model, its segments in flight, its RTT
// estimate and its timers (as events on the shared Loop). Thread affinity: single-threaded.
// Owner: the Simulation of tests/midi/timing_sim.cc (one per leg); the Loop outlives it.
#ifndef TUTTI_TESTS_MIDI_SIM_LINK_H_
#define TUTTI_TESTS_MIDI_SIM_LINK_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include "midi/timing_metrics.h"
#include "tests/midi/sim_loop.h"

namespace tutti::midi::sim {

// How a lost message is repaired.
enum class LossRecovery {
  // Every loss stalls the connection for rto_us (and, with lossy_retransmissions, each lost
  // retransmission for twice the previous wait): the model of the relay's injected stalls and
  // of the first packet loss rows, pessimistic for real TCP (docs/TIMING.md).
  kFixedStall,
  // Linux's TCP loss recovery, segment by segment (TcpModel): a loss followed by delivered data
  // is repaired by RACK about a round trip later, a tail loss by a probe or the retransmission
  // timeout, lost retransmissions the same way again with the timeout backing off.
  kTcp,
};

// The TCP model's constants, each Linux's default (RFC 8985 for RACK-TLP, RFC 6298 for the
// RTO; the Linux names in brackets).
struct TcpModel {
  int64_t min_rto_us = 200000;       // floor of RTO's variance term [TCP_RTO_MIN]
  int64_t max_rto_us = 120000000;    // [TCP_RTO_MAX]
  int64_t initial_rto_us = 1000000;  // before any RTT sample [TCP_TIMEOUT_INIT], RFC 6298 2.1
  // A receiver delays the ACK of in-order data by up to this much [TCP_DELACK_MIN]; out-of-order
  // data and data that fills a hole are ACKed at once (RFC 5681 4.2). The delay is part of every
  // RTT sample of in-order data, so it raises SRTT and with it the probe and the RTO.
  int64_t delayed_ack_us = 40000;
  // Tail loss probe after 2 SRTT plus this with one segment in flight (worst-case delayed ACK,
  // RFC 8985 7.2) [TCP_RTO_MIN], or plus two jiffies with more (8 ms at HZ=250, the kernel the
  // real-loss runs used) [TCP_TIMEOUT_MIN]; never later than the RTO would fire.
  int64_t tlp_one_in_flight_us = 200000;
  int64_t tlp_more_in_flight_us = 8000;
  // RACK's reordering window: min RTT / 4 (RFC 8985 6.2); 0 in recovery or once three later
  // segments are SACKed and no reordering was seen [tcp_rack_reo_wnd].
  int reo_wnd_min_rtt_divisor = 4;
  int dupthresh = 3;  // [tcp_reordering]
};

// One direction of one TCP connection. Messages are delivered in order (head-of-line
// blocking): a message never overtakes the one before it.
struct PathProfile {
  int64_t floor_us = 20000;  // propagation: no message is faster
  // Queueing jitter added to the floor: |N(0, jitter_scale_us)| (half-normal: most messages
  // near the floor, a tail above), or with gaussian == true, N(jitter_scale_us, sd) clipped at 0
  // (symmetric around floor + jitter_scale_us).
  double jitter_scale_us = 12500;
  bool gaussian = false;
  double gaussian_sd_us = 5000;
  // Each message (kFixedStall) or packet (kTcp: data, retransmissions and ACKs) is lost with
  // this probability.
  double loss = 0;
  LossRecovery recovery = LossRecovery::kFixedStall;
  // kFixedStall: a loss stalls the message and everything behind it for rto_us; with
  // lossy_retransmissions the retransmission can be lost too, with the same probability, and
  // each retry waits twice as long (1x, 2x, 4x... rto_us). Off: one retransmission always
  // gets through.
  int64_t rto_us = 200000;
  bool lossy_retransmissions = false;
  // kTcp: the kernel's constants. The ACKs travel back with this profile's delays (a path
  // whose two directions are alike, as every scenario's are).
  TcpModel tcp;
  // kTcp, for tests: these transmissions (counted from 0 over data segments, retransmissions
  // and probes, not ACKs) are lost whatever `loss` draws.
  std::vector<uint64_t> drop_transmissions;
  // Step changes of the floor: from true time .first on, add .second.
  std::vector<std::pair<int64_t, int64_t>> steps;
};

class Link {
 public:
  Link(PathProfile p, uint64_t seed, Loop* loop);
  // Sends a message at t (>= now); `deliver` runs when it reaches the other end, after every
  // message sent on this link before it.
  void Send(int64_t t, std::function<void()> deliver);

  // Segments (re)transmitted by each mechanism (kTcp), for the report.
  struct Counters {
    uint64_t segments = 0, lost = 0, rack = 0, probes = 0, timeouts = 0;
    // Per lost message: from its first lost transmission to the one that got through (what
    // tools/timing_harness/delay_line.py measures on the real path).
    std::vector<int64_t> repair_us;
  };
  const Counters& counters() const { return counters_; }

 private:
  struct Segment {
    int64_t xmit_us = 0;  // its latest transmission
    bool arrived = false;
    bool acked = false;
    bool marked_lost = false;    // by RACK, until retransmitted
    int64_t first_loss_us = -1;  // its first lost transmission, until one gets through
    std::function<void()> deliver;
  };

  int64_t Transit(int64_t t);
  // kTcp.
  Segment* At(uint64_t seq);
  const Segment* At(uint64_t seq) const;
  void Transmit(uint64_t seq);
  void Arrive(uint64_t seq, int64_t xmit_us);
  void OnAck(uint64_t seq, int64_t xmit_us, uint64_t cumulative);
  void DetectLosses();
  void ArmTimer();
  void OnTimer(uint64_t generation);
  int64_t Rto() const;
  int64_t Pto() const;
  // No loss known: not in recovery and nothing SACKed above the first unacknowledged segment
  // (Linux's Open state, the only one that schedules a tail loss probe).
  bool Open() const;

  PathProfile p_;
  timing::SplitMix64 rng_;
  Loop* loop_;
  Counters counters_;
  int64_t last_ = std::numeric_limits<int64_t>::min();  // kFixedStall: last delivery
  // kTcp: segments from the first not both delivered and acknowledged; sequence numbers count
  // messages from 0.
  std::deque<Segment> segs_;
  uint64_t base_ = 0;       // sequence of segs_.front()
  uint64_t next_seq_ = 0;   // next new message
  uint64_t delivered_ = 0;  // in-order prefix handed to `deliver`
  uint64_t snd_una_ = 0;    // first sequence not cumulatively acknowledged
  int64_t data_last_ = std::numeric_limits<int64_t>::min();  // FIFO network, each direction
  int64_t ack_last_ = std::numeric_limits<int64_t>::min();
  int64_t srtt_us_ = 0, rttvar_us_ = 0, min_rtt_us_ = 0;  // 0: no sample yet
  // RACK: the most recently sent delivered segment's transmission time, sequence and RTT.
  int64_t rack_xmit_us_ = -1, rack_rtt_us_ = 0;
  uint64_t rack_seq_ = 0;
  bool in_recovery_ = false;
  uint64_t recovery_end_ = 0;  // recovery ends when this much is cumulatively acked
  int backoff_ = 0;
  int64_t rto_deadline_ = -1, tlp_deadline_ = -1;  // -1: not armed
  uint64_t timer_generation_ = 0;
  int64_t timer_at_ = -1;  // when the armed timer event fires (-1: none)
  int64_t reo_timer_at_ = -1;
};

}  // namespace tutti::midi::sim

#endif  // TUTTI_TESTS_MIDI_SIM_LINK_H_
