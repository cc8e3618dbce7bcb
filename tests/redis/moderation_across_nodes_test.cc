// Room moderation across nodes (docs/SCALE-OUT.md, "Room moderation across nodes"): one
// redis-server and two tutti-server processes (NodesTest), the room's owner on node A
// and the target on node B. A kick or ban named on A takes effect on B (the notice, the
// release of the target's notes, one UserLeftRoom that every member on both nodes sees
// at the same offset, RoomLeft); a ban holds on both nodes and for a room object that
// opens on a node after it was made (it is kept in Redis with the event); an unban lets
// the user in everywhere; a mute refuses the target's chat and MIDI on its own node; a
// moderator's ban, /clear or /tempo that the roles kept in Redis no longer allow is
// refused on the moderator's node.
// Every wait is bounded by a deadline; nothing depends on how long a step takes.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/redis/nodes_harness.h"

namespace tutti::testing {
namespace {

using namespace std::chrono_literals;

using ModerationAcrossNodesTest = NodesTest;

constexpr auto kLong = 30s;  // a bound never reached when green

const std::string kNoteOn{'\x90', 60, 100};

// Reads `c` until the MIDI bytes `bytes` arrive (bounded).
bool Heard(client::Client& c, const std::string& bytes) {
  return NodesTest::WaitMatching(
             c,
             [&bytes](const proto::ClientMessage& m) {
               return m.has_midi_message() && m.midi_message().midi_data() == bytes;
             },
             kLong)
      .has_value();
}

// Create-or-join `room` (what JoinRoom sends) with a request id, for a join expected to
// be refused: on a node where the room has no object yet it opens one.
proto::ServerMessage CreateOrJoinMsg(const std::string& room, const std::string& id) {
  proto::ServerMessage m;
  m.mutable_server_command()->set_commandtype(proto::CREATE_OR_JOIN_ROOM);
  (*m.mutable_server_command()->mutable_parameters())["room_name"] = room;
  m.set_request_id(id);
  return m;
}

// What a member saw of `session`'s removal: its notes released (a synthetic note-off of
// the held note before the leave), its UserLeftRoom (reason, offset) and how many
// leaves of it came before the line `marker` that follows them; and whether the answer
// to the request `answer_id` came meanwhile ("done").
struct Removal {
  bool released = false;
  std::string reason;
  uint64_t offset = 0;
  int leaves = 0;
  bool answered = false;
};

Removal Watch(client::Client& c, uint64_t session, const std::string& marker,
              const std::string& answer_id = "") {
  Removal r;
  NodesTest::WaitMatching(
      c,
      [&](const proto::ClientMessage& m) {
        if (!answer_id.empty() && m.request_id() == answer_id && m.has_command_result() &&
            m.command_result().ok()) {
          r.answered = true;
        }
        if (m.has_midi_message() && m.midi_message().session_id() == session &&
            (m.midi_message().flags() & proto::MIDI_FLAG_SYNTHETIC) != 0 && r.leaves == 0 &&
            m.midi_message().midi_data().find(std::string{'\x80', 60}) != std::string::npos) {
          r.released = true;
        }
        if (m.has_user_left_room() && m.user_left_room().session_id() == session) {
          if (++r.leaves == 1) {
            r.reason = m.user_left_room().reason();
            r.offset = m.stream().offset();
          }
        }
        return m.has_room_chat_message() && m.room_chat_message().message() == marker;
      },
      kLong);
  return r;
}

TEST_F(ModerationAcrossNodesTest, KickOnOneNodeRemovesTheMemberOnTheOther) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());

  auto ann = Connect(node_a_->port(), "ann");  // the owner, on A
  ASSERT_TRUE(ann);
  ASSERT_TRUE(JoinRoom(*ann, "Jam"));
  proto::Welcome bob_welcome;
  auto bob = Connect(node_b_->port(), "bob", &bob_welcome);  // the target, on B
  ASSERT_TRUE(bob);
  const uint64_t bob_session = bob_welcome.user().session_id();
  ASSERT_TRUE(JoinRoom(*bob, "Jam"));
  auto cay = Connect(node_b_->port(), "cay");  // a witness on B
  ASSERT_TRUE(cay);
  ASSERT_TRUE(JoinRoom(*cay, "Jam"));
  ASSERT_TRUE(SawJoin(*ann, "u-cay"));
  ASSERT_TRUE(WaitNodesSubscribed("jam", 2));

  // Bob holds a note that everyone hears.
  ASSERT_TRUE(bob->Send(MidiMsg(kNoteOn)));
  ASSERT_TRUE(Heard(*ann, kNoteOn));
  ASSERT_TRUE(Heard(*cay, kNoteOn));

