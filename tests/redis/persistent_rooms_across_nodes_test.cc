// Persistent (registered) rooms across nodes on one shared PostgreSQL (docs/SCALE-OUT.md,
// "Authoritative room state", "Persistent rooms"): one redis-server, one PostgreSQL
// (tests/testing/pg_server.h) and two tutti-server processes with `--database` on it
// (NodesTest; all started here on free loopback ports and stopped by PID). A room
// registered on node A after node B started is served by B from the store (its settings,
// password, owner and bans), whether Redis still keeps its state or lost it, and a create
// of its name on B is refused rather than replacing the record; the owner's changes and
// bans made from B are what both nodes restore after both restart on an empty Redis. Nodes
// each on their own SQLite file say at start that persistent rooms need a shared store,
// and each saves the other's change once it read it.
// Every wait is bounded by a deadline; nothing depends on how long a step takes.
#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/store/store.h"
#include "tests/redis/nodes_harness.h"
#include "tests/testing/pg_server.h"

namespace tutti::testing {
namespace {

using namespace std::chrono_literals;
using server::store::testing::PgServer;

constexpr auto kLong = 30s;  // a bound never reached when green

// What a node logs at start when it runs with --redis on a store of its own.
constexpr char kNotShared[] = "event=store.not_shared";

// Registers `room` (persistent) with a limit, a welcome line and an optional password.
proto::ServerMessage RegisterMsg(const std::string& room, int max_users, const std::string& welcome,
                                 const std::string& password, const std::string& id) {
  proto::ServerMessage m = CreateMsg(room, proto::PUBLIC, password, max_users, id);
  proto::RoomSettings* s = m.mutable_create_room_command()->mutable_settings();
  s->set_persistent(true);
  s->set_welcome_message(welcome);
  return m;
}

// An owner's settings change that keeps the room registered.
proto::ServerMessage UpdateMsg(int max_users, const std::string& welcome, const std::string& id) {
  proto::ServerMessage m;
  proto::RoomSettings* s = m.mutable_update_room_command()->mutable_settings();
  s->set_persistent(true);
  s->set_allow_chat(true);
  s->set_allow_guests(true);
  s->set_max_users(max_users);
  s->set_welcome_message(welcome);
  m.set_request_id(id);
  return m;
}

proto::ServerMessage CreateOrJoinMsg(const std::string& room, const std::string& password,
                                     const std::string& id) {
  proto::ServerMessage m;
  m.mutable_server_command()->set_commandtype(proto::CREATE_OR_JOIN_ROOM);
  (*m.mutable_server_command()->mutable_parameters())["room_name"] = room;
  (*m.mutable_server_command()->mutable_parameters())["password"] = password;
  m.set_request_id(id);
  return m;
}

// The answer to request `id`: an error, a join's RoomJoinedResponse or an update's
// RoomUpdated.
proto::ClientMessage Reply(client::Client& c, const std::string& id) {
  return Answer(c, id,
                {proto::ClientMessage::kRoomJoinedResponse, proto::ClientMessage::kRoomUpdated});
}

proto::ErrorCode ErrorOf(const proto::ClientMessage& m) {
  return m.has_error_message() ? m.error_message().code() : proto::ERROR_CODE_UNSPECIFIED;
}

// The room as a join showed it: registered, owned by `owner`, with the limit and welcome.
void ExpectRoom(const proto::ClientMessage& joined, const std::string& owner, int max_users,
                const std::string& welcome, const std::string& who) {
  ASSERT_TRUE(joined.has_room_joined_response()) << who << ": " << joined.ShortDebugString();
  const proto::RoomInfo& info = joined.room_joined_response().room_info();
  EXPECT_EQ(info.room_id(), "hall") << who;
  EXPECT_EQ(info.owner_id(), owner) << who;
  EXPECT_TRUE(info.settings().persistent()) << who;
  EXPECT_EQ(info.settings().max_users(), max_users) << who;
  EXPECT_EQ(info.settings().welcome_message(), welcome) << who;
}

class PersistentRoomsAcrossNodesTest : public NodesTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(NodesTest::SetUp());
    if (std::string why = PgServer::Unavailable(); !why.empty()) GTEST_SKIP() << why;
    absl::Status started = pg_.Start();
    ASSERT_TRUE(started.ok()) << started;
  }

  // Both nodes on the one PostgreSQL.
  void StartSharedNodes() { ASSERT_NO_FATAL_FAILURE(StartNodes({"--database", pg_.Url()})); }

