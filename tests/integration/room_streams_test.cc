// Room event streams over real connections: every room event carries (epoch, offset),
// contiguous for every receiver; joiners and snapshots say where they start; SYNC_STATE
// with a position replays exactly the missed events, or answers unrecoverable with a
// snapshot (other epoch, trimmed history); a recreated room starts a new epoch.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/resume_fixture.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

const std::string kNoteOn60("\x90\x3c\x64", 3);
const std::string kNoteOff60("\x80\x3c\x00", 3);

proto::ServerMessage SyncMsg(const std::string& epoch, const std::string& offset,
                             const std::string& request_id) {
  proto::ServerMessage m;
  auto* cmd = m.mutable_server_command();
  cmd->set_commandtype(proto::SYNC_STATE);
  if (!epoch.empty()) (*cmd->mutable_parameters())["epoch"] = epoch;
  if (!offset.empty()) (*cmd->mutable_parameters())["offset"] = offset;
  m.set_request_id(request_id);
  return m;
}

// Reads room events until `count` chat lines arrived; returns every stream event seen.
std::vector<proto::ClientMessage> ReadChats(client::Client& c, int count) {
  std::vector<proto::ClientMessage> seen;
  int chats = 0;
  while (chats < count) {
    auto m = c.Next(5s);
    if (!m) {
      ADD_FAILURE() << "timed out after " << chats << " of " << count << " chat lines";
      break;
    }
    if (m->has_stream()) seen.push_back(*m);
    if (m->has_room_chat_message()) ++chats;
  }
  return seen;
}

TEST(RoomStreams, EveryReceiverSeesContiguousOffsetsFromItsJoinPosition) {
  TestServer ts(3, Generous);
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(alice && bob && carol);
  ASSERT_TRUE(JoinRoom(*alice, "Streams"));
  proto::RoomJoinedResponse joined;
  ASSERT_TRUE(JoinRoom(*bob, "Streams", &joined));
  const std::string epoch = joined.stream_position().epoch();
  ASSERT_FALSE(epoch.empty());
  uint64_t last = joined.stream_position().offset();
  ASSERT_GE(last, 1u);  // at least bob's own join was sequenced before the response
  ASSERT_TRUE(JoinRoom(*carol, "Streams"));

  constexpr int kLines = 40;
  for (int i = 0; i < kLines; ++i) {
    ASSERT_TRUE((i % 2 ? alice : carol)->Send(ChatMsg("line " + std::to_string(i))));
    ASSERT_TRUE(alice->Send(MidiMsg(i % 2 ? kNoteOff60 : kNoteOn60)));
  }
  // Bob sends nothing, so nothing is excluded for him: every offset arrives, in order.
  int chats = 0, midi = 0;
  for (const proto::ClientMessage& m : ReadChats(*bob, kLines)) {
    EXPECT_EQ(m.stream().epoch(), epoch);
    EXPECT_EQ(m.stream().offset(), last + 1) << m.ShortDebugString();
    EXPECT_GT(m.stream().server_time(), 0);
    last = m.stream().offset();
    chats += m.has_room_chat_message();
    midi += m.has_midi_message();
  }
  EXPECT_EQ(chats, kLines);
  EXPECT_GE(midi, kLines - 1);  // the last batch may follow the last line
}

TEST(RoomStreams, SyncStateWithAPositionReplaysExactlyTheMissedEvents) {
  TestServer ts(3, Generous);
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(JoinRoom(*alice, "Replay"));
  proto::RoomJoinedResponse joined;
  ASSERT_TRUE(JoinRoom(*bob, "Replay", &joined));
  ASSERT_TRUE(alice->WaitFor(proto::ClientMessage::kUserJoinedRoom, 5s));

  for (int i = 0; i < 10; ++i) ASSERT_TRUE(alice->Send(ChatMsg("a" + std::to_string(i))));
  std::vector<proto::ClientMessage> live = ReadChats(*bob, 10);
  ASSERT_EQ(live.size(), 10u);
  // Pretend bob processed only the first three: he asks for what follows.
  const proto::StreamPosition mark = live[2].stream();
  ASSERT_TRUE(bob->Send(SyncMsg(mark.epoch(), std::to_string(mark.offset()), "s1")));
  auto result = WaitForReply(*bob, proto::ClientMessage::kResumeResult, "s1");
  ASSERT_TRUE(result);
  const proto::ResumeResult& r = result->resume_result();
  EXPECT_EQ(r.outcome(), proto::RESUME_RECOVERED);
  EXPECT_EQ(r.room_id(), "replay");
  EXPECT_EQ(r.replayed(), 7u);
  EXPECT_EQ(r.top().offset(), live.back().stream().offset());
  for (size_t i = 3; i < live.size(); ++i) {
    auto again = bob->Next(5s);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->stream().offset(), live[i].stream().offset());
    EXPECT_EQ(again->room_chat_message().message(), live[i].room_chat_message().message());
    EXPECT_EQ(again->request_id(), "");
  }
  // Nothing more: the next thing bob gets is the next live event.
  ASSERT_TRUE(alice->Send(ChatMsg("after")));
  auto next = bob->WaitFor(proto::ClientMessage::kRoomChatMessage, 5s);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->room_chat_message().message(), "after");
  EXPECT_EQ(next->stream().offset(), live.back().stream().offset() + 1);
}

