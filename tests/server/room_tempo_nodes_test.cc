// A room's tempo kept with its state across nodes (docs/SCALE-OUT.md, "Owner, settings and
// moderators across nodes"), driven without Redis: a real in-process engine behind
// SpanningBroker, which writes what the publish script writes to the kept state and answers
// its reads when the test says. A tempo change is handed to the engine with its event as
// the tempo to keep; a room object that opens while the room lives on another node shows
// the kept tempo before its first join is answered (unless a tempo event delivered while
// the read was out is newer), and so does one a member resumes into from a node that died,
// but never a grid no node could have set; a new life of the room starts at the default,
// and its open drops the old life's tempo.
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "server/envelope.h"
#include "server/moderation/command_parser.h"
#include "server/room.h"
#include "tests/server/broker_room_host.h"
#include "tests/server/spanning_broker.h"

namespace tutti::server {
namespace {

using Host = BrokerRoomHost<SpanningBroker>;

constexpr SessionId kAnn = 1 << 8;
constexpr SessionId kBob = 7 << 8;
constexpr SessionId kZed = 13 << 8;  // another node's member

std::unique_ptr<Room> Make(Host* host, const ServerConfig* config, const std::string& owner) {
  proto::RoomSettings settings;
  settings.set_allow_chat(true);
  settings.set_max_users(10);
  return std::make_unique<Room>("jam", "Jam", proto::PUBLIC, settings, "", owner, config, host);
}

// The room as another node keeps it (owned by zed), with `tempo` ("" none).
KeptRoomState Kept(const std::string& tempo) {
  proto::RoomInfo info;
  info.set_room_id("jam");
  info.set_room_name("Jam");
  info.set_room_type(proto::PUBLIC);
  info.mutable_settings()->set_allow_chat(true);
  info.mutable_settings()->set_max_users(10);
  KeptRoomState k;
  k.found = true;
  k.owner = "zed";
  k.room = info.SerializeAsString();
  k.version = 5;
  k.settings_version = 1;
  k.tempo = tempo;
  return k;
}

// A grid set by zed on another node: `bpm`, 3/4, running from `anchor_us`.
proto::TempoState ZedsTempo(double bpm, int64_t anchor_us) {
  proto::TempoState t;
  t.set_room_id("jam");
  t.set_bpm(bpm);
  t.set_beats_per_bar(3);
  t.set_beat_unit(4);
  t.set_running(true);
  t.set_anchor_server_time(anchor_us);
  t.set_anchor_beat(0);
  t.set_changed_by_user_id("zed");
  t.set_changed_by_username("zed");
  t.set_changed_server_time(anchor_us - 500'000);
  t.set_changed_unix_ms(1'700'000'000'000);
  return t;
}

PresenceEntry Elsewhere() { return MemberOn("nodeA", kZed, "zed"); }

const proto::RoomJoinedResponse* Joined(Host& host, SessionId s) {
  for (const auto& m : host.direct[s]) {
    if (m.has_room_joined_response()) return &m.room_joined_response();
  }
  return nullptr;
}

TEST(RoomTempoNodesTest, ARoomOpeningWhereTheRoomLivesShowsTheKeptTempoToItsFirstJoiner) {
  ServerConfig config;
  Host host;
  const proto::TempoState zeds = ZedsTempo(100, host.NowUs() + 500'000);
  host.engine().state = Kept(zeds.SerializeAsString());
  host.engine().others = {Elsewhere()};
  host.engine().hold_state = true;
  auto room = Make(&host, &config, "");
  room->Join(MemberJoin(kBob, "bob"), true);
  EXPECT_FALSE(room->IsMember(kBob)) << "the first join did not wait for the read";
  host.engine().AnswerState();
  ASSERT_TRUE(room->IsMember(kBob));
  // Before, the room here showed 120, 4/4, stopped until the next change.
  const proto::RoomJoinedResponse* joined = Joined(host, kBob);
  ASSERT_NE(joined, nullptr);
  const proto::TempoState& shown = joined->room_info().tempo();
  EXPECT_EQ(shown.bpm(), 100);
  EXPECT_EQ(shown.beats_per_bar(), 3u);
  EXPECT_TRUE(shown.running());
  EXPECT_EQ(shown.anchor_server_time(), zeds.anchor_server_time());
  EXPECT_EQ(shown.changed_by_user_id(), "zed");
  EXPECT_EQ(shown.changed_server_time(), zeds.changed_server_time());
  EXPECT_EQ(shown.changed_unix_ms(), zeds.changed_unix_ms());
  EXPECT_EQ(room->Info().tempo().bpm(), 100);
}

// A member resuming from a node that died into a room with no object here (nobody of the
// room on another node now): the room is taken as kept, its tempo too.
TEST(RoomTempoNodesTest, AResumeIntoARoomWithNoObjectHereFindsTheKeptTempo) {
  ServerConfig config;
  Host host;
  host.engine().state = Kept(ZedsTempo(100, host.NowUs()).SerializeAsString());
  host.engine().hold_state = true;
  auto room = std::make_unique<Room>("jam", "jam", proto::PUBLIC, proto::RoomSettings(), "", "",
                                     &config, &host);
  room->MarkProbe();
  room->AdoptResumed(MemberJoin(kBob, "bob"), /*previous=*/5 << 8, {});
  host.engine().AnswerState();
  ASSERT_TRUE(room->IsMember(kBob));
  EXPECT_EQ(room->Info().tempo().bpm(), 100);
  EXPECT_TRUE(room->Info().tempo().running());
  EXPECT_EQ(room->Info().tempo().changed_by_user_id(), "zed");
}

TEST(RoomTempoNodesTest, AKeptGridNoNodeCouldHaveSetIsNotTaken) {
  ServerConfig config;
  Host host;
  host.engine().state = Kept(ZedsTempo(5000, host.NowUs()).SerializeAsString());
  host.engine().others = {Elsewhere()};
  auto room = Make(&host, &config, "");
  room->Join(MemberJoin(kBob, "bob"), true);
  ASSERT_TRUE(room->IsMember(kBob));
  EXPECT_EQ(room->owner_id(), "zed") << "the rest of the kept state was not taken";
  EXPECT_EQ(room->Info().tempo().bpm(), 120);
  EXPECT_FALSE(room->Info().tempo().running());
}

TEST(RoomTempoNodesTest, ATempoDeliveredWhileTheOpeningReadIsOutWinsOverTheRead) {
  ServerConfig config;
  Host host;
  host.engine().state = Kept(ZedsTempo(100, host.NowUs()).SerializeAsString());
  host.engine().others = {Elsewhere()};
  host.engine().hold_state = true;
  auto room = Make(&host, &config, "");
  room->Join(MemberJoin(kBob, "bob"), true);
  // Sequenced after Redis answered the read, delivered before its answer is here.
  proto::ClientMessage later;
  *later.mutable_tempo_state() = ZedsTempo(80, host.NowUs());
  FromNode(*room, later, "nodeA");
  host.engine().AnswerState();
  ASSERT_TRUE(room->IsMember(kBob));
  EXPECT_EQ(room->Info().tempo().bpm(), 80) << "the read's older tempo replaced the event's";
}

TEST(RoomTempoNodesTest, ATempoChangeIsKeptWithItsEventAndANewLifeStartsAtTheDefault) {
  ServerConfig config;
  Host host;
  SpanningBroker& e = host.engine();
  e.check_versions = true;
  e.state = Kept("");
  e.state.owner = "ann";
  auto room = Make(&host, &config, "ann");
  e.others = {Elsewhere()};  // the room lives: this object takes it as kept
  room->Join(MemberJoin(kAnn, "ann"), true);
  ASSERT_TRUE(room->IsMember(kAnn));
  auto cmd = moderation::ParseCommand("/tempo 100 start");
  ASSERT_TRUE(cmd.ok());
  room->Command(kAnn, *cmd, "t");
  ASSERT_FALSE(e.states.empty());
  const RoomStateChange& change = e.states.back();
  EXPECT_EQ(change.kind, RoomStateChange::Kind::kTempo);
  EXPECT_EQ(change.check, RoomStateChange::Check::kModerator);
  EXPECT_EQ(change.actor, "ann");
  // What is kept is the TempoState the room shows, who set it and when.
  proto::TempoState kept;
  ASSERT_TRUE(kept.ParseFromString(change.tempo));
  EXPECT_EQ(kept.bpm(), 100);
  EXPECT_TRUE(kept.running());
  EXPECT_EQ(kept.changed_by_user_id(), "ann");
  EXPECT_EQ(kept.anchor_server_time(), room->Info().tempo().anchor_server_time());
  EXPECT_EQ(kept.changed_unix_ms(), room->Info().tempo().changed_unix_ms());
  EXPECT_EQ(e.state.tempo, change.tempo);

  // Everybody left everywhere; a new object of the room opens here with nobody elsewhere:
  // a new life, at the default tempo, and its first join's open drops the kept one.
  room.reset();
  e.others.clear();
  e.states.clear();
  Host again;
  again.engine().check_versions = true;
  again.engine().state = e.state;
  auto reborn = Make(&again, &config, "bob");
  reborn->Join(MemberJoin(kBob, "bob", /*opened=*/true), true);
  ASSERT_TRUE(reborn->IsMember(kBob));
  EXPECT_EQ(reborn->Info().tempo().bpm(), 120);
  EXPECT_FALSE(reborn->Info().tempo().running());
  ASSERT_FALSE(again.engine().states.empty());
  EXPECT_EQ(again.engine().states.front().kind, RoomStateChange::Kind::kOpen);
  EXPECT_TRUE(again.engine().state.tempo.empty()) << "the old life's tempo is still kept";
  // Read back after the open: still the default.
  EXPECT_EQ(reborn->Info().tempo().bpm(), 120);
}

}  // namespace
}  // namespace tutti::server
