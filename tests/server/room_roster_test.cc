// A room's roster of other nodes' members (docs/SCALE-OUT.md, "Members across nodes"),
// driven without Redis: a real in-process engine behind a wrapper that says its streams
// span nodes, and other nodes' events handed to the room as the Redis engine would hand
// them (with their origin). Joins, resumes and leaves of other nodes' members keep the
// count and the user lists; an expired presence entry makes the room publish the
// member's release and leave; a leave of one of its own members from elsewhere makes it
// announce the member again; what another node's member holds (from its MIDI) is in the
// snapshots here; the performer list is one across nodes. Room moderation across nodes too: a
// command naming another node's member is published with the ban or mute it makes, another node's
// notice is applied here (its target's sessions removed, muted or let in again), and the bans kept
// with the stream are read when the room opens, before its first join is answered.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "midi/midi_parse.h"
#include "server/envelope.h"
#include "server/memory_broker.h"
#include "server/moderation/command_parser.h"
#include "server/room.h"
#include "tests/server/broker_room_host.h"
#include "tests/server/spanning_broker.h"

namespace tutti::server {
namespace {

using Host = BrokerRoomHost<SpanningBroker>;

constexpr SessionId kAnn = 1 << 8;    // this node's member
constexpr SessionId kBob = 7 << 8;    // another node's member
constexpr SessionId kBob2 = 9 << 8;   // bob resumed on a third node
constexpr SessionId kCay = 11 << 8;   // this node's member that resumes elsewhere
constexpr SessionId kCay2 = 12 << 8;  // ... as this session there

std::unique_ptr<Room> Make(Host* host, const ServerConfig* config) {
  proto::RoomSettings settings;
  settings.set_allow_chat(true);
  settings.set_max_users(3);
  return std::make_unique<Room>("jam", "Jam", proto::PUBLIC, settings, "", "", config, host);
}

proto::RoomSnapshot SnapshotFor(Host& host, Room& room, SessionId s) {
  host.direct[s].clear();
  room.SendSnapshot(s, "");
  EXPECT_EQ(host.direct[s].size(), 1u);
  return host.direct[s].empty() ? proto::RoomSnapshot() : host.direct[s].back().room_snapshot();
}

TEST(RoomRosterTest, OtherNodesJoinsResumesAndLeavesKeepTheCountAndTheLists) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config);
  room->Join(MemberJoin(kAnn, "ann"), true);
  FromNode(*room, JoinedElsewhere(kBob, "bob"), "nodeB");
  EXPECT_EQ(room->user_count(), 2u);
  EXPECT_EQ(room->Info().user_count(), 2);
  EXPECT_EQ(SnapshotSessionIds(SnapshotFor(host, *room, kAnn)),
            (std::vector<uint64_t>{kAnn, kBob}));

  // A joiner here gets both, and fills the room (capacity 3).
  room->Join(MemberJoin(kCay, "cay"), true);
  ASSERT_FALSE(host.direct[kCay].empty());
  EXPECT_EQ(host.direct[kCay].back().room_joined_response().current_users_size(), 3);
  EXPECT_TRUE(room->full());

  // Bob resumes on a third node: re-keyed, counted once.
  proto::ClientMessage resumed;
  resumed.mutable_member_connection()->set_session_id(kBob2);
  resumed.mutable_member_connection()->set_previous_session_id(kBob);
  resumed.mutable_member_connection()->set_user_id("bob");
  FromNode(*room, resumed, "nodeC");
  EXPECT_EQ(room->user_count(), 3u);
  EXPECT_EQ(SnapshotSessionIds(SnapshotFor(host, *room, kAnn)),
            (std::vector<uint64_t>{kAnn, kCay, kBob2}));

  // Cay, of this node, resumes on node C while its old session is parked here: this
  // room lets the old session go quietly and counts cay there, once.
  proto::ClientMessage taken;
  taken.mutable_member_connection()->set_session_id(kCay2);
  taken.mutable_member_connection()->set_previous_session_id(kCay);
  taken.mutable_member_connection()->set_user_id("cay");
  FromNode(*room, taken, "nodeC");
  EXPECT_EQ(host.left, (std::vector<SessionId>{kCay}));
  EXPECT_FALSE(room->IsMember(kCay));
  EXPECT_EQ(SnapshotSessionIds(SnapshotFor(host, *room, kAnn)),
            (std::vector<uint64_t>{kAnn, kBob2, kCay2}));

