// Deterministic simulation tests: the timing targets, asserted on seeded virtual-time
// runs (tests/midi/timing_sim.h). Figures: build and run midi_timing_report.
#include "tests/midi/timing_sim.h"

#include "gtest/gtest.h"

namespace tutti::midi::sim {
namespace {

void ExpectMusicalTargets(const SenderResult& s) {
  EXPECT_LE(s.ioi_p50_ms, 0.5);
  EXPECT_LE(s.ioi_p95_ms, 3.0);
  EXPECT_LE(s.ioi_p99_ms, 10.0);
  EXPECT_LE(s.chord_spread_max_ms, 0.1);
  EXPECT_LE(s.late_fraction, 0.015);
  EXPECT_LE(s.dropped_fraction, 0.002);
  EXPECT_GT(s.ioi_pairs, 100u);
}

TEST(TimingSimTest, ReferenceNetworkMeetsEveryTarget) {
  const Scenario sc = scenarios::Reference();
  const Result r = sim::Run(sc);
  SCOPED_TRACE(Describe(sc, r));
  ASSERT_EQ(r.senders.size(), 1u);
  const SenderResult& s = r.senders[0];
  ExpectMusicalTargets(s);
  // Issue 16's targets on the 30 +- 10 ms path.
  EXPECT_LE(s.ioi_p99_ms, 5.0);
  EXPECT_LE(s.late_fraction, 0.01);
  EXPECT_LE(s.added_latency_ms, 40.0);
  EXPECT_EQ(r.stuck_notes, 0);
  EXPECT_TRUE(r.buffer_idle);
  // Clock sync, both clients (100 ppm fast sender, 100 ppm slow receiver).
  for (const auto& [p95, at1s, skew, within] :
       {std::make_tuple(r.clock_p95_ms, r.clock_at_1s_ms, r.skew_error_ppm, r.clock_within_bound),
        std::make_tuple(s.clock_p95_ms, s.clock_at_1s_ms, s.skew_error_ppm,
                        s.clock_within_bound)}) {
    EXPECT_LE(p95, 2.0);
    EXPECT_LE(at1s, 5.0);
    EXPECT_LE(skew, 5.0) << "after 150 s of simulated time";
    EXPECT_TRUE(within) << "offset error beyond the reported bound";
  }
}

TEST(TimingSimTest, LoopbackAddsLittleLatency) {
  const Scenario sc = scenarios::Loopback();
  const Result r = sim::Run(sc);
  SCOPED_TRACE(Describe(sc, r));
  ExpectMusicalTargets(r.senders[0]);
  EXPECT_LE(r.senders[0].added_latency_ms, 8.0);
  EXPECT_TRUE(r.clock_within_bound);
  EXPECT_TRUE(r.senders[0].clock_within_bound);
}

TEST(TimingSimTest, AsymmetricPathsKeepTimingAndAnHonestErrorBound) {
  const Scenario sc = scenarios::Asymmetric();
  const Result r = sim::Run(sc);
  SCOPED_TRACE(Describe(sc, r));
  ExpectMusicalTargets(r.senders[0]);
  // The asymmetry cannot be measured, but it is inside the reported bound.
  EXPECT_TRUE(r.clock_within_bound);
  EXPECT_TRUE(r.senders[0].clock_within_bound);
}

TEST(TimingSimTest, IsolatedStallsDoNotInflateTheTarget) {
  const Result clean = sim::Run(scenarios::Reference());
  const Scenario sc = scenarios::Lossy(0.005);
  const Result r = sim::Run(sc);
  SCOPED_TRACE(Describe(sc, r));
  const SenderResult& s = r.senders[0];
  EXPECT_GT(s.stats.stalls_discarded, 3u);
  EXPECT_LE(s.target_median_ms, clean.senders[0].target_median_ms + 5);
  EXPECT_LE(s.added_latency_ms, 40.0);
  EXPECT_EQ(s.stats.playout_stall_lifts, 0u) << "lifts are off by default";
  // Issue 16's stall policy: a single retransmission stall loses no notes (grace window) and
  // nothing sticks. (IOI p99 <= 20 ms is out of reach: see docs/TIMING.md.)
  EXPECT_LE(s.dropped_fraction, 0.005);
  EXPECT_EQ(r.stuck_notes, 0);
  EXPECT_TRUE(r.buffer_idle);
}

TEST(TimingSimTest, StallsOfOneRetransmissionLoseNoNoteAndLeaveNothingSounding) {
  for (double loss : {0.005, 0.02}) {
    const Scenario sc = scenarios::Lossy(loss);
    const Result r = sim::Run(sc);
    SCOPED_TRACE(Describe(sc, r));
    const SenderResult& s = r.senders[0];
    EXPECT_GT(s.stats.late_note_ons, 0u) << "the stalls did make notes late";
    EXPECT_LE(s.dropped_fraction, 0.005);
    EXPECT_EQ(r.stuck_notes, 0);
    EXPECT_TRUE(r.buffer_idle);
  }
}

// The first packet loss model, kept for comparison (scenarios::PacketLossFullRto): every loss
// stalls a full RTO (260 ms) and lost retransmissions back off (520 ms, ...). Dropped <= 0.5 %,
// nothing stuck, the target delay not inflated by the stalls.
TEST(TimingSimTest, FullRtoPacketLossDropsAtMostHalfAPercentAndNothingSticks) {
  const Result clean = sim::Run(scenarios::Reference());
  const Scenario sc = scenarios::PacketLossFullRto(0.01);
  const Result r = sim::Run(sc);
  SCOPED_TRACE(Describe(sc, r));
  const SenderResult& s = r.senders[0];
  EXPECT_GT(s.stats.late_note_ons, 0u) << "the losses did make notes late";
  EXPECT_LE(s.dropped_fraction, 0.005);
  EXPECT_LE(s.target_median_ms, clean.senders[0].target_median_ms + 5);
  EXPECT_LE(s.added_latency_ms, 40.0);
  EXPECT_EQ(r.stuck_notes, 0);
  EXPECT_TRUE(r.buffer_idle);
}

// Issue 16's fifth scenario, the simulation's side of tools/timing_harness/real_loss.sh: 1 %
// of packets lost on every leg, repaired as Linux's TCP repairs them (scenarios::PacketLoss;
// docs/TIMING.md compares the repair times with the kernel's on a real 30 +- 10 ms path).
// On one connection every repair still bends the intervals into it: IOI p99 stays far above
// 20 ms in every seed, which is what the linked connection below is for. Nothing sticks.
TEST(TimingSimTest, TcpPacketLossOnOneConnectionMissesTheIoiTargetAndLeavesNothingSounding) {
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    Scenario sc = scenarios::PacketLoss(0.01);
    sc.seed = seed;
    const Result r = sim::Run(sc);
    SCOPED_TRACE(Describe(sc, r));
    const SenderResult& s = r.senders[0];
    EXPECT_GT(r.tcp.lost, 0u);
    EXPECT_GT(r.tcp.rack, 0u) << "most losses are followed by data and repaired by RACK";
    EXPECT_GT(s.ioi_p99_ms, 20.0);
    EXPECT_EQ(r.stuck_notes, 0);
    EXPECT_TRUE(r.buffer_idle);
  }
}

// Issue 16's target under 0.5 % stalls or 1 % loss, for sender 0 of `r`: IOI p99 <= 20 ms,
// dropped <= 0.5 %, the target delay not inflated against the clean path, added latency
// <= 40 ms, enough intervals to judge, nothing stuck, the buffer empty at the end.
void ExpectStallOrLossTargetMet(const Result& r, const Result& clean) {
  const SenderResult& s = r.senders[0];
  EXPECT_LE(s.ioi_p99_ms, 20.0);
  EXPECT_LE(s.dropped_fraction, 0.005);
  EXPECT_LE(s.target_median_ms, clean.senders[0].target_median_ms + 5);
  EXPECT_LE(s.added_latency_ms, 40.0);
  EXPECT_GT(s.ioi_pairs, 100u);
  EXPECT_EQ(r.stuck_notes, 0);
  EXPECT_TRUE(r.buffer_idle);
}

// Issue 16 with a linked connection (docs/PROTOCOL.md §16): every batch travels on two
// connections per client, each with its own stalls, and the first copy wins. A note is held
// up only when both of its copies are, so the stall scenario reaches the target that one
// connection cannot (the contrast is asserted too: it is what the links are for).
TEST(TimingSimTest, LinkedConnectionsMeetTheStallTargetOneConnectionMisses) {
  const Result clean = sim::Run(scenarios::Reference());
  const Result one = sim::Run(scenarios::Lossy(0.005));
  const Scenario sc = scenarios::WithLinks(scenarios::Lossy(0.005), 2);
  const Result r = sim::Run(sc);
  SCOPED_TRACE(Describe(sc, r));
  EXPECT_GT(one.senders[0].ioi_p99_ms, 20.0) << "one connection misses it (docs/TIMING.md)";
  ExpectStallOrLossTargetMet(r, clean);
}

// Issue 16's loss target with a linked connection, on eight seeds of the network: 1 % of the
// packets of all eight legs lost and repaired as Linux repairs them. IOI p99 <= 20 ms, dropped
// <= 0.5 %, nothing stuck, the target delay not inflated, added latency <= 40 ms.
TEST(TimingSimTest, LinkedConnectionsMeetTheLossTargetUnderTcpPacketLoss) {
  const Result clean = sim::Run(scenarios::Reference());
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    Scenario sc = scenarios::WithLinks(scenarios::PacketLoss(0.01), 2);
    sc.seed = seed;
    const Result r = sim::Run(sc);
    SCOPED_TRACE(Describe(sc, r));
    EXPECT_GT(r.tcp.lost, 0u);
    ExpectStallOrLossTargetMet(r, clean);
  }
}

