// What the Redis engine keeps for a room beside its stream, against a real redis-server:
// the kept state, bans and mutes are taken only when they parse, and a state change
// whose precondition fails (an owner's hand-on, a settings change by someone Redis no
// longer keeps as owner or built on an older kept settings version, a moderator's ban
// after their removal, a tempo change by someone no longer kept as room staff) is refused
// together with its event; a tempo is kept until a new life's open drops it. Split from
// redis_broker_test.cc by role; the fixture is tests/redis/broker_fixture.h.
#include <chrono>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "server/redis/redis_scripts.h"
#include "tests/redis/broker_fixture.h"

namespace tutti::server::redis {
namespace {

using namespace std::chrono_literals;

// What rooms keep beside their stream (owner, settings, moderators; bans and mutes) can be
// written by anyone with access to Redis: the engine hands a room only what parses, and
// counts the rest as malformed, never half of it.
TEST_F(RedisBrokerTest, KeptRoomStateAndPenaltiesAreTakenOnlyWhenTheyParse) {
  auto a = Engine();
  auto run = [&](const std::vector<std::string>& cmd) { ASSERT_TRUE(Run(cmd)); };
  auto state = [&] {
    KeptRoomState out;
    bool got = false;
    a->RoomState("room", [&](KeptRoomState k) {
      out = std::move(k);
      got = true;
    });
    EXPECT_TRUE(RunLoopUntil(io_, [&] { return got; }));
    return out;
  };
  proto::RoomInfo info;
  info.set_room_id("room");
  info.set_room_name("Room");
  ASSERT_NO_FATAL_FAILURE(run({"HSET", StateKey("room"), "owner", "u-ann", "room",
                               info.SerializeAsString(), "password_hash", "", "version", "3"}));
  ASSERT_NO_FATAL_FAILURE(run({"SADD", ModsKey("room"), "u-mod"}));
  KeptRoomState k = state();
  ASSERT_TRUE(k.found);
  EXPECT_EQ(k.owner, "u-ann");
  EXPECT_EQ(k.version, 3);
  EXPECT_EQ(k.moderators, std::vector<std::string>{"u-mod"});
  const uint64_t malformed = a->stats().malformed;

  // A version that is no number: nothing is taken.
  ASSERT_NO_FATAL_FAILURE(run({"HSET", StateKey("room"), "version", "three"}));
  k = state();
  EXPECT_FALSE(k.found);
  EXPECT_TRUE(k.owner.empty() && k.moderators.empty());
  EXPECT_EQ(a->stats().malformed, malformed + 1);
  // A room name that is not UTF-8 (RoomInfo.room_name, field 2, one byte 0xff): refused
  // before libprotobuf would parse it.
  ASSERT_NO_FATAL_FAILURE(
      run({"HSET", StateKey("room"), "version", "4", "room", std::string("\x12\x01\xff", 3)}));
  k = state();
  EXPECT_FALSE(k.found);
  EXPECT_EQ(a->stats().malformed, malformed + 2);

  // Bans: a permanent one, one until a time, one whose end is no time (skipped, counted).
  ASSERT_NO_FATAL_FAILURE(run(
      {"ZADD", BansKey("room"), "+inf", "u-perm", "1893456000000", "u-until", "-5", "u-negative"}));
  ASSERT_NO_FATAL_FAILURE(run({"ZADD", MutesKey("room"), "1893456000000", "u-quiet"}));
  std::vector<KeptPenalty> kept;
  bool got = false;
  a->Penalties("room", [&](std::vector<KeptPenalty> p) {
    kept = std::move(p);
    got = true;
  });
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return got; }));
  std::set<std::string> seen;
  for (const KeptPenalty& p : kept) {
    seen.insert((p.kind == KeptPenalty::Kind::kBan ? "ban " : "mute ") + p.user_id + " " +
                std::to_string(p.until_unix_ms));
  }
  EXPECT_EQ(seen, (std::set<std::string>{"ban u-perm 0", "ban u-until 1893456000000",
                                         "mute u-quiet 1893456000000"}));
  EXPECT_EQ(a->stats().malformed, malformed + 3);
}

