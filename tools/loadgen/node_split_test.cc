// NodeFor (tools/loadgen/loadgen.h): how tutti-loadgen spreads connections over several
// nodes. Every room must have members, and players, on every node, so that deliveries
// cross the Redis engine; one port keeps everyone on it.
#include <set>

#include <gtest/gtest.h>

#include "tools/loadgen/loadgen.h"

namespace tutti::loadgen {
namespace {

TEST(NodeForTest, OnePortTakesEveryone) {
  Options o;
  o.ports = {4000};
  o.rooms = 3;
  o.room_size = 5;
  for (int i = 0; i < 40; ++i) EXPECT_EQ(NodeFor(o, i), 0) << i;
}

TEST(NodeForTest, EachRoomsMembersAndPlayersAlternateBetweenNodes) {
  Options o;
  o.ports = {4000, 4001};
  o.rooms = 200;
  o.room_size = 5;
  o.players_per_room = 2;
  for (int room = 0; room < o.rooms; ++room) {
    std::set<int> player_nodes, member_nodes;
    int on_first = 0;
    for (int k = 0; k < o.room_size; ++k) {
      const int node = NodeFor(o, room * o.room_size + k);
      ASSERT_GE(node, 0);
      ASSERT_LT(node, 2);
      member_nodes.insert(node);
      if (k < o.players_per_room) player_nodes.insert(node);
      if (node == 0) ++on_first;
    }
    EXPECT_EQ(player_nodes.size(), 2u) << "room " << room;
    EXPECT_EQ(member_nodes.size(), 2u) << "room " << room;
    EXPECT_EQ(on_first, 3) << "room " << room;  // 5 members: 3 + 2
  }
}

TEST(NodeForTest, LobbyPlayersSplitEvenlyOverThreeNodes) {
  Options o;
  o.ports = {4000, 4001, 4002};
  o.rooms = 1;
  o.room_size = 64;
  o.players_per_room = 6;
  int players[3] = {0, 0, 0};
  for (int k = 0; k < o.players_per_room; ++k) ++players[NodeFor(o, k)];
  EXPECT_EQ(players[0], 2);
  EXPECT_EQ(players[1], 2);
  EXPECT_EQ(players[2], 2);
}

TEST(NodeForTest, ConnectionsOutsideRoomsAlternateByOrdinal) {
  Options o;
  o.ports = {4000, 4001};
  o.rooms = 0;
  o.room_size = 10;
  EXPECT_EQ(NodeFor(o, 0), 0);
  EXPECT_EQ(NodeFor(o, 1), 1);
  EXPECT_EQ(NodeFor(o, 2), 0);
  EXPECT_EQ(NodeFor(o, -1), 0);
}

TEST(NodeForTest, IdleConnectionsAfterTheMembersAlternateToo) {
  Options o;
  o.ports = {4000, 4001};
  o.rooms = 2;
  o.room_size = 3;
  o.idle_connections = 4;
  // Members 0..5 follow their place in the room: 0 1 0 | 0 1 0.
  EXPECT_EQ(NodeFor(o, 3), 0);
  EXPECT_EQ(NodeFor(o, 4), 1);
  // Idle ones (ordinals 6..9) follow their ordinal.
  int per_node[2] = {0, 0};
  for (int i = 6; i < 10; ++i) ++per_node[NodeFor(o, i)];
  EXPECT_EQ(per_node[0], 2);
  EXPECT_EQ(per_node[1], 2);
}

}  // namespace
}  // namespace tutti::loadgen
