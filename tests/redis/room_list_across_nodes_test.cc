// The live room list across nodes (docs/SCALE-OUT.md, "Room list across nodes"): one
// redis-server and two tutti-server processes (started here on free loopback ports,
// stopped by PID). A subscriber on node B sees the rooms whose members are all on node A
// appear, change their counts and go, a room with members on both nodes once, never a
// private room, and the rooms of a node killed with SIGKILL (or stopped cleanly) go from
// its list. B's one-shot list (GetRoomList) and GetRoomInfo know A's rooms too. A node cut
// off from Redis while the other changes its rooms catches up when its links are back, and
// the room list's reports are counted in the bus's metric. A flood of joins by name of
// rooms nobody has is answered and leaves nothing on the node or in Redis. Every wait is
// bounded by a deadline; nothing depends on how long a step takes.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/redis/outage_members.h"

namespace tutti::testing {
namespace {

using namespace std::chrono_literals;

// One subscriber's copy of the live list: the full list, then every delta applied.
struct ListCopy {
  std::map<std::string, proto::RoomInfo> rooms;
  uint64_t version = 0;
  bool subscribed = false;
  int upserts_of_private = 0;  // upserts of a room that is not listed (never expected)

  void Take(const proto::ClientMessage& m) {
    if (m.has_room_list() && !subscribed) {
      subscribed = true;
      version = m.room_list().version();
      for (const auto& r : m.room_list().rooms()) Upsert(r);
    } else if (m.has_room_list_delta() && subscribed) {
      const proto::RoomListDelta& d = m.room_list_delta();
      EXPECT_EQ(d.from_version(), version) << "a delta skipped or repeated";
      version = d.version();
      for (const auto& r : d.upserted()) Upsert(r);
      for (const auto& id : d.removed()) rooms.erase(id);
    }
  }
  void Upsert(const proto::RoomInfo& r) {
    if (r.room_type() == proto::PRIVATE) ++upserts_of_private;
    rooms[r.room_id()] = r;
  }
  int CountOf(const std::string& id) const {
    auto it = rooms.find(id);
    return it == rooms.end() ? -1 : it->second.user_count();
  }
};

proto::ServerMessage SubscribeMsg(const std::string& rid) {
  proto::ServerMessage m;
  m.mutable_subscribe_room_list();
  m.set_request_id(rid);
  return m;
}

// Subscribes `c` and reads (into `list`) until `done` holds for the copy or the deadline
// passes. Other messages are dropped.
bool Subscribe(client::Client& c, ListCopy& list) {
  if (!c.Send(SubscribeMsg("sub"))) return false;
  auto m = WaitForReply(c, proto::ClientMessage::kRoomList, "sub", 5s);
  if (!m) return false;
  list.Take(*m);
  return list.subscribed;
}

bool Until(client::Client& c, ListCopy& list, const std::function<bool(const ListCopy&)>& done,
           std::chrono::milliseconds timeout = kLong) {
  if (done(list)) return true;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto m = c.Next(200ms);
    if (!m) continue;
    list.Take(*m);
    if (done(list)) return true;
  }
  return false;
}

// How many times a fresh full list from `c`'s node names `id`.
int TimesListed(client::Client& c, const std::string& id, const std::string& rid) {
  if (!c.Send(SubscribeMsg(rid))) return -1;
  auto m = WaitForReply(c, proto::ClientMessage::kRoomList, rid, 5s);
  if (!m) return -1;
  int n = 0;
  for (const auto& r : m->room_list().rooms()) n += r.room_id() == id ? 1 : 0;
  return n;
}

class RoomListAcrossNodesTest : public NodesTest {
 protected:
  // A subscriber on node B (its copy in `list`), then ann on node A in room `room`.
  void WatchFromBAndJoinOnA(std::unique_ptr<client::Client>* watcher, ListCopy* list,
                            std::unique_ptr<client::Client>* ann, const std::string& room) {
    *watcher = Connect(node_b_->port(), "watcher");
    ASSERT_TRUE(*watcher);
    ASSERT_TRUE(Subscribe(**watcher, *list));
    *ann = Connect(node_a_->port(), "ann");
    ASSERT_TRUE(*ann);
    ASSERT_TRUE(JoinRoom(**ann, room));
  }
};

TEST_F(RoomListAcrossNodesTest, ARoomOfTheOtherNodeIsListedCountedAndRemovedLive) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());
  // Ann opens the room on A; nobody is in it on B, so B has no object of it.
  std::unique_ptr<client::Client> watcher, ann;
  ListCopy list;
  ASSERT_NO_FATAL_FAILURE(WatchFromBAndJoinOnA(&watcher, &list, &ann, "Jam"));
  EXPECT_TRUE(Until(*watcher, list, [](const ListCopy& l) { return l.CountOf("jam") == 1; }))
      << "B's subscriber never saw A's room";
  // B's one-shot list and GetRoomInfo know it too (B has no object of it).
  auto other_b = Connect(node_b_->port(), "asker");
  ASSERT_TRUE(other_b);
  ASSERT_TRUE(other_b->Send(RoomListMsg("once")));
  auto once = WaitForReply(*other_b, proto::ClientMessage::kRoomList, "once", 5s);
  ASSERT_TRUE(once);
  ASSERT_EQ(once->room_list().rooms_size(), 1);
  EXPECT_EQ(once->room_list().rooms(0).room_id(), "jam");
  proto::ServerMessage ask;
  ask.mutable_get_room_info()->set_room_name("JAM");
  ask.set_request_id("info");
  ASSERT_TRUE(other_b->Send(ask));
  auto info = WaitForReply(*other_b, proto::ClientMessage::kRoomInfo, "info", 5s);
  ASSERT_TRUE(info) << "GetRoomInfo on B did not find A's room";
  EXPECT_EQ(info->room_info().user_count(), 1);
  // A private room on A is never listed on B.
  auto eve = Connect(node_a_->port(), "eve");
  ASSERT_TRUE(eve);
  ASSERT_TRUE(eve->Send(CreateMsg("Secret", proto::PRIVATE)));
  ASSERT_TRUE(eve->WaitFor(proto::ClientMessage::kRoomJoinedResponse, 10s));

  // A second member on A: the count changes on B.
  auto cay = Connect(node_a_->port(), "cay");
  ASSERT_TRUE(cay);
  ASSERT_TRUE(JoinRoom(*cay, "Jam"));
  EXPECT_TRUE(Until(*watcher, list, [](const ListCopy& l) { return l.CountOf("jam") == 2; }));

  // A member on B too: both nodes have the room and both report it; it is listed once,
  // on both nodes, with every node's members.
  auto bob = Connect(node_b_->port(), "bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(JoinRoom(*bob, "Jam"));
  EXPECT_TRUE(Until(*watcher, list, [](const ListCopy& l) { return l.CountOf("jam") == 3; }));
  auto other = Connect(node_a_->port(), "other");
  ASSERT_TRUE(other);
  int asked = 0;
  EXPECT_TRUE(WaitUntil(
      [&] {
        const std::string rid = "full-" + std::to_string(++asked);
        return TimesListed(*watcher, "jam", rid + "b") == 1 &&
               TimesListed(*other, "jam", rid + "a") == 1;
      },
      kLong));
  // A fresh subscribe starts the copy over.
  list = ListCopy{};
  ASSERT_TRUE(Subscribe(*watcher, list));
  EXPECT_EQ(list.CountOf("jam"), 3);

  // Bob leaves B's object (it closes there): A's report still lists the room.
  ASSERT_TRUE(bob->Send(LeaveMsg()));
  EXPECT_TRUE(Until(*watcher, list, [](const ListCopy& l) { return l.CountOf("jam") == 2; }));
  // The last members leave on A: the room goes from B's list.
  ASSERT_TRUE(cay->Send(LeaveMsg()));
  ASSERT_TRUE(ann->Send(LeaveMsg()));
  EXPECT_TRUE(Until(*watcher, list, [](const ListCopy& l) { return l.CountOf("jam") == -1; }))
      << "the emptied room stayed on B's list";
  EXPECT_EQ(list.rooms.count("secret"), 0u);
  EXPECT_EQ(list.upserts_of_private, 0);

  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

TEST_F(RoomListAcrossNodesTest, AKilledNodesRoomsLeaveTheOtherNodesListWithinTheTtl) {
  // A short presence TTL: a dead node's keys expire within about 2 s.
  ASSERT_NO_FATAL_FAILURE(StartNodes({"--redis_presence_ttl_ms", "1500"}));
  std::unique_ptr<client::Client> watcher, ann;
  ListCopy list;
  ASSERT_NO_FATAL_FAILURE(WatchFromBAndJoinOnA(&watcher, &list, &ann, "Solo"));
  auto bob = Connect(node_b_->port(), "bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(JoinRoom(*bob, "Shared"));
  auto cay = Connect(node_a_->port(), "cay");
  ASSERT_TRUE(cay);
  ASSERT_TRUE(JoinRoom(*cay, "Shared"));
  ASSERT_TRUE(Until(*watcher, list, [](const ListCopy& l) {
    return l.CountOf("solo") == 1 && l.CountOf("shared") == 2;
  }));

  const int killed = node_a_->Stop(SIGKILL, 10000);
  ASSERT_TRUE(WIFSIGNALED(killed) && WTERMSIG(killed) == SIGKILL) << "node A was not killed";

  // A's keys expire: its room goes from B's list; the shared room stays, with B's member
  // only once cay's presence expired too.
  EXPECT_TRUE(
      Until(*watcher, list,
            [](const ListCopy& l) { return l.CountOf("solo") == -1 && l.CountOf("shared") == 1; }))
      << "solo: " << list.CountOf("solo") << ", shared: " << list.CountOf("shared");
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

TEST_F(RoomListAcrossNodesTest, ACleanlyStoppedNodesRoomsGoAtOnce) {
  // A TTL far above the wait: only the farewell can take A's room off B's list.
  ASSERT_NO_FATAL_FAILURE(StartNodes({"--redis_presence_ttl_ms", "120000"}));
  std::unique_ptr<client::Client> watcher, ann;
  ListCopy list;
  ASSERT_NO_FATAL_FAILURE(WatchFromBAndJoinOnA(&watcher, &list, &ann, "Solo"));
  ASSERT_TRUE(Until(*watcher, list, [](const ListCopy& l) { return l.CountOf("solo") == 1; }));
  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_TRUE(Until(
      *watcher, list, [](const ListCopy& l) { return l.CountOf("solo") == -1; }, 20s))
      << "the stopped node's room stayed on B's list";
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

// A player on node B joins by name (as the web page's Join button does) a room that B
// lists but whose members are all on node A: B opens an object of it, which reads what is
// kept, and the join goes on as a join there (a password asked and checked). A join of a
// room no node has answers NOT_FOUND, and leaves nothing behind on B.
TEST_F(RoomListAcrossNodesTest, AJoinByNameOnTheOtherNodeFindsARoomWhoseMembersAreAllOnOne) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());
  std::unique_ptr<client::Client> watcher, ann;
  ListCopy list;
  ASSERT_NO_FATAL_FAILURE(WatchFromBAndJoinOnA(&watcher, &list, &ann, "Solo"));
  auto eve = Connect(node_a_->port(), "eve");
  ASSERT_TRUE(eve);
  ASSERT_TRUE(eve->Send(CreateMsg("Vault", proto::PUBLIC, "pw")));
  ASSERT_TRUE(eve->WaitFor(proto::ClientMessage::kRoomJoinedResponse, 10s));
  ASSERT_TRUE(Until(*watcher, list, [](const ListCopy& l) {
    return l.CountOf("solo") == 1 && l.CountOf("vault") == 1;
  }));

  auto bob = Connect(node_b_->port(), "bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(bob->Send(JoinMsg("Solo", "", "j1")));
  auto joined = WaitForReply(*bob, proto::ClientMessage::kRoomJoinedResponse, "j1", kLong);
  ASSERT_TRUE(joined) << "bob's join of A's room by name was not answered with the room";
  std::set<std::string> users;
  for (const auto& u : joined->room_joined_response().current_users()) users.insert(u.user_id());
  EXPECT_EQ(users, (std::set<std::string>{"u-ann", "u-bob"}));
  EXPECT_EQ(joined->room_joined_response().room_info().owner_id(), "u-ann");
  EXPECT_TRUE(SawJoin(*ann, "u-bob"));

  auto cay = Connect(node_b_->port(), "cay");
  ASSERT_TRUE(cay);
  ASSERT_TRUE(cay->Send(JoinMsg("Vault", "", "j2")));
  auto asked = WaitForReply(*cay, proto::ClientMessage::kErrorMessage, "j2", kLong);
  ASSERT_TRUE(asked);
  EXPECT_EQ(asked->error_message().code(), proto::WRONG_PASSWORD);
  ASSERT_TRUE(cay->Send(JoinMsg("Vault", "pw", "j3")));
  auto in = WaitForReply(*cay, proto::ClientMessage::kRoomJoinedResponse, "j3", kLong);
  ASSERT_TRUE(in) << "cay's join with the password was not answered with the room";
  EXPECT_EQ(in->room_joined_response().room_info().owner_id(), "u-eve");

  auto dan = Connect(node_b_->port(), "dan");
  ASSERT_TRUE(dan);
  ASSERT_TRUE(dan->Send(JoinMsg("Nowhere", "", "j4")));
  auto none = WaitForReply(*dan, proto::ClientMessage::kErrorMessage, "j4", kLong);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->error_message().code(), proto::NOT_FOUND);
  // Nothing was left of it: B's list never showed it, and a join again answers the same.
  ASSERT_TRUE(dan->Send(JoinMsg("Nowhere", "", "j5")));
  auto again = WaitForReply(*dan, proto::ClientMessage::kErrorMessage, "j5", kLong);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->error_message().code(), proto::NOT_FOUND);
  EXPECT_EQ(list.rooms.count("nowhere"), 0u);
  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

// A join by name on node B opens an object there that reads what is kept before it knows
// whether any node has the room. Redis holds those reads back (CLIENT PAUSE WRITE: the
// presence read is a script), and meanwhile eve creates that name on B (private, for 7).
// Her create must wait for the reads and then create the room she asked for. Before, it
// found the placeholder object and was refused (`ALREADY_EXISTS` for a room no node had);
// a create-or-join joined it, with default settings. With one shard her messages are
// handled in order, so the answer to her next one says the create reached the room's
// shard while the reads were out.
TEST_F(RoomListAcrossNodesTest, ACreateWhileAJoinByNameLooksForTheRoomCreatesIt) {
  ASSERT_NO_FATAL_FAILURE(StartNodes({"--shards", "1"}));
  auto dan = Connect(node_b_->port(), "dan");
  auto eve = Connect(node_b_->port(), "eve");
  ASSERT_TRUE(dan && eve);
  RedisProbe probe(redis_.port());
  ASSERT_EQ(probe.Ask({"CLIENT", "PAUSE", "30000", "WRITE"}), "OK");
  ASSERT_TRUE(dan->Send(JoinMsg("Quiet", "", "j1")));
  ASSERT_TRUE(WaitNodesSubscribed("quiet", 1)) << "no object on B looked for the room";
  // No password: a password is hashed on another thread first, and her create would
  // reach the room's shard only after that.
  ASSERT_TRUE(eve->Send(CreateMsg("Quiet", proto::PRIVATE, "", 7, "c1")));
  ASSERT_TRUE(eve->Send(ChatMsg("anyone?", "c2")));
  std::optional<proto::ClientMessage> early;
  for (;;) {
    auto m = eve->Next(kLong);
    ASSERT_TRUE(m) << "eve's chat was not answered";
    if (m->request_id() == "c1") early = *m;
    if (m->request_id() == "c2") break;
  }
  ASSERT_EQ(probe.Ask({"CLIENT", "UNPAUSE"}), "OK");
  EXPECT_FALSE(early) << "eve's create was answered while the room was looked for: "
                      << early->ShortDebugString();
  auto none = WaitForReply(*dan, proto::ClientMessage::kErrorMessage, "j1", kLong);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->error_message().code(), proto::NOT_FOUND);
  auto created =
      early ? early : WaitForReply(*eve, proto::ClientMessage::kRoomJoinedResponse, "c1", kLong);
  ASSERT_TRUE(created && created->has_room_joined_response()) << "eve's create failed";
  const proto::RoomInfo& info = created->room_joined_response().room_info();
  EXPECT_EQ(info.room_type(), proto::PRIVATE);
  EXPECT_EQ(info.settings().max_users(), 7);
  EXPECT_EQ(info.owner_id(), "u-eve");
  // The room she asked for is the room on the other node too.
  auto cay = Connect(node_a_->port(), "cay");
  ASSERT_TRUE(cay);
  ASSERT_TRUE(cay->Send(JoinMsg("Quiet", "", "j2")));
  auto there = WaitForReply(*cay, proto::ClientMessage::kRoomJoinedResponse, "j2", kLong);
  ASSERT_TRUE(there) << "cay could not join eve's room from node A";
  EXPECT_EQ(there->room_joined_response().room_info().room_type(), proto::PRIVATE);
  EXPECT_EQ(there->room_joined_response().room_info().owner_id(), "u-eve");
  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

// Joins by name of rooms no node has, fired at once by several clients on node B: each
// that passes the door's join limits opens a placeholder object on B that reads what is
// kept before it can say NOT_FOUND. Every request is answered with a typed error
// (NOT_FOUND; RATE_LIMITED past a client's join budget; WRONG_STATE while its previous
// join is out), no placeholder stays (B's room gauge goes back to zero), nothing is
// written to Redis for those names, and B still serves the room that lives on A.
TEST_F(RoomListAcrossNodesTest, AFloodOfJoinsByNameOfRoomsNobodyHasLeavesNothingBehind) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());
  auto ann = Connect(node_a_->port(), "ann");
  ASSERT_TRUE(ann);
  ASSERT_TRUE(JoinRoom(*ann, "Jam"));
  constexpr int kClients = 8;
  constexpr int kJoins = 12;  // past the join burst (5) of the default limits
  std::vector<std::unique_ptr<client::Client>> flood;
  for (int c = 0; c < kClients; ++c) {
    flood.push_back(Connect(node_b_->port(), "ghost" + std::to_string(c)));
    ASSERT_TRUE(flood.back());
  }
  for (int c = 0; c < kClients; ++c) {
    for (int j = 0; j < kJoins; ++j) {
      const std::string n = std::to_string(c) + "x" + std::to_string(j);
      ASSERT_TRUE(flood[c]->Send(JoinMsg("Ghost" + n, "", "g" + n)));
    }
  }
  std::map<proto::ErrorCode, int> answers;
  for (int c = 0; c < kClients; ++c) {
    std::set<std::string> answered;
    const auto deadline = std::chrono::steady_clock::now() + kLong;
    while (static_cast<int>(answered.size()) < kJoins &&
           std::chrono::steady_clock::now() < deadline) {
      auto m = flood[c]->Next(200ms);
      if (!m || m->request_id().empty()) continue;
      EXPECT_TRUE(m->has_error_message()) << m->ShortDebugString();
      if (m->has_error_message()) ++answers[m->error_message().code()];
      answered.insert(m->request_id());
    }
    EXPECT_EQ(static_cast<int>(answered.size()), kJoins) << "client " << c << " left waiting";
  }
  EXPECT_GT(answers[proto::NOT_FOUND], 0);
  EXPECT_EQ(answers[proto::NOT_FOUND] + answers[proto::RATE_LIMITED] + answers[proto::WRONG_STATE],
            kClients * kJoins);
  // No placeholder object stays on B.
  const uint16_t admin_b = AdminPort(*node_b_);
  ASSERT_NE(admin_b, 0);
  double rooms = -1;
  const auto deadline = std::chrono::steady_clock::now() + kLong;
  while (std::chrono::steady_clock::now() < deadline) {
    rooms = Sample(AdminGet(admin_b, "/metrics").second, "tutti_rooms");
    if (rooms == 0) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(rooms, 0) << "placeholder objects stayed on node B";
  EXPECT_TRUE(WaitRedisReply({"KEYS", "tutti:{ghost*"}, [](const redisReply* r) {
    return r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements == 0;
  })) << "a join of a room nobody has wrote to Redis";
  // B still serves the room that lives on A.
  auto bob = Connect(node_b_->port(), "bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(JoinRoom(*bob, "Jam"));
  ASSERT_TRUE(SawJoin(*ann, "u-bob"));
  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

// Node B's links to Redis are cut and cannot come back for a while (Redis takes no new
// connections), so B hears none of A's reports: A's room closes and another opens there.
// Once B's links are back, its list has both changes: the refresh that a bus coming up
// makes reads every node's rooms. The TTL is far above the test (the next periodic
// refresh would come 200 s later), so only that refresh can bring them. And A counts the
// room list's reports among the messages it put on the bus: a topic change, which no
// user's presence shows, moves the count.
TEST_F(RoomListAcrossNodesTest, ANodeCutOffFromRedisCatchesUpWithTheOtherNodesRooms) {
  ASSERT_NO_FATAL_FAILURE(StartNodes({"--redis_presence_ttl_ms", "600000", "--shards", "1"}));
  std::unique_ptr<client::Client> watcher, ann;
  ListCopy list;
  ASSERT_NO_FATAL_FAILURE(WatchFromBAndJoinOnA(&watcher, &list, &ann, "Solo"));
  ASSERT_TRUE(Until(*watcher, list, [](const ListCopy& l) { return l.CountOf("solo") == 1; }));

  const uint16_t admin_a = AdminPort(*node_a_);
  ASSERT_NE(admin_a, 0);
  auto published = [&] {
    const std::string page = AdminGet(admin_a, "/metrics").second;
    return Sample(page, "tutti_node_bus_messages_published_total");
  };
  const double before = published();
  ASSERT_TRUE(ann->Send(ChatMsg("/topic late night jam", "topic")));
  ASSERT_TRUE(Until(*watcher, list, [](const ListCopy& l) {
    auto it = l.rooms.find("solo");
    return it != l.rooms.end() && it->second.topic() == "late night jam";
  })) << "B's list never showed the new topic";
  EXPECT_GT(published(), before) << "the room list's report was not counted";

  RedisProbe probe(redis_.port());
  const std::vector<std::string> links = LinksOf(probe, node_b_->pid(), redis_.port(), "");
  ASSERT_GE(links.size(), 2u) << "node B's links to Redis not found";
  ASSERT_EQ(probe.Ask({"CONFIG", "SET", "port", "0"}), "OK");  // no new connections
  // A link killed first may take another of B's with it (the bus drops its channel link
  // when its command link goes): "0" for that one.
  for (const std::string& id : links) probe.Ask({"CLIENT", "KILL", "ID", id});
  ASSERT_TRUE(LinksOf(probe, node_b_->pid(), redis_.port(), "").empty());
  // B's clients are told (the watcher's list is read on, so no delta is dropped).
  bool told = false;
  const auto deadline = std::chrono::steady_clock::now() + kLong;
  while (!told && std::chrono::steady_clock::now() < deadline) {
    auto m = watcher->Next(200ms);
    if (!m) continue;
    told = IsNotice(*m, proto::ServerNotice::STREAMS_UNAVAILABLE);
    list.Take(*m);
  }
  ASSERT_TRUE(told) << "node B did not notice it was cut off";

  // On A, Solo closes and Later opens; B hears neither.
  ASSERT_TRUE(ann->Send(LeaveMsg()));
  auto cay = Connect(node_a_->port(), "cay");
  ASSERT_TRUE(cay);
  ASSERT_TRUE(JoinRoom(*cay, "Later"));
  // A's report of the change is in Redis before B may come back.
  const std::string a_lists = R"lua(
local n = 0
for _, k in ipairs(redis.call('KEYS', 'tutti:{nodebus}:rooms:*')) do
  n = n + redis.call('HEXISTS', k, ARGV[1])
end
return n)lua";
  ASSERT_TRUE(WaitUntil(
      [&] {
        return probe.Ask({"EVAL", a_lists, "0", "later"}) == "1" &&
               probe.Ask({"EVAL", a_lists, "0", "solo"}) == "0";
      },
      kLong))
      << "A's rooms never reached Redis";
  EXPECT_EQ(list.CountOf("solo"), 1) << "B heard A while cut off";
  EXPECT_EQ(list.CountOf("later"), -1) << "B heard A while cut off";

  ASSERT_EQ(probe.Ask({"CONFIG", "SET", "port", std::to_string(redis_.port())}), "OK");
  EXPECT_TRUE(
      Until(*watcher, list,
            [](const ListCopy& l) { return l.CountOf("solo") == -1 && l.CountOf("later") == 1; }))
      << "solo: " << list.CountOf("solo") << ", later: " << list.CountOf("later");
  EXPECT_EQ(list.upserts_of_private, 0);
  EXPECT_EQ(node_a_->Stop(SIGTERM, 10000), 0);
  EXPECT_EQ(node_b_->Stop(SIGTERM, 10000), 0);
}

}  // namespace
}  // namespace tutti::testing