// The same with the full-RTO model: the links cut IOI p99 to well under half of one
// connection's and lose nothing, but p99 <= 20 ms is not reached: both copies are sometimes
// held at once (both down legs stalled around 19.4 s, both up legs around 33.2 s), and with
// 260 ms stalls each overlap bends several intervals. See docs/TIMING.md.
TEST(TimingSimTest, LinkedConnectionsUnderFullRtoPacketLossHalveIoiP99AndLoseNothing) {
  const Result clean = sim::Run(scenarios::Reference());
  const Result one = sim::Run(scenarios::PacketLossFullRto(0.01));
  const Scenario sc = scenarios::WithLinks(scenarios::PacketLossFullRto(0.01), 2);
  const Result r = sim::Run(sc);
  SCOPED_TRACE(Describe(sc, r));
  const SenderResult& s = r.senders[0];
  EXPECT_LT(s.ioi_p99_ms, one.senders[0].ioi_p99_ms / 2);
  EXPECT_LT(s.late_fraction, one.senders[0].late_fraction / 2);
  EXPECT_LE(s.dropped_fraction, 0.005);
  EXPECT_LE(s.target_median_ms, clean.senders[0].target_median_ms + 5);
  EXPECT_LE(s.added_latency_ms, 40.0);
  EXPECT_GT(s.ioi_pairs, 100u);
  EXPECT_EQ(r.stuck_notes, 0);
  EXPECT_TRUE(r.buffer_idle);
}

