// Room rules driven through a fake RoomHost: joins, capacity, ownership, chat history,
// MIDI relay with held notes and synthetic note-offs, fan-out only to shards with members.
#include "server/room.h"

#include <stdlib.h>

#include <filesystem>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "server/store/store.h"

namespace tutti::server {
namespace {

struct Delivery {
  int shard;
  std::string room;
  proto::ClientMessage msg;
  SessionId exclude;
  bool droppable;
};

class FakeHost : public RoomHost {
 public:
  int64_t now = 1000;
  std::vector<Delivery> deliveries;
  std::map<SessionId, std::vector<proto::ClientMessage>> direct;  // to one session
  std::vector<SessionId> joined, failed, left;
  int empty_calls = 0;

  int64_t NowUs() override { return now; }
  void DeliverToShard(int shard, const std::string& room_id, const Frame& frame, SessionId exclude,
                      bool droppable) override {
    deliveries.push_back({shard, room_id, Parse(frame), exclude, droppable});
  }
  void SendToSession(SessionId s, const Frame& f) override { direct[s].push_back(Parse(f)); }
  void MemberJoined(SessionId s, const std::string&, const Frame& f) override {
    joined.push_back(s);
    direct[s].push_back(Parse(f));
  }
  void JoinFailed(SessionId s, const std::string&, const Frame& f) override {
    failed.push_back(s);
    direct[s].push_back(Parse(f));
  }
  void MemberLeft(SessionId s, const std::string&, const Frame& f) override {
    left.push_back(s);
    if (f) direct[s].push_back(Parse(f));
  }
  void RoomEmpty(const std::string&) override { ++empty_calls; }
  void RoomHoldsNotes(const std::string& room_id) override { holds_notes.push_back(room_id); }
  std::vector<std::string> holds_notes;  // RoomHoldsNotes calls, in order
  int64_t UnixMs() override { return unix_ms; }
  // A real SQLite store in a private directory, run inline (the test is the one thread).
  bool Storage(std::function<void(store::Store&)> work, std::function<void()> then) override {
    if (!db) {
      char tmpl[] = "/tmp/tutti-room-test-XXXXXX";
      dir = mkdtemp(tmpl);
      auto opened = store::Store::Open(dir + "/t.db");
      EXPECT_TRUE(opened.ok()) << opened.status();
      db = std::move(*opened);
    }
    ++storage_calls;
    work(*db);
    then();
    return true;
  }
  ~FakeHost() override {
    db.reset();
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
  int64_t unix_ms = 1'700'000'000'000;
  int storage_calls = 0;
  std::string dir;
  std::unique_ptr<store::Store> db;

  static proto::ClientMessage Parse(const Frame& f) {
    proto::ClientMessage m;
    EXPECT_TRUE(m.ParseFromString(f->payload()));
    return m;
  }
  std::vector<proto::ClientMessage> Broadcasts(proto::ClientMessage::MessageCase c) const {
    std::vector<proto::ClientMessage> out;
    for (const auto& d : deliveries) {
      if (d.msg.message_case() == c) out.push_back(d.msg);
    }
    return out;
  }
  // What the members on one shard received (each broadcast once).
  std::vector<proto::ClientMessage> OnShard(int shard, proto::ClientMessage::MessageCase c) const {
    std::vector<proto::ClientMessage> out;
    for (const auto& d : deliveries) {
      if (d.shard == shard && d.msg.message_case() == c) out.push_back(d.msg);
    }
    return out;
  }
};

JoinRequest Req(SessionId s, const std::string& user, bool guest = false, bool admin = false) {
  JoinRequest r;
  r.session = s;
  r.user.set_user_id(user);
  r.user.set_username(user);
  r.user.set_is_guest(guest);
  r.user.set_is_member(!guest);
  r.server_admin = admin;
  return r;
}

class RoomTest : public ::testing::Test {
 protected:
  RoomTest() {
    config.max_users_per_room = 3;
    config.chat_history = 3;
  }
  std::unique_ptr<Room> Make(proto::RoomSettings settings = DefaultSettings(),
                             proto::RoomType type = proto::PUBLIC) {
    return std::make_unique<Room>("jam", "Jam", type, settings, "", "", &config, &host);
  }
  static proto::RoomSettings DefaultSettings() {
    proto::RoomSettings s;
    s.set_allow_chat(true);
    s.set_allow_guests(true);
    return s;
  }
  ServerConfig config;
  FakeHost host;
};

// Session ids on shards 0, 1, 2 (the low byte is the shard).
constexpr SessionId kA = (1 << 8) | 0, kB = (2 << 8) | 1, kC = (3 << 8) | 2, kD = (4 << 8) | 1;

TEST_F(RoomTest, FirstJoinerOwnsTheRoomAndOthersAreAnnounced) {
  auto room = Make();
  room->Join(Req(kA, "alice"), true);
  room->Join(Req(kB, "bob"), true);
  ASSERT_EQ(host.joined.size(), 2u);
  EXPECT_EQ(room->Info().owner_id(), "alice");
  const auto& resp = host.direct[kB].back().room_joined_response();
  EXPECT_TRUE(resp.success());
  EXPECT_EQ(resp.current_users_size(), 2);
  EXPECT_EQ(resp.you().user_id(), "bob");
  // Bob's arrival went to shard 0 (alice) and shard 1 (bob, excluded there).
  auto ann = host.Broadcasts(proto::ClientMessage::kUserJoinedRoom);
  ASSERT_FALSE(ann.empty());
  for (const auto& d : host.deliveries) {
    if (d.msg.has_user_joined_room() && d.msg.user_joined_room().user_info().user_id() == "bob") {
      EXPECT_EQ(d.exclude, kB);
      EXPECT_TRUE(d.shard == 0 || d.shard == 1);
    }
  }
}

TEST_F(RoomTest, StaffPassingABarrierIsAuditedAndAnOrdinaryJoinIsNot) {
  auto room = Make();
  room->Join(Req(kA, "a"), true);
  room->Join(Req(kB, "admin", false, /*admin=*/true), true);  // passes nothing
  EXPECT_EQ(host.storage_calls, 0);
  room->Join(Req(kC, "c"), true);
  // Full, and the password was not checked: both named, in the order they are checked.
  room->Join(Req(kD, "root", false, /*admin=*/true), /*password_ok=*/false);
  EXPECT_EQ(host.joined.size(), 4u);
  ASSERT_TRUE(host.db);
  auto log = host.db->ListAudit("jam", 10);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->size(), 1u);
  const moderation::AuditRecord& rec = log->front();
  EXPECT_EQ(rec.action, moderation::AuditAction::kStaffEntry);
  EXPECT_EQ(rec.actor, "root");
  EXPECT_EQ(rec.target, "root");
  EXPECT_EQ(rec.room_id, "jam");
  EXPECT_EQ(rec.reason, "password, full");
  EXPECT_EQ(rec.unix_ms, host.unix_ms);
}

TEST_F(RoomTest, CapacityGuestsAndMembersOnly) {
  auto room = Make();
  room->Join(Req(kA, "a"), true);
  room->Join(Req(kB, "b"), true);
  room->Join(Req(kC, "c"), true);
  room->Join(Req(kD, "d"), true);
  ASSERT_EQ(host.failed.size(), 1u);
  EXPECT_EQ(host.direct[kD].back().error_message().code(), proto::ROOM_FULL);
  room->Join(Req(kD, "admin", false, /*admin=*/true), true);  // staff may exceed
  EXPECT_EQ(host.joined.size(), 4u);

  proto::RoomSettings members_only = DefaultSettings();
  members_only.set_require_pro(true);
  members_only.set_allow_guests(false);
  auto club = Make(members_only);
  JoinRequest guest = Req(kA, "g", /*guest=*/true);
  guest.user.set_is_member(false);
  club->Join(guest, true);
  EXPECT_EQ(host.direct[kA].back().error_message().code(), proto::PERMISSION_DENIED);
  JoinRequest nonmember = Req(kB, "n");
  nonmember.user.set_is_member(false);
  club->Join(nonmember, true);
  EXPECT_EQ(host.direct[kB].back().error_message().code(), proto::PERMISSION_DENIED);
}

TEST_F(RoomTest, WrongPasswordAndDoubleJoinRefused) {
  auto room = Make();
  room->Join(Req(kA, "a"), false);
  EXPECT_EQ(host.direct[kA].back().error_message().code(), proto::WRONG_PASSWORD);
  room->Join(Req(kA, "a"), true);
  room->Join(Req(kA, "a"), true);
  EXPECT_EQ(host.direct[kA].back().error_message().code(), proto::WRONG_STATE);
}

TEST_F(RoomTest, OwnershipPassesToLongestPresentMemberBeforeGuests) {
  auto room = Make();
  room->Join(Req(kA, "owner"), true);
  room->Join(Req(kB, "guest", /*guest=*/true), true);
  room->Join(Req(kC, "member"), true);
  room->Leave(kA, "left", "r1");
  EXPECT_EQ(room->Info().owner_id(), "member");
  EXPECT_EQ(host.direct[kA].back().room_left().reason(), "left");
  EXPECT_EQ(host.direct[kA].back().request_id(), "r1");
  auto updates = host.Broadcasts(proto::ClientMessage::kRoomUpdated);
  ASSERT_FALSE(updates.empty());
  EXPECT_EQ(updates.back().room_updated().room_info().owner_id(), "member");
  room->Leave(kC, "left", "");
  EXPECT_EQ(room->Info().owner_id(), "guest");
  EXPECT_EQ(host.empty_calls, 0);
  room->Leave(kB, "left", "");
  EXPECT_EQ(host.empty_calls, 1);
  EXPECT_TRUE(room->empty());
}

TEST_F(RoomTest, ChatHistoryIsBoundedAndMessageTypesCannotBeForged) {
  auto room = Make();
  room->Join(Req(kA, "owner"), true);
  room->Join(Req(kB, "bob"), true);
  for (int i = 0; i < 5; ++i) room->Chat(kB, "line " + std::to_string(i), proto::USER_MESSAGE, "");
  room->Chat(kB, "fake", proto::SYSTEM_MESSAGE, "");
  room->Chat(kB, "fake mod", proto::MODERATOR_MESSAGE, "");
  room->Chat(kA, "real mod", proto::MODERATOR_MESSAGE, "");
  auto lines = host.OnShard(0, proto::ClientMessage::kRoomChatMessage);
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(lines[5].room_chat_message().message_type(), proto::USER_MESSAGE);
  EXPECT_EQ(lines[6].room_chat_message().message_type(), proto::USER_MESSAGE);
  EXPECT_EQ(lines[7].room_chat_message().message_type(), proto::MODERATOR_MESSAGE);
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_GT(lines[i].room_chat_message().server_time(),
              lines[i - 1].room_chat_message().server_time());
    EXPECT_EQ(lines[i].room_chat_message().message_id(),
              lines[i - 1].room_chat_message().message_id() + 1);
  }
  room->Join(Req(kC, "late"), true);
  const auto& resp = host.direct[kC].back().room_joined_response();
  ASSERT_EQ(resp.chat_history_size(), 3);  // config.chat_history
  EXPECT_EQ(resp.chat_history(2).message(), "real mod");
}

TEST_F(RoomTest, ChatDisabledExceptForOwner) {
  proto::RoomSettings quiet = DefaultSettings();
  quiet.set_allow_chat(false);
  auto room = Make(quiet);
  room->Join(Req(kA, "owner"), true);
  room->Join(Req(kB, "bob"), true);
  room->Chat(kB, "hi", proto::USER_MESSAGE, "q");
  EXPECT_EQ(host.direct[kB].back().error_message().code(), proto::PERMISSION_DENIED);
  EXPECT_EQ(host.direct[kB].back().request_id(), "q");
  room->Chat(kA, "announcement", proto::USER_MESSAGE, "");
  EXPECT_EQ(host.OnShard(1, proto::ClientMessage::kRoomChatMessage).size(), 1u);
}

MidiRelay Relay(SessionId s, uint64_t seq, const std::string& bytes) {
  MidiRelay r;
  r.session = s;
  r.sequence = seq;
  r.stamped_us = 5000 + static_cast<int64_t>(seq);
  r.midi_data = bytes;
  EXPECT_TRUE(midi::ParseChannelMessages(bytes, 64, &r.parsed).ok());
  return r;
}

// The host ticks only rooms that told it something sounds: a room reports itself once when
// notes start, its tick says when nothing is held any more, and it reports itself again
// when the next note starts. Rooms that never sound are never reported (never ticked).
TEST_F(RoomTest, ReportsHoldingNotesOnceAndTheTickSaysWhenItStops) {
  auto room = Make();
  room->Join(Req(kA, "pianist"), true);
  room->Join(Req(kB, "listener"), true);
  EXPECT_TRUE(host.holds_notes.empty()) << "joining holds nothing";
  room->Midi(Relay(kA, 1, std::string("\xC0\x05", 2)));  // a program: nothing sounds
  EXPECT_TRUE(host.holds_notes.empty());
  room->Midi(Relay(kA, 2, std::string("\x90\x3C\x64", 3)));
  ASSERT_EQ(host.holds_notes, std::vector<std::string>{"jam"});
  room->Midi(Relay(kA, 3, std::string("\x90\x40\x64", 3)));
  EXPECT_EQ(host.holds_notes.size(), 1u) << "reported once per stretch of playing";

  host.deliveries.clear();
  EXPECT_TRUE(room->TickHeldNotes());
  EXPECT_EQ(host.Broadcasts(proto::ClientMessage::kHeldNotesSnapshot).size(), 2u);

  room->Midi(Relay(kA, 4, std::string("\x80\x3C\x00\x80\x40\x00", 6)));
  EXPECT_EQ(host.holds_notes.size(), 1u);
  host.deliveries.clear();
  EXPECT_FALSE(room->TickHeldNotes()) << "nothing sounds: the host may stop ticking";
  EXPECT_TRUE(host.Broadcasts(proto::ClientMessage::kHeldNotesSnapshot).empty());

  room->Midi(Relay(kA, 5, std::string("\xB0\x40\x7F", 3)));  // sustain down sounds too
  EXPECT_EQ(host.holds_notes.size(), 2u) << "reported again once something sounds again";
  EXPECT_TRUE(room->TickHeldNotes());
}

TEST_F(RoomTest, MidiRelayTracksHeldNotesAndReleasesThemOnLeave) {
  auto room = Make();
  room->Join(Req(kA, "pianist"), true);
  room->Join(Req(kB, "listener"), true);
  host.deliveries.clear();
  room->Midi(Relay(kA, 1, std::string("\xB0\x40\x7F\x90\x3C\x64\x90\x40\x64", 9)));
  auto relayed = host.Broadcasts(proto::ClientMessage::kMidiMessage);
  ASSERT_EQ(relayed.size(), 2u);  // to shard 0 and shard 1
  EXPECT_EQ(relayed[0].midi_message().sequence(), 1u);
  EXPECT_EQ(relayed[0].midi_message().user_id(), "pianist");
  EXPECT_EQ(host.deliveries[0].exclude, kA);

  host.deliveries.clear();
  room->TickHeldNotes();
  auto snaps = host.Broadcasts(proto::ClientMessage::kHeldNotesSnapshot);
  ASSERT_FALSE(snaps.empty());
  EXPECT_EQ(snaps[0].held_notes_snapshot().notes_size(), 2);
  EXPECT_EQ(snaps[0].held_notes_snapshot().sustain_channels(), 1u);

  // A joiner learns what is held.
  room->Join(Req(kC, "late"), true);
  EXPECT_EQ(host.direct[kC].back().room_joined_response().held_notes_size(), 1);

  host.deliveries.clear();
  room->Leave(kA, "disconnected", "");
  auto off = host.Broadcasts(proto::ClientMessage::kMidiMessage);
  ASSERT_FALSE(off.empty());
  EXPECT_EQ(off[0].midi_message().flags(), static_cast<uint32_t>(proto::MIDI_FLAG_SYNTHETIC));
  // Stamped no earlier than the sender's last event (stamped 5001 while the clock says 1000).
  EXPECT_GE(off[0].midi_message().timestamp(), 5001);
  EXPECT_EQ(off[0].midi_message().sequence(), 2u);
  std::vector<midi::ChannelMessage> msgs;
  ASSERT_TRUE(midi::ParseChannelMessages(off[0].midi_message().midi_data(), 64, &msgs).ok());
  midi::HeldNotes check;
  check.Apply(midi::ChannelMessage{0xB0, 64, 127, 3});
  check.Apply(midi::ChannelMessage{0x90, 0x3C, 0x64, 3});
  check.Apply(midi::ChannelMessage{0x90, 0x40, 0x64, 3});
  for (const auto& m : msgs) check.Apply(m);
  EXPECT_TRUE(check.Empty());
  // The note-offs precede the departure announcement.
  size_t midi_at = 0, left_at = 0;
  for (size_t i = 0; i < host.deliveries.size(); ++i) {
    if (host.deliveries[i].msg.has_midi_message()) midi_at = i;
    if (host.deliveries[i].msg.has_user_left_room()) left_at = i;
  }
  EXPECT_LT(midi_at, left_at);
}

TEST_F(RoomTest, RoomTimeStrictlyIncreasesEvenWhenTheClockStands) {
  auto room = Make();
  room->Join(Req(kA, "a"), true);
  room->Join(Req(kB, "b"), true);
  host.deliveries.clear();
  for (uint64_t i = 1; i <= 10; ++i) room->Midi(Relay(kA, i, std::string("\x90\x3C\x64", 3)));
  int64_t last = 0;
  for (const auto& m : host.Broadcasts(proto::ClientMessage::kMidiMessage)) {
    if (m.midi_message().room_time() == last) continue;  // same batch to two shards
    EXPECT_GT(m.midi_message().room_time(), last);
    last = m.midi_message().room_time();
  }
}

TEST_F(RoomTest, OnlyTheOwnerUpdatesSettings) {
  auto room = Make();
  room->Join(Req(kA, "owner"), true);
  room->Join(Req(kB, "bob"), true);
  proto::UpdateRoomCommand cmd;
  cmd.mutable_settings()->set_max_users(2);
  room->Update(kB, cmd, "", "u1");
  EXPECT_EQ(host.direct[kB].back().error_message().code(), proto::PERMISSION_DENIED);
  room->Update(kA, cmd, "", "u2");
  EXPECT_EQ(room->capacity(), 2);
  EXPECT_EQ(host.direct[kA].back().request_id(), "u2");
  EXPECT_TRUE(host.direct[kA].back().has_room_updated());
  proto::UpdateRoomCommand lobby;
  lobby.set_set_room_type(true);
  lobby.set_room_type(proto::LOBBY);
  room->Update(kA, lobby, "", "u3");
  EXPECT_EQ(host.direct[kA].back().error_message().code(), proto::INVALID_PARAMETERS);
}

TEST_F(RoomTest, AvatarMovesAreDroppableAppearanceIsNot) {
  auto room = Make();
  room->Join(Req(kA, "a"), true);
  room->Join(Req(kB, "b"), true);
  host.deliveries.clear();
  proto::AvatarCommand move;
  move.set_action(proto::UPDATE_POSITION);
  room->Avatar(kA, move);
  ASSERT_FALSE(host.deliveries.empty());
  EXPECT_TRUE(host.deliveries.back().droppable);
  proto::AvatarCommand look;
  look.set_action(proto::UPDATE_APPEARANCE);
  look.mutable_avatar_data()->set_color("#112233");
  room->Avatar(kA, look);
  EXPECT_FALSE(host.deliveries.back().droppable);
  room->Join(Req(kC, "c"), true);
  const auto& users = host.direct[kC].back().room_joined_response().current_users();
  bool found = false;
  for (const auto& u : users) found |= u.avatar().color() == "#112233";
  EXPECT_TRUE(found);
}

moderation::ParsedCommand Cmd(const std::string& line) {
  auto parsed = moderation::ParseCommand(line);
  EXPECT_TRUE(parsed.ok()) << line << ": " << parsed.status();
  return parsed.ok() ? *parsed : moderation::ParsedCommand();
}

const proto::ClientMessage& Last(FakeHost& host, SessionId s) { return host.direct[s].back(); }

TEST_F(RoomTest, OwnerKicksAndBansBannedUserCannotReturn) {
  config.max_users_per_room = 10;
  auto room = Make();
  room->Join(Req(kA, "owner"), true);
  room->Join(Req(kB, "bob"), true);
  room->Join(Req(kC, "carol"), true);
  room->Command(kA, Cmd("/kick bob spamming"), "k1");
  EXPECT_FALSE(room->IsMember(kB));
  EXPECT_EQ(host.direct[kB].back().room_left().reason(), "kicked");
  bool noticed = false;
  for (const auto& m : host.direct[kB]) noticed |= m.has_moderation_notice();
  EXPECT_TRUE(noticed);
  EXPECT_TRUE(Last(host, kA).command_result().ok());
  EXPECT_EQ(Last(host, kA).request_id(), "k1");
  // A kick is not a ban.
  room->Join(Req(kB, "bob"), true);
  EXPECT_TRUE(room->IsMember(kB));
  room->Command(kA, Cmd("/ban Bob 1h rude"), "");  // by username, any case
  EXPECT_FALSE(room->IsMember(kB));
  room->Join(Req(kB, "bob"), true);
  EXPECT_EQ(Last(host, kB).error_message().code(), proto::BANNED);
  // The ban ends by itself.
  host.unix_ms += 3'600'001;
  room->Join(Req(kB, "bob"), true);
  EXPECT_TRUE(room->IsMember(kB));
  // Everything was audited in the store.
  auto log = host.db->ListAudit("jam", 10);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->size(), 2u);
}

