// Resume on another node (docs/SCALE-OUT.md, "Resume on another node"): a real
// redis-server and two tutti-server nodes (started here on loopback, stopped by PID), a
// member of one room on each. Node A is killed with SIGKILL while its member holds a
// note; that member resumes on node B with the token node A gave it and gets every room
// event it missed, once and in order, then the live ones; the member on node B sees the
// held note released. The token is spent: presented again it is refused. Every wait is
// bounded by a deadline; nothing depends on how long a step takes.
#include <signal.h>
#include <sys/wait.h>

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "server/resume_tokens.h"
#include "tests/redis/nodes_harness.h"

namespace tutti::testing {
namespace {

using ResumeAcrossNodesTest = NodesTest;

constexpr auto kLong = 30s;  // a bound never reached when green

bool IsChat(const proto::ClientMessage& m, const std::string& text) {
  return m.has_room_chat_message() && m.room_chat_message().message() == text;
}

// A MIDI message of `user` whose data holds `bytes` in sequence.
bool IsMidiWith(const proto::ClientMessage& m, const std::string& user, const std::string& bytes) {
  return m.has_midi_message() && m.midi_message().user_id() == user &&
         m.midi_message().midi_data().find(bytes) != std::string::npos;
}

// Reads `c` until the chat line "after": every room event from `last` on must come once,
// in order, in `last`'s epoch, with no gap. Returns the chat lines seen (empty and a
// failure when "after" never came).
std::vector<std::string> ChatsWithNoGapUntilAfter(client::Client& c,
                                                  const proto::StreamPosition& last) {
  std::vector<std::string> chats;
  uint64_t next = last.offset() + 1;
  const bool got = NodesTest::WaitMatching(
                       c,
                       [&](const proto::ClientMessage& m) {
                         if (m.has_stream()) {
                           EXPECT_EQ(m.stream().epoch(), last.epoch());
                           EXPECT_EQ(m.stream().offset(), next) << "a gap or a repeat";
                           next = m.stream().offset() + 1;
                         }
                         if (m.has_room_chat_message()) {
                           chats.push_back(m.room_chat_message().message());
                         }
                         return IsChat(m, "after");
                       },
                       kLong)
                       .has_value();
  EXPECT_TRUE(got) << "the line sent after the resume never came";
  return got ? chats : std::vector<std::string>{};
}

TEST_F(ResumeAcrossNodesTest, KilledNodesMemberResumesOnTheOtherWithNoGapAndNoStuckNote) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());

