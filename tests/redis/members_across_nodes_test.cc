// A room's members across nodes (docs/SCALE-OUT.md, "Members across nodes"): one
// redis-server and two tutti-server processes (started here on free loopback ports,
// stopped by PID), members of one room on both. A joiner on either node gets every
// node's members in its user list, the room list and /users count them all, a lobby
// filled by members on two nodes (or on the other node only, before the lobby opened on
// this one) sends the next joiner on, joiners sent at once on both nodes never take a
// room or a lobby past its capacity, and the members of a node
// killed with SIGKILL leave for the others once their presence expires. Every wait is
// bounded by a deadline; nothing depends on how long a step takes.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/redis/nodes_harness.h"

namespace tutti::testing {
namespace {

using namespace std::chrono_literals;

using MembersAcrossNodesTest = NodesTest;

constexpr auto kLong = 30s;  // a bound never reached when green

std::multiset<std::string> Users(const proto::RoomJoinedResponse& r) {
  std::multiset<std::string> out;
  for (const auto& u : r.current_users()) out.insert(u.user_id());
  return out;
}

// The room list of the node `c` is on, asked until the room `room` shows `count` users
// (the list follows a room's changes shortly after they happen) or the deadline passes.
bool ListShows(client::Client& c, const std::string& room, int count) {
  int asked = 0;
  return WaitUntil(
      [&] {
        const std::string id = "list-" + std::to_string(++asked);
        if (!c.Send(RoomListMsg(id))) return false;
        auto list = WaitForReply(c, proto::ClientMessage::kRoomList, id, 5s);
        if (!list) return false;
        for (const auto& info : list->room_list().rooms()) {
          if (info.room_id() == room && info.user_count() == count) return true;
        }
        return false;
      },
      kLong);
}

TEST_F(MembersAcrossNodesTest, JoinersUserListsAndTheRoomListCountBothNodes) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());

  // Ann is in the room on A before it exists on B: B's first joiner finds her in the
  // presence read at the room's opening.
  auto ann = Connect(node_a_->port(), "ann");
  ASSERT_TRUE(ann);
  ASSERT_TRUE(JoinRoom(*ann, "Jam"));
  auto bob = Connect(node_b_->port(), "bob");
  ASSERT_TRUE(bob);
  proto::RoomJoinedResponse joined;
  ASSERT_TRUE(JoinRoom(*bob, "Jam", &joined));
  EXPECT_EQ(Users(joined), (std::multiset<std::string>{"u-ann", "u-bob"}));
  EXPECT_EQ(joined.room_info().user_count(), 2);

  // Bob's join reached A's room on the stream: a joiner on A gets him too.
  ASSERT_TRUE(SawJoin(*ann, "u-bob"));
  auto cay = Connect(node_a_->port(), "cay");
  ASSERT_TRUE(cay);
  ASSERT_TRUE(JoinRoom(*cay, "Jam", &joined));
  EXPECT_EQ(Users(joined), (std::multiset<std::string>{"u-ann", "u-bob", "u-cay"}));
  ASSERT_TRUE(SawJoin(*bob, "u-cay"));

  // The room list on either node counts every node's members, and so does /users.
  EXPECT_TRUE(ListShows(*ann, "jam", 3));
  EXPECT_TRUE(ListShows(*bob, "jam", 3));
  ASSERT_TRUE(bob->Send(ChatMsg("/users", "who")));
  const proto::ClientMessage who = Answer(*bob, "who");
  ASSERT_TRUE(who.has_command_result());
  EXPECT_EQ(who.command_result().lines_size(), 3);