  // Bob leaves over there.
  proto::ClientMessage gone;
  gone.mutable_user_left_room()->set_session_id(kBob2);
  gone.mutable_user_left_room()->set_user_id("bob");
  FromNode(*room, gone, "nodeC");
  EXPECT_EQ(room->user_count(), 2u);
  EXPECT_FALSE(room->full());
}

TEST(RoomRosterTest, AnExpiredEntryOfAnotherNodeIsReleasedAndLeaves) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config);
  room->Join(MemberJoin(kAnn, "ann"), true);
  FromNode(*room, JoinedElsewhere(kBob, "bob"), "nodeB");
  host.fanned.clear();

  PresenceEntry bob;
  bob.session = kBob;
  bob.user_id = "bob";
  bob.origin = "nodeB";
  bob.expired = true;
  PresenceEntry own = bob;  // this node's own entry, late: not a departure
  own.session = kAnn;
  own.origin = "";
  PresenceEntry live = bob;  // alive: nothing to do
  live.session = kCay;
  live.expired = false;
  room->OnPresence("jam", {own, live, bob});

  ASSERT_EQ(host.fanned.size(), 2u);
  const proto::MidiMessage& release = host.fanned[0].msg.midi_message();
  EXPECT_EQ(release.session_id(), kBob);
  EXPECT_EQ(release.user_id(), "bob");
  EXPECT_NE(release.flags() & proto::MIDI_FLAG_SYNTHETIC, 0u);
  EXPECT_NE(release.midi_data().find(std::string{'\xb0', 123, 0}), std::string::npos);
  EXPECT_EQ(host.fanned[1].msg.user_left_room().session_id(), kBob);
  EXPECT_EQ(host.fanned[1].msg.user_left_room().reason(), "disconnected");
  EXPECT_EQ(room->user_count(), 1u);
}

TEST(RoomRosterTest, ALeaveOfAMemberHereFromAnotherNodeAnnouncesItAgain) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config);
  room->Join(MemberJoin(kAnn, "ann"), true);
  host.fanned.clear();
  proto::ClientMessage wrong;
  wrong.mutable_user_left_room()->set_session_id(kAnn);
  wrong.mutable_user_left_room()->set_user_id("ann");
  FromNode(*room, wrong, "nodeB");
  ASSERT_EQ(host.fanned.size(), 2u);  // the leave as delivered, then the new announcement
  EXPECT_TRUE(host.fanned[0].msg.has_user_left_room());
  EXPECT_EQ(host.fanned[1].msg.user_joined_room().user_info().session_id(), kAnn);
  EXPECT_TRUE(room->IsMember(kAnn));
  EXPECT_EQ(room->user_count(), 1u);
}

TEST(RoomRosterTest, AMemberOfADeadNodeResumingHereDropsItsOldEntry) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config);
  room->Join(MemberJoin(kAnn, "ann"), true);
  FromNode(*room, JoinedElsewhere(kBob, "bob"), "nodeB");
  room->AdoptResumed(MemberJoin(kBob2, "bob"), kBob, {});
  EXPECT_EQ(host.engine().removed_other,
            (std::vector<std::string>{"nodeB:" + std::to_string(kBob)}));
  EXPECT_EQ(room->user_count(), 2u);
  EXPECT_EQ(SnapshotSessionIds(SnapshotFor(host, *room, kAnn)),
            (std::vector<uint64_t>{kAnn, kBob2}));
  // Its old entry, had it expired anyway, is no departure.
  host.fanned.clear();
  PresenceEntry old;
  old.session = kBob;
  old.user_id = "bob";
  old.origin = "nodeB";
  old.expired = true;
  room->OnPresence("jam", {old});
  EXPECT_TRUE(host.fanned.empty());
}

moderation::ParsedCommand Cmd(const std::string& line) {
  auto parsed = moderation::ParseCommand(line);
  EXPECT_TRUE(parsed.ok()) << line;
  return parsed.ok() ? *parsed : moderation::ParsedCommand();
}

const proto::ClientMessage& MessageOf(const proto::ClientMessage& m) { return m; }
const proto::ClientMessage& MessageOf(const Host::Fanned& f) { return f.msg; }

// The messages of case `which` among `msgs` (sent to one session, or fanned out).
template <typename T>
std::vector<proto::ClientMessage> Of(const std::vector<T>& msgs,
                                     proto::ClientMessage::MessageCase which) {
  std::vector<proto::ClientMessage> out;
  for (const auto& m : msgs) {
    if (MessageOf(m).message_case() == which) out.push_back(MessageOf(m));
  }
  return out;
}