  // Ann registers "Hall" on A (password "pw", at most 6, a welcome line), cid joins it
  // there and is banned by her, and she leaves: nobody is in the room anywhere, and node
  // B never had an object of it.
  void RegisterOnAWithABanAndLeave() {
    auto ann = Connect(node_a_->port(), "ann");
    ASSERT_TRUE(ann);
    ASSERT_TRUE(ann->Send(RegisterMsg("Hall", 6, "Welcome to the hall", "pw", "reg")));
    ASSERT_TRUE(Reply(*ann, "reg").has_room_joined_response());
    auto cid = Connect(node_a_->port(), "cid");
    ASSERT_TRUE(cid);
    ASSERT_TRUE(cid->Send(JoinMsg("Hall", "pw", "join")));
    ASSERT_TRUE(Reply(*cid, "join").has_room_joined_response());
    ASSERT_TRUE(Done(*ann, "/ban cid", "ban"));
    ASSERT_TRUE(ann->Send(LeaveMsg("leave")));
    ASSERT_TRUE(WaitMatching(
        *ann, [](const proto::ClientMessage& m) { return m.has_room_left(); }, kLong));
  }

  // `name` on the node at `port` is refused the room with BANNED.
  void ExpectBanned(uint16_t port, const std::string& name, const std::string& password) {
    auto c = Connect(port, name);
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->Send(JoinMsg("Hall", password, "j")));
    const proto::ClientMessage refused = Reply(*c, "j");
    EXPECT_EQ(ErrorOf(refused), proto::BANNED) << name << ": " << refused.ShortDebugString();
  }

  PgServer pg_;
};

