// Redis outages as players see them (docs/SCALE-OUT.md, "Failure cases"): a real
// redis-server and two tutti-server nodes (all started here on loopback, stopped by PID),
// a member of one room on each node. While Redis is gone each node says so (a
// ServerNotice to its clients, /readyz 503, tutti_redis_up 0) and refuses what would
// publish a room event with STREAM_UNAVAILABLE, keeping the connections; when Redis is
// back, play goes on in one sequence. A restarted Redis (its data lost) gives every
// member RESUME_UNRECOVERABLE with a snapshot of the new epoch first. Around a paused
// Redis: a note held across it is in the snapshot after it, a ban typed meanwhile is
// refused, and a node stopped meanwhile leaves its members to expire. A node whose channel
// link alone drops gives its members a snapshot that shows what it missed. Every wait is
// bounded by a deadline; nothing depends on how long a step takes.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/redis/outage_members.h"

namespace tutti::testing {
namespace {

// While Redis is away: each member hears it, a chat line is refused with the typed error
// (not lost, not silently dropped) and the connection stays; the node is not ready.
void CheckDown(std::vector<Member>& ms, uint16_t admin_port) {
  ASSERT_NO_FATAL_FAILURE(WaitToldDown(ms));
  ASSERT_TRUE(ms[0].client->Send(ChatMsg("while away", "away-1")));
  auto err = WaitForReply(*ms[0].client, proto::ClientMessage::kErrorMessage, "away-1", kLong);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->error_message().code(), proto::STREAM_UNAVAILABLE);
  EXPECT_EQ(err->error_message().error_code(), "STREAM_UNAVAILABLE");
  for (Member& m : ms) EXPECT_TRUE(m.client->is_open()) << m.name;
  const auto ready = NodesTest::AdminGet(admin_port, "/readyz");
  EXPECT_EQ(ready.first, 503);
  EXPECT_EQ(ready.second, "not ready: redis unreachable\n");
  EXPECT_NE(NodesTest::AdminGet(admin_port, "/metrics").second.find("tutti_redis_up 0"),
            std::string::npos);
  EXPECT_EQ(NodesTest::AdminGet(admin_port, "/healthz").first, 200);  // alive all the same
}

class RedisOutageTest : public TwoNodesTest {};

TEST_F(RedisOutageTest, RestartedRedisGivesSnapshotsOfANewEpochAndPlayGoesOn) {
  uint16_t admin = 0;
  std::vector<Member> ms;
  std::vector<proto::StreamPosition> before;
  ASSERT_NO_FATAL_FAILURE(MembersOnBothNodes("ann", "bob", &admin, &ms, &before));
  EXPECT_EQ(AdminGet(admin, "/readyz").first, 200);

  redis_.Stop(SIGKILL);
  CheckDown(ms, admin);
  // Whoever connects meanwhile is told at once, after its Welcome.
  auto late = Connect(node_a_->port(), "eve");
  ASSERT_TRUE(late);
  EXPECT_TRUE(WaitMatching(
      *late,
      [](const proto::ClientMessage& c) {
        return IsNotice(c, proto::ServerNotice::STREAMS_UNAVAILABLE);
      },
      kLong))
      << "a client connecting while Redis is away was not told";

  ASSERT_TRUE(redis_.Start());  // the same port, none of the old data
  // Each member: told Redis is back, and given the room's state at the new epoch.
  std::vector<proto::StreamPosition> snapshot_at;
  for (Member& m : ms) {
    std::optional<proto::ClientMessage> resync;
    ASSERT_NO_FATAL_FAILURE(WaitBackWithSnapshot(m, &resync));
    const proto::ResumeResult& r = resync->resume_result();
    EXPECT_EQ(r.outcome(), proto::RESUME_UNRECOVERABLE) << m.name;
    EXPECT_EQ(r.reason(), "epoch changed") << m.name;
    EXPECT_EQ(r.room_id(), "jam") << m.name;
    ASSERT_TRUE(r.has_snapshot()) << m.name;
    bool self_in_it = false;
    for (const auto& u : r.snapshot().users())
      self_in_it = self_in_it || u.user_id() == "u-" + m.name;
    EXPECT_TRUE(self_in_it) << m.name;
    EXPECT_NE(r.snapshot().stream_position().epoch(), before[0].epoch()) << m.name;
    snapshot_at.push_back(r.snapshot().stream_position());
  }
  ASSERT_TRUE(WaitNodesSubscribed("jam", 2));

  // Play goes on: the next events follow each member's snapshot position, in one order.
  std::vector<proto::StreamPosition> after;
  ChatSeenByAll(ms, 1, "after", &after);
  for (size_t i = 0; i < ms.size(); ++i) {
    EXPECT_EQ(after[i].epoch(), snapshot_at[i].epoch()) << ms[i].name;
    EXPECT_EQ(after[i].offset(), snapshot_at[i].offset() + 1) << ms[i].name;
  }
  ASSERT_TRUE(ms[0].client->Send(MidiMsg(std::string{'\x90', 60, 100})));
  EXPECT_TRUE(WaitMatching(
      *ms[1].client, [](const proto::ClientMessage& c) { return c.has_midi_message(); }, kLong))
      << "a note from node A did not reach node B after the restart";
  EXPECT_TRUE(WaitReady(admin)) << AdminGet(admin, "/readyz").second;
  EXPECT_NE(AdminGet(admin, "/metrics").second.find("tutti_redis_outages_total"),
            std::string::npos);
  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

TEST_F(RedisOutageTest, StoppedRedisIsNoticedRefusedAndPlayResumesInTheSameSequence) {
  uint16_t admin = 0;
  std::vector<Member> ms;
  std::vector<proto::StreamPosition> before;
  ASSERT_NO_FATAL_FAILURE(MembersOnBothNodes("cat", "dan", &admin, &ms, &before));

  // A Redis that stops answering without closing anything (as behind a partition): the
  // nodes find out by their PINGs going unanswered.
  ASSERT_EQ(kill(redis_.pid(), SIGSTOP), 0);
  CheckDown(ms, admin);
  ASSERT_EQ(kill(redis_.pid(), SIGCONT), 0);

  WaitToldBack(ms);
  ASSERT_TRUE(WaitNodesSubscribed("jam", 2));
  // Nothing was sequenced while Redis stood still (the refused line never was): the
  // stream goes on in the same epoch, right after the last event everyone saw.
  std::vector<proto::StreamPosition> after;
  ChatSeenByAll(ms, 1, "after", &after);
  for (size_t i = 0; i < ms.size(); ++i) {
    EXPECT_EQ(after[i].epoch(), before[i].epoch()) << ms[i].name;
    EXPECT_EQ(after[i].offset(), before[i].offset() + 1) << ms[i].name;
  }
  EXPECT_TRUE(WaitReady(admin)) << AdminGet(admin, "/readyz").second;
  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

// A note held when Redis goes away: its note-off is refused like any MIDI (the sender is
// told), the room still holds the note, and once Redis is back a snapshot on either node
// shows it held, so no client is left guessing. (Whether a node also sends one unasked
// depends on whether its stream moved or it refused something during the outage, which
// eve's periodic held-notes reports make a matter of timing: each member asks.)
TEST_F(RedisOutageTest, ANoteHeldAcrossAnOutageIsInTheSnapshotAfterIt) {
  uint16_t admin = 0;
  std::vector<Member> ms;
  std::vector<proto::StreamPosition> before;
  ASSERT_NO_FATAL_FAILURE(MembersOnBothNodes("eve", "fay", &admin, &ms, &before));
  ASSERT_TRUE(ms[0].client->Send(MidiMsg(std::string{'\x90', 60, 100})));
  ASSERT_TRUE(WaitMatching(
      *ms[1].client, [](const proto::ClientMessage& c) { return c.has_midi_message(); }, kLong))
      << "the note-on never reached node B";

  ASSERT_EQ(kill(redis_.pid(), SIGSTOP), 0);
  ASSERT_NO_FATAL_FAILURE(WaitToldDown(ms));
  ASSERT_TRUE(ms[0].client->Send(MidiMsg(std::string{'\x80', 60, 0}, 0, "off-1")));
  auto err = WaitForReply(*ms[0].client, proto::ClientMessage::kErrorMessage, "off-1", kLong);
  ASSERT_TRUE(err) << "the refused note-off was not answered";
  EXPECT_EQ(err->error_message().code(), proto::STREAM_UNAVAILABLE);
  ASSERT_EQ(kill(redis_.pid(), SIGCONT), 0);

  auto holds_eves_note = [](const proto::RoomSnapshot& snap) {
    bool held = false;
    for (const auto& h : snap.held_notes()) {
      if (h.user_id() != "u-eve") continue;
      for (const auto& n : h.notes()) held = held || (n.note() == 60 && n.channel() == 0);
    }
    return held;
  };
  WaitToldBack(ms);
  for (Member& m : ms) {
    const std::string rid = "sync-" + m.name;
    proto::ServerMessage sync;
    sync.mutable_server_command()->set_commandtype(proto::SYNC_STATE);
    sync.set_request_id(rid);
    ASSERT_TRUE(m.client->Send(sync));
    auto snap = WaitForReply(*m.client, proto::ClientMessage::kRoomSnapshot, rid, kLong);
    ASSERT_TRUE(snap) << m.name << "'s snapshot was not answered";
    EXPECT_TRUE(holds_eves_note(snap->room_snapshot()))
        << m.name << "'s snapshot does not show eve's note held";
  }
  // The sender can release it once Redis is back, and the other node hears that.
  ASSERT_TRUE(WaitNodesSubscribed("jam", 2));
  ASSERT_TRUE(ms[0].client->Send(MidiMsg(std::string{'\x80', 60, 0})));
  EXPECT_TRUE(WaitMatching(
      *ms[1].client,
      [](const proto::ClientMessage& c) {
        return c.has_midi_message() && c.midi_message().midi_data() == std::string{'\x80', 60, 0};
      },
      kLong))
      << "the note-off after the outage did not reach node B";
}

// A moderation command typed while Redis is away is refused like every chat message:
// nothing is applied on any node, and the target plays on once Redis is back.
TEST_F(RedisOutageTest, ABanTypedWhileRedisIsAwayIsRefusedAndChangesNothing) {
  uint16_t admin = 0;
  std::vector<Member> ms;
  std::vector<proto::StreamPosition> before;
  ASSERT_NO_FATAL_FAILURE(MembersOnBothNodes("gus", "hal", &admin, &ms, &before));

  ASSERT_EQ(kill(redis_.pid(), SIGSTOP), 0);
  ASSERT_NO_FATAL_FAILURE(WaitToldDown(ms));
  ASSERT_TRUE(ms[0].client->Send(ChatMsg("/ban hal", "ban-1")));
  auto err = WaitForReply(*ms[0].client, proto::ClientMessage::kErrorMessage, "ban-1", kLong);
  ASSERT_TRUE(err) << "the typed ban was not answered";
  EXPECT_EQ(err->error_message().code(), proto::STREAM_UNAVAILABLE);
  ASSERT_EQ(kill(redis_.pid(), SIGCONT), 0);
  WaitToldBack(ms);
  ASSERT_TRUE(WaitNodesSubscribed("jam", 2));
  // hal is still a member on node B: his line reaches gus on node A.
  std::vector<proto::StreamPosition> after;
  ChatSeenByAll(ms, 1, "still here", &after);
}

// A node stopped (SIGTERM) while Redis is away cannot publish its members' leaves; it
// exits all the same, and once Redis is back the other node finds their presence
// entries expired and announces them gone ("disconnected").
TEST_F(RedisOutageTest, ANodeStoppedWhileRedisIsAwayLeavesItsMembersToExpire) {
  ASSERT_NO_FATAL_FAILURE(StartNodes({"--redis_presence_ttl_ms", "1500"}));
  std::vector<Member> ms;
  for (const char* name : {"ivy", "jon"}) {
    Member m{Connect(ms.empty() ? node_a_->port() : node_b_->port(), name), name};
    ASSERT_TRUE(m.client) << name;
    ASSERT_TRUE(JoinRoom(*m.client, "Jam")) << name;
    ms.push_back(std::move(m));
  }
  ASSERT_TRUE(WaitNodesSubscribed("jam", 2));
  std::vector<proto::StreamPosition> at;
  ChatSeenByAll(ms, 0, "hello", &at);

  ASSERT_EQ(kill(redis_.pid(), SIGSTOP), 0);
  ASSERT_NO_FATAL_FAILURE(WaitToldDown(ms));
  EXPECT_EQ(node_a_->Stop(SIGTERM, 30000), 0) << node_a_->output();
  ASSERT_EQ(kill(redis_.pid(), SIGCONT), 0);

  auto left = WaitMatching(
      *ms[1].client,
      [](const proto::ClientMessage& c) {
        return c.has_user_left_room() && c.user_left_room().user_id() == "u-ivy";
      },
      kLong);
  ASSERT_TRUE(left) << "jon never saw ivy leave";
  EXPECT_EQ(left->user_left_room().reason(), "disconnected");
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

// Node A's channel links drop while its command links go on (as when Redis closes a
// subscriber over its output-buffer limit, or a proxy cuts one connection), and cannot
// come back for a while (Redis takes no new connections meanwhile; the open ones go on).
// Node A counts Redis as unreachable: its member is told and its line refused. On node
// B, play goes on: a member joins and a line is said, which node A misses. Once node A's
// links are back its room's position has moved, so its member gets a snapshot, taken
// after the re-reads: it shows the member node A did not see join. Play goes on from it.
TEST_F(RedisOutageTest, ANodesDroppedChannelLinkEndsInASnapshotWithWhatItMissed) {
  uint16_t admin = 0;
  std::vector<Member> ms;
  std::vector<proto::StreamPosition> before;
  // One shard per node: kim's session and the room are on the one engine whose channel
  // link is cut (another shard's engine, subscribed to nothing, is not found by type).
  ASSERT_NO_FATAL_FAILURE(
      MembersOnBothNodes("kim", "lou", &admin, &ms, &before, {"--shards", "1"}));
  RedisProbe probe(redis_.port());
  const std::vector<std::string> links = LinksOf(probe, node_a_->pid(), redis_.port(), "pubsub");
  ASSERT_FALSE(links.empty()) << "node A's channel links not found";
  ASSERT_EQ(probe.Ask({"CONFIG", "SET", "port", "0"}), "OK");  // no new connections
  for (const std::string& id : links) ASSERT_EQ(probe.Ask({"CLIENT", "KILL", "ID", id}), "1");

  std::vector<Member> on_a;
  on_a.push_back(std::move(ms[0]));
  ASSERT_NO_FATAL_FAILURE(WaitToldDown(on_a));
  ASSERT_TRUE(on_a[0].client->Send(ChatMsg("not now", "down-1")));
  auto err = WaitForReply(*on_a[0].client, proto::ClientMessage::kErrorMessage, "down-1", kLong);
  ASSERT_TRUE(err) << "kim's line was not answered";
  EXPECT_EQ(err->error_message().code(), proto::STREAM_UNAVAILABLE);

  // Node B goes on: mia joins, lou speaks (both seen there).
  Member mia{Connect(node_b_->port(), "mia"), "mia"};
  ASSERT_TRUE(mia.client);
  ASSERT_TRUE(JoinRoom(*mia.client, "Jam"));
  std::vector<Member> on_b;
  on_b.push_back(std::move(ms[1]));
  on_b.push_back(std::move(mia));
  std::vector<proto::StreamPosition> missed;
  ChatSeenByAll(on_b, 0, "missed by node A", &missed);

  ASSERT_EQ(probe.Ask({"CONFIG", "SET", "port", std::to_string(redis_.port())}), "OK");
  std::optional<proto::ClientMessage> resync;
  ASSERT_NO_FATAL_FAILURE(WaitBackWithSnapshot(on_a[0], &resync));
  const proto::ResumeResult& r = resync->resume_result();
  EXPECT_EQ(r.outcome(), proto::RESUME_UNRECOVERABLE);
  EXPECT_EQ(r.reason(), "events missed");
  std::set<std::string> users;
  for (const auto& u : r.snapshot().users()) users.insert(u.user_id());
  EXPECT_EQ(users, (std::set<std::string>{"u-kim", "u-lou", "u-mia"}))
      << "the snapshot does not show who joined on node B meanwhile";
  EXPECT_EQ(r.snapshot().stream_position().offset(), missed[0].offset());

  // Play goes on from the snapshot's position, in one order for all three.
  ASSERT_TRUE(WaitNodesSubscribed("jam", 2));
  std::vector<Member> all;
  all.push_back(std::move(on_a[0]));
  for (Member& m : on_b) all.push_back(std::move(m));
  std::vector<proto::StreamPosition> after;
  ChatSeenByAll(all, 0, "after", &after);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(after[i].offset(), missed[0].offset() + 1) << all[i].name;
  }
  EXPECT_TRUE(WaitReady(admin)) << AdminGet(admin, "/readyz").second;
}

}  // namespace
}  // namespace tutti::testing
