// Settings changes (UpdateRoomCommand) across nodes in a persistent room and by a server
// admin (docs/SCALE-OUT.md, "Owner, settings and moderators across nodes"), driven
// without Redis: a real in-process engine behind SpanningBroker, which holds, refuses or
// loses a change as the publish script and a lost link would, and a real SQLite store in a
// private directory. The room applies and saves nothing until the change is sequenced;
// then it applies it, saves it and answers; refused, PERMISSION_DENIED (WRONG_STATE when
// built on an older kept settings version); not sequenced, STREAM_UNAVAILABLE; in no such
// case is anything applied or saved.
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/envelope.h"
#include "server/moderation/command_parser.h"
#include "server/room.h"
#include "server/store/store.h"
#include "tests/server/broker_room_host.h"
#include "tests/server/spanning_broker.h"

namespace tutti::server {
namespace {

using Check = RoomStateChange::Check;

constexpr SessionId kAnn = 1 << 8;
constexpr SessionId kBob = 11 << 8;
constexpr SessionId kAdm = 13 << 8;

// BrokerRoomHost with a real store, run inline (the test is the one thread).
class StoreHost : public BrokerRoomHost<SpanningBroker> {
 public:
  StoreHost() {
    char tmpl[] = "/tmp/tutti-update-nodes-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto opened = store::Store::Open(dir_ + "/t.db");
    EXPECT_TRUE(opened.ok()) << opened.status();
    if (opened.ok()) db = std::move(*opened);
  }
  ~StoreHost() override {
    db.reset();
    std::filesystem::remove_all(dir_);
  }
  bool Storage(std::function<void(store::Store&)> work, std::function<void()> then) override {
    if (!db) return false;
    ++saves;
    work(*db);
    then();
    return true;
  }
  std::unique_ptr<store::Store> db;
  int saves = 0;

