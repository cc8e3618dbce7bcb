// The timing simulation's TCP loss model (tests/midi/sim_link.h, LossRecovery::kTcp), on a path
// without jitter and with chosen transmissions lost, so that each repair mechanism can be seen
// at its expected time: RACK when later data is delivered, the tail loss probe when none
// follows, the RTO with backoff when the probe is lost too; head-of-line blocking throughout.
#include "tests/midi/sim_link.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace tutti::midi::sim {
namespace {

constexpr int64_t kMs = 1000;

// 20 ms each way, no jitter: an RTT sample is 40 ms, plus the 40 ms delayed ACK for in-order
// data, so SRTT settles at 80 ms and the RTO at 80 + 200 ms.
PathProfile Path(std::vector<uint64_t> drops) {
  PathProfile p;
  p.floor_us = 20 * kMs;
  p.jitter_scale_us = 0;
  p.recovery = LossRecovery::kTcp;
  p.drop_transmissions = std::move(drops);
  return p;
}

struct Trace {
  std::vector<int> order;             // message indices in delivery order
  std::vector<int64_t> delivered_at;  // per message
  Link::Counters counters;
};

// `count` messages, one every `every_us` from 0.
Trace Send(const PathProfile& p, int count, int64_t every_us) {
  Loop loop;
  Link link(p, 1, &loop);
  Trace r;
  r.delivered_at.assign(static_cast<size_t>(count), -1);
  for (int i = 0; i < count; ++i) {
    loop.At(i * every_us, [&, i] {
      link.Send(loop.now(), [&, i] {
        r.order.push_back(i);
        r.delivered_at[static_cast<size_t>(i)] = loop.now();
      });
    });
  }
  loop.Run(60000 * kMs);
  r.counters = link.counters();
  return r;
}

void ExpectAllInOrder(const Trace& r, int count) {
  ASSERT_EQ(r.order.size(), static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) EXPECT_EQ(r.order[static_cast<size_t>(i)], i);
}

TEST(SimLinkTest, WithoutLossEveryMessageTakesTheFloor) {
  const Trace r = Send(Path({}), 40, 50 * kMs);
  ExpectAllInOrder(r, 40);
  for (int i = 0; i < 40; ++i)
    EXPECT_EQ(r.delivered_at[static_cast<size_t>(i)], i * 50 * kMs + 20 * kMs);
  EXPECT_EQ(r.counters.lost, 0u);
}

// Message 20 (sent at 1000 ms) is lost; message 21 (1050 ms) reaches the receiver at 1070 ms
// and its SACK the sender at 1090 ms, when RACK finds 20 sent more than an RTT plus the
// reordering window earlier and sends it again: it arrives at 1110 ms, and 21 with it.
TEST(SimLinkTest, ALossFollowedByDataIsRepairedByRackAboutARoundTripLater) {
  const Trace r = Send(Path({20}), 40, 50 * kMs);
  ExpectAllInOrder(r, 40);
  EXPECT_EQ(r.delivered_at[20], 1110 * kMs);
  EXPECT_EQ(r.delivered_at[21], 1110 * kMs) << "held behind the hole";
  EXPECT_EQ(r.delivered_at[22], 1120 * kMs) << "on time again";
  EXPECT_EQ(r.counters.rack, 1u);
  EXPECT_EQ(r.counters.probes, 0u);
  EXPECT_EQ(r.counters.timeouts, 0u);
  ASSERT_EQ(r.counters.repair_us.size(), 1u);
  EXPECT_EQ(r.counters.repair_us[0], 90 * kMs) << "the gap to the next message plus an RTT";
}

// The last message (19, sent at 950 ms) is lost and nothing follows. The probe fires when the
// RTO would (SRTT 80 + 200 ms after the ACK of 18 at 980 ms, before 2 SRTT + 200 ms), at
// 1260 ms, and carries 19 again.
TEST(SimLinkTest, ATailLossIsRepairedByTheProbeNotTheTimeout) {
  const Trace r = Send(Path({19}), 20, 50 * kMs);
  ExpectAllInOrder(r, 20);
  EXPECT_EQ(r.counters.probes, 1u);
  EXPECT_EQ(r.counters.timeouts, 0u);
  EXPECT_EQ(r.counters.rack, 0u);
  EXPECT_EQ(r.delivered_at[19], 1280 * kMs);
  ASSERT_EQ(r.counters.repair_us.size(), 1u);
  EXPECT_GE(r.counters.repair_us[0], 200 * kMs) << "never before Linux's minimum RTO";
}

// The probe (transmission 20) is lost too: the RTO fires one RTO after the probe and the
// message goes a third time; if that is lost as well, the next waits twice as long.
TEST(SimLinkTest, LostRepairsFallBackToTheTimeoutWhichBacksOff) {
  const Trace once = Send(Path({19, 20}), 20, 50 * kMs);
  ExpectAllInOrder(once, 20);
  EXPECT_EQ(once.counters.probes, 1u);
  EXPECT_EQ(once.counters.timeouts, 1u);
  const Trace twice = Send(Path({19, 20, 21}), 20, 50 * kMs);
  ExpectAllInOrder(twice, 20);
  EXPECT_EQ(twice.counters.timeouts, 2u);
  ASSERT_EQ(once.counters.repair_us.size(), 1u);
  ASSERT_EQ(twice.counters.repair_us.size(), 1u);
  const int64_t probe_us = 1260 * kMs - 950 * kMs;  // from the loss to the probe (above)
  const int64_t rto_us = once.counters.repair_us[0] - probe_us;
  EXPECT_GE(rto_us, 200 * kMs);
  EXPECT_EQ(twice.counters.repair_us[0] - once.counters.repair_us[0], 2 * rto_us)
      << "the second timeout waits twice the first";
}

// The fixed-stall model is unchanged by the TCP one: one loss, one rto_us stall.
TEST(SimLinkTest, FixedStallModelStallsEveryLossForTheRto) {
  PathProfile p = Path({});
  p.recovery = LossRecovery::kFixedStall;
  p.loss = 1.0;  // every message
  p.rto_us = 260 * kMs;
  const Trace r = Send(p, 3, 500 * kMs);
  ExpectAllInOrder(r, 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(r.delivered_at[static_cast<size_t>(i)], i * 500 * kMs + 20 * kMs + 260 * kMs);
  }
}

}  // namespace
}  // namespace tutti::midi::sim