TEST_F(RoomTest, MembersCannotModerateAndModeratorsCannotTouchTheOwner) {
  config.max_users_per_room = 10;
  auto room = Make();
  room->Join(Req(kA, "owner"), true);
  room->Join(Req(kB, "bob"), true);
  room->Join(Req(kC, "carol"), true);
  room->Command(kB, Cmd("/kick carol"), "x");
  EXPECT_EQ(Last(host, kB).error_message().code(), proto::PERMISSION_DENIED);
  EXPECT_TRUE(room->IsMember(kC));
  room->Command(kA, Cmd("/mod bob"), "");
  EXPECT_TRUE(Last(host, kA).command_result().ok());
  room->Command(kB, Cmd("/kick carol"), "");
  EXPECT_FALSE(room->IsMember(kC));
  room->Command(kB, Cmd("/kick owner"), "");
  EXPECT_EQ(Last(host, kB).error_message().code(), proto::PERMISSION_DENIED);
  EXPECT_TRUE(room->IsMember(kA));
  room->Command(kA, Cmd("/owner bob"), "");
  EXPECT_EQ(room->owner_id(), "bob");
}

TEST_F(RoomTest, RoleChangesAreAnnouncedToEveryMember) {
  config.max_users_per_room = 10;
  auto room = Make();
  room->Join(Req(kA, "owner"), true);
  room->Join(Req(kB, "bob"), true);
  room->Join(Req(kC, "carol"), true);
  host.direct.clear();
  host.deliveries.clear();
  room->Command(kA, Cmd("/mod bob"), "");
  room->Command(kA, Cmd("/unmod bob"), "");
  room->Command(kA, Cmd("/owner carol"), "");
  using Seen = std::vector<std::pair<proto::ModerationAction, std::string>>;
  const Seen want = {{proto::MOD_APPOINT_MODERATOR, "bob"},
                     {proto::MOD_REMOVE_MODERATOR, "bob"},
                     {proto::MOD_TRANSFER_OWNERSHIP, "carol"}};
  for (SessionId s : {kA, kB, kC}) {
    Seen seen;
    for (const auto& m : host.direct[s]) {
      if (!m.has_moderation_notice()) continue;
      EXPECT_EQ(m.moderation_notice().actor_user_id(), "owner");
      seen.emplace_back(m.moderation_notice().action(), m.moderation_notice().target_user_id());
    }
    EXPECT_EQ(seen, want) << "session " << s;
  }
  std::vector<std::string> lines;
  for (const auto& m : host.OnShard(0, proto::ClientMessage::kRoomChatMessage)) {
    EXPECT_EQ(m.room_chat_message().message_type(), proto::MODERATOR_MESSAGE);
    lines.push_back(m.room_chat_message().message());
  }
  EXPECT_EQ(lines, (std::vector<std::string>{"bob is now a room moderator (appointed by owner)",
                                             "bob is no longer a room moderator (by owner)",
                                             "carol now owns the room (handed over by owner)"}));
}