  proto::Welcome ann_welcome;
  auto ann = Connect(node_a_->port(), "ann", &ann_welcome);
  ASSERT_TRUE(ann);
  ASSERT_FALSE(ann_welcome.resume_token().empty());
  const uint64_t ann_old_session = ann_welcome.user().session_id();
  auto bob = Connect(node_b_->port(), "bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(JoinRoom(*ann, "Jam"));
  ASSERT_TRUE(JoinRoom(*bob, "Jam"));
  ASSERT_TRUE(WaitNodesSubscribed("jam", 2));

  // Node A has written what a resume elsewhere needs: ann's user, in room "jam".
  const std::string key =
      "tutti:resume:{" + server::ResumeTokens::SharedKey(ann_welcome.resume_token()) + "}";
  ASSERT_TRUE(WaitRedisReply({"HGET", key, "room"}, [](const redisReply* r) {
    return server::redis::ReplyString(r) == "jam";
  })) << "node A never shared ann's resume state";

  // Ann holds a note; bob hears it.
  const std::string note_on{'\x90', 60, 100};
  ASSERT_TRUE(ann->Send(MidiMsg(note_on)));
  ASSERT_TRUE(WaitMatching(
      *bob, [&](const proto::ClientMessage& m) { return IsMidiWith(m, "u-ann", note_on); }, kLong))
      << "bob never heard ann's note";
  // The last room event ann processed before her node dies.
  ASSERT_TRUE(bob->Send(ChatMsg("before")));
  auto before = WaitMatching(
      *ann, [](const proto::ClientMessage& m) { return IsChat(m, "before"); }, kLong);
  ASSERT_TRUE(before && before->has_stream());
  const proto::StreamPosition last = before->stream();

  const int killed = node_a_->Stop(SIGKILL, 10000);
  ASSERT_TRUE(WIFSIGNALED(killed) && WTERMSIG(killed) == SIGKILL) << "node A was not killed";
  EXPECT_TRUE(ann->WaitClosed(kLong)) << "ann's connection outlived her node";

  // The room goes on without ann: lines she misses.
  constexpr int kMissed = 5;
  for (int i = 0; i < kMissed; ++i) {
    ASSERT_TRUE(bob->Send(ChatMsg("missed-" + std::to_string(i))));
  }
  ASSERT_TRUE(WaitMatching(
      *bob, [](const proto::ClientMessage& m) { return IsChat(m, "missed-4"); }, kLong));

  // Ann comes back through "the load balancer": node B, with node A's token.
  crypto::DevConnectionRequest ask;
  ask.resume_token = ann_welcome.resume_token();
  ask.resume_room = "jam";
  ask.resume_epoch = last.epoch();
  ask.resume_offset = static_cast<int64_t>(last.offset());
  proto::Welcome again;
  auto ann2 = Connect(node_b_->port(), "ann", &again, &ask);
  ASSERT_TRUE(ann2);
  EXPECT_NE(again.resume_token(), ann_welcome.resume_token()) << "the token was not rotated";
  auto result = ann2->WaitFor(proto::ClientMessage::kResumeResult, kLong);
  ASSERT_TRUE(result);
  const proto::ResumeResult& rr = result->resume_result();
  ASSERT_EQ(rr.outcome(), proto::RESUME_RECOVERED) << rr.reason();
  EXPECT_EQ(rr.room_id(), "jam");
  EXPECT_EQ(rr.you().user_id(), "u-ann");
  EXPECT_GE(rr.replayed(), static_cast<uint32_t>(kMissed));

  // Bob: ann's note is released (under her old session, flagged synthetic: all notes off
  // on its channel), and she is shown back under her new session.
  const std::string all_notes_off{'\xB0', 123, 0};
  bool released = false;
  bool back = false;
  ASSERT_TRUE(WaitMatching(
      *bob,
      [&](const proto::ClientMessage& m) {
        if (IsMidiWith(m, "u-ann", all_notes_off)) {
          released = true;
          EXPECT_EQ(m.midi_message().session_id(), ann_old_session);
          EXPECT_TRUE((m.midi_message().flags() & proto::MIDI_FLAG_SYNTHETIC) != 0);
        }
        if (m.has_member_connection() && m.member_connection().user_id() == "u-ann") {
          back = true;
          EXPECT_FALSE(m.member_connection().reconnecting());
          EXPECT_EQ(m.member_connection().previous_session_id(), ann_old_session);
          EXPECT_EQ(m.member_connection().session_id(), again.user().session_id());
        }
        return released && back;
      },
      kLong))
      << "bob: released " << released << ", ann shown back " << back;

  // Live again: a line after the resume.
  ASSERT_TRUE(bob->Send(ChatMsg("after")));
  // Ann: from her last position on, every room event once, in order, with no gap: the
  // replay, then the live events (her release and MemberConnection among them).
  const std::vector<std::string> chats = ChatsWithNoGapUntilAfter(*ann2, last);
  const std::vector<std::string> want = {"missed-0", "missed-1", "missed-2",
                                         "missed-3", "missed-4", "after"};
  EXPECT_EQ(chats, want);

  // Spent: node A's token cannot be presented again, on any node.
  auto thief = Connect(node_b_->port(), "ann", nullptr, &ask);
  ASSERT_TRUE(thief);
  auto refused = thief->WaitFor(proto::ClientMessage::kResumeResult, kLong);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->resume_result().outcome(), proto::RESUME_REFUSED);
  EXPECT_EQ(refused->resume_result().reason(), "token unknown or already used");
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

// Every member of the room was on node A: node B has no object of it when A dies. The
// first to resume on B (bob) opens it there; it reads what is kept and he comes back
// into the room as it was (before: "room closed", and a join as after a first connect,
// its missed events lost). He plays on while ann is away; ann resumes on B next and gets
// what she missed, with no gap, and bob sees her held note released.
TEST_F(ResumeAcrossNodesTest, MembersOfAKilledNodeResumeWhereTheRoomHadNoObject) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());
  proto::Welcome ann_welcome, bob_welcome;
  auto ann = Connect(node_a_->port(), "ann", &ann_welcome);
  auto bob = Connect(node_a_->port(), "bob", &bob_welcome);
  ASSERT_TRUE(ann && bob);
  ASSERT_TRUE(JoinRoom(*ann, "Jam"));
  ASSERT_TRUE(JoinRoom(*bob, "Jam"));
  ASSERT_TRUE(ann->Send(ChatMsg("/topic late set")));
  for (const auto* w : {&ann_welcome, &bob_welcome}) {
    const std::string key =
        "tutti:resume:{" + server::ResumeTokens::SharedKey(w->resume_token()) + "}";
    ASSERT_TRUE(WaitRedisReply({"HGET", key, "room"}, [](const redisReply* r) {
      return server::redis::ReplyString(r) == "jam";
    })) << "node A never shared a resume state";
  }
  const std::string note_on{'\x90', 62, 100};
  ASSERT_TRUE(ann->Send(MidiMsg(note_on)));
  ASSERT_TRUE(WaitMatching(
      *bob, [&](const proto::ClientMessage& m) { return IsMidiWith(m, "u-ann", note_on); }, kLong));
  ASSERT_TRUE(bob->Send(ChatMsg("before")));
  proto::StreamPosition ann_last, bob_last;
  for (auto [c, at] : {std::pair{ann.get(), &ann_last}, std::pair{bob.get(), &bob_last}}) {
    auto before = WaitMatching(
        *c, [](const proto::ClientMessage& m) { return IsChat(m, "before"); }, kLong);
    ASSERT_TRUE(before && before->has_stream());
    *at = before->stream();
  }
  const int killed = node_a_->Stop(SIGKILL, 10000);
  ASSERT_TRUE(WIFSIGNALED(killed) && WTERMSIG(killed) == SIGKILL) << "node A was not killed";

  auto resume = [&](const proto::Welcome& w, const proto::StreamPosition& last,
                    const std::string& name, proto::Welcome* again) {
    crypto::DevConnectionRequest ask;
    ask.resume_token = w.resume_token();
    ask.resume_room = "jam";
    ask.resume_epoch = last.epoch();
    ask.resume_offset = static_cast<int64_t>(last.offset());
    return Connect(node_b_->port(), name, again, &ask);
  };
  proto::Welcome bob_again;
  auto bob2 = resume(bob_welcome, bob_last, "bob", &bob_again);
  ASSERT_TRUE(bob2);
  auto result = bob2->WaitFor(proto::ClientMessage::kResumeResult, kLong);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->resume_result().outcome(), proto::RESUME_RECOVERED)
      << result->resume_result().reason();
  EXPECT_EQ(result->resume_result().room_id(), "jam");
  // The room as it was: its owner and topic, not a placeholder's.
  proto::ServerMessage ask_info;
  ask_info.mutable_get_room_info()->set_room_name("Jam");
  ask_info.set_request_id("info");
  ASSERT_TRUE(bob2->Send(ask_info));
  auto info = WaitForReply(*bob2, proto::ClientMessage::kRoomInfo, "info", kLong);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->room_info().owner_id(), "u-ann");
  EXPECT_EQ(info->room_info().topic(), "late set");

  constexpr int kMissed = 3;
  for (int i = 0; i < kMissed; ++i) {
    ASSERT_TRUE(bob2->Send(ChatMsg("missed-" + std::to_string(i))));
  }
  ASSERT_TRUE(WaitMatching(
      *bob2, [](const proto::ClientMessage& m) { return IsChat(m, "missed-2"); }, kLong));

  proto::Welcome ann_again;
  auto ann2 = resume(ann_welcome, ann_last, "ann", &ann_again);
  ASSERT_TRUE(ann2);
  auto ann_result = ann2->WaitFor(proto::ClientMessage::kResumeResult, kLong);
  ASSERT_TRUE(ann_result);
  ASSERT_EQ(ann_result->resume_result().outcome(), proto::RESUME_RECOVERED)
      << ann_result->resume_result().reason();
  const std::string all_notes_off{'\xB0', 123, 0};
  EXPECT_TRUE(WaitMatching(
      *bob2, [&](const proto::ClientMessage& m) { return IsMidiWith(m, "u-ann", all_notes_off); },
      kLong))
      << "bob never heard ann's held note released";
  ASSERT_TRUE(bob2->Send(ChatMsg("after")));
  EXPECT_EQ(ChatsWithNoGapUntilAfter(*ann2, ann_last),
            (std::vector<std::string>{"missed-0", "missed-1", "missed-2", "after"}));
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

