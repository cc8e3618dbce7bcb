// The live room list over real sockets: subscribers get the full list once, then
// deltas in version order — a room appears, fills, changes its topic and vanishes —
// with no full resend; private rooms never show; unsubscribing stops the deltas.
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

proto::ServerMessage SubscribeMsg(const std::string& rid) {
  proto::ServerMessage m;
  m.mutable_subscribe_room_list();
  m.set_request_id(rid);
  return m;
}

proto::ServerMessage UnsubscribeMsg(const std::string& rid) {
  proto::ServerMessage m;
  m.mutable_unsubscribe_room_list();
  m.set_request_id(rid);
  return m;
}

// Everything one subscriber received of the list, in arrival order.
struct ListLog {
  int full_lists = 0;
  uint64_t list_version = 0;
  std::vector<proto::RoomListDelta> deltas;
};

// Reads until a delta satisfies `want` (true) or the deadline passes (false), logging
// every list message on the way.
bool AwaitDelta(client::Client& c, ListLog& log,
                const std::function<bool(const proto::RoomListDelta&)>& want,
                std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    auto m = c.Next(left);
    if (!m) return false;
    if (m->has_room_list()) {
      ++log.full_lists;
      log.list_version = m->room_list().version();
    }
    if (!m->has_room_list_delta()) continue;
    log.deltas.push_back(m->room_list_delta());
    if (want(m->room_list_delta())) return true;
  }
}

const proto::RoomInfo* Upserted(const proto::RoomListDelta& d, const std::string& id) {
  for (const auto& r : d.upserted()) {
    if (r.room_id() == id) return &r;
  }
  return nullptr;
}

bool Removed(const proto::RoomListDelta& d, const std::string& id) {
  for (const auto& r : d.removed()) {
    if (r == id) return true;
  }
  return false;
}

bool Subscribed(client::Client& c, ListLog& log, const std::string& rid) {
  EXPECT_TRUE(c.Send(SubscribeMsg(rid)));
  auto m = WaitForReply(c, proto::ClientMessage::kRoomList, rid, 5s);
  if (!m) return false;
  ++log.full_lists;
  log.list_version = m->room_list().version();
  return true;
}

TEST(LiveRoomList, TwoSubscribersSeeARoomAppearFillChangeAndVanishInOrder) {
  TestServer ts;
  auto s1 = ts.Connect("watcher1");
  auto s2 = ts.Connect("watcher2");
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(s1 && s2 && alice && bob);
  ListLog log1, log2;
  ASSERT_TRUE(Subscribed(*s1, log1, "sub1"));
  ASSERT_TRUE(Subscribed(*s2, log2, "sub2"));
  EXPECT_EQ(log1.list_version, log2.list_version);

  const std::string id = "live room";
  // Appears, with its creator in it.
  ASSERT_TRUE(alice->Send(CreateMsg("Live Room", proto::PUBLIC, "", 2)));
  ASSERT_TRUE(alice->WaitFor(proto::ClientMessage::kRoomJoinedResponse, 5s));
  auto appeared = [&](const proto::RoomListDelta& d) {
    const proto::RoomInfo* r = Upserted(d, id);
    return r && r->user_count() == 1;
  };
  ASSERT_TRUE(AwaitDelta(*s1, log1, appeared));
  ASSERT_TRUE(AwaitDelta(*s2, log2, appeared));

  // Fills up (2 of 2).
  ASSERT_TRUE(bob->Send(JoinMsg("Live Room")));
  ASSERT_TRUE(bob->WaitFor(proto::ClientMessage::kRoomJoinedResponse, 5s));
  auto filled = [&](const proto::RoomListDelta& d) {
    const proto::RoomInfo* r = Upserted(d, id);
    return r && r->user_count() == 2 && r->settings().max_users() == 2;
  };
  ASSERT_TRUE(AwaitDelta(*s1, log1, filled));
  ASSERT_TRUE(AwaitDelta(*s2, log2, filled));

  // Changes its topic.
  ASSERT_TRUE(alice->Send(ChatMsg("/topic Fugues tonight", "topic")));
  auto topic = [&](const proto::RoomListDelta& d) {
    const proto::RoomInfo* r = Upserted(d, id);
    return r && r->topic() == "Fugues tonight";
  };
  ASSERT_TRUE(AwaitDelta(*s1, log1, topic));
  ASSERT_TRUE(AwaitDelta(*s2, log2, topic));

  // Vanishes when the last one leaves.
  ASSERT_TRUE(bob->Send(LeaveMsg()));
  ASSERT_TRUE(alice->Send(LeaveMsg()));
  auto vanished = [&](const proto::RoomListDelta& d) { return Removed(d, id); };
  ASSERT_TRUE(AwaitDelta(*s1, log1, vanished));
  ASSERT_TRUE(AwaitDelta(*s2, log2, vanished));

  for (const ListLog* log : {&log1, &log2}) {
    EXPECT_EQ(log->full_lists, 1) << "the full list is sent once, then only deltas";
    // A chain: each delta applies to the version the previous message left.
    uint64_t version = log->list_version;
    for (const auto& d : log->deltas) {
      EXPECT_EQ(d.from_version(), version);
      EXPECT_EQ(d.version(), version + 1);
      version = d.version();
    }
  }
  // Both got the very same deltas.
  ASSERT_EQ(log1.deltas.size(), log2.deltas.size());
  for (size_t i = 0; i < log1.deltas.size(); ++i) {
    EXPECT_EQ(log1.deltas[i].SerializeAsString(), log2.deltas[i].SerializeAsString());
  }
}