// Another node's MIDI as it comes off the stream: relayed bytes under its sender's session.
proto::ClientMessage Played(SessionId s, const std::string& user, const std::string& bytes,
                            uint64_t sequence) {
  proto::ClientMessage m;
  m.mutable_midi_message()->set_midi_data(bytes);
  m.mutable_midi_message()->set_user_id(user);
  m.mutable_midi_message()->set_session_id(s);
  m.mutable_midi_message()->set_sequence(sequence);
  return m;
}

// What another node's member holds reaches this node's joiners and snapshots: a late
// joiner here hears the program and the note that sender set up before it came, as with a
// sender of this node; the sender's release empties it and its leave drops it.
TEST(RoomRosterTest, WhatAnotherNodesMemberHoldsIsInTheSnapshotsHere) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config);
  room->Join(MemberJoin(kAnn, "ann"), true);
  FromNode(*room, JoinedElsewhere(kBob, "bob"), "nodeB");
  // Program 40 (violin) on channel 0, then middle C held.
  FromNode(*room, Played(kBob, "bob", std::string{'\xc0', 40}, 1), "nodeB");
  FromNode(*room, Played(kBob, "bob", std::string{'\x90', 60, 90}, 2), "nodeB");

  room->Join(MemberJoin(kCay, "cay"), true);
  ASSERT_FALSE(host.direct[kCay].empty());
  const auto& joined = host.direct[kCay].back().room_joined_response();
  ASSERT_EQ(joined.held_notes_size(), 1);
  const proto::HeldNotesSnapshot& h = joined.held_notes(0);
  EXPECT_EQ(h.user_id(), "bob");
  EXPECT_EQ(h.session_id(), kBob);
  EXPECT_EQ(h.sequence(), 2u);
  ASSERT_EQ(h.notes_size(), 1);
  EXPECT_EQ(h.notes(0).note(), 60u);
  EXPECT_EQ(h.notes(0).velocity(), 90u);
  ASSERT_EQ(h.controllers_size(), 1);
  EXPECT_TRUE(h.controllers(0).has_program());
  EXPECT_EQ(h.controllers(0).program(), 40u);
  ASSERT_EQ(SnapshotFor(host, *room, kAnn).held_notes_size(), 1);

  // The note released: the program still counts (a late joiner needs the instrument).
  FromNode(*room, Played(kBob, "bob", std::string{'\x80', 60, 0}, 3), "nodeB");
  const proto::RoomSnapshot after_off = SnapshotFor(host, *room, kAnn);
  ASSERT_EQ(after_off.held_notes_size(), 1);
  EXPECT_EQ(after_off.held_notes(0).notes_size(), 0);
  // A batch for a session the roster does not have changes nothing.
  FromNode(*room, Played(kBob2, "bob", std::string{'\x90', 61, 90}, 1), "nodeB");
  EXPECT_EQ(SnapshotFor(host, *room, kAnn).held_notes_size(), 1);
  // Bob leaves: nothing of his is shown any more.
  proto::ClientMessage left;
  left.mutable_user_left_room()->set_session_id(kBob);
  left.mutable_user_left_room()->set_user_id("bob");
  FromNode(*room, left, "nodeB");
  EXPECT_EQ(SnapshotFor(host, *room, kAnn).held_notes_size(), 0);
}

// A room object opened on this node for a join that is refused (with rooms across nodes:
// the room lives on another node and asks a password this joiner lacks) is given up, as a
// room whose last member left is: it must not stay open, empty and subscribed, forever.
TEST(RoomRosterTest, AnObjectWhoseOnlyJoinIsRefusedIsGivenUp) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config);
  FromNode(*room, JoinedElsewhere(kBob, "bob"), "nodeB");
  room->Join(MemberJoin(kCay, "cay"), /*password_ok=*/false);
  ASSERT_FALSE(host.direct[kCay].empty());
  EXPECT_EQ(host.direct[kCay].back().error_message().code(), proto::WRONG_PASSWORD);
  EXPECT_EQ(host.emptied, (std::vector<std::string>{"jam"}));

  // With a member here, a refused join leaves the room as it is.
  host.emptied.clear();
  room->Join(MemberJoin(kAnn, "ann"), true);
  ASSERT_TRUE(room->IsMember(kAnn));
  room->Join(MemberJoin(kCay, "cay"), /*password_ok=*/false);
  EXPECT_EQ(host.direct[kCay].back().error_message().code(), proto::WRONG_PASSWORD);
  EXPECT_TRUE(host.emptied.empty());
}

