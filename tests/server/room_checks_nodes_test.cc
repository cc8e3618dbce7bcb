// Room commands checked against the kept roles across nodes (docs/SCALE-OUT.md, "Owner,
// settings and moderators across nodes"), driven without Redis: a real in-process engine
// behind SpanningBroker, which holds a change with a precondition until the test answers
// it as the publish script would. A moderator's /ban goes out with "the actor outranks the
// target" and changes nothing here until it is sequenced; refused (the moderator was
// removed on another node first) it is a PERMISSION_DENIED, nothing of it happens, and the
// room takes the kept roles. /topic, /mod and /owner carry their own checks, and so do
// /clear, tempo changes and /perform; server staff carry none.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/envelope.h"
#include "server/moderation/command_parser.h"
#include "server/room.h"
#include "tests/server/broker_room_host.h"
#include "tests/server/spanning_broker.h"

namespace tutti::server {
namespace {

using Host = BrokerRoomHost<SpanningBroker>;
using Check = RoomStateChange::Check;

constexpr SessionId kAnn = 1 << 8;
constexpr SessionId kMo = 7 << 8;
constexpr SessionId kBob = 11 << 8;
constexpr SessionId kAdm = 13 << 8;

moderation::ParsedCommand Cmd(const std::string& line) {
  auto parsed = moderation::ParseCommand(line);
  EXPECT_TRUE(parsed.ok()) << line;
  return parsed.ok() ? *parsed : moderation::ParsedCommand();
}

// ann's room here with ann (owner), mo (made a moderator here) and bob; the engine then
// holds every change with a precondition.
struct Jam {
  Jam() {
    proto::RoomSettings settings;
    settings.set_allow_chat(true);
    settings.set_max_users(10);
    room = std::make_unique<Room>("jam", "Jam", proto::PUBLIC, settings, "", "ann", &config, &host);
    room->Join(MemberJoin(kAnn, "ann", /*opened=*/true), true);
    room->Join(MemberJoin(kMo, "mo"), true);
    room->Join(MemberJoin(kBob, "bob"), true);
    room->Command(kAnn, Cmd("/mod mo"), "m");
    host.engine().hold_checked = true;
    host.engine().states.clear();
    host.direct.clear();
    host.fanned.clear();
  }
  // What the script keeps now: ann's room, with `moderators` and `topic`.
  void Keep(std::vector<std::string> moderators, const std::string& topic = "") {
    proto::RoomInfo info;
    info.set_room_id("jam");
    info.set_room_name("Jam");
    info.set_room_type(proto::PUBLIC);
    info.mutable_settings()->set_allow_chat(true);
    info.mutable_settings()->set_max_users(10);
    info.set_topic(topic);
    KeptRoomState k;
    k.found = true;
    k.owner = "ann";
    k.room = info.SerializeAsString();
    k.version = 9;
    k.moderators = std::move(moderators);
    host.engine().state = k;
  }
  const proto::ClientMessage* Answer(SessionId s) {
    return host.direct[s].empty() ? nullptr : &host.direct[s].back();
  }
  ServerConfig config;
  Host host;
  std::unique_ptr<Room> room;
};

TEST(RoomChecksNodesTest, AModeratorsBanWaitsForTheScriptAndAppliesOnceSequenced) {
  Jam jam;
  jam.room->Command(kMo, Cmd("/ban bob too loud"), "b");
  // Handed to the engine with "mo outranks bob", and nothing has happened yet.
  ASSERT_EQ(jam.host.engine().held_checked.size(), 1u);
  const PublishRequest& req = jam.host.engine().held_checked[0].req;
  ASSERT_TRUE(req.state && req.penalty);
  // A ban also ends the target's appointment in the kept state (none here: bob has none).
  EXPECT_EQ(req.state->kind, RoomStateChange::Kind::kRemoveModerator);
  EXPECT_EQ(req.state->check, Check::kOutranks);
  EXPECT_EQ(req.state->actor, "mo");
  EXPECT_EQ(req.state->user, "bob");
  EXPECT_EQ(req.penalty->penalty.user_id, "bob");
  EXPECT_TRUE(req.message.has_moderation_notice());
  EXPECT_TRUE(jam.room->IsMember(kBob));
  EXPECT_EQ(jam.Answer(kMo), nullptr) << "answered before the script";

  jam.host.engine().ReleaseChecked(/*refuse=*/false);
  EXPECT_FALSE(jam.room->IsMember(kBob));
  ASSERT_NE(jam.Answer(kBob), nullptr);
  EXPECT_TRUE(jam.Answer(kBob)->has_room_left());
  // Answered now (this host refuses storage, so the audit record is not saved).
  ASSERT_NE(jam.Answer(kMo), nullptr);
  EXPECT_EQ(jam.Answer(kMo)->error_message().error_message(), "applied but not saved");
  // Banned here too: bob's return is refused.
  jam.room->Join(MemberJoin(kBob, "bob"), true);
  EXPECT_FALSE(jam.room->IsMember(kBob));
}

TEST(RoomChecksNodesTest, ABanRefusedByTheScriptIsAnErrorAndTheRoomTakesTheKeptRoles) {
  Jam jam;
  jam.Keep({});  // ann removed mo on another node first
  const int reads = jam.host.engine().state_reads;
  jam.room->Command(kMo, Cmd("/ban bob"), "b");
  jam.host.engine().ReleaseChecked(/*refuse=*/true);
  ASSERT_NE(jam.Answer(kMo), nullptr);
  EXPECT_EQ(jam.Answer(kMo)->error_message().code(), proto::PERMISSION_DENIED);
  EXPECT_EQ(jam.Answer(kMo)->error_message().error_message(),
            "the room's roles changed on another server first");
  EXPECT_EQ(jam.Answer(kMo)->request_id(), "b");
  // Nothing of it happened: bob stays, and may come back.
  EXPECT_TRUE(jam.room->IsMember(kBob));
  for (const auto& f : jam.host.fanned) {
    EXPECT_FALSE(f.msg.has_moderation_notice()) << "the refused notice was shown";
    EXPECT_FALSE(f.msg.has_room_chat_message()) << f.msg.room_chat_message().message();
  }
  // The room read the kept roles: mo is no moderator here any more.
  EXPECT_GT(jam.host.engine().state_reads, reads);
  jam.room->Command(kMo, Cmd("/kick bob"), "k");
  EXPECT_EQ(jam.Answer(kMo)->error_message().code(), proto::PERMISSION_DENIED);
  EXPECT_TRUE(jam.room->IsMember(kBob));
}

TEST(RoomChecksNodesTest, ATopicRefusedByTheScriptIsAnErrorAndTheKeptTopicIsShown) {
  Jam jam;
  jam.Keep({}, "scales");
  jam.room->Command(kMo, Cmd("/topic jazz"), "t");
  ASSERT_EQ(jam.host.engine().held_checked.size(), 1u);
  EXPECT_EQ(jam.host.engine().held_checked[0].req.state->check, Check::kModerator);
  EXPECT_EQ(jam.Answer(kMo), nullptr);
  jam.host.engine().ReleaseChecked(/*refuse=*/true);
  ASSERT_NE(jam.Answer(kMo), nullptr);
  EXPECT_EQ(jam.Answer(kMo)->error_message().code(), proto::PERMISSION_DENIED);
  EXPECT_EQ(jam.room->Info().topic(), "scales");
  bool shown = false;
  for (const auto& f : jam.host.fanned) {
    if (f.msg.has_room_updated()) {
      EXPECT_NE(f.msg.room_updated().room_info().topic(), "jazz");
      shown = shown || f.msg.room_updated().room_info().topic() == "scales";
    }
  }
  EXPECT_TRUE(shown) << "the members here were not told the kept topic";
}

TEST(RoomChecksNodesTest, OwnersChangesCheckTheOwnerAndStaffActUnchecked) {
  Jam jam;
  jam.room->Command(kAnn, Cmd("/unmod mo"), "u");
  jam.room->Command(kAnn, Cmd("/owner bob"), "o");
  auto& held = jam.host.engine().held_checked;
  ASSERT_EQ(held.size(), 2u);
  EXPECT_EQ(held[0].req.state->kind, RoomStateChange::Kind::kRemoveModerator);
  EXPECT_EQ(held[0].req.state->check, Check::kOwner);
  EXPECT_EQ(held[1].req.state->kind, RoomStateChange::Kind::kOwner);
  EXPECT_EQ(held[1].req.state->check, Check::kOwner);
  EXPECT_EQ(jam.room->owner_id(), "ann") << "handed on before the script";
  jam.Keep({"mo"});  // ann no longer owned the room when the script ran
  jam.host.engine().ReleaseChecked(/*refuse=*/true);
  ASSERT_NE(jam.Answer(kAnn), nullptr);
  EXPECT_EQ(jam.Answer(kAnn)->error_message().error_message(),
            "the room changed owner on another server first");
  EXPECT_EQ(jam.room->owner_id(), "ann");

  // A server admin's kick carries no check (server roles are not kept) and applies at once.
  JoinRequest adm = MemberJoin(kAdm, "adm");
  adm.server_admin = true;
  jam.room->Join(adm, true);
  jam.room->Command(kAdm, Cmd("/kick bob"), "k");
  EXPECT_TRUE(held.empty());
  ASSERT_FALSE(jam.host.engine().states.empty());
  EXPECT_EQ(jam.host.engine().states.back().check, Check::kNone);
  EXPECT_FALSE(jam.room->IsMember(kBob));
}

// Redis went while a command or a line was on its way (the script call lost with the
// link, or refused at the publish): nothing of it happened, and the sender is told with
// STREAM_UNAVAILABLE instead of waiting for an answer that never comes.
TEST(RoomChecksNodesTest, ACommandOrALineRedisCouldNotSequenceIsAnsweredUnavailable) {
  Jam jam;
  jam.room->Command(kMo, Cmd("/ban bob"), "b");
  ASSERT_EQ(jam.host.engine().held_checked.size(), 1u);
  jam.host.engine().LoseChecked();
  ASSERT_NE(jam.Answer(kMo), nullptr) << "the moderator was never answered";
  EXPECT_EQ(jam.Answer(kMo)->error_message().code(), proto::STREAM_UNAVAILABLE);
  EXPECT_EQ(jam.Answer(kMo)->request_id(), "b");
  EXPECT_TRUE(jam.room->IsMember(kBob));

  jam.host.engine().unavailable = true;
  jam.room->Chat(kBob, "hello", proto::USER_MESSAGE, "c");
  ASSERT_NE(jam.Answer(kBob), nullptr) << "the chatter was never answered";
  EXPECT_EQ(jam.Answer(kBob)->error_message().code(), proto::STREAM_UNAVAILABLE);
  EXPECT_EQ(jam.Answer(kBob)->request_id(), "c");
  EXPECT_TRUE(jam.host.fanned.empty()) << "a line that was not sequenced was shown";
}

// /clear, a tempo change and /perform wait for the script like a ban: handed on with the
// check their actor's role needs (kept moderator, kept moderator, kept owner), nothing of
// them applied here until sequenced, then applied and answered.
TEST(RoomChecksNodesTest, AClearATempoAndAPerformerWaitForTheScriptAndApplyOnceSequenced) {
  Jam jam;
  jam.room->Chat(kBob, "hello", proto::USER_MESSAGE, "c");
  jam.host.fanned.clear();
  jam.room->Command(kMo, Cmd("/clear"), "clr");
  jam.room->Command(kMo, Cmd("/tempo 90"), "tmp");
  jam.room->Command(kAnn, Cmd("/perform bob"), "prf");
  auto& held = jam.host.engine().held_checked;
  ASSERT_EQ(held.size(), 3u);
  EXPECT_TRUE(held[0].req.message.has_chat_cleared());
  EXPECT_EQ(held[0].req.chat, ChatMark::kClear);
  EXPECT_EQ(held[0].req.state->kind, RoomStateChange::Kind::kCheckOnly);
  EXPECT_EQ(held[0].req.state->check, Check::kModerator);
  EXPECT_EQ(held[0].req.state->actor, "mo");
  EXPECT_TRUE(held[1].req.message.has_tempo_state());
  EXPECT_EQ(held[1].req.message.tempo_state().bpm(), 90);
  EXPECT_EQ(held[1].req.state->kind, RoomStateChange::Kind::kTempo);
  EXPECT_EQ(held[1].req.state->check, Check::kModerator);
  EXPECT_TRUE(held[2].req.message.has_room_updated());
  EXPECT_EQ(held[2].req.state->kind, RoomStateChange::Kind::kSettings);
  EXPECT_EQ(held[2].req.state->check, Check::kOwner);
  EXPECT_EQ(held[2].req.state->actor, "ann");
  // Nothing applied, shown or answered yet.
  EXPECT_EQ(jam.room->Info().tempo().bpm(), 120);
  EXPECT_EQ(jam.room->Info().performer_ids_size(), 0);
  EXPECT_TRUE(jam.host.fanned.empty());
  EXPECT_EQ(jam.Answer(kMo), nullptr);
  EXPECT_EQ(jam.Answer(kAnn), nullptr);

  jam.host.engine().ReleaseChecked(/*refuse=*/false);
  EXPECT_EQ(jam.room->Info().tempo().bpm(), 90);
  ASSERT_EQ(jam.room->Info().performer_ids_size(), 1);
  EXPECT_EQ(jam.room->Info().performer_ids(0), "bob");
  bool cleared = false, tempo = false;
  for (const auto& f : jam.host.fanned) {
    cleared = cleared || f.msg.has_chat_cleared();
    tempo = tempo || f.msg.has_tempo_state();
  }
  EXPECT_TRUE(cleared && tempo);
  bool mo_cleared = false, mo_tempo = false;
  for (const auto& m : jam.host.direct[kMo]) {
    mo_cleared = mo_cleared || (m.has_chat_cleared() && m.request_id() == "clr");
    mo_tempo = mo_tempo || (m.has_tempo_state() && m.request_id() == "tmp");
  }
  EXPECT_TRUE(mo_cleared && mo_tempo) << "the moderator's copies did not come";
  ASSERT_NE(jam.Answer(kAnn), nullptr);
  EXPECT_TRUE(jam.Answer(kAnn)->command_result().ok());
  EXPECT_EQ(jam.Answer(kAnn)->request_id(), "prf");
  // The lines were cleared: a joiner gets only the one said since (the performer's).
  jam.room->Join(MemberJoin(kAdm, "cay"), true);
  ASSERT_FALSE(jam.host.direct[kAdm].empty());
  for (const auto& l : jam.host.direct[kAdm].front().room_joined_response().chat_history()) {
    EXPECT_NE(l.message(), "hello") << "a line from before the clear";
  }
}

TEST(RoomChecksNodesTest, AClearATempoAndAPerformerRefusedByTheScriptChangeNothing) {
  Jam jam;
  jam.Keep({});  // ann removed mo (and handed nothing on) on another node first
  jam.room->Chat(kBob, "hello", proto::USER_MESSAGE, "c");
  jam.host.fanned.clear();
  jam.room->Command(kMo, Cmd("/clear"), "clr");
  jam.host.engine().ReleaseChecked(/*refuse=*/true);
  ASSERT_NE(jam.Answer(kMo), nullptr);
  EXPECT_EQ(jam.Answer(kMo)->error_message().code(), proto::PERMISSION_DENIED);
  EXPECT_EQ(jam.Answer(kMo)->error_message().error_message(),
            "the room's roles changed on another server first");
  EXPECT_EQ(jam.Answer(kMo)->request_id(), "clr");
  // The room took the kept roles; a refused tempo changes nothing either.
  jam.Keep({"mo"});
  jam.room->Command(kAnn, Cmd("/mod mo"), "m");
  jam.host.engine().ReleaseChecked(/*refuse=*/false);
  jam.room->Command(kMo, Cmd("/tempo 90"), "tmp");
  ASSERT_EQ(jam.host.engine().held_checked.size(), 1u);
  jam.host.engine().ReleaseChecked(/*refuse=*/true);
  EXPECT_EQ(jam.Answer(kMo)->error_message().code(), proto::PERMISSION_DENIED);
  EXPECT_EQ(jam.Answer(kMo)->request_id(), "tmp");
  EXPECT_EQ(jam.room->Info().tempo().bpm(), 120);

  jam.room->Command(kAnn, Cmd("/perform bob"), "prf");
  jam.host.engine().ReleaseChecked(/*refuse=*/true);
  ASSERT_NE(jam.Answer(kAnn), nullptr);
  EXPECT_EQ(jam.Answer(kAnn)->error_message().code(), proto::PERMISSION_DENIED);
  EXPECT_EQ(jam.Answer(kAnn)->error_message().error_message(),
            "the room changed owner on another server first");
  EXPECT_EQ(jam.room->Info().performer_ids_size(), 0);
  for (const auto& f : jam.host.fanned) {
    EXPECT_FALSE(f.msg.has_chat_cleared()) << "the refused clear was shown";
    EXPECT_FALSE(f.msg.has_tempo_state()) << "the refused tempo was shown";
    if (f.msg.has_room_updated()) {
      EXPECT_EQ(f.msg.room_updated().room_info().performer_ids_size(), 0);
    }
  }
  // The line said before the refused clear is still there for a joiner.
  jam.room->Join(MemberJoin(kAdm, "cay"), true);
  ASSERT_FALSE(jam.host.direct[kAdm].empty());
  bool kept = false;
  for (const auto& l : jam.host.direct[kAdm].front().room_joined_response().chat_history()) {
    kept = kept || l.message() == "hello";
  }
  EXPECT_TRUE(kept) << "the refused clear cleared the lines";
}

// A banned moderator loses the appointment as on one node, and everywhere: the owner's ban
// of mo writes mo's removal from the kept moderators with it, and a node where another
// node's ban of a moderator is delivered ends the appointment in its tables too. Before,
// only the acting node's tables dropped it.
TEST(RoomChecksNodesTest, ABannedModeratorLosesTheAppointmentInWhatIsKeptAndOnOtherNodes) {
  Jam jam;
  auto moderators = [](Room& room) { return room.Record().moderators; };
  ASSERT_EQ(moderators(*jam.room), std::vector<std::string>{"mo"});
  jam.room->Command(kAnn, Cmd("/ban mo"), "b");
  auto& held = jam.host.engine().held_checked;
  ASSERT_EQ(held.size(), 1u);
  ASSERT_TRUE(held[0].req.state);
  EXPECT_EQ(held[0].req.state->kind, RoomStateChange::Kind::kRemoveModerator);
  EXPECT_EQ(held[0].req.state->user, "mo");
  EXPECT_EQ(held[0].req.state->actor, "ann");
  jam.host.engine().ReleaseChecked(/*refuse=*/false);
  EXPECT_FALSE(jam.room->IsMember(kMo));
  EXPECT_TRUE(moderators(*jam.room).empty());

  // Node B's copy of the room: mo is its moderator until node A's ban is delivered.
  ServerConfig config;
  Host host;
  proto::RoomSettings settings;
  settings.set_allow_chat(true);
  auto b = std::make_unique<Room>("jam", "Jam", proto::PUBLIC, settings, "", "ann", &config, &host);
  b->Join(MemberJoin(kBob, "bob", /*opened=*/true), true);
  FromNode(*b, RemoteNotice(proto::MOD_APPOINT_MODERATOR, "mo", "ann"), "nodeA");
  ASSERT_EQ(moderators(*b), std::vector<std::string>{"mo"});
  FromNode(*b, RemoteNotice(proto::MOD_BAN, "mo", "ann"), "nodeA");
  EXPECT_TRUE(moderators(*b).empty()) << "node B kept the banned moderator's appointment";
}

// Another node's tempo change (sequenced there, its actor's kept role checked) is this
// node's grid too: its joiners and RoomInfo show it. Before, it was only relayed, and the
// room here kept the tempo last set here. A state no node could have set is not taken.
TEST(RoomChecksNodesTest, AnotherNodesTempoIsTheRoomsTempoHere) {
  Jam jam;
  proto::ClientMessage m;
  auto* t = m.mutable_tempo_state();
  t->set_room_id("jam");
  t->set_bpm(93.5);
  t->set_beats_per_bar(3);
  t->set_beat_unit(4);
  t->set_running(true);
  t->set_anchor_server_time(jam.host.NowUs() + 500'000);
  t->set_anchor_beat(0);
  t->set_changed_by_user_id("cay");
  t->set_changed_by_username("cay");
  FromNode(*jam.room, m, "nodeB");
  proto::TempoState now = jam.room->Info().tempo();
  EXPECT_EQ(now.bpm(), 93.5);
  EXPECT_EQ(now.beats_per_bar(), 3u);
  EXPECT_TRUE(now.running());
  EXPECT_EQ(now.anchor_server_time(), t->anchor_server_time());
  EXPECT_EQ(now.changed_by_user_id(), "cay");

  constexpr SessionId kDee = 17 << 8;
  jam.room->Join(MemberJoin(kDee, "dee"), true);
  ASSERT_NE(jam.Answer(kDee), nullptr);
  EXPECT_EQ(jam.Answer(kDee)->room_joined_response().room_info().tempo().bpm(), 93.5);

  t->set_bpm(5000);  // past every limit
  FromNode(*jam.room, m, "nodeB");
  EXPECT_EQ(jam.room->Info().tempo().bpm(), 93.5);
}

}  // namespace
}  // namespace tutti::server
