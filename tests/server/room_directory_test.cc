// RoomDirectory: coalescing of reported room values into versioned deltas, the cap,
// and the visibility rules of the list and GetRoomInfo. Pure, no sockets.
#include "server/room_directory.h"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/room_list.h"
#include "server/server_command_params.h"
#include "tests/server/listed_room.h"

namespace tutti::server {
namespace {

std::vector<std::string> Ids(const proto::RoomListDelta& d) {
  std::vector<std::string> ids;
  for (const auto& r : d.upserted()) ids.push_back(r.room_id());
  return ids;
}

TEST(RoomDirectory, ManyChangesToOneRoomBecomeOneUpsertWithTheLatestValues) {
  RoomDirectory dir(100);
  for (int users = 1; users <= 10; ++users) dir.Apply(ListedRoom("jazz", users));
  proto::RoomInfo topic = ListedRoom("jazz", 10);
  topic.set_topic("Bach");
  dir.Apply(topic);
  auto d = dir.TakeDelta();
  ASSERT_TRUE(d);
  ASSERT_EQ(d->upserted_size(), 1);
  EXPECT_EQ(d->upserted(0).user_count(), 10);
  EXPECT_EQ(d->upserted(0).topic(), "Bach");
  EXPECT_EQ(d->removed_size(), 0);
  EXPECT_EQ(d->from_version(), 0u);
  EXPECT_EQ(d->version(), 1u);
  // Nothing reported since: no delta, no new version.
  EXPECT_FALSE(dir.TakeDelta());
  EXPECT_EQ(dir.version(), 1u);
}

TEST(RoomDirectory, ARoomThatComesAndGoesBetweenTwoDeltasIsNeverSent) {
  RoomDirectory dir(100);
  dir.Apply(ListedRoom("a", 1));
  ASSERT_TRUE(dir.TakeDelta());
  dir.Apply(ListedRoom("flash", 1));
  dir.Remove("flash");
  EXPECT_FALSE(dir.TakeDelta());
  // Reporting the same values again is not a change.
  dir.Apply(ListedRoom("a", 1));
  EXPECT_FALSE(dir.TakeDelta());
  EXPECT_EQ(dir.version(), 1u);
}

TEST(RoomDirectory, DeltasChainVersionsAndCarryRemovals) {
  RoomDirectory dir(100);
  dir.Apply(ListedRoom("a", 1));
  dir.Apply(ListedRoom("b", 2));
  auto d1 = dir.TakeDelta();
  ASSERT_TRUE(d1);
  EXPECT_EQ(Ids(*d1), (std::vector<std::string>{"b", "a"}));  // list order: most users first
  dir.Remove("a");
  dir.Apply(ListedRoom("b", 3));
  auto d2 = dir.TakeDelta();
  ASSERT_TRUE(d2);
  EXPECT_EQ(d2->from_version(), d1->version());
  EXPECT_EQ(Ids(*d2), (std::vector<std::string>{"b"}));
  ASSERT_EQ(d2->removed_size(), 1);
  EXPECT_EQ(d2->removed(0), "a");
  // Removing a room that was never published sends nothing.
  dir.Remove("never");
  EXPECT_FALSE(dir.TakeDelta());
}

TEST(RoomDirectory, PublishedListIsWhatTheLastDeltaLeft) {
  RoomDirectory dir(100);
  dir.Apply(ListedRoom("a", 1));
  dir.Apply(ListedRoom("b", 5));
  ASSERT_TRUE(dir.TakeDelta());
  dir.Apply(ListedRoom("c", 9));  // reported, not yet published
  proto::RoomList list = dir.PublishedList();
  EXPECT_EQ(list.version(), 1u);
  ASSERT_EQ(list.rooms_size(), 2);
  EXPECT_EQ(list.rooms(0).room_id(), "b");
  EXPECT_EQ(list.rooms(1).room_id(), "a");
  auto d = dir.TakeDelta();  // a subscriber holding `list` applies exactly this
  ASSERT_TRUE(d);
  EXPECT_EQ(d->from_version(), list.version());
  EXPECT_EQ(Ids(*d), (std::vector<std::string>{"c"}));
}

TEST(RoomDirectory, TheCapKeepsTheBusiestRoomsAndRoomsMoveAcrossIt) {
  RoomDirectory dir(2);
  dir.Apply(ListedRoom("a", 3));
  dir.Apply(ListedRoom("b", 2));
  dir.Apply(ListedRoom("c", 1));
  auto d1 = dir.TakeDelta();
  ASSERT_TRUE(d1);
  EXPECT_EQ(Ids(*d1), (std::vector<std::string>{"a", "b"}));
  // c fills up and pushes b out of the top two, though b itself did not change.
  dir.Apply(ListedRoom("c", 5));
  auto d2 = dir.TakeDelta();
  ASSERT_TRUE(d2);
  EXPECT_EQ(Ids(*d2), (std::vector<std::string>{"c"}));
  ASSERT_EQ(d2->removed_size(), 1);
  EXPECT_EQ(d2->removed(0), "b");
  // a empties out: b comes back into the list without having been reported.
  dir.Remove("a");
  auto d3 = dir.TakeDelta();
  ASSERT_TRUE(d3);
  EXPECT_EQ(Ids(*d3), (std::vector<std::string>{"b"}));
  ASSERT_EQ(d3->removed_size(), 1);
  EXPECT_EQ(d3->removed(0), "a");
  EXPECT_EQ(dir.PublishedList().rooms_size(), 2);
}

TEST(RoomDirectory, PrivateRoomsAreNeverListedAndLeaveWhenTheyTurnPrivate) {
  RoomDirectory dir(100);
  dir.Apply(ListedRoom("secret", 2, proto::PRIVATE));
  EXPECT_FALSE(dir.TakeDelta());
  dir.Apply(ListedRoom("open", 2));
  dir.Apply(ListedRoom("lobby", 1, proto::LOBBY));
  auto d = dir.TakeDelta();
  ASSERT_TRUE(d);
  EXPECT_EQ(Ids(*d), (std::vector<std::string>{"open", "lobby"}));
  dir.Apply(ListedRoom("open", 2, proto::PRIVATE));
  auto gone = dir.TakeDelta();
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->upserted_size(), 0);
  ASSERT_EQ(gone->removed_size(), 1);
  EXPECT_EQ(gone->removed(0), "open");
}

TEST(ListSubscribers, EachSubscriberGetsEveryDeltaAfterItsFullListOnce) {
  ListSubscribers subs;
  std::vector<SessionId> got;
  auto send = [&](SessionId id) {
    got.push_back(id);
    return true;
  };
  subs.Add(1);
  ASSERT_TRUE(subs.Start(1, 5));
  subs.Add(2);  // its full list is still on its way
  subs.Deliver(5, 6, send);
  EXPECT_EQ(got, (std::vector<SessionId>{1}));
  got.clear();
  EXPECT_TRUE(subs.Start(2, 6));   // the list it gets already includes 5 -> 6
  EXPECT_FALSE(subs.Start(2, 6));  // and only once
  subs.Deliver(6, 7, send);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<SessionId>{1, 2}));
  got.clear();
  // A delta that does not follow what a subscriber holds is not sent to it.
  subs.Deliver(3, 4, send);
  EXPECT_TRUE(got.empty());
  // A resubscribe waits for its new list; an unsubscribed session gets nothing.
  subs.Add(1);
  EXPECT_TRUE(subs.Remove(2));
  subs.Deliver(7, 8, send);
  EXPECT_TRUE(got.empty());
  EXPECT_FALSE(subs.Start(2, 8));
}