TEST(TimingSimTest, StallLiftsPlayBacklogsSpacedAtSomeLatency) {
  const Result smear = sim::Run(scenarios::Lossy(0.005));
  Scenario sc = scenarios::Lossy(0.005);
  sc.receiver.options.playout.max_stall_lift_us = 300000;
  const Result r = sim::Run(sc);
  SCOPED_TRACE(Describe(sc, r));
  const SenderResult& s = r.senders[0];
  EXPECT_GT(s.stats.playout_stall_lifts, 3u);
  // Backlogs are not piled onto one instant: fewer bent intervals than playing them at once...
  EXPECT_LT(s.ioi_p95_ms, smear.senders[0].ioi_p95_ms / 2);
  // ...for latency while a lift is given back.
  EXPECT_GT(s.added_latency_ms, smear.senders[0].added_latency_ms);
  EXPECT_LE(s.dropped_fraction, 0.005);
  EXPECT_EQ(r.stuck_notes, 0);
}

TEST(TimingSimTest, StepChangesAreFollowedAndNothingSticks) {
  const Scenario sc = scenarios::StepChanges();
  const Result r = sim::Run(sc);
  SCOPED_TRACE(Describe(sc, r));
  const SenderResult& s = r.senders[0];
  EXPECT_GE(s.target_max_ms, 120) << "rose to cover the +40 ms path";
  // The step was on one leg only, so the sender's clock offset (which assumes symmetric paths)
  // moves by half of it and slews back slowly; the target follows it down.
  EXPECT_LE(s.targets_ms.back(), s.target_max_ms - 10) << "came down after the path recovered";
  EXPECT_LE(s.late_fraction, 0.015);
  EXPECT_LE(s.dropped_fraction, 0.002);
  EXPECT_EQ(r.stuck_notes, 0);
  EXPECT_TRUE(s.clock_within_bound);
}