// A synthetic release leaves a listener's synth at rest: keys and all three pedals up, bend
// centred, mod wheel at 0. A late joiner learns the program, bend and pedals of a sender who
// holds no key, so it hears the right instrument at the right pitch.
TEST_F(RoomTest, ReleasesResetControllersAndJoinersLearnTheControllerState) {
  auto room = Make();
  room->Join(Req(kA, "pianist"), true);
  room->Join(Req(kB, "listener"), true);
  // Program 5 on channel 2, bend up, mod wheel, sostenuto and soft down; no key held.
  room->Midi(Relay(kA, 1,
                   std::string("\xC2\x05\xE2\x00\x60\xB2\x01\x40\xB2\x42\x7F"
                               "\xB2\x43\x7F",
                               14)));
  room->Join(Req(kC, "late"), true);
  const auto& joined = host.direct[kC].back().room_joined_response();
  ASSERT_EQ(joined.held_notes_size(), 1);
  const auto& snap = joined.held_notes(0);
  EXPECT_EQ(snap.notes_size(), 0);
  EXPECT_EQ(snap.sostenuto_channels(), 1u << 2);
  EXPECT_EQ(snap.soft_channels(), 1u << 2);
  ASSERT_EQ(snap.controllers_size(), 1);
  EXPECT_EQ(snap.controllers(0).channel(), 2u);
  EXPECT_TRUE(snap.controllers(0).has_program());
  EXPECT_EQ(snap.controllers(0).program(), 5u);
  EXPECT_EQ(snap.controllers(0).pitch_bend(), 0x60u << 7);
  EXPECT_EQ(snap.controllers(0).mod_wheel(), 0x40u);

  host.deliveries.clear();
  room->Leave(kA, "left", "");
  auto off = host.OnShard(0, proto::ClientMessage::kMidiMessage);
  ASSERT_EQ(off.size(), 1u);
  EXPECT_EQ(off[0].midi_message().flags(), static_cast<uint32_t>(proto::MIDI_FLAG_SYNTHETIC));
  std::vector<midi::ChannelMessage> msgs;
  ASSERT_TRUE(midi::ParseChannelMessages(off[0].midi_message().midi_data(), 64, &msgs).ok());
  const std::vector<midi::ChannelMessage> expected = {
      midi::MakeControlChange(2, midi::kCcSostenuto, 0),
      midi::MakeControlChange(2, midi::kCcSoft, 0),
      midi::MakeControlChange(2, midi::kCcModWheel, 0),
      midi::MakePitchBend(2, midi::kPitchBendCenter),
  };
  EXPECT_EQ(msgs, expected);
}

