// Session resume at its edges (docs/PROTOCOL.md §12): a token presented while the old
// connection still looks open to the server (a half-open TCP connection); what a parked
// session gets back besides its room (its room-list subscription, the private messages
// sent to it meanwhile, bounded); and a new connection that drops during its own resume.
#include <future>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/resume_fixture.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

TEST(ResumeEdges, ATokenPresentedWhileTheOldConnectionLooksOpenTakesTheSessionOver) {
  TestServer ts(3, Generous);
  auto alice = ts.Connect("alice");
  proto::Welcome w;
  auto bob = ts.Connect(Named("bob"), &w);
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(alice && bob && carol);
  ASSERT_TRUE(JoinRoom(*alice, "Half"));
  ASSERT_TRUE(JoinRoom(*carol, "Half"));
  ASSERT_TRUE(JoinRoom(*bob, "Half"));
  ASSERT_TRUE(alice->Send(ChatMsg("seen")));
  std::vector<proto::ClientMessage> seen = ReadUntilChat(*bob, "seen");
  ASSERT_FALSE(seen.empty());
  const proto::StreamPosition last = seen.back().stream();
  ASSERT_TRUE(alice->Send(ChatMsg("missed")));
  ReadUntilChat(*carol, "missed");  // sequenced before the resume below

  // Bob's first connection is still open (to the server it is alive: no FIN, no close);
  // his client, elsewhere, resumes on a new one.
  proto::Welcome again;
  auto bob2 = ts.Connect(Resuming("bob", w.resume_token(), "half", last), &again);
  ASSERT_TRUE(bob2);
  auto r = bob2->WaitFor(proto::ClientMessage::kResumeResult, 5s);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->resume_result().outcome(), proto::RESUME_RECOVERED)
      << r->resume_result().ShortDebugString();
  EXPECT_EQ(again.user().user_id(), "u-bob");
  // The replay: "missed", then his own reconnecting notice (the old connection counted
  // as a drop); then live, his return first.
  std::vector<proto::ClientMessage> replay;
  ASSERT_TRUE(ReadReplay(*bob2, r->resume_result().replayed(), &replay));
  ASSERT_EQ(replay.size(), 2u);
  EXPECT_EQ(replay[0].room_chat_message().message(), "missed");
  EXPECT_EQ(replay[0].stream().offset(), last.offset() + 1);
  EXPECT_TRUE(replay[1].member_connection().reconnecting());
  EXPECT_EQ(replay[1].stream().offset(), last.offset() + 2);
  ASSERT_TRUE(alice->Send(ChatMsg("live")));
  std::vector<proto::ClientMessage> live = ReadUntilChat(*bob2, "live");
  ASSERT_EQ(live.size(), 2u);
  EXPECT_FALSE(live[0].member_connection().reconnecting());
  EXPECT_EQ(live[0].stream().offset(), last.offset() + 3);
  // The old connection is closed with the code that says why.
  uint16_t code = 0;
  std::string reason;
  ASSERT_TRUE(bob->WaitClosed(5s, &code, &reason));
  EXPECT_EQ(code, 4005) << reason;
  // Carol saw bob reconnect, never leave.
  std::vector<proto::ClientMessage> carol_seen = ReadUntilChat(*carol, "live");
  for (const auto& m : carol_seen) {
    EXPECT_FALSE(m.has_user_left_room()) << m.ShortDebugString();
    EXPECT_FALSE(m.has_user_joined_room()) << m.ShortDebugString();
  }
}

// Alice says "mark" to the room; bob's connection is destroyed once he has read it, and
// alice waits until the server has parked him. Returns bob's last position ("mark").
proto::StreamPosition MarkAndDropBob(AliceAndBob& p) {
  proto::StreamPosition last;
  EXPECT_TRUE(p.alice->Send(ChatMsg("mark")));
  std::vector<proto::ClientMessage> seen = ReadUntilChat(*p.bob, "mark");
  if (!seen.empty()) last = seen.back().stream();
  DropAndWaitParked(*p.bob, *p.alice);
  return last;
}

