// A member resuming from another node into a room that has no object on this node
// (docs/SCALE-OUT.md, "Resume on another node"): the shard opens a placeholder object
// (Shard::OpenToAdopt, Room::MarkProbe) whose resume waits for the opening reads. When
// the room is kept, the member comes back into it as kept (owner, settings); when
// nothing is kept, the answer is "room closed" and the object goes. Driven without
// Redis: a real in-process engine behind SpanningBroker holding the state read.
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "server/envelope.h"
#include "server/room.h"
#include "tests/server/broker_room_host.h"
#include "tests/server/spanning_broker.h"

namespace tutti::server {
namespace {

using Host = BrokerRoomHost<SpanningBroker>;

constexpr SessionId kBob = 7 << 8;
constexpr SessionId kBobBefore = 5 << 8;  // bob's session on the node that died

std::unique_ptr<Room> Placeholder(Host* host, const ServerConfig* config) {
  auto room = std::make_unique<Room>("jam", "jam", proto::PUBLIC, proto::RoomSettings(), "", "",
                                     config, host);
  room->MarkProbe();
  return room;
}

TEST(RoomAdoptNodesTest, AResumeIntoAKeptRoomWaitsForTheReadsAndTakesTheRoomAsKept) {
  ServerConfig config;
  Host host;
  proto::RoomInfo info;
  info.set_room_id("jam");
  info.set_room_name("Jam");
  info.set_room_type(proto::PUBLIC);
  info.set_topic("late set");
  info.mutable_settings()->set_max_users(9);
  KeptRoomState kept;
  kept.found = true;
  kept.owner = "ann";
  kept.room = info.SerializeAsString();
  kept.version = 4;
  host.engine().state = kept;
  host.engine().hold_state = true;
  auto room = Placeholder(&host, &config);
  room->AdoptResumed(MemberJoin(kBob, "bob"), kBobBefore, {});
  EXPECT_FALSE(room->IsMember(kBob)) << "admitted before the room was read";
  EXPECT_TRUE(host.direct[kBob].empty());
  host.engine().AnswerState();
  // Nobody of the room is on another node now (all were on the dead one): the resume
  // still finds the room as kept, not a new one with bob as its owner.
  EXPECT_TRUE(room->IsMember(kBob));
  EXPECT_EQ(room->owner_id(), "ann");
  EXPECT_EQ(room->Info().topic(), "late set");
  EXPECT_EQ(room->Info().settings().max_users(), 9);
  EXPECT_TRUE(host.emptied.empty());
}

TEST(RoomAdoptNodesTest, AResumeIntoARoomNothingKeepsIsRoomClosed) {
  ServerConfig config;
  Host host;
  host.engine().hold_state = true;  // and nothing kept: state.found is false
  auto room = Placeholder(&host, &config);
  room->AdoptResumed(MemberJoin(kBob, "bob"), kBobBefore, {});
  EXPECT_TRUE(host.direct[kBob].empty());
  host.engine().AnswerState();
  EXPECT_FALSE(room->IsMember(kBob));
  ASSERT_EQ(host.direct[kBob].size(), 1u);
  const proto::ResumeResult& r = host.direct[kBob][0].resume_result();
  EXPECT_EQ(r.outcome(), proto::RESUME_UNRECOVERABLE);
  EXPECT_EQ(r.reason(), "room closed");
  EXPECT_EQ(host.emptied, std::vector<std::string>{"jam"});
}

}  // namespace
}  // namespace tutti::server