// An owner's hand-on (RoomStateChange::Check::kOwner) is written only while the kept owner
// is the one who left, and a refused one takes its event with it: of two nodes handing
// the room on from the same owner, the second is told it was refused, nobody is delivered
// its RoomUpdated, and the events around it keep their offsets without a gap.
TEST_F(RedisBrokerTest, AHandOnFromAnOwnerNoLongerKeptIsRefusedWithItsEvent) {
  auto a = Engine();
  auto b = Engine();
  Recorder rb;
  b->Subscribe("jam", &rb);
  WaitSubscribers("jam", 1);
  PublishRequest open = Chat("opened");
  open.state.emplace();
  open.state->kind = RoomStateChange::Kind::kOpen;
  open.state->user = "u-ann";
  proto::RoomInfo info;
  info.set_room_name("Jam");
  open.state->room = info.SerializeAsString();
  a->Publish("jam", std::move(open), nullptr);
  auto hand_on = [](const std::string& to) {
    PublishRequest r = Chat("to " + to);
    r.state.emplace();
    r.state->kind = RoomStateChange::Kind::kOwner;
    r.state->user = to;
    r.state->check = RoomStateChange::Check::kOwner;
    r.state->actor = "u-ann";
    return r;
  };
  std::vector<Publication> done_a, done_b;
  a->Publish("jam", hand_on("u-cay"), [&](const Publication& p) { done_a.push_back(p); });
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return done_a.size() == 1; }));
  // Node B, behind: its hand-on from ann goes in one script call between two lines.
  b->Publish("jam", Chat("before"), nullptr);
  b->Publish("jam", hand_on("u-bob"), [&](const Publication& p) { done_b.push_back(p); });
  b->Publish("jam", Chat("after"), nullptr);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return done_b.size() == 1 && rb.got.size() == 4; }));
  EXPECT_FALSE(done_a[0].refused);
  EXPECT_EQ(done_a[0].position.offset, 2u);
  EXPECT_TRUE(done_b[0].refused);
  EXPECT_EQ(done_b[0].frame, nullptr);
  const std::vector<std::string> want = {"opened", "to u-cay", "before", "after"};
  for (size_t i = 0; i < rb.got.size(); ++i) {
    EXPECT_EQ(rb.got[i].position.offset, i + 1);
    EXPECT_EQ(Parse(rb.got[i]).room_chat_message().message(), want[i]);
  }
  EXPECT_EQ(b->stats().state_refused, 1u);
  EXPECT_EQ(b->stats().published, 2u);
  // Kept: cay owns the room, ann is a moderator, and only the hand-on written counted.
  KeptRoomState kept;
  bool got = false;
  b->RoomState("jam", [&](KeptRoomState k) {
    kept = std::move(k);
    got = true;
  });
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return got; }));
  ASSERT_TRUE(kept.found);
  EXPECT_EQ(kept.owner, "u-cay");
  EXPECT_EQ(kept.moderators, std::vector<std::string>{"u-ann"});
  EXPECT_EQ(kept.version, 2);
}

// A settings change checked against the kept owner: the owner's is written with its event,
// one by a user the kept state does not name owner is refused with its event.
TEST_F(RedisBrokerTest, ASettingsChangeByAnActorNotKeptAsOwnerIsRefusedWithItsEvent) {
  auto a = Engine();
  Recorder ra;
  a->Subscribe("jam", &ra);
  WaitSubscribers("jam", 1);
  auto change = [](RoomStateChange::Kind kind, const std::string& actor, int max_users) {
    PublishRequest r = Chat(actor + " " + std::to_string(max_users));
    proto::RoomInfo info;
    info.set_room_name("Jam");
    info.mutable_settings()->set_max_users(max_users);
    r.state.emplace();
    r.state->kind = kind;
    r.state->user = actor;
    r.state->room = info.SerializeAsString();
    if (kind == RoomStateChange::Kind::kSettings) {
      r.state->check = RoomStateChange::Check::kOwner;
      r.state->actor = actor;
    }
    return r;
  };
  a->Publish("jam", change(RoomStateChange::Kind::kOpen, "u-ann", 10), nullptr);
  std::vector<bool> refused;
  auto note = [&](const Publication& p) { refused.push_back(p.refused); };
  a->Publish("jam", change(RoomStateChange::Kind::kSettings, "u-bob", 2), note);
  a->Publish("jam", change(RoomStateChange::Kind::kSettings, "u-ann", 6), note);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return refused.size() == 2 && ra.got.size() == 2; }));
  EXPECT_EQ(refused, (std::vector<bool>{true, false}));
  EXPECT_EQ(Parse(ra.got[1]).room_chat_message().message(), "u-ann 6");
  EXPECT_EQ(ra.got[1].position.offset, 2u);
  KeptRoomState kept;
  bool got = false;
  a->RoomState("jam", [&](KeptRoomState k) {
    kept = std::move(k);
    got = true;
  });
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return got; }));
  proto::RoomInfo info;
  ASSERT_TRUE(kept.found && info.ParseFromString(kept.room));
  EXPECT_EQ(info.settings().max_users(), 6);
  EXPECT_EQ(kept.owner, "u-ann");
}

