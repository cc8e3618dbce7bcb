// Room events through a real in-process broker (a fake host around it, broker_room_host.h;
// no sockets): sequenced broadcasts reach the fan-out with their positions, droppable ones
// stay out of the stream, the sender's own chat copy shares its line's position, a joiner learns
// where it starts, a closed room's stream is dropped so its next life has a new epoch, and
// a room object opened later on the same stream (another node's) gets the chat lines.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/memory_broker.h"
#include "server/room.h"
#include "tests/server/broker_room_host.h"

namespace tutti::server {
namespace {

using BrokerHost = BrokerRoomHost<InProcessBroker>;

JoinRequest Req(SessionId s, const std::string& user) {
  JoinRequest r;
  r.session = s;
  r.user.set_user_id(user);
  r.user.set_username(user);
  r.user.set_is_member(true);
  return r;
}

proto::RoomSettings Open() {
  proto::RoomSettings s;
  s.set_allow_chat(true);
  s.set_allow_guests(true);
  return s;
}

std::unique_ptr<Room> Make(BrokerHost* host, const ServerConfig* config) {
  return std::make_unique<Room>("jam", "Jam", proto::PUBLIC, Open(), "", "", config, host);
}

TEST(RoomStreamTest, BroadcastsAreSequencedAndDroppablesAreNot) {
  ServerConfig config;
  BrokerHost host;
  auto room = Make(&host, &config);
  // Both on shard 0 (a SessionId's low byte), so each event is fanned out once.
  constexpr SessionId kAnn = 1 << 8, kBob = 2 << 8;
  room->Join(Req(kAnn, "ann"), true);
  room->Join(Req(kBob, "bob"), true);
  room->Chat(kAnn, "hello", proto::USER_MESSAGE, "");
  proto::AvatarCommand move;
  move.set_action(proto::UPDATE_POSITION);
  room->Avatar(kAnn, move);
  room->Chat(kBob, "hi", proto::USER_MESSAGE, "");

  std::vector<uint64_t> offsets;
  std::string epoch;
  int unsequenced = 0;
  for (const auto& f : host.fanned) {
    if (!f.msg.has_stream()) {
      ++unsequenced;
      EXPECT_TRUE(f.msg.has_avatar_command()) << f.msg.ShortDebugString();
      continue;
    }
    if (epoch.empty()) epoch = f.msg.stream().epoch();
    EXPECT_EQ(f.msg.stream().epoch(), epoch);
    offsets.push_back(f.msg.stream().offset());
  }
  EXPECT_EQ(unsequenced, 1);
  // Two joins and two chat lines, numbered 1..4 with nothing skipped.
  EXPECT_EQ(offsets, (std::vector<uint64_t>{1, 2, 3, 4}));
  const StreamLog* log = host.engine().Find("jam");
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->kept_events(), 4u);
}

TEST(RoomStreamTest, AJoinerLearnsItsStartAndTheChattersCopySharesThePosition) {
  ServerConfig config;
  BrokerHost host;
  auto room = Make(&host, &config);
  room->Join(Req(1, "ann"), true);
  room->Chat(1, "one", proto::USER_MESSAGE, "");
  room->Join(Req(2, "bob"), true);
  const proto::ClientMessage& resp = host.direct[2].back();
  ASSERT_TRUE(resp.has_room_joined_response());
  EXPECT_EQ(resp.room_joined_response().stream_position().offset(), 3u);  // ann, line, bob

  room->Chat(2, "mine", proto::USER_MESSAGE, "req-7");
  const proto::ClientMessage& shared = host.fanned.back().msg;
  EXPECT_EQ(host.fanned.back().exclude, 2u);
  const proto::ClientMessage& own = host.direct[2].back();
  EXPECT_EQ(own.request_id(), "req-7");
  EXPECT_EQ(own.room_chat_message().message(), "mine");
  EXPECT_EQ(own.stream().offset(), shared.stream().offset());
  EXPECT_EQ(own.stream().epoch(), shared.stream().epoch());
  EXPECT_EQ(shared.request_id(), "");
}

TEST(RoomStreamTest, AClosedRoomsStreamIsDroppedAndTheNextLifeHasANewEpoch) {
  ServerConfig config;
  BrokerHost host;
  auto room = Make(&host, &config);
  room->Join(Req(1, "ann"), true);
  const StreamPosition first = host.engine().Top("jam");
  EXPECT_EQ(first.offset, 1u);
  room.reset();
  EXPECT_EQ(host.engine().Find("jam"), nullptr);
  auto again = Make(&host, &config);
  again->Join(Req(1, "ann"), true);
  const StreamPosition second = host.engine().Top("jam");
  EXPECT_EQ(second.offset, 1u);
  EXPECT_NE(second.epoch, first.epoch);
}

// Two room objects on one stream, as two nodes' rooms on one Redis stream: the one opened
// later reads the kept lines (Broker::ChatLines), then keeps what it is delivered from
// the other, in the stream's order; a clear ends the kept lines for the next reader.
TEST(RoomStreamTest, ALaterRoomObjectOnTheStreamGetsTheChatLines) {
  ServerConfig config;
  config.chat_history = 3;
  BrokerHost host;
  auto first = Make(&host, &config);
  first->Join(Req(1, "ann"), true);
  for (const char* text : {"one", "two", "three", "four"}) {
    first->Chat(1, text, proto::USER_MESSAGE, "");
  }
  auto lines = [](const proto::ClientMessage& m) {
    std::vector<std::string> out;
    for (const auto& l : m.room_joined_response().chat_history()) out.push_back(l.message());
    return out;
  };
  auto second = Make(&host, &config);
  second->Join(Req(2, "bob"), true);
  ASSERT_TRUE(host.direct[2].back().has_room_joined_response());
  EXPECT_EQ(lines(host.direct[2].back()), (std::vector<std::string>{"two", "three", "four"}));

  first->Chat(1, "five", proto::USER_MESSAGE, "");
  second->Chat(2, "six", proto::USER_MESSAGE, "");
  second->Join(Req(3, "cay"), true);
  EXPECT_EQ(lines(host.direct[3].back()), (std::vector<std::string>{"four", "five", "six"}));
  first->Join(Req(4, "dee"), true);
  EXPECT_EQ(lines(host.direct[4].back()), (std::vector<std::string>{"four", "five", "six"}));

  std::vector<Publication> kept;
  host.engine().ChatLines("jam", [&kept](std::vector<Publication> l) { kept = std::move(l); });
  EXPECT_EQ(kept.size(), 6u);  // the engine's own bound (HistoryLimits::chat_lines) is 50
  PublishRequest clear;
  clear.message.mutable_chat_cleared()->set_room_id("jam");
  clear.chat = ChatMark::kClear;
  host.engine().Publish("jam", std::move(clear), nullptr);
  host.engine().ChatLines("jam", [&kept](std::vector<Publication> l) { kept = std::move(l); });
  EXPECT_TRUE(kept.empty());
  second->Join(Req(5, "eve"), true);
  EXPECT_TRUE(lines(host.direct[5].back()).empty());
}

}  // namespace
}  // namespace tutti::server