TEST_F(PersistentRoomsAcrossNodesTest, ANodeThatNeverHadARegisteredRoomServesItFromTheStore) {
  ASSERT_NO_FATAL_FAILURE(StartSharedNodes());
  ASSERT_NO_FATAL_FAILURE(RegisterOnAWithABanAndLeave());

  // Registering the name again on B is refused: the record stays ann's.
  auto cay = Connect(node_b_->port(), "cay");
  ASSERT_TRUE(cay);
  ASSERT_TRUE(cay->Send(RegisterMsg("Hall", 2, "mine now", "", "steal")));
  const proto::ClientMessage stolen = Reply(*cay, "steal");
  EXPECT_EQ(ErrorOf(stolen), proto::ALREADY_EXISTS) << stolen.ShortDebugString();

  // Bob's create-or-join on B is the registered room: its password is asked, and once
  // given he is in ann's room with her settings, not the owner of a new one.
  auto bob = Connect(node_b_->port(), "bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(bob->Send(CreateOrJoinMsg("Hall", "", "first")));
  const proto::ClientMessage asked = Reply(*bob, "first");
  EXPECT_EQ(ErrorOf(asked), proto::WRONG_PASSWORD) << asked.ShortDebugString();
  ASSERT_TRUE(bob->Send(CreateOrJoinMsg("Hall", "pw", "second")));
  const proto::ClientMessage joined = Reply(*bob, "second");
  ASSERT_NO_FATAL_FAILURE(ExpectRoom(joined, "u-ann", 6, "Welcome to the hall", "bob on B"));
  EXPECT_TRUE(joined.room_joined_response().room_info().has_password());
  ASSERT_TRUE(bob->Send(UpdateMsg(3, "bob's", "upd")));
  const proto::ClientMessage update = Reply(*bob, "upd");
  EXPECT_EQ(ErrorOf(update), proto::PERMISSION_DENIED) << update.ShortDebugString();

  // The ban made on A holds on B.
  ASSERT_NO_FATAL_FAILURE(ExpectBanned(node_b_->port(), "cid", "pw"));
  EXPECT_EQ(node_a_->CountInOutput(kNotShared), 0u) << node_a_->output();
  EXPECT_EQ(node_b_->CountInOutput(kNotShared), 0u) << node_b_->output();
}

TEST_F(PersistentRoomsAcrossNodesTest, ANodeServesARegisteredRoomFromTheStoreAfterRedisLostIt) {
  ASSERT_NO_FATAL_FAILURE(StartSharedNodes());
  const uint16_t admin_a = AdminPort(*node_a_);
  const uint16_t admin_b = AdminPort(*node_b_);
  ASSERT_NE(admin_a, 0);
  ASSERT_NE(admin_b, 0);
  ASSERT_NO_FATAL_FAILURE(RegisterOnAWithABanAndLeave());

  // Redis restarted without its data: nothing of the room is kept there any more.
  redis_.Stop(SIGKILL);
  ASSERT_TRUE(redis_.Start());
  ASSERT_TRUE(WaitReady(admin_a));
  ASSERT_TRUE(WaitReady(admin_b));

  // A plain join on B (the room list's join) finds it in the store.
  auto bob = Connect(node_b_->port(), "bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(bob->Send(JoinMsg("Hall", "pw", "join")));
  ASSERT_NO_FATAL_FAILURE(
      ExpectRoom(Reply(*bob, "join"), "u-ann", 6, "Welcome to the hall", "bob on B"));
  ASSERT_NO_FATAL_FAILURE(ExpectBanned(node_b_->port(), "cid", "pw"));

  // And the node that registered it, joined now, is in the same room with bob.
  auto dan = Connect(node_a_->port(), "dan");
  ASSERT_TRUE(dan);
  ASSERT_TRUE(dan->Send(JoinMsg("Hall", "pw", "join")));
  const proto::ClientMessage dan_joined = Reply(*dan, "join");
  ASSERT_NO_FATAL_FAILURE(ExpectRoom(dan_joined, "u-ann", 6, "Welcome to the hall", "dan on A"));
  bool sees_bob = false;
  for (const auto& u : dan_joined.room_joined_response().current_users()) {
    sees_bob = sees_bob || u.user_id() == "u-bob";
  }
  EXPECT_TRUE(sees_bob) << dan_joined.ShortDebugString();
}

TEST_F(PersistentRoomsAcrossNodesTest, ChangesMadeOnTheOtherNodeAreWhatBothNodesRestore) {
  ASSERT_NO_FATAL_FAILURE(StartSharedNodes());

  // Ann registers the room on A; bob on B sees it listed and joins it from there.
  auto ann = Connect(node_a_->port(), "ann");
  ASSERT_TRUE(ann);
  ASSERT_TRUE(ann->Send(RegisterMsg("Hall", 6, "Welcome to the hall", "", "reg")));
  ASSERT_TRUE(Reply(*ann, "reg").has_room_joined_response());
  auto bob = Connect(node_b_->port(), "bob");
  ASSERT_TRUE(bob);
  int asked = 0;
  EXPECT_TRUE(WaitUntil(
      [&] {
        const std::string id = "list-" + std::to_string(++asked);
        if (!bob->Send(RoomListMsg(id))) return false;
        auto list = WaitForReply(*bob, proto::ClientMessage::kRoomList, id, 5s);
        if (!list) return false;
        for (const auto& info : list->room_list().rooms()) {
          if (info.room_id() == "hall" && info.settings().persistent()) return true;
        }
        return false;
      },
      kLong))
      << "B never listed the room registered on A";
  ASSERT_TRUE(bob->Send(JoinMsg("Hall", "", "join")));
  ASSERT_NO_FATAL_FAILURE(
      ExpectRoom(Reply(*bob, "join"), "u-ann", 6, "Welcome to the hall", "bob on B"));

  // Cid is in the room on A. Ann leaves A and, from a session on B, changes the settings
  // and bans cid, who is put out on A.
  auto cid = Connect(node_a_->port(), "cid");
  ASSERT_TRUE(cid);
  ASSERT_TRUE(cid->Send(JoinMsg("Hall", "", "join")));
  ASSERT_TRUE(Reply(*cid, "join").has_room_joined_response());
  ann->Close();
  ann = Connect(node_b_->port(), "ann");
  ASSERT_TRUE(ann);
  ASSERT_TRUE(ann->Send(JoinMsg("Hall", "", "join")));
  ASSERT_TRUE(Reply(*ann, "join").has_room_joined_response());
  ASSERT_TRUE(ann->Send(UpdateMsg(9, "Changed on B", "upd")));
  const proto::ClientMessage updated = Reply(*ann, "upd");
  ASSERT_TRUE(updated.has_room_updated()) << updated.ShortDebugString();
  ASSERT_TRUE(Done(*ann, "/ban cid", "ban"));
  EXPECT_TRUE(WaitMatching(
      *cid,
      [](const proto::ClientMessage& m) {
        return m.has_room_left() && m.room_left().reason() == "banned";
      },
      kLong));
  ann.reset();
  bob.reset();
  cid.reset();

  // Both nodes stop; Redis restarts empty, so only the store can know the room.
  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
  redis_.Stop(SIGKILL);
  ASSERT_TRUE(redis_.Start());
  ASSERT_NO_FATAL_FAILURE(StartSharedNodes());

  // A member on either node joins the room as changed on B; cid is refused on both.
  auto dan = Connect(node_a_->port(), "dan");
  ASSERT_TRUE(dan);
  ASSERT_TRUE(dan->Send(JoinMsg("Hall", "", "join")));
  ASSERT_NO_FATAL_FAILURE(ExpectRoom(Reply(*dan, "join"), "u-ann", 9, "Changed on B", "dan on A"));
  auto eve = Connect(node_b_->port(), "eve");
  ASSERT_TRUE(eve);
  ASSERT_TRUE(eve->Send(JoinMsg("Hall", "", "join")));
  ASSERT_NO_FATAL_FAILURE(ExpectRoom(Reply(*eve, "join"), "u-ann", 9, "Changed on B", "eve on B"));
  ASSERT_NO_FATAL_FAILURE(ExpectBanned(node_a_->port(), "cid", ""));
  ASSERT_NO_FATAL_FAILURE(ExpectBanned(node_b_->port(), "cid", ""));
}

using OwnStoresAcrossNodesTest = NodesTest;

TEST_F(OwnStoresAcrossNodesTest, NodesOnStoresOfTheirOwnWarnAtStart) {
  // The embedded SQLite store per node (the flags' --data): started all the same, with a
  // warning that persistent rooms need one shared store.
  ASSERT_NO_FATAL_FAILURE(StartNodes());
  EXPECT_TRUE(node_a_->WaitForOutput(kNotShared, 5000)) << node_a_->output();
  EXPECT_TRUE(node_b_->WaitForOutput(kNotShared, 5000)) << node_b_->output();
  EXPECT_NE(node_a_->output().find("--database postgres://"), std::string::npos)
      << node_a_->output();
}

// A change made on node B is saved by node A too, once A read it (Room::SaveAfterRead;
// docs/SCALE-OUT.md, "Persistent rooms"): with a store per node A's own store follows the
// change, and A restores it after both nodes restart on an empty Redis.
TEST_F(OwnStoresAcrossNodesTest, AChangeMadeOnTheOtherNodeIsSavedWhereItIsRead) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());
  auto ann = Connect(node_a_->port(), "ann");
  ASSERT_TRUE(ann);
  ASSERT_TRUE(ann->Send(RegisterMsg("Hall", 6, "Welcome to the hall", "", "reg")));
  ASSERT_TRUE(Reply(*ann, "reg").has_room_joined_response());
  // Cid stays in the room on A; ann changes the settings from a session on B.
  auto cid = Connect(node_a_->port(), "cid");
  ASSERT_TRUE(cid);
  ASSERT_TRUE(cid->Send(JoinMsg("Hall", "", "join")));
  ASSERT_TRUE(Reply(*cid, "join").has_room_joined_response());
  ann->Close();
  ann = Connect(node_b_->port(), "ann");
  ASSERT_TRUE(ann);
  ASSERT_TRUE(ann->Send(JoinMsg("Hall", "", "join")));
  ASSERT_TRUE(Reply(*ann, "join").has_room_joined_response());
  ASSERT_TRUE(ann->Send(UpdateMsg(9, "Changed on B", "upd")));
  const proto::ClientMessage updated = Reply(*ann, "upd");
  ASSERT_TRUE(updated.has_room_updated()) << updated.ShortDebugString();

  // A's store (its SQLite file, read beside the running node) gets B's change.
  int saved_max = 0;
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto store = server::store::Store::Open(dir_a_ + "/tutti.db");
        if (!store.ok()) return false;
        auto room = (*store)->LoadRoom("hall");
        proto::RoomSettings settings;
        if (!room.ok() || !settings.ParseFromString(room->settings)) return false;
        saved_max = settings.max_users();
        return saved_max == 9;
      },
      kLong))
      << "A's store still says max_users " << saved_max;
  ann.reset();
  cid.reset();

  // Both nodes stop; Redis restarts empty: A restores the room from its own store.
  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
  redis_.Stop(SIGKILL);
  ASSERT_TRUE(redis_.Start());
  ASSERT_NO_FATAL_FAILURE(StartNodes());
  auto dan = Connect(node_a_->port(), "dan");
  ASSERT_TRUE(dan);
  ASSERT_TRUE(dan->Send(JoinMsg("Hall", "", "join")));
  ASSERT_NO_FATAL_FAILURE(ExpectRoom(Reply(*dan, "join"), "u-ann", 9, "Changed on B", "dan on A"));
}

}  // namespace
}  // namespace tutti::testing