  // A leave on A is a leave on B.
  ASSERT_TRUE(ann->Send(LeaveMsg()));
  ASSERT_TRUE(WaitMatching(
      *bob,
      [](const proto::ClientMessage& m) {
        return m.has_user_left_room() && m.user_left_room().user_id() == "u-ann";
      },
      kLong));
  EXPECT_TRUE(ListShows(*bob, "jam", 2));
  auto dee = Connect(node_b_->port(), "dee");
  ASSERT_TRUE(dee);
  ASSERT_TRUE(JoinRoom(*dee, "Jam", &joined));
  EXPECT_EQ(Users(joined), (std::multiset<std::string>{"u-bob", "u-cay", "u-dee"}));

  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

TEST_F(MembersAcrossNodesTest, ALobbyFilledOnTwoNodesSendsTheNextJoinerOn) {
  ASSERT_NO_FATAL_FAILURE(StartNodes({"--lobby_max_users", "2"}));

  auto lobby_of = [](client::Client& c) -> std::string {
    if (!c.Send(LobbyMsg())) return "";
    auto r = c.WaitFor(proto::ClientMessage::kRoomJoinedResponse, 10s);
    return r ? r->room_joined_response().room_info().room_id() : "";
  };
  auto ann = Connect(node_a_->port(), "ann");
  ASSERT_TRUE(ann);
  const std::string first = lobby_of(*ann);
  ASSERT_FALSE(first.empty());
  auto bob = Connect(node_b_->port(), "bob");
  ASSERT_TRUE(bob);
  EXPECT_EQ(lobby_of(*bob), first);  // one member on each node: full
  ASSERT_TRUE(SawJoin(*ann, "u-bob"));

  // The next joiner, on either node, is sent on to the next lobby, which two nodes then
  // fill as well.
  auto cay = Connect(node_a_->port(), "cay");
  ASSERT_TRUE(cay);
  const std::string second = lobby_of(*cay);
  EXPECT_FALSE(second.empty());
  EXPECT_NE(second, first);
  auto dee = Connect(node_b_->port(), "dee");
  ASSERT_TRUE(dee);
  EXPECT_EQ(lobby_of(*dee), second);
  ASSERT_TRUE(SawJoin(*cay, "u-dee"));

  // Both full on B too: the third lobby, filled on B alone.
  auto eve = Connect(node_b_->port(), "eve");
  ASSERT_TRUE(eve);
  const std::string third = lobby_of(*eve);
  EXPECT_FALSE(third.empty());
  EXPECT_NE(third, first);
  EXPECT_NE(third, second);
  auto gus = Connect(node_b_->port(), "gus");
  ASSERT_TRUE(gus);
  EXPECT_EQ(lobby_of(*gus), third);

  // On A the third lobby has no room object yet: it opens, learns from the presence that
  // it is full, and sends the joiner on to a fourth instead of refusing it.
  auto fay = Connect(node_a_->port(), "fay");
  ASSERT_TRUE(fay);
  const std::string fourth = lobby_of(*fay);
  EXPECT_FALSE(fourth.empty());
  for (const std::string& full : {first, second, third}) EXPECT_NE(fourth, full);

  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

// The answer a joiner gets to the join it sent: the room it joined, or "" with `error`.
std::string JoinAnswer(client::Client& c, proto::ErrorCode* error) {
  auto m = NodesTest::WaitMatching(
      c,
      [](const proto::ClientMessage& got) {
        return got.has_room_joined_response() || got.has_error_message();
      },
      kLong);
  *error = m && m->has_error_message() ? m->error_message().code() : proto::ERROR_CODE_UNSPECIFIED;
  return m && m->has_room_joined_response() ? m->room_joined_response().room_info().room_id() : "";
}

// Joins across nodes (docs/SCALE-OUT.md, "Joins across nodes"): joiners on both nodes
// sent at once for a room's last seats never take it past its capacity. Which of them
// win is the seat script's order; what holds is that every joiner is answered (joined, or
// ROOM_FULL) and both nodes count the same members, no more than the capacity.
TEST_F(MembersAcrossNodesTest, JoinersOnTwoNodesAtOnceNeverTakeARoomPastItsCapacity) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());
  constexpr int kCapacity = 4;
  auto ann = Connect(node_a_->port(), "ann");
  ASSERT_TRUE(ann);
  ASSERT_TRUE(ann->Send(CreateMsg("Jam", proto::PUBLIC, "", kCapacity)));
  ASSERT_TRUE(ann->WaitFor(proto::ClientMessage::kRoomJoinedResponse, 10s));
  auto bob = Connect(node_b_->port(), "bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(JoinRoom(*bob, "Jam"));
  ASSERT_TRUE(SawJoin(*ann, "u-bob"));
  ASSERT_TRUE(WaitNodesSubscribed("jam", 2));

  // Two seats left, four joiners on each node.
  std::vector<std::unique_ptr<client::Client>> joiners;
  for (int i = 0; i < 8; ++i) {
    joiners.push_back(
        Connect(i % 2 == 0 ? node_a_->port() : node_b_->port(), "j" + std::to_string(i)));
    ASSERT_TRUE(joiners.back());
  }
  for (auto& c : joiners) ASSERT_TRUE(c->Send(JoinMsg("Jam")));
  int admitted = 0;
  for (auto& c : joiners) {
    proto::ErrorCode error;
    const std::string room = JoinAnswer(*c, &error);
    if (room == "jam") {
      ++admitted;
    } else {
      EXPECT_EQ(error, proto::ROOM_FULL) << "every joiner is answered: joined or full";
    }
  }
  EXPECT_GE(admitted, 1);
  EXPECT_LE(2 + admitted, kCapacity);
  // Both nodes count the same members: the list on either, and /users on either.
  EXPECT_TRUE(ListShows(*ann, "jam", 2 + admitted));
  EXPECT_TRUE(ListShows(*bob, "jam", 2 + admitted));
  for (client::Client* c : {ann.get(), bob.get()}) {
    ASSERT_TRUE(WaitUntil(
        [&] {
          if (!c->Send(ChatMsg("/users", "who"))) return false;
          const proto::ClientMessage who = Answer(*c, "who");
          return who.has_command_result() && who.command_result().lines_size() == 2 + admitted;
        },
        kLong));
  }

  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

// The same for lobbies: joiners on both nodes at once fill each lobby to its capacity at
// most; one whose seat went to another node's joiner lands in a further lobby.
TEST_F(MembersAcrossNodesTest, LobbyJoinersOnTwoNodesAtOnceNeverOverfillALobby) {
  constexpr int kLobby = 3;
  ASSERT_NO_FATAL_FAILURE(StartNodes({"--lobby_max_users", std::to_string(kLobby)}));
  std::vector<std::unique_ptr<client::Client>> joiners;
  for (int i = 0; i < 8; ++i) {
    joiners.push_back(
        Connect(i % 2 == 0 ? node_a_->port() : node_b_->port(), "j" + std::to_string(i)));
    ASSERT_TRUE(joiners.back());
  }
  for (auto& c : joiners) ASSERT_TRUE(c->Send(LobbyMsg()));
  std::map<std::string, int> in_lobby;
  for (auto& c : joiners) {
    proto::ErrorCode error;
    const std::string room = JoinAnswer(*c, &error);
    EXPECT_FALSE(room.empty()) << "every lobby joiner lands somewhere; error " << error;
    if (!room.empty()) ++in_lobby[room];
  }
  for (const auto& [room, count] : in_lobby) {
    EXPECT_LE(count, kLobby) << room;
    // Both nodes count what the joiners were told.
    EXPECT_TRUE(ListShows(*joiners[0], room, count)) << room;
    EXPECT_TRUE(ListShows(*joiners[1], room, count)) << room;
  }

  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

TEST_F(MembersAcrossNodesTest, KilledNodesMembersLeaveOnTheOtherNodeWithTheirNotesReleased) {
  // A short presence TTL: a dead node's members are found gone within about 2 s.
  ASSERT_NO_FATAL_FAILURE(StartNodes({"--redis_presence_ttl_ms", "1500"}));

  proto::Welcome ann_welcome;
  auto ann = Connect(node_a_->port(), "ann", &ann_welcome);
  ASSERT_TRUE(ann);
  const uint64_t ann_session = ann_welcome.user().session_id();
  ASSERT_TRUE(JoinRoom(*ann, "Jam"));
  auto bob = Connect(node_b_->port(), "bob");
  ASSERT_TRUE(bob);
  proto::RoomJoinedResponse joined;
  ASSERT_TRUE(JoinRoom(*bob, "Jam", &joined));
  ASSERT_EQ(Users(joined), (std::multiset<std::string>{"u-ann", "u-bob"}));
  ASSERT_TRUE(WaitNodesSubscribed("jam", 2));

  // Ann holds a note that bob hears.
  const std::string note_on{'\x90', 60, 100};
  ASSERT_TRUE(ann->Send(MidiMsg(note_on)));
  ASSERT_TRUE(WaitMatching(
      *bob,
      [&](const proto::ClientMessage& m) {
        return m.has_midi_message() && m.midi_message().midi_data() == note_on;
      },
      kLong));

  const int killed = node_a_->Stop(SIGKILL, 10000);
  ASSERT_TRUE(WIFSIGNALED(killed) && WTERMSIG(killed) == SIGKILL) << "node A was not killed";

  // Once ann's presence expires, bob sees her notes released (everything off, under her
  // session, synthetic) and then her leave.
  bool released = false;
  auto left = WaitMatching(
      *bob,
      [&](const proto::ClientMessage& m) {
        if (m.has_midi_message() && m.midi_message().session_id() == ann_session &&
            (m.midi_message().flags() & proto::MIDI_FLAG_SYNTHETIC) != 0 &&
            m.midi_message().midi_data().find(std::string{'\xb0', 123, 0}) != std::string::npos) {
          released = true;
        }
        return m.has_user_left_room() && m.user_left_room().session_id() == ann_session;
      },
      kLong);
  ASSERT_TRUE(left) << "bob never saw ann leave";
  EXPECT_EQ(left->user_left_room().reason(), "disconnected");
  EXPECT_TRUE(released);

  // She is gone from B's room: its list and a new joiner's user list.
  EXPECT_TRUE(ListShows(*bob, "jam", 1));
  auto cay = Connect(node_b_->port(), "cay");
  ASSERT_TRUE(cay);
  ASSERT_TRUE(JoinRoom(*cay, "Jam", &joined));
  EXPECT_EQ(Users(joined), (std::multiset<std::string>{"u-bob", "u-cay"}));

  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

}  // namespace
}  // namespace tutti::testing