// Two nodes change the settings at once, both built on the state kept after the open
// (settings version 1): the first is written, the second refused as stale with its event
// (a settings change carries the whole RoomInfo, so it would have reverted the first); a
// moderator change between them does not move the settings version, and a retry built on
// the version read back is written. The written events keep gapless offsets.
TEST_F(RedisBrokerTest, ASettingsChangeBuiltOnAnOlderKeptVersionIsRefusedAsStale) {
  auto a = Engine();
  auto b = Engine();
  Recorder ra;
  a->Subscribe("jam", &ra);
  WaitSubscribers("jam", 1);
  auto change = [](const std::string& line, RoomStateChange::Kind kind, int max_users,
                   int64_t base) {
    PublishRequest r = Chat(line);
    proto::RoomInfo info;
    info.set_room_name("Jam");
    info.mutable_settings()->set_max_users(max_users);
    r.state.emplace();
    r.state->kind = kind;
    r.state->user = "u-ann";
    r.state->room = info.SerializeAsString();
    r.state->base_version = base;
    return r;
  };
  auto read = [&](RedisBroker& e) {
    KeptRoomState out;
    bool got = false;
    e.RoomState("jam", [&](KeptRoomState k) {
      out = std::move(k);
      got = true;
    });
    EXPECT_TRUE(RunLoopUntil(io_, [&] { return got; }));
    return out;
  };
  auto max_users = [](const KeptRoomState& k) {
    proto::RoomInfo info;
    EXPECT_TRUE(info.ParseFromString(k.room));
    return info.settings().max_users();
  };
  std::vector<std::pair<bool, bool>> outcomes;  // refused, stale
  auto note = [&](const Publication& p) { outcomes.emplace_back(p.refused, p.stale); };
  a->Publish("jam", change("opened", RoomStateChange::Kind::kOpen, 10, -1), note);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return outcomes.size() == 1; }));
  EXPECT_EQ(read(*b).settings_version, 1);

  a->Publish("jam", change("a: 4", RoomStateChange::Kind::kSettings, 4, 1), note);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return outcomes.size() == 2; }));
  b->Publish("jam", change("b: 6", RoomStateChange::Kind::kSettings, 6, 1), note);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return outcomes.size() == 3; }));
  PublishRequest mod = Chat("mod");
  mod.state.emplace();
  mod.state->kind = RoomStateChange::Kind::kAddModerator;
  mod.state->user = "u-mo";
  a->Publish("jam", std::move(mod), note);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return outcomes.size() == 4; }));
  EXPECT_EQ(outcomes, (std::vector<std::pair<bool, bool>>{
                          {false, false}, {false, false}, {true, true}, {false, false}}));
  KeptRoomState kept = read(*b);
  EXPECT_EQ(max_users(kept), 4) << "the stale change was written";
  EXPECT_EQ(kept.settings_version, 2);
  EXPECT_EQ(kept.version, 3);  // the open, a's change and the moderator

  b->Publish("jam", change("b: 6 again", RoomStateChange::Kind::kSettings, 6, 2), note);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return outcomes.size() == 5 && ra.got.size() == 4; }));
  EXPECT_EQ(outcomes.back(), std::make_pair(false, false));
  kept = read(*a);
  EXPECT_EQ(max_users(kept), 6);
  EXPECT_EQ(kept.settings_version, 3);
  const std::vector<std::string> lines = {"opened", "a: 4", "mod", "b: 6 again"};
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(Parse(ra.got[i]).room_chat_message().message(), lines[i]);
    EXPECT_EQ(ra.got[i].position.offset, i + 1);
  }
}