TEST_F(RoomTest, MuteRefusesChatAndMidiAndReleasesHeldNotes) {
  auto room = Make();
  room->Join(Req(kA, "owner"), true);
  room->Join(Req(kB, "bob"), true);
  room->Midi(Relay(kB, 1, std::string("\x90\x3C\x64", 3)));
  host.deliveries.clear();
  room->Command(kA, Cmd("/mute bob 10m"), "");
  auto off = host.OnShard(0, proto::ClientMessage::kMidiMessage);
  ASSERT_EQ(off.size(), 1u);
  EXPECT_TRUE(off[0].midi_message().flags() & proto::MIDI_FLAG_SYNTHETIC);
  room->Chat(kB, "let me talk", proto::USER_MESSAGE, "c");
  EXPECT_EQ(Last(host, kB).error_message().code(), proto::MUTED)
      << Last(host, kB).ShortDebugString();
  MidiRelay refused = Relay(kB, 2, std::string("\x90\x3E\x64", 3));
  refused.request_id = "midi-2";
  room->Midi(std::move(refused));
  EXPECT_EQ(Last(host, kB).error_message().code(), proto::MUTED);
  EXPECT_EQ(Last(host, kB).request_id(), "midi-2") << "the refusal echoes the request id";
  room->Command(kA, Cmd("/unmute bob"), "");
  room->Chat(kB, "thanks", proto::USER_MESSAGE, "");
  EXPECT_EQ(
      host.OnShard(0, proto::ClientMessage::kRoomChatMessage).back().room_chat_message().message(),
      "thanks");
}

