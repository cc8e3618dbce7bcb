// Session resume at its edges (docs/PROTOCOL.md §12): a token presented while the old
// connection still looks open to the server (a half-open TCP connection), and what a
// parked session gets back besides its room.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

void Generous(server::ServerConfig& c) {
  c.chat_per_second = 1000;
  c.chat_burst = 1000;
  c.requests_per_second = 1000;
  c.request_burst = 1000;
}

UserSpec Resuming(const std::string& name, const std::string& token, const std::string& room,
                  const proto::StreamPosition& last) {
  UserSpec u = Named(name);
  u.resume_token = token;
  u.resume_room = room;
  u.resume_epoch = last.epoch();
  u.resume_offset = last.offset();
  return u;
}

// Reads until the chat line `text`; returns the stream events seen on the way.
std::vector<proto::ClientMessage> ReadUntilChat(client::Client& c, const std::string& text) {
  std::vector<proto::ClientMessage> seen;
  for (;;) {
    auto m = c.Next(5s);
    if (!m) {
      ADD_FAILURE() << "timed out waiting for \"" << text << "\"";
      return seen;
    }
    if (m->has_stream()) seen.push_back(*m);
    if (m->has_room_chat_message() && m->room_chat_message().message() == text) return seen;
  }
}

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
  for (uint32_t i = 0; i < r->resume_result().replayed(); ++i) {
    auto m = bob2->Next(5s);
    ASSERT_TRUE(m);
    replay.push_back(*m);
  }
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

}  // namespace
}  // namespace tutti::testing