  // Named by name on A, where bob is only in the roster. (Ann's answer may come after
  // the leave: it waits for the audit record's commit.)
  ASSERT_TRUE(ann->Send(ChatMsg("/kick bob too loud", "kick")));
  auto notice = bob->WaitFor(proto::ClientMessage::kModerationNotice, kLong);
  ASSERT_TRUE(notice) << "bob got no notice";
  EXPECT_EQ(notice->moderation_notice().action(), proto::MOD_KICK);
  EXPECT_EQ(notice->moderation_notice().target_user_id(), "u-bob");
  EXPECT_EQ(notice->moderation_notice().actor_user_id(), "u-ann");
  EXPECT_EQ(notice->moderation_notice().reason(), "too loud");
  auto left = bob->WaitFor(proto::ClientMessage::kRoomLeft, kLong);
  ASSERT_TRUE(left) << "bob was not removed";
  EXPECT_EQ(left->room_left().reason(), "kicked");

  // Everyone on both nodes: the release, then one leave at one offset. The line after
  // comes from B's witness, sent once bob is out: B's room published the leave before.
  ASSERT_TRUE(cay->Send(ChatMsg("after the kick")));
  const Removal seen_a = Watch(*ann, bob_session, "after the kick", "kick");
  const Removal seen_b = Watch(*cay, bob_session, "after the kick");
  EXPECT_TRUE(seen_a.answered || Answer(*ann, "kick").has_command_result());
  EXPECT_EQ(seen_a.leaves, 1);
  EXPECT_EQ(seen_b.leaves, 1);
  EXPECT_EQ(seen_a.reason, "kicked");
  EXPECT_EQ(seen_b.reason, "kicked");
  EXPECT_NE(seen_a.offset, 0u);
  EXPECT_EQ(seen_a.offset, seen_b.offset);
  EXPECT_TRUE(seen_a.released);
  EXPECT_TRUE(seen_b.released);

  // A kick is no ban: bob may come back.
  ASSERT_TRUE(JoinRoom(*bob, "Jam"));

  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

TEST_F(ModerationAcrossNodesTest, BanHoldsOnEveryNodeAndForARoomThatOpensLater) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());

  auto ann = Connect(node_a_->port(), "ann");
  ASSERT_TRUE(ann);
  ASSERT_TRUE(JoinRoom(*ann, "Jam"));
  auto bob = Connect(node_b_->port(), "bob");  // B's only member of the room
  ASSERT_TRUE(bob);
  ASSERT_TRUE(JoinRoom(*bob, "Jam"));
  ASSERT_TRUE(SawJoin(*ann, "u-bob"));

  ASSERT_TRUE(Done(*ann, "/ban bob spam", "ban"));
  auto notice = bob->WaitFor(proto::ClientMessage::kModerationNotice, kLong);
  ASSERT_TRUE(notice);
  EXPECT_EQ(notice->moderation_notice().action(), proto::MOD_BAN);
  auto left = bob->WaitFor(proto::ClientMessage::kRoomLeft, kLong);
  ASSERT_TRUE(left);
  EXPECT_EQ(left->room_left().reason(), "banned");
  // Kept in Redis with the event that announced it (permanent: score +inf).
  EXPECT_TRUE(WaitRedisReply({"ZSCORE", "tutti:{jam}:bans", "u-bob"}, [](const redisReply* r) {
    return r != nullptr && server::redis::ReplyString(r) == "inf";
  }));

  // B's room object ended with its last member: the rejoin opens it again, and it
  // learns the ban from Redis. On A, the room that made it refuses too.
  ASSERT_TRUE(bob->Send(CreateOrJoinMsg("Jam", "again")));
  const proto::ClientMessage refused_b = Answer(*bob, "again");
  ASSERT_TRUE(refused_b.has_error_message()) << refused_b.ShortDebugString();
  EXPECT_EQ(refused_b.error_message().code(), proto::BANNED);
  auto bob_on_a = Connect(node_a_->port(), "bob");
  ASSERT_TRUE(bob_on_a);
  ASSERT_TRUE(bob_on_a->Send(CreateOrJoinMsg("Jam", "again")));
  const proto::ClientMessage refused_a = Answer(*bob_on_a, "again");
  ASSERT_TRUE(refused_a.has_error_message()) << refused_a.ShortDebugString();
  EXPECT_EQ(refused_a.error_message().code(), proto::BANNED);

  // The unban lets him in on both nodes, and leaves nothing in Redis.
  ASSERT_TRUE(Done(*ann, "/unban bob", "unban"));
  EXPECT_TRUE(WaitRedisReply({"ZSCORE", "tutti:{jam}:bans", "u-bob"}, [](const redisReply* r) {
    return r != nullptr && r->type == REDIS_REPLY_NIL;
  }));
  ASSERT_TRUE(JoinRoom(*bob, "Jam"));
  ASSERT_TRUE(JoinRoom(*bob_on_a, "Jam"));

  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