// A note-on from `s`, as its shard hands it to the room.
MidiRelay NoteOn(SessionId s) {
  MidiRelay r;
  r.session = s;
  r.sequence = 1;
  r.midi_data = std::string{'\x90', 60, 90};
  EXPECT_TRUE(midi::ParseChannelMessages(r.midi_data, 8, &r.parsed).ok());
  return r;
}

bool Relayed(const Host& host, SessionId s) {
  for (const auto& f : host.fanned) {
    if (f.msg.has_midi_message() && f.msg.midi_message().session_id() == s) return true;
  }
  return false;
}

// A room where only performers (and room staff) play.
proto::RoomSettings PerformersOnly() {
  proto::RoomSettings settings;
  settings.set_allow_chat(true);
  settings.set_max_users(10);
  settings.set_play_mode(proto::PLAY_PERFORMERS_ONLY);
  return settings;
}

// The performer list is the room's, not one node's: the owner names a member of another
// node by name, the change is written with its event, and another node's change, read
// back on its RoomUpdated, decides who may play here (and whose notes are released).
TEST(RoomMusicNodesTest, ThePerformerListIsOneAcrossNodes) {
  ServerConfig config;
  Host host;
  Room room("jam", "Jam", proto::PUBLIC, PerformersOnly(), "", "ann", &config, &host);
  room.Join(MemberJoin(kAnn, "ann"), true);
  room.Join(MemberJoin(kCay, "cay"), true);
  FromNode(room, JoinedElsewhere(kBob, "bob"), "nodeB");
  host.engine().states.clear();

  room.SetPerformer(kAnn, "bob", /*performer=*/true, "p1", CommandTarget{});
  ASSERT_EQ(host.engine().states.size(), 1u);
  const RoomStateChange& written = host.engine().states[0];
  EXPECT_EQ(written.kind, RoomStateChange::Kind::kSettings);
  proto::RoomInfo info;
  ASSERT_TRUE(info.ParseFromString(written.room));
  EXPECT_EQ(std::vector<std::string>(info.performer_ids().begin(), info.performer_ids().end()),
            (std::vector<std::string>{"bob"}));

  // Cay is in the audience here...
  room.Midi(NoteOn(kCay));
  EXPECT_FALSE(Relayed(host, kCay));
  ASSERT_FALSE(host.direct[kCay].empty());
  EXPECT_EQ(host.direct[kCay].back().error_message().code(), proto::NOT_A_PERFORMER);
  // ...until node B adds her: its RoomUpdated makes this room read the kept list.
  info.add_performer_ids("cay");
  KeptRoomState kept;
  kept.found = true;
  kept.owner = "ann";
  kept.room = info.SerializeAsString();
  kept.version = 9;
  host.engine().state = kept;
  proto::ClientMessage updated;
  *updated.mutable_room_updated()->mutable_room_info() = info;
  FromNode(room, updated, "nodeB");
  room.Midi(NoteOn(kCay));
  EXPECT_TRUE(Relayed(host, kCay)) << "cay, a performer since node B's change, was refused";

  // Node B sends her back to the audience while she holds the note: it is released here
  // (a synthetic release under her session) when the event is delivered, before the kept
  // state is read back, and her next note is refused.
  info.clear_performer_ids();
  info.add_performer_ids("bob");
  kept.room = info.SerializeAsString();
  kept.version = 10;
  host.engine().state = kept;
  *updated.mutable_room_updated()->mutable_room_info() = info;
  host.fanned.clear();
  host.engine().hold_state = true;
  FromNode(room, updated, "nodeB");
  bool released = false;
  for (const auto& f : host.fanned) {
    if (!f.msg.has_midi_message() || f.msg.midi_message().session_id() != kCay) continue;
    released = (f.msg.midi_message().flags() & proto::MIDI_FLAG_SYNTHETIC) != 0;
  }
  EXPECT_TRUE(released) << "cay's held note was not released";
  host.engine().AnswerState();
  host.fanned.clear();
  room.Midi(NoteOn(kCay));
  EXPECT_FALSE(Relayed(host, kCay));
  EXPECT_EQ(host.direct[kCay].back().error_message().code(), proto::NOT_A_PERFORMER);
}

