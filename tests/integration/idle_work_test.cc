// What an idle server does: work that follows what happens, not how many sessions and
// rooms there are. Rooms where nothing sounds are never given a held-notes tick, and a
// session's idle deadline is looked at when it comes, not at every sweep. Counted by the
// shard's own counters (not timed), with the injected clock for idle deadlines.
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

const std::string kNoteOn60("\x90\x3c\x64", 3);
const std::string kNoteOff60("\x80\x3c\x00", 3);

size_t HeldRoomsListed(TestServer& ts) {
  std::promise<size_t> p;
  server::Shard& s = ts.server().shard(0);
  s.Post([&p, &s] { p.set_value(s.held_rooms_listed()); });
  return p.get_future().get();
}

// 30 rooms where nothing sounds and one where a note is held: only the holding room is
// ticked, and once its note is released it is visited one last time and never again.
// Before, every room was visited once per held_notes_snapshot_ms whether anything sounded
// or not, so the visits would outnumber the snapshots thirtyfold.
TEST(IdleWork, OnlyRoomsWhereNotesSoundAreTicked) {
  TestServer ts(1, [](server::ServerConfig& c) { c.held_notes_snapshot_ms = 200; });
  std::vector<std::unique_ptr<client::Client>> quiet;
  for (int r = 0; r < 30; ++r) {
    for (int m = 0; m < 2; ++m) {
      quiet.push_back(ts.Connect("q" + std::to_string(r) + "-" + std::to_string(m)));
      ASSERT_TRUE(quiet.back());
      ASSERT_TRUE(JoinRoom(*quiet.back(), "quiet-" + std::to_string(r)));
    }
  }
  auto player = ts.Connect("player");
  auto listener = ts.Connect("listener");
  ASSERT_TRUE(player && listener);
  ASSERT_TRUE(JoinRoom(*player, "loud"));
  ASSERT_TRUE(JoinRoom(*listener, "loud"));
  EXPECT_EQ(HeldRoomsListed(ts), 0u) << "nothing sounds anywhere yet";
  EXPECT_EQ(ts.TotalCounters().held_rooms_ticked, 0u);

  ASSERT_TRUE(player->Send(MidiMsg(kNoteOn60)));
  int snapshots = 0;
  while (snapshots < 2) {
    auto snap = listener->WaitFor(proto::ClientMessage::kHeldNotesSnapshot, 10s);
    ASSERT_TRUE(snap) << "no held-notes snapshot for a held note";
    ASSERT_EQ(snap->held_notes_snapshot().notes_size(), 1);
    ++snapshots;
  }
  EXPECT_EQ(HeldRoomsListed(ts), 1u);

  ASSERT_TRUE(player->Send(MidiMsg(kNoteOff60)));
  ASSERT_TRUE(WaitUntil([&] { return HeldRoomsListed(ts) == 0; }, 10s))
      << "a room that holds nothing stays ticked";
  // Every visit but the last (which found nothing held) sent the listener a snapshot.
  const uint64_t ticked = ts.TotalCounters().held_rooms_ticked;
  ASSERT_GE(ticked, 3u);
  const uint64_t sent = ticked - 1;
  while (static_cast<uint64_t>(snapshots) < sent) {
    auto msg = listener->WaitFor(proto::ClientMessage::kHeldNotesSnapshot, 10s);
    ASSERT_TRUE(msg) << "visits " << ticked << " but " << snapshots << " snapshots arrived";
    ++snapshots;
  }
  EXPECT_EQ(static_cast<uint64_t>(snapshots), sent);
  EXPECT_FALSE(listener->WaitFor(proto::ClientMessage::kHeldNotesSnapshot, 300ms))
      << "a snapshot more than the room's visits";
  EXPECT_EQ(ts.TotalCounters().held_rooms_ticked, ticked) << "ticks go on after the release";
  EXPECT_TRUE(ServerStillServes(ts));
}

// 20 silent members and one that heartbeats, idle timeout 10 s of the injected clock. While
// the clock moves up to 9 s no deadline has come and no session is looked at (the old sweep
// looked at all 21 four times a second); at 11 s each is looked at once: the 20 are closed
// with 4000, the heartbeating one is filed again under its later deadline.
TEST(IdleWork, IdleDeadlinesAreLookedAtOnlyWhenTheyCome) {
  auto clock = NowFakeClock();
  TestServer ts(
      1, [](server::ServerConfig& c) { c.idle_timeout_ms = 10'000; }, clock);
  std::vector<std::unique_ptr<client::Client>> silent;
  for (int i = 0; i < 20; ++i) {
    silent.push_back(ts.Connect("s" + std::to_string(i)));
    ASSERT_TRUE(silent.back());
    ASSERT_TRUE(JoinRoom(*silent.back(), "room-" + std::to_string(i / 10)));
  }
  auto busy = ts.Connect("busy");
  ASSERT_TRUE(busy);
  // Joining is activity: from here on the silent ones say nothing.
  for (int step = 1; step <= 3; ++step) {
    clock->AdvanceUs(3'000'000);
    const std::string rid = "hb" + std::to_string(step);
    ASSERT_TRUE(busy->Send(HeartbeatMsg(step, rid)));
    ASSERT_TRUE(WaitForReply(*busy, proto::ClientMessage::kHeartbeatMessage, rid, 5s));
  }
  // The jump posted a look at what is due before the heartbeat was handled; none was.
  EXPECT_EQ(ts.TotalCounters().idle_checks, 0u);
  for (auto& c : silent) EXPECT_TRUE(c->is_open());

  clock->AdvanceUs(2'000'000);  // 11 s after the silent ones last spoke
  for (auto& c : silent) {
    uint16_t code = 0;
    std::string reason;
    ASSERT_TRUE(c->WaitClosed(10s, &code, &reason)) << "an idle member was never closed";
    EXPECT_EQ(code, 4000);
  }
  EXPECT_EQ(ts.TotalCounters().idle_checks, 21u) << "each deadline is looked at once";
  EXPECT_TRUE(busy->is_open());
  ASSERT_TRUE(busy->Send(HeartbeatMsg(9, "after")));
  EXPECT_TRUE(WaitForReply(*busy, proto::ClientMessage::kHeartbeatMessage, "after", 5s));
}

}  // namespace
}  // namespace tutti::testing