// A moderator's ban is checked against the roles Redis keeps, by the script that would
// sequence it. Node B still counts mo a moderator while Redis no longer does (as when the
// owner's /unmod on A was sequenced and B has not applied its event yet; made here by
// removing mo from the kept moderators, so the order does not depend on timing): mo's
// /ban on B is refused with PERMISSION_DENIED, nothing of it reaches anyone or Redis, bob
// stays, and B takes the kept roles.
TEST_F(ModerationAcrossNodesTest, ABanByAModeratorRemovedFirstIsRefusedOnTheOtherNode) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());

  auto ann = Connect(node_a_->port(), "ann");
  ASSERT_TRUE(ann);
  ASSERT_TRUE(JoinRoom(*ann, "Jam"));
  auto mo = Connect(node_b_->port(), "mo");
  ASSERT_TRUE(mo);
  ASSERT_TRUE(JoinRoom(*mo, "Jam"));
  auto bob = Connect(node_b_->port(), "bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(JoinRoom(*bob, "Jam"));
  ASSERT_TRUE(SawJoin(*ann, "u-bob"));
  ASSERT_TRUE(Done(*ann, "/mod mo", "mod"));
  // B applied it: mo got the notice from B's room, then A's RoomUpdated, on which B reads
  // the kept state; a join on B waits for that read, so once cay is in, B holds mo as a
  // moderator and reads nothing more.
  ASSERT_TRUE(WaitMatching(
      *mo,
      [](const proto::ClientMessage& m) {
        return m.has_moderation_notice() &&
               m.moderation_notice().action() == proto::MOD_APPOINT_MODERATOR;
      },
      kLong));
  ASSERT_TRUE(WaitMatching(
      *mo, [](const proto::ClientMessage& m) { return m.has_room_updated(); }, kLong));
  auto cay = Connect(node_b_->port(), "cay");
  ASSERT_TRUE(cay);
  ASSERT_TRUE(JoinRoom(*cay, "Jam"));
  ASSERT_TRUE(WaitRedisReply({"SREM", "tutti:{jam}:mods", "u-mo"}, [](const redisReply* r) {
    return r != nullptr && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
  }));

  ASSERT_TRUE(mo->Send(ChatMsg("/ban bob", "ban")));
  const proto::ClientMessage refused = Answer(*mo, "ban");
  ASSERT_TRUE(refused.has_error_message()) << refused.ShortDebugString();
  EXPECT_EQ(refused.error_message().code(), proto::PERMISSION_DENIED);
  EXPECT_EQ(refused.error_message().error_message(),
            "the room's roles changed on another server first");
  EXPECT_TRUE(WaitRedisReply({"ZSCORE", "tutti:{jam}:bans", "u-bob"}, [](const redisReply* r) {
    return r != nullptr && r->type == REDIS_REPLY_NIL;
  }));
  // Bob is still in the room: his line reaches ann on A, with no ban before it.
  ASSERT_TRUE(bob->Send(ChatMsg("still here", "line")));
  bool ban_seen = false;
  ASSERT_TRUE(WaitMatching(
      *ann,
      [](const proto::ClientMessage& m) {
        return m.has_room_chat_message() && m.room_chat_message().message() == "still here";
      },
      kLong,
      [&](const proto::ClientMessage& m) {
        ban_seen = ban_seen ||
                   (m.has_moderation_notice() && m.moderation_notice().action() == proto::MOD_BAN);
      }));
  EXPECT_FALSE(ban_seen);
  // B read the kept roles: its /users shows mo as a member (bounded: the read is answered
  // after the refusal was sent).
  bool member = false;
  for (int i = 0; i < 150 && !member; ++i) {
    const std::string id = "users" + std::to_string(i);
    ASSERT_TRUE(bob->Send(ChatMsg("/users", id)));
    const proto::ClientMessage users = Answer(*bob, id);
    for (const std::string& l : users.command_result().lines()) {
      member = member || l == "mo (u-mo) member";
    }
    if (!member) std::this_thread::sleep_for(200ms);
  }
  EXPECT_TRUE(member);

  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

// /clear and /tempo are checked against the kept roles as a ban is: node B still counts mo
// a moderator while Redis no longer does (removed from the kept set directly, so nothing
// depends on timing), and both are refused on B with nothing cleared or changed anywhere.
TEST_F(ModerationAcrossNodesTest, AClearAndATempoByAModeratorRemovedFirstAreRefusedOnTheOtherNode) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());

  auto ann = Connect(node_a_->port(), "ann");
  ASSERT_TRUE(ann);
  ASSERT_TRUE(JoinRoom(*ann, "Jam"));
  auto mo = Connect(node_b_->port(), "mo");
  ASSERT_TRUE(mo);
  ASSERT_TRUE(JoinRoom(*mo, "Jam"));
  ASSERT_TRUE(SawJoin(*ann, "u-mo"));
  auto bob = Connect(node_b_->port(), "bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(JoinRoom(*bob, "Jam"));
  ASSERT_TRUE(SawJoin(*ann, "u-bob"));
  ASSERT_TRUE(bob->Send(ChatMsg("keep this line", "line1")));
  ASSERT_TRUE(WaitMatching(
      *ann,
      [](const proto::ClientMessage& m) {
        return m.has_room_chat_message() && m.room_chat_message().message() == "keep this line";
      },
      kLong));
  // mo is a moderator on B while Redis no longer keeps it. B reads the kept state on
  // another node's RoomUpdated, and a join on B waits for that read, so once `joiner` is
  // in, B holds mo as a moderator and reads nothing more; then Redis alone forgets it.
  // The first time ann makes mo a moderator on A (B applies the notice, then reads on A's
  // RoomUpdated); the second, mo is put back in the kept set and ann's /topic makes B read.
  int round = 0;
  auto moderator_on_b_only = [&] {
    if (round == 0) {
      ASSERT_TRUE(Done(*ann, "/mod mo", "mod"));
      ASSERT_TRUE(WaitMatching(
          *mo,
          [](const proto::ClientMessage& m) {
            return m.has_moderation_notice() &&
                   m.moderation_notice().action() == proto::MOD_APPOINT_MODERATOR;
          },
          kLong));
    } else {
      ASSERT_TRUE(WaitRedisReply({"SADD", "tutti:{jam}:mods", "u-mo"}, [](const redisReply* r) {
        return r != nullptr && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
      }));
      ASSERT_TRUE(Done(*ann, "/topic again", "topic"));
    }
    ASSERT_TRUE(WaitMatching(
        *mo,
        [round](const proto::ClientMessage& m) {
          return m.has_room_updated() &&
                 (round == 0 || m.room_updated().room_info().topic() == "again");
        },
        kLong));
    auto joiner = Connect(node_b_->port(), "cay" + std::to_string(round++));
    ASSERT_TRUE(joiner);
    ASSERT_TRUE(JoinRoom(*joiner, "Jam"));
    ASSERT_TRUE(WaitRedisReply({"SREM", "tutti:{jam}:mods", "u-mo"}, [](const redisReply* r) {
      return r != nullptr && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    }));
  };

  ASSERT_NO_FATAL_FAILURE(moderator_on_b_only());
  ASSERT_TRUE(mo->Send(ChatMsg("/tempo 90", "tempo")));
  const proto::ClientMessage tempo = Answer(*mo, "tempo");
  ASSERT_TRUE(tempo.has_error_message()) << tempo.ShortDebugString();
  EXPECT_EQ(tempo.error_message().code(), proto::PERMISSION_DENIED);
  EXPECT_EQ(tempo.error_message().error_message(),
            "the room's roles changed on another server first");
  // Nor is its tempo kept for a room object that opens later.
  EXPECT_TRUE(WaitRedisReply({"HEXISTS", "tutti:{jam}:state", "tempo"}, [](const redisReply* r) {
    return r != nullptr && r->type == REDIS_REPLY_INTEGER && r->integer == 0;
  }));

  ASSERT_NO_FATAL_FAILURE(moderator_on_b_only());
  ASSERT_TRUE(mo->Send(ChatMsg("/clear", "clear")));
  const proto::ClientMessage clear = Answer(*mo, "clear");
  ASSERT_TRUE(clear.has_error_message()) << clear.ShortDebugString();
  EXPECT_EQ(clear.error_message().code(), proto::PERMISSION_DENIED);
  EXPECT_EQ(clear.error_message().error_message(),
            "the room's roles changed on another server first");
  // The line is still kept with the stream.
  EXPECT_TRUE(WaitRedisReply({"LRANGE", "tutti:{jam}:chat", "0", "-1"}, [](const redisReply* r) {
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY) return false;
    for (size_t i = 0; i < r->elements; ++i) {
      const redisReply* e = r->element[i];
      if (e->type == REDIS_REPLY_STRING &&
          std::string(e->str, e->len).find("keep this line") != std::string::npos) {
        return true;
      }
    }
    return false;
  }));
  // Nothing reached A: bob's next line comes with no clear and no tempo before it.
  ASSERT_TRUE(bob->Send(ChatMsg("still here", "line2")));
  bool cleared = false, tempo_seen = false;
  ASSERT_TRUE(WaitMatching(
      *ann,
      [](const proto::ClientMessage& m) {
        return m.has_room_chat_message() && m.room_chat_message().message() == "still here";
      },
      kLong,
      [&](const proto::ClientMessage& m) {
        cleared = cleared || m.has_chat_cleared();
        tempo_seen = tempo_seen || m.has_tempo_state();
      }));
  EXPECT_FALSE(cleared);
  EXPECT_FALSE(tempo_seen);

  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