 private:
  std::string dir_;
};

// ann's registered room "jam" (max 10), saved in the store, with ann and bob here; the
// engine then holds every change with a precondition.
struct Registered {
  Registered() {
    proto::RoomSettings settings;
    settings.set_allow_chat(true);
    settings.set_max_users(10);
    settings.set_persistent(true);
    room = std::make_unique<Room>("jam", "Jam", proto::PUBLIC, settings, "", "ann", &config, &host);
    EXPECT_TRUE(host.db->SaveRoom(room->Record()).ok());
    room->Join(MemberJoin(kAnn, "ann", /*opened=*/true), true);
    room->Join(MemberJoin(kBob, "bob"), true);
    host.engine().hold_checked = true;
    host.engine().states.clear();
    host.direct.clear();
    host.fanned.clear();
    host.saves = 0;
  }
  proto::UpdateRoomCommand MaxUsers(int n) {
    proto::UpdateRoomCommand u;
    u.mutable_settings()->set_max_users(n);
    u.mutable_settings()->set_allow_chat(true);
    u.mutable_settings()->set_persistent(true);
    return u;
  }
  int Saved() {
    auto r = host.db->LoadRoom("jam");
    EXPECT_TRUE(r.ok()) << r.status();
    proto::RoomSettings s;
    if (r.ok()) s.ParseFromString(r->settings);
    return s.max_users();
  }
  const proto::ClientMessage* Answer(SessionId s) {
    return host.direct[s].empty() ? nullptr : &host.direct[s].back();
  }
  ServerConfig config;
  StoreHost host;
  std::unique_ptr<Room> room;
};

TEST(RoomUpdateNodesTest, APersistentRoomsOwnerUpdateIsSavedAndAnsweredOnlyOnceSequenced) {
  Registered jam;
  jam.room->Update(kAnn, jam.MaxUsers(4), "", "u");
  // Handed to the engine with "ann is the kept owner"; nothing applied, saved or answered.
  ASSERT_EQ(jam.host.engine().held_checked.size(), 1u);
  const RoomStateChange& c = *jam.host.engine().held_checked[0].req.state;
  EXPECT_EQ(c.kind, RoomStateChange::Kind::kSettings);
  EXPECT_EQ(c.check, Check::kOwner);
  EXPECT_EQ(c.actor, "ann");
  proto::RoomInfo written;
  ASSERT_TRUE(written.ParseFromString(c.room));
  EXPECT_EQ(written.settings().max_users(), 4);
  EXPECT_EQ(jam.room->Info().settings().max_users(), 10) << "applied before the script";
  EXPECT_EQ(jam.host.saves, 0) << "saved before the script";
  EXPECT_EQ(jam.Saved(), 10);
  EXPECT_EQ(jam.Answer(kAnn), nullptr) << "answered before the script";

  jam.host.engine().ReleaseChecked(/*refuse=*/false);
  EXPECT_EQ(jam.room->Info().settings().max_users(), 4);
  EXPECT_EQ(jam.Saved(), 4);
  ASSERT_NE(jam.Answer(kAnn), nullptr);
  EXPECT_TRUE(jam.Answer(kAnn)->has_room_updated());
  EXPECT_EQ(jam.Answer(kAnn)->request_id(), "u");
  EXPECT_EQ(jam.Answer(kAnn)->room_updated().room_info().settings().max_users(), 4);
  // bob here was shown it once, from the stream.
  int shown = 0;
  for (const auto& f : jam.host.fanned) shown += f.msg.has_room_updated() ? 1 : 0;
  EXPECT_EQ(shown, 1);
}

TEST(RoomUpdateNodesTest, APersistentRoomsRefusedOrLostUpdateIsNeitherAppliedNorSaved) {
  Registered jam;
  jam.room->Update(kAnn, jam.MaxUsers(4), "", "u");
  jam.host.engine().ReleaseChecked(/*refuse=*/true);
  ASSERT_NE(jam.Answer(kAnn), nullptr);
  EXPECT_EQ(jam.Answer(kAnn)->error_message().code(), proto::PERMISSION_DENIED);
  EXPECT_EQ(jam.Answer(kAnn)->request_id(), "u");
  EXPECT_EQ(jam.room->Info().settings().max_users(), 10);
  EXPECT_EQ(jam.host.saves, 0);
  EXPECT_EQ(jam.Saved(), 10);

  jam.host.direct.clear();
  jam.room->Update(kAnn, jam.MaxUsers(5), "", "v");
  jam.host.engine().LoseChecked();
  ASSERT_NE(jam.Answer(kAnn), nullptr) << "the owner was never answered";
  EXPECT_EQ(jam.Answer(kAnn)->error_message().code(), proto::STREAM_UNAVAILABLE);
  EXPECT_EQ(jam.Answer(kAnn)->request_id(), "v");
  EXPECT_EQ(jam.room->Info().settings().max_users(), 10);
  EXPECT_EQ(jam.host.saves, 0);
  EXPECT_EQ(jam.Saved(), 10);
  for (const auto& f : jam.host.fanned) {
    EXPECT_FALSE(f.msg.has_room_updated()) << "a change that was not sequenced was shown";
  }
}

TEST(RoomUpdateNodesTest, AServerAdminsUpdateCarriesNoCheckAndWaitsForTheScript) {
  Registered jam;
  JoinRequest adm = MemberJoin(kAdm, "adm");
  adm.server_admin = true;
  jam.room->Join(adm, true);
  jam.host.direct.clear();

  // Redis went meanwhile: not sequenced, so nothing applied, saved or shown.
  jam.host.engine().unavailable = true;
  jam.room->Update(kAdm, jam.MaxUsers(3), "", "a");
  ASSERT_NE(jam.Answer(kAdm), nullptr) << "the admin was never answered";
  EXPECT_EQ(jam.Answer(kAdm)->error_message().code(), proto::STREAM_UNAVAILABLE);
  EXPECT_EQ(jam.room->Info().settings().max_users(), 10);
  EXPECT_EQ(jam.host.saves, 0);
  EXPECT_EQ(jam.Saved(), 10);

  jam.host.engine().unavailable = false;
  jam.host.direct.clear();
  jam.room->Update(kAdm, jam.MaxUsers(3), "", "b");
  ASSERT_FALSE(jam.host.engine().states.empty());
  EXPECT_EQ(jam.host.engine().states.back().check, Check::kNone);
  EXPECT_EQ(jam.room->Info().settings().max_users(), 3);
  EXPECT_EQ(jam.Saved(), 3);
  ASSERT_NE(jam.Answer(kAdm), nullptr);
  EXPECT_TRUE(jam.Answer(kAdm)->has_room_updated());
  EXPECT_EQ(jam.Answer(kAdm)->request_id(), "b");
}

TEST(RoomUpdateNodesTest, UnregisteringARoomDeletesItsRecordOnlyOnceSequenced) {
  Registered jam;
  proto::UpdateRoomCommand u = jam.MaxUsers(10);
  u.mutable_settings()->set_persistent(false);
  jam.room->Update(kAnn, u, "", "u");
  EXPECT_TRUE(jam.host.db->LoadRoom("jam").ok()) << "deleted before the script";
  EXPECT_TRUE(jam.room->persistent());
  jam.host.engine().ReleaseChecked(/*refuse=*/false);
  EXPECT_FALSE(jam.room->persistent());
  EXPECT_FALSE(jam.host.db->LoadRoom("jam").ok());
  ASSERT_NE(jam.Answer(kAnn), nullptr);
  EXPECT_TRUE(jam.Answer(kAnn)->has_room_updated());
}

// Two settings changes built on one kept state (docs/SCALE-OUT.md, the failure row "two
// nodes change the same state at once"), the engine checking and writing versions as the
// script does: each change carries the kept settings version it was built on. Another
// node's change written while this node had not read it makes this node's next change
// stale: refused with WRONG_STATE, nothing applied or saved, the room takes the kept
// state, and a retry built on it is written without reverting the other node's topic.
TEST(RoomUpdateNodesTest, ASettingsChangeBuiltOnAnOlderKeptStateIsRefusedAndARetryWorks) {
  Registered jam;
  SpanningBroker& e = jam.host.engine();
  e.hold_checked = false;
  e.check_versions = true;
  // What the first join wrote (kOpen): the room as created, settings version 1.
  auto blob = [](int max_users, const std::string& topic) {
    proto::RoomInfo info;
    info.set_room_id("jam");
    info.set_room_name("Jam");
    info.set_room_type(proto::PUBLIC);
    info.mutable_settings()->set_allow_chat(true);
    info.mutable_settings()->set_max_users(max_users);
    info.mutable_settings()->set_persistent(true);
    info.set_topic(topic);
    return info.SerializeAsString();
  };
  e.state.found = true;
  e.state.owner = "ann";
  e.state.room = blob(10, "");
  e.state.version = 1;
  e.state.settings_version = 1;

  jam.room->Update(kAnn, jam.MaxUsers(4), "", "u4");
  ASSERT_FALSE(e.states.empty());
  EXPECT_EQ(e.states.back().base_version, 1);
  ASSERT_NE(jam.Answer(kAnn), nullptr);
  ASSERT_TRUE(jam.Answer(kAnn)->has_room_updated()) << jam.Answer(kAnn)->ShortDebugString();
  EXPECT_EQ(e.state.settings_version, 2);

  // Another node set a topic on top of that (version 3); this node has not read it yet.
  e.state.room = blob(4, "jazz");
  e.state.version = 3;
  e.state.settings_version = 3;
  jam.host.saves = 0;
  jam.room->Update(kAnn, jam.MaxUsers(5), "", "u5");
  EXPECT_EQ(e.states.back().base_version, 2);
  ASSERT_NE(jam.Answer(kAnn), nullptr);
  EXPECT_EQ(jam.Answer(kAnn)->error_message().code(), proto::WRONG_STATE);
  EXPECT_EQ(jam.Answer(kAnn)->error_message().error_message(), kStaleSettingsText);
  EXPECT_EQ(jam.Answer(kAnn)->request_id(), "u5");
  EXPECT_EQ(jam.host.saves, 0) << "a stale change was saved";
  EXPECT_EQ(jam.Saved(), 4);
  // The room read the kept state: the other node's topic, its own limit.
  EXPECT_EQ(jam.room->Info().topic(), "jazz");
  EXPECT_EQ(jam.room->Info().settings().max_users(), 4);

  // The retry is built on version 3 and keeps the topic.
  jam.room->Update(kAnn, jam.MaxUsers(5), "", "u5b");
  EXPECT_EQ(e.states.back().base_version, 3);
  ASSERT_TRUE(jam.Answer(kAnn)->has_room_updated()) << jam.Answer(kAnn)->ShortDebugString();
  proto::RoomInfo kept;
  ASSERT_TRUE(kept.ParseFromString(e.state.room));
  EXPECT_EQ(kept.settings().max_users(), 5);
  EXPECT_EQ(kept.topic(), "jazz") << "the retry reverted the other node's topic";
  EXPECT_EQ(jam.Saved(), 5);
}

// The store's write order across nodes (docs/ARCHITECTURE.md, "Store write order"):
// what the script keeps once another node (B) set max_users 4 and, after it in the
// stream, this node's /mod of bob was sequenced.
KeptRoomState KeptAfterBothChanges() {
  KeptRoomState k;
  k.found = true;
  k.owner = "ann";
  proto::RoomInfo info;
  info.set_room_id("jam");
  info.set_room_name("Jam");
  info.set_room_type(proto::PUBLIC);
  info.mutable_settings()->set_allow_chat(true);
  info.mutable_settings()->set_max_users(4);
  info.mutable_settings()->set_persistent(true);
  k.room = info.SerializeAsString();
  k.moderators = {"bob"};
  k.version = 5;
  k.settings_version = 2;
  return k;
}

moderation::ParsedCommand Cmd(const std::string& line) {
  auto parsed = moderation::ParseCommand(line);
  EXPECT_TRUE(parsed.ok()) << line;
  return parsed.ok() ? *parsed : moderation::ParsedCommand();
}

// B's RoomUpdated (max_users 4) as its engine delivers it here, sequenced at `time_us`.
void DeliverBsSettings(Registered& jam, int64_t time_us) {
  proto::ClientMessage m;
  *m.mutable_room_updated()->mutable_room_info() = jam.room->Info();
  m.mutable_room_updated()->mutable_room_info()->mutable_settings()->set_max_users(4);
  StampType(&m);
  Publication pub;
  pub.frame = MakeFrame(m);
  pub.origin = "node-b";
  pub.position = {"epoch", 1};
  pub.server_time_us = time_us;
  jam.room->OnPublication("jam", pub);
}

// This node's /mod is answered by the script before B's earlier settings change is
// delivered here, and B's node commits its own record (B's settings, no moderator) after
// this node's: the store ends with both changes, as the stream has them, and ann is
// answered only once that record is saved.
TEST(RoomUpdateNodesTest, AModAnsweredBeforeAnEarlierChangeOfAnotherNodeIsSavedWithIt) {
  Registered jam;
  SpanningBroker& e = jam.host.engine();
  e.hold_state = true;
  const int64_t b_time = jam.host.NowUs() - 1;  // B's change came first
  // B's record once its change applied there: the room as registered, max_users 4.
  store::RoomRecord b = jam.host.db->LoadRoom("jam").value();
  proto::RoomSettings b_settings;
  ASSERT_TRUE(b_settings.ParseFromString(b.settings));
  b_settings.set_max_users(4);
  b.settings = b_settings.SerializeAsString();
  b.stream = {b_time, 1};
  jam.room->Command(kAnn, Cmd("/mod bob"), "m");
  ASSERT_EQ(e.held_checked.size(), 1u);
  e.state = KeptAfterBothChanges();
  e.ReleaseChecked(/*refuse=*/false);  // the script answers; B's event is not here yet
  EXPECT_EQ(jam.room->Record().moderators, std::vector<std::string>{"bob"});
  auto answered = [&jam] {
    for (const auto& m : jam.host.direct[kAnn]) {
      if (m.request_id() == "m") return true;
    }
    return false;
  };
  EXPECT_FALSE(answered()) << "answered before its record was saved";
  // The read of the kept state asked after the answer comes in: the record saved holds
  // B's settings too, and stands where this node's /mod does.
  e.AnswerState();
  ASSERT_TRUE(answered());
  EXPECT_TRUE(jam.host.direct[kAnn].back().has_command_result())
      << jam.host.direct[kAnn].back().ShortDebugString();
  // B's node commits its record (stamped where B's change stands) after this node's.
  ASSERT_TRUE(jam.host.db->SaveRoom(b).ok());
  // Then B's event reaches this node, which reads the kept state again.
  DeliverBsSettings(jam, b_time);
  e.AnswerState();
  absl::StatusOr<store::RoomRecord> saved = jam.host.db->LoadRoom("jam");
  ASSERT_TRUE(saved.ok()) << saved.status();
  proto::RoomSettings settings;
  ASSERT_TRUE(settings.ParseFromString(saved->settings));
  EXPECT_EQ(settings.max_users(), 4) << "B's settings change was lost";
  EXPECT_EQ(saved->moderators, std::vector<std::string>{"bob"}) << "this node's /mod was lost";
  EXPECT_EQ(jam.room->Info().settings().max_users(), 4);
}

// Another node's change, delivered and read here, is saved here too: the store follows
// the stream even when the acting node's record stands earlier or never comes.
TEST(RoomUpdateNodesTest, AnotherNodesChangeIsSavedWhereItIsRead) {
  Registered jam;
  SpanningBroker& e = jam.host.engine();
  e.state = KeptAfterBothChanges();
  DeliverBsSettings(jam, jam.host.NowUs() + 5);
  absl::StatusOr<store::RoomRecord> saved = jam.host.db->LoadRoom("jam");
  ASSERT_TRUE(saved.ok()) << saved.status();
  proto::RoomSettings settings;
  ASSERT_TRUE(settings.ParseFromString(saved->settings));
  EXPECT_EQ(settings.max_users(), 4);
  EXPECT_EQ(saved->moderators, std::vector<std::string>{"bob"});
  EXPECT_EQ(saved->stream.time_us, jam.host.NowUs() + 5);
}

// A ban of a moderator in a registered room ends the appointment in the store too, not
// only in the room and the ban table: restored from its record after a restart, the room
// would have made the banned user a moderator again.
TEST(RoomUpdateNodesTest, ABanOfAModeratorIsSavedWithTheAppointmentEnded) {
  Registered jam;
  auto moderators = [&jam] {
    auto r = jam.host.db->LoadRoom("jam");
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->moderators : std::vector<std::string>{"?"};
  };
  auto cmd = [](const std::string& line) {
    auto parsed = moderation::ParseCommand(line);
    EXPECT_TRUE(parsed.ok()) << line;
    return parsed.ok() ? *parsed : moderation::ParsedCommand();
  };
  jam.room->Command(kAnn, cmd("/mod bob"), "m");
  jam.host.engine().ReleaseChecked(/*refuse=*/false);
  ASSERT_EQ(moderators(), std::vector<std::string>{"bob"});
  jam.room->Command(kAnn, cmd("/ban bob"), "b");
  jam.host.engine().ReleaseChecked(/*refuse=*/false);
  auto bans = jam.host.db->ListRoomBans("jam", jam.host.UnixMs());
  ASSERT_TRUE(bans.ok());
  ASSERT_EQ(bans->size(), 1u);
  EXPECT_EQ((*bans)[0].user_id, "bob");
  EXPECT_TRUE(moderators().empty()) << "the store still has the banned user as a moderator";
}

}  // namespace
}  // namespace tutti::server