// Moderators' commands checked against the kept roles, in one script call: the owner's
// /unmod of mo comes first, so mo's ban that follows is refused with its event and its
// ban; a moderator's ban of another moderator is refused too; a moderator's mute of a
// member and the owner's ban of a moderator are written. The lines around keep gapless
// offsets, and a check writes nothing of its own (the version counts the open and the
// /unmod only).
TEST_F(RedisBrokerTest, AModeratorsBanAfterTheOwnerRemovedThemIsRefusedWithItsEvent) {
  auto a = Engine();
  Recorder ra;
  a->Subscribe("jam", &ra);
  WaitSubscribers("jam", 1);
  PublishRequest open = Chat("opened");
  open.state.emplace();
  open.state->kind = RoomStateChange::Kind::kOpen;
  open.state->user = "u-ann";
  open.state->moderators = {"u-mo", "u-mo2", "u-mo3"};
  proto::RoomInfo info;
  info.set_room_name("Jam");
  open.state->room = info.SerializeAsString();
  a->Publish("jam", std::move(open), nullptr);
  auto checked = [](const std::string& line, RoomStateChange::Kind kind,
                    RoomStateChange::Check check, const std::string& actor,
                    const std::string& target) {
    PublishRequest r = Chat(line);
    r.state.emplace();
    r.state->kind = kind;
    r.state->user = target;
    r.state->check = check;
    r.state->actor = actor;
    return r;
  };
  auto penalty = [&](const std::string& line, KeptPenalty::Kind kind, const std::string& actor,
                     const std::string& target) {
    PublishRequest r = checked(line, RoomStateChange::Kind::kCheckOnly,
                               RoomStateChange::Check::kOutranks, actor, target);
    r.penalty.emplace();
    r.penalty->penalty.kind = kind;
    r.penalty->penalty.user_id = target;
    return r;
  };
  // By publish order (a refused event's publisher is told before the delivered ones').
  std::vector<bool> refused(6, false);
  size_t answered = 0;
  auto note = [&](size_t i) {
    return [&, i](const Publication& p) {
      refused[i] = p.refused;
      ++answered;
    };
  };
  using K = RoomStateChange::Kind;
  using C = RoomStateChange::Check;
  using P = KeptPenalty::Kind;
  a->Publish("jam", checked("unmod mo", K::kRemoveModerator, C::kOwner, "u-ann", "u-mo"), note(0));
  a->Publish("jam", penalty("mo bans x", P::kBan, "u-mo", "u-x"), note(1));
  a->Publish("jam", penalty("mo2 bans mo3", P::kBan, "u-mo2", "u-mo3"), note(2));
  a->Publish("jam", penalty("mo2 mutes y", P::kMute, "u-mo2", "u-y"), note(3));
  a->Publish("jam", penalty("ann bans mo3", P::kBan, "u-ann", "u-mo3"), note(4));
  a->Publish("jam", checked("mo topic", K::kCheckOnly, C::kModerator, "u-mo", ""), note(5));
  a->Publish("jam", Chat("after"), nullptr);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return answered == 6 && ra.got.size() == 5; }));
  EXPECT_EQ(refused, (std::vector<bool>{false, true, true, false, false, true}));
  const std::vector<std::string> want = {"opened", "unmod mo", "mo2 mutes y", "ann bans mo3",
                                         "after"};
  for (size_t i = 0; i < ra.got.size(); ++i) {
    EXPECT_EQ(ra.got[i].position.offset, i + 1);
    EXPECT_EQ(Parse(ra.got[i]).room_chat_message().message(), want[i]);
  }
  EXPECT_EQ(a->stats().state_refused, 3u);
  std::vector<KeptPenalty> kept;
  bool got = false;
  a->Penalties("jam", [&](std::vector<KeptPenalty> p) {
    kept = std::move(p);
    got = true;
  });
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return got; }));
  std::set<std::string> seen;
  for (const KeptPenalty& p : kept) {
    seen.insert((p.kind == KeptPenalty::Kind::kBan ? "ban " : "mute ") + p.user_id);
  }
  EXPECT_EQ(seen, (std::set<std::string>{"ban u-mo3", "mute u-y"}));
  KeptRoomState state;
  got = false;
  a->RoomState("jam", [&](KeptRoomState k) {
    state = std::move(k);
    got = true;
  });
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return got; }));
  ASSERT_TRUE(state.found);
  EXPECT_EQ(state.owner, "u-ann");
  EXPECT_EQ(std::set<std::string>(state.moderators.begin(), state.moderators.end()),
            (std::set<std::string>{"u-mo2", "u-mo3"}));
  EXPECT_EQ(state.version, 2);
}