TEST_F(ModerationAcrossNodesTest, MuteOnOneNodeSilencesTheMemberOnItsOwnNode) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());

  auto ann = Connect(node_a_->port(), "ann");
  ASSERT_TRUE(ann);
  ASSERT_TRUE(JoinRoom(*ann, "Jam"));
  proto::Welcome bob_welcome;
  auto bob = Connect(node_b_->port(), "bob", &bob_welcome);
  ASSERT_TRUE(bob);
  const uint64_t bob_session = bob_welcome.user().session_id();
  ASSERT_TRUE(JoinRoom(*bob, "Jam"));
  ASSERT_TRUE(SawJoin(*ann, "u-bob"));
  ASSERT_TRUE(bob->Send(MidiMsg(kNoteOn)));
  ASSERT_TRUE(Heard(*ann, kNoteOn));

  ASSERT_TRUE(ann->Send(ChatMsg("/mute bob 1h", "mute")));
  auto notice = bob->WaitFor(proto::ClientMessage::kModerationNotice, kLong);
  ASSERT_TRUE(notice);
  EXPECT_EQ(notice->moderation_notice().action(), proto::MOD_MUTE);
  EXPECT_GT(notice->moderation_notice().until_unix_ms(), 0);
  // His held note is released on his node, and A's members hear it (before or after
  // ann's answer, which waits for the audit record's commit).
  bool answered = false;
  EXPECT_TRUE(NodesTest::WaitMatching(
      *ann,
      [&](const proto::ClientMessage& m) {
        if (m.request_id() == "mute" && m.has_command_result()) answered = true;
        return m.has_midi_message() && m.midi_message().session_id() == bob_session &&
               m.midi_message().midi_data().find(std::string{'\x80', 60}) != std::string::npos;
      },
      kLong));
  EXPECT_TRUE(answered || Answer(*ann, "mute").has_command_result());

  // On his own node, his chat and MIDI are refused.
  ASSERT_TRUE(bob->Send(ChatMsg("can you hear me", "said")));
  const proto::ClientMessage refused = Answer(*bob, "said");
  ASSERT_TRUE(refused.has_error_message()) << refused.ShortDebugString();
  EXPECT_EQ(refused.error_message().code(), proto::MUTED);
  ASSERT_TRUE(bob->Send(MidiMsg(kNoteOn, 0, "played")));
  const proto::ClientMessage midi_refused = Answer(*bob, "played");
  ASSERT_TRUE(midi_refused.has_error_message()) << midi_refused.ShortDebugString();
  EXPECT_EQ(midi_refused.error_message().code(), proto::MUTED);
  // The owner's /users on A shows him muted, and that his link is B's to know.
  ASSERT_TRUE(ann->Send(ChatMsg("/users", "users")));
  const proto::ClientMessage users = Answer(*ann, "users");
  ASSERT_TRUE(users.has_command_result()) << users.ShortDebugString();
  const auto& lines = users.command_result().lines();
  EXPECT_NE(std::find(lines.begin(), lines.end(),
                      "bob (u-bob) member [muted] [quality known on its own server]"),
            lines.end())
      << users.ShortDebugString();

  // Unmuted, his line reaches A.
  ASSERT_TRUE(Done(*ann, "/unmute bob", "unmute"));
  ASSERT_TRUE(bob->WaitFor(proto::ClientMessage::kModerationNotice, kLong));
  ASSERT_TRUE(bob->Send(ChatMsg("back again")));
  EXPECT_TRUE(NodesTest::WaitMatching(
      *ann,
      [](const proto::ClientMessage& m) {
        return m.has_room_chat_message() && m.room_chat_message().message() == "back again";
      },
      kLong));

  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

}  // namespace
}  // namespace tutti::testing