TEST(LiveRoomList, PrivateRoomsNeverShowAndUnsubscribingStopsTheDeltas) {
  TestServer ts;
  auto s1 = ts.Connect("watcher1");
  auto s2 = ts.Connect("watcher2");
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(s1 && s2 && alice && bob);
  ListLog log1, log2;
  ASSERT_TRUE(Subscribed(*s1, log1, "a"));
  ASSERT_TRUE(Subscribed(*s2, log2, "b"));

  ASSERT_TRUE(alice->Send(CreateMsg("Secret", proto::PRIVATE)));
  ASSERT_TRUE(alice->WaitFor(proto::ClientMessage::kRoomJoinedResponse, 5s));
  ASSERT_TRUE(bob->Send(CreateMsg("Open")));
  ASSERT_TRUE(bob->WaitFor(proto::ClientMessage::kRoomJoinedResponse, 5s));
  auto open = [](const proto::RoomListDelta& d) { return Upserted(d, "open") != nullptr; };
  ASSERT_TRUE(AwaitDelta(*s1, log1, open));
  ASSERT_TRUE(AwaitDelta(*s2, log2, open));

  // A room that turns private leaves the list.
  proto::ServerMessage hide;
  hide.mutable_update_room_command()->set_set_room_type(true);
  hide.mutable_update_room_command()->set_room_type(proto::PRIVATE);
  ASSERT_TRUE(bob->Send(hide));
  auto hidden = [](const proto::RoomListDelta& d) { return Removed(d, "open"); };
  ASSERT_TRUE(AwaitDelta(*s1, log1, hidden));
  for (const auto& d : log1.deltas) {
    EXPECT_EQ(Upserted(d, "secret"), nullptr) << "a private room was listed";
  }

  ASSERT_TRUE(s2->Send(UnsubscribeMsg("bye")));
  auto last = WaitForReply(*s2, proto::ClientMessage::kRoomListDelta, "bye", 5s);
  ASSERT_TRUE(last);
  EXPECT_TRUE(last->room_list_delta().unsubscribed());

  ASSERT_TRUE(alice->Send(CreateMsg("Later")));
  auto later = [](const proto::RoomListDelta& d) { return Upserted(d, "later") != nullptr; };
  ASSERT_TRUE(AwaitDelta(*s1, log1, later));
  // s1 has had it; s2, unsubscribed, gets nothing of the list.
  EXPECT_FALSE(s2->WaitFor(proto::ClientMessage::kRoomListDelta, 1s));

  // Subscribing again starts over with a full list that has the rooms of now.
  ASSERT_TRUE(s2->Send(SubscribeMsg("again")));
  auto full = WaitForReply(*s2, proto::ClientMessage::kRoomList, "again", 5s);
  ASSERT_TRUE(full);
  bool has_later = false;
  for (const auto& r : full->room_list().rooms()) has_later |= r.room_id() == "later";
  EXPECT_TRUE(has_later);
  EXPECT_GE(full->room_list().version(), log1.deltas.back().version());
}

}  // namespace
}  // namespace tutti::testing