TEST(ListSubscribers, GoneSessionsAreForgottenOnDelivery) {
  ListSubscribers subs;
  for (SessionId id = 1; id <= 3; ++id) {
    subs.Add(id);
    subs.Start(id, 0);
  }
  subs.Deliver(0, 1, [](SessionId id) { return id != 2; });
  EXPECT_EQ(subs.size(), 2u);
}

TEST(RoomVisibility, PrivateRoomsAreForMembersOwnerAndStaff) {
  proto::RoomInfo priv = ListedRoom("back", 1, proto::PRIVATE);
  priv.set_owner_id("u-owner");
  RoomViewer outsider;
  outsider.user_id = "u-x";
  EXPECT_FALSE(MaySeeRoom(priv, outsider));
  RoomViewer member = outsider;
  member.in_room = true;
  EXPECT_TRUE(MaySeeRoom(priv, member));
  RoomViewer staff = outsider;
  staff.server_staff = true;
  EXPECT_TRUE(MaySeeRoom(priv, staff));
  RoomViewer owner;
  owner.user_id = "u-owner";
  EXPECT_TRUE(MaySeeRoom(priv, owner));
  // An empty user id never matches an ownerless room.
  priv.set_owner_id("");
  EXPECT_FALSE(MaySeeRoom(priv, RoomViewer{}));
  EXPECT_TRUE(MaySeeRoom(ListedRoom("pub", 1), outsider));
  EXPECT_TRUE(MaySeeRoom(ListedRoom("lobby", 1, proto::LOBBY), outsider));
  EXPECT_FALSE(ListedInDirectory(priv));
  EXPECT_TRUE(ListedInDirectory(ListedRoom("lobby", 1, proto::LOBBY)));
}

TEST(ServerCommandParams, UpdateSettingsMapsOntoUpdateRoomCommand) {
  google::protobuf::Map<std::string, std::string> p;
  p["max_users"] = "12";
  p["allow_chat"] = "1";
  p["require_pro"] = "true";
  p["welcome_message"] = "hi";
  p["password"] = "";
  p["room_type"] = "PRIVATE";
  auto cmd = UpdateRoomFromParameters(p);
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  ASSERT_TRUE(cmd->has_settings());
  EXPECT_EQ(cmd->settings().max_users(), 12);
  EXPECT_TRUE(cmd->settings().allow_chat());
  EXPECT_FALSE(cmd->settings().allow_guests());
  EXPECT_TRUE(cmd->settings().require_pro());
  EXPECT_EQ(cmd->settings().welcome_message(), "hi");
  EXPECT_TRUE(cmd->set_password());
  EXPECT_EQ(cmd->password(), "");
  EXPECT_TRUE(cmd->set_room_type());
  EXPECT_EQ(cmd->room_type(), proto::PRIVATE);

  google::protobuf::Map<std::string, std::string> only_password;
  only_password["password"] = "x";
  auto pw = UpdateRoomFromParameters(only_password);
  ASSERT_TRUE(pw.ok());
  EXPECT_FALSE(pw->has_settings()) << "a password change leaves the settings alone";
}

TEST(ServerCommandParams, BadKeysAndValuesAreRefused) {
  auto refuse = [](const std::string& k, const std::string& v) {
    google::protobuf::Map<std::string, std::string> p;
    p[k] = v;
    return !UpdateRoomFromParameters(p).ok();
  };
  EXPECT_TRUE(refuse("max_users", "-1"));
  EXPECT_TRUE(refuse("max_users", "12abc"));
  EXPECT_TRUE(refuse("max_users", "99999999999"));
  EXPECT_TRUE(refuse("allow_chat", "yes"));
  EXPECT_TRUE(refuse("room_type", "LOBBY"));
  EXPECT_TRUE(refuse("owner", "me"));
  EXPECT_FALSE(UpdateRoomFromParameters({}).ok());
}

}  // namespace
}  // namespace tutti::server