// A tempo change's TempoState is kept with the room's state by the call that sequences its
// event, only while the actor is the kept owner or a kept moderator (the check the change
// has); a refused one is written neither itself nor with its event. An open written over
// the kept state (a new life of the room: nobody else live) drops the old life's tempo.
TEST_F(RedisBrokerTest, ATempoIsKeptWithItsEventWhileTheActorMayAndANewLifesOpenDropsIt) {
  auto a = Engine();
  Recorder ra;
  a->Subscribe("jam", &ra);
  WaitSubscribers("jam", 1);
  auto open = [] {
    PublishRequest r = Chat("open");
    proto::RoomInfo info;
    info.set_room_name("Jam");
    r.state.emplace();
    r.state->kind = RoomStateChange::Kind::kOpen;
    r.state->user = "u-ann";
    r.state->room = info.SerializeAsString();
    return r;
  };
  auto tempo = [](const std::string& actor, double bpm) {
    PublishRequest r = Chat(actor + " tempo");
    proto::TempoState t;
    t.set_bpm(bpm);
    t.set_changed_by_user_id(actor);
    r.state.emplace();
    r.state->kind = RoomStateChange::Kind::kTempo;
    r.state->tempo = t.SerializeAsString();
    r.state->check = RoomStateChange::Check::kModerator;
    r.state->actor = actor;
    return r;
  };
  auto read = [&] {
    KeptRoomState kept;
    bool got = false;
    a->RoomState("jam", [&](KeptRoomState k) {
      kept = std::move(k);
      got = true;
    });
    EXPECT_TRUE(RunLoopUntil(io_, [&] { return got; }));
    return kept;
  };
  a->Publish("jam", open(), nullptr);
  std::vector<bool> refused;
  auto note = [&](const Publication& p) { refused.push_back(p.refused); };
  a->Publish("jam", tempo("u-bob", 90), note);  // neither owner nor moderator
  a->Publish("jam", tempo("u-ann", 100), note);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return refused.size() == 2 && ra.got.size() == 2; }));
  EXPECT_EQ(refused, (std::vector<bool>{true, false}));
  EXPECT_EQ(Parse(ra.got[1]).room_chat_message().message(), "u-ann tempo");
  KeptRoomState kept = read();
  ASSERT_TRUE(kept.found);
  proto::TempoState t;
  ASSERT_TRUE(t.ParseFromString(kept.tempo));
  EXPECT_EQ(t.bpm(), 100);
  EXPECT_EQ(t.changed_by_user_id(), "u-ann");
  EXPECT_EQ(kept.version, 2);  // the open and the tempo

  // Nobody is live in the room's presence: the open is a new life's, written whole.
  a->Publish("jam", open(), nullptr);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return ra.got.size() == 3; }));
  kept = read();
  ASSERT_TRUE(kept.found);
  EXPECT_TRUE(kept.tempo.empty()) << "the old life's tempo is still kept";
  EXPECT_EQ(kept.version, 3);
}

}  // namespace
}  // namespace tutti::server::redis