// A room object that opens here while the room lives on another node takes the kept
// performer list with the rest of the kept state: who may play is as there.
// /users shows another node's members with their place in a performers-only room, as
// it shows this node's (the performer list is the room's on every node), and tells staff
// that their link quality is their own node's.
TEST(RoomMusicNodesTest, UsersShowsAnotherNodesPerformersAndAudience) {
  ServerConfig config;
  Host host;
  Room room("jam", "Jam", proto::PUBLIC, PerformersOnly(), "", "ann", &config, &host);
  room.Join(MemberJoin(kAnn, "ann"), true);
  FromNode(room, JoinedElsewhere(kBob, "bob"), "nodeB");
  FromNode(room, JoinedElsewhere(kBob2, "dan"), "nodeB");
  room.SetPerformer(kAnn, "bob", /*performer=*/true, "p1", CommandTarget{});
  room.Command(kAnn, Cmd("/users"), "u");
  ASSERT_FALSE(host.direct[kAnn].empty());
  const proto::ClientMessage& users = host.direct[kAnn].back();
  ASSERT_TRUE(users.has_command_result()) << users.ShortDebugString();
  const auto& lines = users.command_result().lines();
  const std::vector<std::string> got(lines.begin(), lines.end());
  EXPECT_EQ(got, (std::vector<std::string>{
                     "ann (ann) room owner [performer] [quality unknown]",
                     "bob (bob) member [performer] [quality known on its own server]",
                     "dan (dan) member [audience] [quality known on its own server]"}));
}

TEST(RoomMusicNodesTest, ARoomOpeningHereTakesTheKeptPerformerList) {
  ServerConfig config;
  Host host;
  proto::RoomInfo info;
  info.set_room_name("Jam");
  info.set_room_type(proto::PUBLIC);
  info.mutable_settings()->set_allow_chat(true);
  info.mutable_settings()->set_max_users(10);
  info.mutable_settings()->set_play_mode(proto::PLAY_PERFORMERS_ONLY);
  info.add_performer_ids("cay");
  KeptRoomState kept;
  kept.found = true;
  kept.owner = "bob";
  kept.room = info.SerializeAsString();
  kept.version = 4;
  host.engine().state = kept;
  PresenceEntry bob;
  bob.session = kBob;
  bob.user_id = "bob";
  bob.user.set_user_id("bob");
  bob.user.set_session_id(kBob);
  bob.origin = "nodeB";
  host.engine().others = {bob};

  auto room = Make(&host, &config);
  room->Join(MemberJoin(kAnn, "ann"), true);
  room->Join(MemberJoin(kCay, "cay"), true);
  ASSERT_TRUE(room->IsMember(kAnn));
  ASSERT_TRUE(room->IsMember(kCay));
  room->Midi(NoteOn(kCay));
  EXPECT_TRUE(Relayed(host, kCay)) << "cay is on the kept performer list";
  room->Midi(NoteOn(kAnn));
  EXPECT_FALSE(Relayed(host, kAnn));
  EXPECT_EQ(host.direct[kAnn].back().error_message().code(), proto::NOT_A_PERFORMER);
}

TEST(RoomModerationNodesTest, ACommandNamingAnotherNodesMemberIsPublishedForItsNode) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config);
  room->Join(MemberJoin(kAnn, "ann"), true);  // the owner, here
  FromNode(*room, JoinedElsewhere(kBob, "bob"), "nodeB");
  host.fanned.clear();

  // Bob is only in the roster: named by name, he is found there (a kick needs a member).
  room->Command(kAnn, Cmd("/kick Bob noisy"), "k");
  auto notices = Of(host.fanned, proto::ClientMessage::kModerationNotice);
  ASSERT_EQ(notices.size(), 1u) << "the kick was not published";
  EXPECT_EQ(notices[0].moderation_notice().action(), proto::MOD_KICK);
  EXPECT_EQ(notices[0].moderation_notice().target_user_id(), "bob");
  EXPECT_EQ(notices[0].moderation_notice().reason(), "noisy");
  // His node removes him and says so; this one only waits for that leave.
  EXPECT_TRUE(Of(host.fanned, proto::ClientMessage::kUserLeftRoom).empty());
  EXPECT_TRUE(host.engine().changes.empty());  // a kick keeps nothing

  host.fanned.clear();
  room->Command(kAnn, Cmd("/ban bob 1h"), "b");
  notices = Of(host.fanned, proto::ClientMessage::kModerationNotice);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].moderation_notice().action(), proto::MOD_BAN);
  ASSERT_EQ(host.engine().changes.size(), 1u);  // written with the notice
  const PenaltyChange& ban = host.engine().changes[0];
  EXPECT_FALSE(ban.lift);
  EXPECT_EQ(ban.penalty.kind, KeptPenalty::Kind::kBan);
  EXPECT_EQ(ban.penalty.user_id, "bob");
  EXPECT_EQ(ban.penalty.until_unix_ms, notices[0].moderation_notice().until_unix_ms());
  EXPECT_GT(ban.penalty.until_unix_ms, 0);

  room->Command(kAnn, Cmd("/unban bob"), "u");
  ASSERT_EQ(host.engine().changes.size(), 2u);
  EXPECT_TRUE(host.engine().changes[1].lift);
  EXPECT_EQ(host.engine().changes[1].penalty.user_id, "bob");
}

