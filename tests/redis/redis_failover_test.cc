// A Redis primary failing over to a replica, as players see it (docs/SCALE-OUT.md,
// "Failure cases"): a real redis-server primary and a real replica of it, and two
// tutti-server nodes (all started here on loopback, stopped by PID). Replication is
// asynchronous, so a promoted replica can lack the last events of a room's stream while
// keeping its epoch: the offsets after its position would be given again to other events,
// and a client that saw the lost ones would take the new ones for them. The engine finds
// that the server is another one (its run id differs from the one seen before the
// outage) and starts a new epoch, so every member gets a snapshot instead. Every wait is
// bounded by a deadline; nothing depends on how long a step takes.
#include <signal.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/redis/outage_members.h"

namespace tutti::testing {
namespace {

class RedisFailoverTest : public TwoNodesTest {};

// Node A and node B on the primary; a replica follows it until it has the room's stream
// as everyone saw it, then stops following (as when it is cut off). Two more lines are
// said on the primary, which then dies; the replica is promoted and takes the primary's
// address (where a proxy or a moved address would send the nodes). Every member is told
// Redis is back and gets RESUME_UNRECOVERABLE "epoch changed" with a snapshot of a new
// epoch; the next line follows that snapshot in every member's sequence.
TEST_F(RedisFailoverTest, APrimaryReplacedByAReplicaThatLaggedStartsANewEpoch) {
  uint16_t admin = 0;
  std::vector<Member> ms;
  std::vector<proto::StreamPosition> before;
  ASSERT_NO_FATAL_FAILURE(MembersOnBothNodes("ada", "ben", &admin, &ms, &before));

  RedisProcess replica;
  ASSERT_TRUE(replica.Start());
  RedisProbe to_replica(replica.port());
  ASSERT_EQ(to_replica.Ask({"REPLICAOF", "127.0.0.1", std::to_string(redis_.port())}), "OK");
  const std::string seen = std::to_string(before[0].offset());
  const auto deadline = std::chrono::steady_clock::now() + kLong;
  while (to_replica.Ask({"HGET", "tutti:{jam}:meta", "offset"}) != seen &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(to_replica.Ask({"HGET", "tutti:{jam}:meta", "offset"}), seen)
      << "the replica never caught up";
  ASSERT_EQ(to_replica.Ask({"REPLICAOF", "NO", "ONE"}), "OK");

  std::vector<proto::StreamPosition> lost;
  ChatSeenByAll(ms, 1, "only on the old primary", &lost);
  ChatSeenByAll(ms, 0, "this one too", &lost);

  const uint16_t port = redis_.port();
  redis_.Stop(SIGKILL);
  ASSERT_EQ(to_replica.Ask({"CONFIG", "SET", "port", std::to_string(port)}), "OK");

  std::vector<proto::StreamPosition> snapshot_at;
  for (Member& m : ms) {
    std::optional<proto::ClientMessage> resync;
    ASSERT_NO_FATAL_FAILURE(WaitBackWithSnapshot(m, &resync));
    const proto::ResumeResult& r = resync->resume_result();
    EXPECT_EQ(r.outcome(), proto::RESUME_UNRECOVERABLE) << m.name;
    EXPECT_EQ(r.reason(), "epoch changed")
        << m.name << ": the lagging replica's offsets were taken";
    EXPECT_NE(r.snapshot().stream_position().epoch(), before[0].epoch()) << m.name;
    snapshot_at.push_back(r.snapshot().stream_position());
  }
  EXPECT_EQ(snapshot_at[0].epoch(), snapshot_at[1].epoch()) << "the nodes took two epochs";

  ASSERT_TRUE(WaitNodesSubscribed("jam", 2));
  std::vector<proto::StreamPosition> after;
  ChatSeenByAll(ms, 1, "after the failover", &after);
  for (size_t i = 0; i < ms.size(); ++i) {
    EXPECT_EQ(after[i].epoch(), snapshot_at[i].epoch()) << ms[i].name;
    EXPECT_EQ(after[i].offset(), snapshot_at[i].offset() + 1) << ms[i].name;
  }
  EXPECT_TRUE(WaitReady(admin)) << AdminGet(admin, "/readyz").second;
}

}  // namespace
}  // namespace tutti::testing