// As above, but node B is at its room limit (`--max_rooms 1`, cay's room) when ann, whose
// room had no object on B, resumes there: opening one for her would pass the limit. She
// is answered RESUME_UNRECOVERABLE "the server has too many rooms" in no room, her
// connection goes on, B holds no extra object, and she can join the room B has.
TEST_F(ResumeAcrossNodesTest, AResumeThatNeedsARoomPastTheNodesLimitIsUnrecoverable) {
  ASSERT_NO_FATAL_FAILURE(StartNodes({}, {"--max_rooms", "1"}));
  auto cay = Connect(node_b_->port(), "cay");
  ASSERT_TRUE(cay);
  ASSERT_TRUE(JoinRoom(*cay, "Other"));
  proto::Welcome ann_welcome;
  auto ann = Connect(node_a_->port(), "ann", &ann_welcome);
  ASSERT_TRUE(ann);
  ASSERT_TRUE(JoinRoom(*ann, "Jam"));
  const std::string key =
      "tutti:resume:{" + server::ResumeTokens::SharedKey(ann_welcome.resume_token()) + "}";
  ASSERT_TRUE(WaitRedisReply({"HGET", key, "room"}, [](const redisReply* r) {
    return server::redis::ReplyString(r) == "jam";
  })) << "node A never shared a resume state";
  ASSERT_TRUE(ann->Send(ChatMsg("before")));
  auto before = WaitMatching(
      *ann, [](const proto::ClientMessage& m) { return IsChat(m, "before"); }, kLong);
  ASSERT_TRUE(before && before->has_stream());
  const int killed = node_a_->Stop(SIGKILL, 10000);
  ASSERT_TRUE(WIFSIGNALED(killed) && WTERMSIG(killed) == SIGKILL) << "node A was not killed";

  crypto::DevConnectionRequest ask;
  ask.resume_token = ann_welcome.resume_token();
  ask.resume_room = "jam";
  ask.resume_epoch = before->stream().epoch();
  ask.resume_offset = static_cast<int64_t>(before->stream().offset());
  auto ann2 = Connect(node_b_->port(), "ann", nullptr, &ask);
  ASSERT_TRUE(ann2);
  auto result = ann2->WaitFor(proto::ClientMessage::kResumeResult, kLong);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->resume_result().outcome(), proto::RESUME_UNRECOVERABLE);
  EXPECT_EQ(result->resume_result().reason(), "the server has too many rooms");
  EXPECT_FALSE(result->resume_result().has_snapshot());
  const uint16_t admin_b = AdminPort(*node_b_);
  ASSERT_NE(admin_b, 0);
  EXPECT_EQ(Sample(AdminGet(admin_b, "/metrics").second, "tutti_rooms"), 1);
  // Her connection goes on, in no room: she can join the room B has.
  ASSERT_TRUE(JoinRoom(*ann2, "Other"));
  ASSERT_TRUE(SawJoin(*cay, "u-ann"));
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

}  // namespace
}  // namespace tutti::testing