TEST_F(RoomTest, UsersHelpTopicClearAndLog) {
  auto room = Make();
  room->Join(Req(kA, "owner"), true);
  room->Join(Req(kB, "bob"), true);
  room->Command(kB, Cmd("/users"), "");
  EXPECT_EQ(Last(host, kB).command_result().lines_size(), 2);
  room->Command(kB, Cmd("/help"), "");
  const auto& member_help = Last(host, kB).command_result();
  room->Command(kA, Cmd("/help"), "");
  EXPECT_GT(Last(host, kA).command_result().lines_size(), member_help.lines_size());
  room->Command(kA, Cmd("/topic Tonight: Bach"), "");
  EXPECT_EQ(room->Info().topic(), "Tonight: Bach");
  room->Chat(kB, "hello", proto::USER_MESSAGE, "");
  room->Command(kA, Cmd("/clear"), "");
  EXPECT_FALSE(host.OnShard(1, proto::ClientMessage::kChatCleared).empty());
  room->Join(Req(kC, "carol"), true);
  EXPECT_EQ(Last(host, kC).room_joined_response().chat_history_size(), 0);
  room->Command(kB, Cmd("/log"), "");
  EXPECT_EQ(Last(host, kB).error_message().code(), proto::PERMISSION_DENIED);
  room->Command(kA, Cmd("/log 5"), "");
  EXPECT_EQ(Last(host, kA).audit_log().entries_size(), 2);  // topic, clear
}