// Resumes bob in "keep" from `last` with his latest token and reads through the replay.
std::unique_ptr<client::Client> ResumeBob(TestServer& ts, const AliceAndBob& p,
                                          const proto::StreamPosition& last,
                                          proto::ResumeResult* result) {
  auto c = Resume(ts, Resuming("bob", p.welcome.resume_token(), "keep", last), result);
  if (!c || !ReadReplay(*c, result->replayed())) return nullptr;
  return c;
}

TEST(ResumeEdges, TheRoomListSubscriptionComesBackWithAFullListThenDeltas) {
  TestServer ts(3, Generous);
  AliceAndBob p;
  ASSERT_TRUE(ConnectBoth(ts, "Keep", &p));
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(carol);
  proto::ServerMessage sub;
  sub.mutable_subscribe_room_list();
  sub.set_request_id("ls");
  ASSERT_TRUE(p.bob->Send(sub));
  ASSERT_TRUE(WaitForReply(*p.bob, proto::ClientMessage::kRoomList, "ls"));
  const proto::StreamPosition last = MarkAndDropBob(p);
  // A room appears while bob is away.
  ASSERT_TRUE(JoinRoom(*carol, "While Away"));
  proto::ResumeResult r;
  auto bob2 = ResumeBob(ts, p, last, &r);
  ASSERT_TRUE(bob2);
  ASSERT_EQ(r.outcome(), proto::RESUME_RECOVERED) << r.ShortDebugString();
  // After the replay: a full list (no request id), then deltas chained on it. The list
  // may be up to one delta period behind the rooms (§5), so the room made while bob was
  // away is in the list or in a delta that follows it.
  auto list = bob2->WaitFor(proto::ClientMessage::kRoomList, 5s);
  ASSERT_TRUE(list);
  EXPECT_EQ(list->request_id(), "");
  std::set<std::string> rooms;
  for (const auto& room : list->room_list().rooms()) rooms.insert(room.room_id());
  auto dave = ts.Connect("dave");
  ASSERT_TRUE(dave);
  ASSERT_TRUE(JoinRoom(*dave, "Later"));
  uint64_t version = list->room_list().version();
  while (!rooms.count("later")) {
    auto d = bob2->WaitFor(proto::ClientMessage::kRoomListDelta, 5s);
    ASSERT_TRUE(d) << "no delta with the room made after the resume";
    EXPECT_EQ(d->room_list_delta().from_version(), version);
    version = d->room_list_delta().version();
    for (const auto& room : d->room_list_delta().upserted()) rooms.insert(room.room_id());
  }
  EXPECT_TRUE(rooms.count("while away"));
  EXPECT_TRUE(rooms.count("keep"));
}