TEST(TimingSimTest, KilledSenderWithPedalDownLeavesNothingSounding) {
  for (bool synthetic : {true, false}) {
    const Scenario sc = scenarios::KilledMidChord(synthetic);
    const Result r = sim::Run(sc);
    SCOPED_TRACE(Describe(sc, r));
    EXPECT_EQ(r.stuck_notes, 0);
    EXPECT_TRUE(r.buffer_idle);
    if (synthetic) {
      EXPECT_EQ(r.senders[0].stats.watchdog_releases, 0u) << "server note-offs came first";
    } else {
      EXPECT_EQ(r.senders[0].stats.watchdog_releases, 1u);
    }
  }
}

TEST(TimingSimTest, ReceiverConnectionDropLeavesNothingSounding) {
  const Scenario sc = scenarios::ReceiverDrops();
  const Result r = sim::Run(sc);
  SCOPED_TRACE(Describe(sc, r));
  EXPECT_EQ(r.stuck_notes, 0);
  EXPECT_TRUE(r.buffer_idle);
}

TEST(TimingSimTest, AbusersAreBoundedAndOthersUnaffected) {
  for (Abuse a : {Abuse::kFutureStamps, Abuse::kPastStamps, Abuse::kLongSpans, Abuse::kFlood}) {
    const Scenario sc = scenarios::WithAbuser(a);
    const Result r = sim::Run(sc);
    SCOPED_TRACE(Describe(sc, r));
    ASSERT_EQ(r.senders.size(), 2u);
    ExpectMusicalTargets(r.senders[0]);
    EXPECT_LE(r.senders[0].added_latency_ms, 40.0);
    const double bound_ms = static_cast<double>(sc.receiver.options.delay.max_delay_us) / 1000;
    for (const SenderResult& s : r.senders) EXPECT_LE(s.max_scheduled_ahead_ms, bound_ms);
    EXPECT_EQ(r.stuck_notes, 0);
  }
}

TEST(TimingSimTest, UnsyncedSenderIsRestampedAndStillPlays) {
  const Scenario sc = scenarios::Unsynced();
  const Result r = sim::Run(sc);
  SCOPED_TRACE(Describe(sc, r));
  const SenderResult& s = r.senders[0];
  EXPECT_LE(s.dropped_fraction, 0.002);
  EXPECT_LE(s.chord_spread_max_ms, 0.1);
  // Spacing now carries the sender's one-way jitter (no source stamps): worse, but bounded.
  EXPECT_LE(s.ioi_p50_ms, 15);
  EXPECT_EQ(r.stuck_notes, 0);
}

TEST(TimingSimTest, RunsAreDeterministic) {
  for (const Scenario& sc :
       {scenarios::Lossy(0.02), scenarios::WithLinks(scenarios::PacketLossFullRto(0.01), 2),
        scenarios::WithLinks(scenarios::PacketLoss(0.01), 2)}) {
    EXPECT_EQ(Describe(sc, sim::Run(sc)), Describe(sc, sim::Run(sc)));
  }
}

}  // namespace
}  // namespace tutti::midi::sim