TEST_F(RoomTest, PersistentRoomSavesBansAndKeepsItsOwnerWhileAway) {
  proto::RoomSettings settings = DefaultSettings();
  settings.set_persistent(true);
  auto room = Make(settings);
  // As Shard::CreateRoom does: a registered room is saved before anyone joins.
  host.Storage([&room](store::Store& st) { ASSERT_TRUE(st.SaveRoom(room->Record()).ok()); }, [] {});
  room->Join(Req(kA, "owner"), true);
  room->Join(Req(kB, "bob"), true);
  room->Command(kA, Cmd("/ban bob"), "");
  auto bans = host.db->ListRoomBans("jam", host.unix_ms);
  ASSERT_TRUE(bans.ok());
  ASSERT_EQ(bans->size(), 1u);
  EXPECT_EQ((*bans)[0].user_id, "bob");
  room->Leave(kA, "left", "");
  EXPECT_EQ(room->owner_id(), "owner");
  EXPECT_EQ(host.empty_calls, 0);
  // Restored from its record, the ban still holds.
  auto again = Make(settings);
  again->Restore(room->Record(), *bans);
  again->Join(Req(kB, "bob"), true);
  EXPECT_EQ(Last(host, kB).error_message().code(), proto::BANNED);
}

}  // namespace
}  // namespace tutti::server