TEST(ResumeEdges, PrivateMessagesSentWhileParkedArriveAfterTheReplayBounded) {
  TestServer ts(3, Generous);
  AliceAndBob p;
  ASSERT_TRUE(ConnectBoth(ts, "Keep", &p));
  const proto::StreamPosition last = MarkAndDropBob(p);
  client::Client& alice = *p.alice;
  // More than a parked session holds (64): the latest are kept.
  constexpr int kSent = 70;
  for (int i = 0; i < kSent; ++i) {
    const std::string rid = "pm" + std::to_string(i);
    ASSERT_TRUE(alice.Send(PrivateMsg("u-bob", "away " + std::to_string(i), rid)));
    auto ok = WaitForReply(alice, proto::ClientMessage::kPrivateMessage, rid);
    ASSERT_TRUE(ok) << "alice's message " << i << " was not accepted";
  }
  ASSERT_TRUE(alice.Send(ChatMsg("in the room")));
  proto::ResumeResult r;
  auto bob2 = ResumeBob(ts, p, last, &r);
  ASSERT_TRUE(bob2);
  ASSERT_EQ(r.outcome(), proto::RESUME_RECOVERED) << r.ShortDebugString();
  EXPECT_GE(r.replayed(), 1u);  // "in the room" at least
  std::vector<std::string> got;
  while (got.size() < 64) {
    auto m = bob2->WaitFor(proto::ClientMessage::kPrivateMessage, 5s);
    ASSERT_TRUE(m) << "only " << got.size() << " private messages arrived";
    EXPECT_EQ(m->private_message().from_user_id(), "u-alice");
    got.push_back(m->private_message().message());
  }
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i], "away " + std::to_string(kSent - 64 + static_cast<int>(i)));
  }
  // Nothing more of them: the next private message is a live one.
  ASSERT_TRUE(alice.Send(PrivateMsg("u-bob", "live", "live")));
  auto live = bob2->WaitFor(proto::ClientMessage::kPrivateMessage, 5s);
  ASSERT_TRUE(live);
  EXPECT_EQ(live->private_message().message(), "live");
}

// Sessions connected and parked, added up over the shards (each read on its own thread).
bool Settled(TestServer& ts, size_t connected, size_t parked) {
  return WaitUntil([&] {
    size_t c = 0, p = 0;
    for (int i = 0; i < ts.server().shard_count(); ++i) {
      std::promise<std::pair<size_t, size_t>> counts;
      server::Shard& shard = ts.server().shard(i);
      shard.Post([&counts, &shard] {
        counts.set_value({shard.session_count(), shard.parked_count()});
      });
      auto [sc, pc] = counts.get_future().get();
      c += sc;
      p += pc;
    }
    return c == connected && p == parked;
  });
}

// The new connection drops right after its Welcome, wherever the server is in the resume
// (before taking the old session over, while the room answers, or after): each time the
// session must end up parked in its room, never leave, and resume with the next token.
TEST(ResumeEdges, ANewConnectionThatDropsDuringItsResumeParksAgain) {
  TestServer ts(3, Generous);
  AliceAndBob p;
  ASSERT_TRUE(ConnectBoth(ts, "Keep", &p));
  const proto::StreamPosition last = MarkAndDropBob(p);
  client::Client& alice = *p.alice;
  constexpr int kRounds = 8;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_TRUE(alice.Send(ChatMsg("round " + std::to_string(round))));
    auto c = ts.Connect(Resuming("bob", p.welcome.resume_token(), "keep", last), &p.welcome);
    ASSERT_TRUE(c);
    ASSERT_FALSE(p.welcome.resume_token().empty());
    c->Drop();
    // Alice connected, bob's session parked (one, whichever connection it is now).
    ASSERT_TRUE(Settled(ts, 1, 1));
  }
  proto::ResumeResult r;
  auto back = ResumeBob(ts, p, last, &r);
  ASSERT_TRUE(back);
  ASSERT_EQ(r.outcome(), proto::RESUME_RECOVERED) << r.ShortDebugString();
  EXPECT_EQ(r.room_id(), "keep");
  // Every round's line is in the replay since bob's last position.
  EXPECT_GE(r.replayed(), static_cast<uint32_t>(kRounds));
  ASSERT_TRUE(alice.Send(ChatMsg("end")));
  std::vector<proto::ClientMessage> seen = ReadUntilChat(alice, "end");
  for (const auto& m : seen) {
    EXPECT_FALSE(m.has_user_left_room()) << m.ShortDebugString();
  }
  // One bob in the room, connected.
  const proto::RoomSnapshot snap = Snapshot(alice);
  int bobs = 0;
  for (const auto& u : snap.users()) {
    if (u.user_id() != "u-bob") continue;
    ++bobs;
    EXPECT_FALSE(u.reconnecting());
  }
  EXPECT_EQ(bobs, 1);
}

}  // namespace
}  // namespace tutti::testing