TEST(RoomModerationNodesTest, AnotherNodesBanRemovesTheMemberHereAndRefusesItsReturn) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config);
  room->Join(MemberJoin(kAnn, "ann"), true);
  room->Join(MemberJoin(kBob, "bob"), true);
  host.fanned.clear();

  FromNode(*room, RemoteNotice(proto::MOD_BAN, "bob", "ann"), "nodeA");
  EXPECT_FALSE(room->IsMember(kBob));
  EXPECT_EQ(host.left, (std::vector<SessionId>{kBob}));
  // Bob got the notice (delivered to every member), then RoomLeft "banned"; everyone
  // sees his leave, published by this node.
  auto to_bob = Of(host.direct[kBob], proto::ClientMessage::kRoomLeft);
  ASSERT_EQ(to_bob.size(), 1u);
  EXPECT_EQ(to_bob[0].room_left().reason(), "banned");
  auto leaves = Of(host.fanned, proto::ClientMessage::kUserLeftRoom);
  ASSERT_EQ(leaves.size(), 1u);
  EXPECT_EQ(leaves[0].user_left_room().session_id(), kBob);
  EXPECT_EQ(leaves[0].user_left_room().reason(), "banned");

  host.direct[kBob].clear();
  room->Join(MemberJoin(kBob, "bob"), true);
  ASSERT_EQ(host.direct[kBob].size(), 1u);
  EXPECT_EQ(host.direct[kBob][0].error_message().code(), proto::BANNED);

  FromNode(*room, RemoteNotice(proto::MOD_UNBAN, "bob", "ann"), "nodeA");
  room->Join(MemberJoin(kBob, "bob"), true);
  EXPECT_TRUE(room->IsMember(kBob));
}

TEST(RoomModerationNodesTest, AnotherNodesMuteRefusesTheMembersChatHere) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config);
  room->Join(MemberJoin(kAnn, "ann"), true);
  room->Join(MemberJoin(kBob, "bob"), true);

  proto::ClientMessage mute = RemoteNotice(proto::MOD_MUTE, "bob", "ann");
  mute.mutable_moderation_notice()->set_until_unix_ms(host.UnixMs() + 60'000);
  FromNode(*room, mute, "nodeA");
  host.direct[kBob].clear();
  room->Chat(kBob, "hello", proto::USER_MESSAGE, "c");
  ASSERT_EQ(host.direct[kBob].size(), 1u);
  EXPECT_EQ(host.direct[kBob][0].error_message().code(), proto::MUTED);

  FromNode(*room, RemoteNotice(proto::MOD_UNMUTE, "bob", "ann"), "nodeA");
  host.fanned.clear();
  room->Chat(kBob, "hello again", proto::USER_MESSAGE, "");
  EXPECT_EQ(Of(host.fanned, proto::ClientMessage::kRoomChatMessage).size(), 1u);
}

TEST(RoomModerationNodesTest, BansKeptWithTheStreamAreReadBeforeTheFirstJoin) {
  ServerConfig config;
  Host host;
  KeptPenalty ban;
  ban.user_id = "bob";  // permanent
  KeptPenalty over;
  over.user_id = "cay";
  over.until_unix_ms = host.UnixMs() - 1;  // ended: no ban any more
  host.engine().kept = {ban, over};
  host.engine().hold_penalties = true;
  auto room = Make(&host, &config);

  // Bob's join waits for the read, then is refused; cay's old ban is over.
  room->Join(MemberJoin(kBob, "bob"), true);
  EXPECT_TRUE(host.direct[kBob].empty());
  host.engine().AnswerPenalties();
  ASSERT_EQ(host.direct[kBob].size(), 1u);
  EXPECT_EQ(host.direct[kBob][0].error_message().code(), proto::BANNED);
  room->Join(MemberJoin(kCay, "cay"), true);
  EXPECT_TRUE(room->IsMember(kCay));
}

}  // namespace
}  // namespace tutti::server