TEST(RoomStreams, AnotherEpochIsUnrecoverableAndComesWithASnapshot) {
  TestServer ts(2, Generous);
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(JoinRoom(*alice, "Epochs"));
  ASSERT_TRUE(JoinRoom(*bob, "Epochs"));
  ASSERT_TRUE(alice->Send(ChatMsg("hi")));
  auto line = bob->WaitFor(proto::ClientMessage::kRoomChatMessage, 5s);
  ASSERT_TRUE(line);
  ASSERT_TRUE(bob->Send(SyncMsg("not-this-epoch", "1", "s2")));
  auto result = WaitForReply(*bob, proto::ClientMessage::kResumeResult, "s2");
  ASSERT_TRUE(result);
  const proto::ResumeResult& r = result->resume_result();
  EXPECT_EQ(r.outcome(), proto::RESUME_UNRECOVERABLE);
  EXPECT_EQ(r.reason(), "epoch changed");
  EXPECT_EQ(r.snapshot().users_size(), 2);
  EXPECT_EQ(r.snapshot().chat_history_size(), 1);
  EXPECT_EQ(r.snapshot().stream_position().epoch(), line->stream().epoch());
  EXPECT_EQ(r.snapshot().stream_position().offset(), line->stream().offset());
  EXPECT_EQ(r.replayed(), 0u);
  // A plain SYNC_STATE says where its snapshot stands too.
  ASSERT_TRUE(bob->Send(SyncMsg("", "", "s3")));
  auto snap = WaitForReply(*bob, proto::ClientMessage::kRoomSnapshot, "s3");
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->room_snapshot().stream_position().offset(), line->stream().offset());
}

TEST(RoomStreams, TrimmedHistoryIsUnrecoverable) {
  TestServer ts(2, [](server::ServerConfig& c) {
    Generous(c);
    c.room_history.max_events = 5;
  });
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(JoinRoom(*alice, "Short"));
  ASSERT_TRUE(JoinRoom(*bob, "Short"));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(alice->Send(ChatMsg("x" + std::to_string(i))));
  std::vector<proto::ClientMessage> live = ReadChats(*bob, 20);
  ASSERT_EQ(live.size(), 20u);
  const proto::StreamPosition& early = live[1].stream();
  ASSERT_TRUE(bob->Send(SyncMsg(early.epoch(), std::to_string(early.offset()), "t1")));
  auto result = WaitForReply(*bob, proto::ClientMessage::kResumeResult, "t1");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->resume_result().outcome(), proto::RESUME_UNRECOVERABLE);
  EXPECT_EQ(result->resume_result().reason(), "history trimmed");
  EXPECT_EQ(result->resume_result().snapshot().stream_position().offset(),
            live.back().stream().offset());
  // The newest four are still kept: recoverable from there.
  const proto::StreamPosition& late = live[15].stream();
  ASSERT_TRUE(bob->Send(SyncMsg(late.epoch(), std::to_string(late.offset()), "t2")));
  auto kept = WaitForReply(*bob, proto::ClientMessage::kResumeResult, "t2");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->resume_result().outcome(), proto::RESUME_RECOVERED);
  EXPECT_EQ(kept->resume_result().replayed(), 4u);
}

TEST(RoomStreams, ARecreatedRoomStartsANewEpoch) {
  TestServer ts(2, Generous);
  auto alice = ts.Connect("alice");
  ASSERT_TRUE(alice);
  proto::RoomJoinedResponse first;
  ASSERT_TRUE(JoinRoom(*alice, "Again", &first));
  ASSERT_TRUE(alice->Send(LeaveMsg("l1")));
  ASSERT_TRUE(WaitForReply(*alice, proto::ClientMessage::kRoomLeft, "l1"));
  proto::RoomJoinedResponse second;
  ASSERT_TRUE(JoinRoom(*alice, "Again", &second));
  EXPECT_FALSE(second.stream_position().epoch().empty());
  EXPECT_NE(second.stream_position().epoch(), first.stream_position().epoch());
}

TEST(RoomStreams, SyncStateRefusesAHalfPosition) {
  TestServer ts(2, Generous);
  auto alice = ts.Connect("alice");
  ASSERT_TRUE(alice);
  ASSERT_TRUE(JoinRoom(*alice, "Params"));
  for (auto [epoch, offset] : std::vector<std::pair<std::string, std::string>>{
           {"e", ""}, {"", "3"}, {"e", "-1"}, {"e", "x"}, {std::string(65, 'e'), "1"}}) {
    ASSERT_TRUE(alice->Send(SyncMsg(epoch, offset, "bad")));
    std::string rid;
    EXPECT_EQ(WaitError(*alice, 5s, &rid), proto::INVALID_PARAMETERS) << epoch << "/" << offset;
    EXPECT_EQ(rid, "bad");
  }
}

// Nodes sharing rooms over Redis put each other's session ids into room events, so two
// server processes must not hand out the same ones (both used to count from 1). Two
// servers in one process have shards of their own, as two nodes do.
TEST(RoomStreams, TwoServersHandOutDifferentSessionIds) {
  TestServer node_a(1), node_b(1);
  std::set<uint64_t> ids;
  for (TestServer* node : {&node_a, &node_b}) {
    for (const char* name : {"ann", "ben"}) {
      UserSpec spec;
      spec.name = name;
      proto::Welcome welcome;
      auto c = node->Connect(spec, &welcome);
      ASSERT_TRUE(c);
      EXPECT_TRUE(ids.insert(welcome.user().session_id()).second)
          << name << " got session id " << welcome.user().session_id() << " again";
      // A JavaScript number holds every id exactly (the web client reads them as BigInt,
      // other clients may not).
      EXPECT_LT(welcome.user().session_id(), uint64_t{1} << 53);
    }
  }
}

}  // namespace
}  // namespace tutti::testing
