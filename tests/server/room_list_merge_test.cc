// RoomListMerge: one value per room from this node's objects and the other nodes'
// reports — this node's object wins, otherwise the report heard last; a room goes only
// when nobody reports it; a view replaces what was known of other nodes; a node's
// goodbye drops its rooms. And the node bus's checks of room records (node_wire.h).
// Pure, no sockets.
#include "server/room_list_merge.h"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include "server/node_wire.h"
#include "tests/server/listed_room.h"

namespace tutti::server {
namespace {

int Count(const RoomListMerge& m, const std::string& id) {
  const proto::RoomInfo* info = m.Merged(id);
  return info == nullptr ? -1 : info->user_count();
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(RoomListMergeTest, ThisNodesObjectWinsOverAnyReport) {
  RoomListMerge m;
  m.SetRemote("node-a", "jam", ListedRoom("jam", 2));
  EXPECT_EQ(Count(m, "jam"), 2);
  m.SetLocal("jam", ListedRoom("jam", 3));
  // A later report of another node does not override what this node's object holds.
  m.SetRemote("node-a", "jam", ListedRoom("jam", 5));
  EXPECT_EQ(Count(m, "jam"), 3);
  // Private here stays private, whatever a stale report says.
  m.SetLocal("jam", ListedRoom("jam", 3, proto::PRIVATE));
  EXPECT_EQ(m.Merged("jam")->room_type(), proto::PRIVATE);
  // The object closes here: the other node's report is the room now.
  m.SetLocal("jam", std::nullopt);
  EXPECT_EQ(Count(m, "jam"), 5);
  EXPECT_EQ(m.RemoteOnly().size(), 1u);
}

TEST(RoomListMergeTest, TheReportHeardLastWinsAndARepeatIsNotNews) {
  RoomListMerge m;
  m.SetRemote("node-a", "jam", ListedRoom("jam", 2));
  m.SetRemote("node-b", "jam", ListedRoom("jam", 3));
  EXPECT_EQ(Count(m, "jam"), 3);
  m.SetRemote("node-a", "jam", ListedRoom("jam", 4));
  EXPECT_EQ(Count(m, "jam"), 4);
  // A refresh repeats node A's report and brings node B's unchanged: A's stays newest.
  std::unordered_map<std::string, std::vector<proto::RoomInfo>> view;
  view["node-a"] = {ListedRoom("jam", 4)};
  view["node-b"] = {ListedRoom("jam", 3)};
  m.ReplaceRemote(view);
  EXPECT_EQ(Count(m, "jam"), 4);
  // A changed report in a refresh is news.
  view["node-b"] = {ListedRoom("jam", 6)};
  m.ReplaceRemote(view);
  EXPECT_EQ(Count(m, "jam"), 6);
  EXPECT_EQ(m.remote_rooms(), 1u);
}

TEST(RoomListMergeTest, ARoomGoesOnlyWhenNoNodeReportsIt) {
  RoomListMerge m;
  m.SetLocal("jam", ListedRoom("jam", 2));
  m.SetRemote("node-a", "jam", ListedRoom("jam", 2));
  m.TakeChanged();
  m.SetLocal("jam", std::nullopt);
  EXPECT_EQ(m.TakeChanged(), std::vector<std::string>{"jam"});
  EXPECT_EQ(Count(m, "jam"), 2);
  m.SetRemote("node-a", "jam", std::nullopt);
  EXPECT_EQ(m.TakeChanged(), std::vector<std::string>{"jam"});
  EXPECT_EQ(m.Merged("jam"), nullptr);
  EXPECT_EQ(m.remote_rooms(), 0u);
  EXPECT_TRUE(m.RemoteOnly().empty());
}

TEST(RoomListMergeTest, AViewReplacesWhatWasKnownAndDropsAGoneNodesRooms) {
  RoomListMerge m;
  m.SetRemote("node-a", "jam", ListedRoom("jam", 1));
  m.SetRemote("node-a", "solo", ListedRoom("solo", 1));
  m.SetRemote("node-b", "jam", ListedRoom("jam", 2));
  m.SetRemote("node-c", "late", ListedRoom("late", 1));
  m.TakeChanged();
  // Node A is gone (its keys expired) and node C no longer lists "late".
  std::unordered_map<std::string, std::vector<proto::RoomInfo>> view;
  view["node-b"] = {ListedRoom("jam", 2)};
  view["node-c"];
  m.ReplaceRemote(view);
  EXPECT_EQ(Sorted(m.TakeChanged()), (std::vector<std::string>{"jam", "late", "solo"}));
  EXPECT_EQ(Count(m, "jam"), 2);
  EXPECT_EQ(m.Merged("solo"), nullptr);
  EXPECT_EQ(m.Merged("late"), nullptr);
  // A message from node A after the view lists its room again until the next view (its
  // node may have come back); a goodbye drops it at once.
  m.SetRemote("node-a", "solo", ListedRoom("solo", 1));
  EXPECT_EQ(Count(m, "solo"), 1);
  m.DropNode("node-a");
  EXPECT_EQ(m.Merged("solo"), nullptr);
  EXPECT_EQ(Count(m, "jam"), 2);
  m.DropNode("node-b");
  EXPECT_EQ(m.Merged("jam"), nullptr);
  EXPECT_EQ(m.remote_rooms(), 0u);
}

TEST(RoomListMergeTest, ThisNodesRoomsStayWhenOtherNodesGo) {
  RoomListMerge m;
  m.SetLocal("mine", ListedRoom("mine", 1));
  m.SetRemote("node-a", "mine", ListedRoom("mine", 4));
  m.ReplaceRemote({});
  EXPECT_EQ(Count(m, "mine"), 1);
  m.DropNode("node-a");
  EXPECT_EQ(Count(m, "mine"), 1);
  EXPECT_TRUE(m.RemoteOnly().empty());
}

// --- node_wire: room records and BusRooms ---------------------------------------------------

TEST(RoomRecordWireTest, AcceptsAListedRoomAndRefusesMalformedOnes) {
  proto::RoomInfo ok = ListedRoom("jam session", 3);
  ok.set_topic("fugues");
  ok.add_performer_ids("u-ann");
  proto::RoomInfo parsed;
  ASSERT_TRUE(ParseRoomRecord(ok.SerializeAsString(), &parsed));
  EXPECT_EQ(parsed.user_count(), 3);
  EXPECT_TRUE(ParseRoomRecord(ListedRoom("lobby 2", 0, proto::LOBBY).SerializeAsString(), &parsed));

  auto refused = [&](const proto::RoomInfo& r) {
    return !ParseRoomRecord(r.SerializeAsString(), &parsed);
  };
  EXPECT_FALSE(ParseRoomRecord("", &parsed));
  EXPECT_FALSE(ParseRoomRecord("\xff\xff\xff", &parsed));      // not protobuf
  EXPECT_TRUE(refused(ListedRoom("", 1)));                     // no id
  EXPECT_TRUE(refused(ListedRoom("Jam", 1)));                  // not canonical (upper case)
  EXPECT_TRUE(refused(ListedRoom(" jam", 1)));                 // not canonical (untrimmed)
  EXPECT_TRUE(refused(ListedRoom(std::string(200, 'j'), 1)));  // too long
  EXPECT_TRUE(refused(ListedRoom("jam", 1, proto::PRIVATE)));  // never shared
  EXPECT_TRUE(refused(ListedRoom("jam", -1)));                 // negative count
  proto::RoomInfo bad = ListedRoom("jam", 1);
  bad.set_room_type(static_cast<proto::RoomType>(77));
  EXPECT_TRUE(refused(bad));
  bad = ListedRoom("jam", 1);
  bad.set_topic(std::string(kMaxBusTextBytes + 1, 't'));
  EXPECT_TRUE(refused(bad));
  bad = ListedRoom("jam", 1);
  bad.mutable_settings()->set_play_mode(static_cast<proto::PlayMode>(9));
  EXPECT_TRUE(refused(bad));
  bad = ListedRoom("jam", 1);
  bad.mutable_settings()->set_max_users(-3);
  EXPECT_TRUE(refused(bad));
  bad = ListedRoom("jam", 1);
  bad.add_performer_ids("");
  EXPECT_TRUE(refused(bad));
  // Invalid UTF-8 in a string field: refused before libprotobuf parses it.
  std::string bytes = ListedRoom("jam", 1).SerializeAsString();
  proto::RoomInfo name;
  name.set_room_name("x");
  std::string tail = name.SerializeAsString();
  tail.back() = '\xc3';
  EXPECT_FALSE(ParseRoomRecord(bytes + tail, &parsed));
}

TEST(RoomRecordWireTest, ABusRoomsMessageIsCheckedWhole) {
  auto message = [](std::initializer_list<proto::BusRoom> rooms) {
    proto::NodeBusMessage m;
    m.set_from_node("node-a");
    for (const auto& r : rooms) *m.mutable_rooms()->add_rooms() = r;
    return m.SerializeAsString();
  };
  proto::BusRoom listed;
  listed.set_room_id("jam");
  *listed.mutable_info() = ListedRoom("jam", 2);
  proto::BusRoom gone;
  gone.set_room_id("solo");
  proto::NodeBusMessage out;
  ASSERT_TRUE(ParseBusMessage(message({listed, gone}), &out));
  EXPECT_EQ(out.rooms().rooms_size(), 2);

  proto::BusRoom other = listed;
  other.set_room_id("elsewhere");  // the info names another room
  EXPECT_FALSE(ParseBusMessage(message({gone, other}), &out));
  proto::BusRoom hidden = listed;
  hidden.mutable_info()->set_room_type(proto::PRIVATE);
  EXPECT_FALSE(ParseBusMessage(message({hidden}), &out));
  proto::BusRoom unnamed;
  EXPECT_FALSE(ParseBusMessage(message({unnamed}), &out));
  EXPECT_FALSE(ParseBusMessage(message({}), &out));  // nothing in it
  proto::NodeBusMessage many;
  many.set_from_node("node-a");
  for (size_t i = 0; i <= kMaxBusRoomsPerMessage; ++i) {
    many.mutable_rooms()->add_rooms()->set_room_id("r" + std::to_string(i));
  }
  EXPECT_FALSE(ParseBusMessage(many.SerializeAsString(), &out));
}

}  // namespace
}  // namespace tutti::server
