// A room's owner, settings and moderators across nodes (docs/SCALE-OUT.md, "Owner,
// settings and moderators across nodes"), driven without Redis: a real in-process engine
// behind SpanningBroker, which records the state changes handed with each publish and
// answers the reads of the kept state when the test says. A room that opens while the
// room lives on another node takes the kept owner, settings, password and moderators
// before its first join runs (and hands a create back as a join); a stale copy (nobody
// elsewhere) gives way to this node's, written by its first join; a creator that another
// node's came before takes that one's; another node's /mod and /owner apply at once, and
// its RoomUpdated makes the room read the state again with joins waiting; the changes
// made here are handed to the engine with the event announcing them; after a
// resynchronisation (events missed) the room reads the state, the bans and mutes and the
// presence again and replaces what it held; an owner who leaves a node with nobody else in
// the room hands it to another node's member, with a precondition, and a refused hand-on
// makes the room take the kept owner.
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

// The room test host, also recording the joins handed back as joins of the existing room.
class Host : public BrokerRoomHost<SpanningBroker> {
 public:
  bool RejoinExisting(const std::string&, const JoinRequest& req) override {
    rejoined.push_back(req);
    return true;
  }
  std::vector<JoinRequest> rejoined;
};

constexpr SessionId kAnn = 1 << 8;
constexpr SessionId kBob = 7 << 8;
constexpr SessionId kCay = 11 << 8;
constexpr SessionId kZed = 13 << 8;  // another node's member
constexpr SessionId kDan = 17 << 8;

// The room as a create by `owner` on this node makes it.
std::unique_ptr<Room> Make(Host* host, const ServerConfig* config, const std::string& owner) {
  proto::RoomSettings settings;
  settings.set_allow_chat(true);
  settings.set_max_users(10);
  return std::make_unique<Room>("jam", "Jam", proto::PUBLIC, settings, "", owner, config, host);
}

// What another node keeps of the room: owned by zed, private, at most `max_users`, a
// password, moderator mo, a topic.
KeptRoomState Kept(int64_t version = 3, int max_users = 3) {
  proto::RoomInfo info;
  info.set_room_name("Jam");
  info.set_room_type(proto::PRIVATE);
  info.mutable_settings()->set_max_users(max_users);
  info.mutable_settings()->set_allow_chat(true);
  info.set_topic("scales");
  KeptRoomState k;
  k.found = true;
  k.owner = "zed";
  k.room = info.SerializeAsString();
  k.password_hash = "hash-of-zeds-password";
  k.version = version;
  k.moderators = {"mo"};
  return k;
}

PresenceEntry Elsewhere() { return MemberOn("nodeA", kZed, "zed"); }

void FromNode(Room& room, proto::ClientMessage msg) {
  StampType(&msg);
  Publication pub;
  pub.frame = MakeFrame(msg);
  pub.origin = "nodeA";
  room.OnPublication("jam", pub);
}

moderation::ParsedCommand Cmd(const std::string& line) {
  auto parsed = moderation::ParseCommand(line);
  EXPECT_TRUE(parsed.ok()) << line;
  return parsed.ok() ? *parsed : moderation::ParsedCommand();
}

proto::ErrorCode LastError(Host& host, SessionId s) {
  if (host.direct[s].empty() || !host.direct[s].back().has_error_message()) {
    return proto::ERROR_CODE_UNSPECIFIED;
  }
  return host.direct[s].back().error_message().code();
}

// Whether the room showed its members (a fanned RoomUpdated) `owner` as the owner.
bool ShownOwner(const Host& host, const std::string& owner) {
  for (const auto& f : host.fanned) {
    if (f.msg.has_room_updated() && f.msg.room_updated().room_info().owner_id() == owner) {
      return true;
    }
  }
  return false;
}

TEST(RoomStateNodesTest, ARoomOpeningWhileItLivesElsewhereTakesTheKeptState) {
  ServerConfig config;
  Host host;
  host.engine().state = Kept();
  host.engine().others = {Elsewhere()};
  host.engine().hold_state = true;
  auto room = Make(&host, &config, "ann");  // ann created it here

  // Her create waits for the read; then the room is zed's, as kept.
  room->Join(MemberJoin(kAnn, "ann", /*opened=*/true), true);
  EXPECT_TRUE(host.direct[kAnn].empty());
  host.engine().AnswerState();
  EXPECT_EQ(room->owner_id(), "zed");
  const proto::RoomInfo info = room->Info();
  EXPECT_EQ(info.room_type(), proto::PRIVATE);
  EXPECT_EQ(info.settings().max_users(), 3);
  EXPECT_EQ(info.topic(), "scales");
  EXPECT_EQ(room->password_hash(), "hash-of-zeds-password");
  // Her create is handed back as a join of the existing room (its password is asked).
  ASSERT_EQ(host.rejoined.size(), 1u);
  EXPECT_EQ(host.rejoined[0].session, kAnn);
  EXPECT_FALSE(room->IsMember(kAnn));
  // The state stays as kept: nothing is written over it.
  EXPECT_TRUE(host.engine().states.empty());

  // A join as the host makes it then (the password checked): mo is a moderator here.
  room->Join(MemberJoin(kBob, "mo"), true);
  ASSERT_TRUE(room->IsMember(kBob));
  room->Join(MemberJoin(kCay, "cay"), true);
  ASSERT_TRUE(room->IsMember(kCay));
  room->Command(kBob, Cmd("/kick cay"), "k");
  EXPECT_FALSE(room->IsMember(kCay)) << "mo is no moderator here";
}

TEST(RoomStateNodesTest, AStaleKeptStateGivesWayToTheFirstJoinHere) {
  ServerConfig config;
  Host host;
  host.engine().state = Kept();  // nobody is in the room on another node
  host.engine().hold_state = true;
  auto room = Make(&host, &config, "ann");

  room->Join(MemberJoin(kAnn, "ann", /*opened=*/true), true);
  host.engine().hold_state = true;
  host.engine().AnswerState();
  ASSERT_TRUE(room->IsMember(kAnn));
  EXPECT_TRUE(host.rejoined.empty());
  EXPECT_EQ(room->owner_id(), "ann");
  EXPECT_FALSE(room->has_password());
  // Her join writes this room's state (kOpen), owner ann.
  ASSERT_EQ(host.engine().states.size(), 1u);
  const RoomStateChange& open = host.engine().states[0];
  EXPECT_EQ(open.kind, RoomStateChange::Kind::kOpen);
  EXPECT_EQ(open.user, "ann");
  proto::RoomInfo written;
  ASSERT_TRUE(written.ParseFromString(open.room));
  EXPECT_EQ(written.settings().max_users(), 10);
  EXPECT_EQ(written.room_type(), proto::PUBLIC);
  // Read back once sequenced: what the script kept (hers, since nobody else was live).
  KeptRoomState hers;
  hers.found = true;
  hers.owner = "ann";
  hers.room = open.room;
  hers.version = 4;
  host.engine().state = hers;
  host.engine().AnswerState();
  EXPECT_EQ(room->owner_id(), "ann");
  EXPECT_EQ(room->Info().settings().max_users(), 10);
}

TEST(RoomStateNodesTest, ACreatorThatAnotherNodesCameBeforeTakesThatOne) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config, "ann");  // nothing kept yet
  const int reads = host.engine().state_reads;
  room->Join(MemberJoin(kAnn, "ann", /*opened=*/true), true);
  ASSERT_TRUE(room->IsMember(kAnn));
  ASSERT_EQ(host.engine().states.size(), 1u);
  EXPECT_EQ(host.engine().states[0].kind, RoomStateChange::Kind::kOpen);
  // Her kOpen was sequenced after zed's on another node (the script kept zed's): the
  // room reads it back and takes it, and tells its members.
  EXPECT_EQ(host.engine().state_reads, reads + 1);
  host.engine().state = Kept(1);
  host.fanned.clear();
  // The read back already ran (answered inline with nothing new); another node's
  // RoomUpdated makes it read again and find zed's.
  proto::ClientMessage updated;
  updated.mutable_room_updated()->mutable_room_info()->set_room_id("jam");
  FromNode(*room, updated);
  EXPECT_EQ(room->owner_id(), "zed");
  EXPECT_EQ(room->Info().settings().max_users(), 3);
}

TEST(RoomStateNodesTest, TheReadAfterTheFirstJoinTakesTheWinnersStateAndSaysSo) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config, "ann");
  host.engine().hold_state = true;
  host.engine().AnswerState();  // the opening read: nothing kept
  host.engine().hold_state = true;
  room->Join(MemberJoin(kAnn, "ann", /*opened=*/true), true);
  ASSERT_TRUE(room->IsMember(kAnn));
  host.fanned.clear();
  host.engine().state = Kept(1);
  host.engine().AnswerState();  // the read after her kOpen: zed's came first
  EXPECT_EQ(room->owner_id(), "zed");
  EXPECT_TRUE(ShownOwner(host, "zed")) << "ann's view was not corrected";
}

// The RoomJoinedResponse `s` was sent, if any.
const proto::ClientMessage* JoinAnswer(const Host& host, SessionId s) {
  auto it = host.direct.find(s);
  if (it == host.direct.end()) return nullptr;
  for (const auto& m : it->second) {
    if (m.has_room_joined_response()) return &m;
  }
  return nullptr;
}

// A creator is told the room is hers only once her kOpen is sequenced and read back:
// before, a joiner on another node who came after her answer could find nothing kept
// and no member (her entry and kOpen still on their way) and write its own kOpen first,
// and the room she was told she owned became that joiner's.
TEST(RoomStateNodesTest, ACreatorIsAnsweredOnceItsOpenIsSequencedAndReadBack) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config, "ann");
  host.engine().hold_all = true;
  host.engine().hold_state = true;
  host.engine().AnswerState();  // the opening read: nothing kept
  host.engine().hold_state = true;
  JoinRequest join = MemberJoin(kAnn, "ann", /*opened=*/true);
  join.request_id = "create";
  room->Join(join, true);
  ASSERT_TRUE(room->IsMember(kAnn));
  EXPECT_EQ(JoinAnswer(host, kAnn), nullptr) << "answered before her kOpen was sequenced";
  host.engine().ReleaseChecked(/*refuse=*/false);
  ASSERT_EQ(host.engine().states.size(), 1u);
  EXPECT_EQ(host.engine().states[0].kind, RoomStateChange::Kind::kOpen);
  EXPECT_EQ(JoinAnswer(host, kAnn), nullptr) << "answered before the read back";
  // zed's kOpen came first on another node: her answer shows the room as it is kept.
  host.engine().state = Kept(1);
  host.engine().AnswerState();
  const proto::ClientMessage* answer = JoinAnswer(host, kAnn);
  ASSERT_NE(answer, nullptr);
  EXPECT_EQ(answer->room_joined_response().room_info().owner_id(), "zed");
  EXPECT_EQ(answer->room_joined_response().room_info().settings().max_users(), 3);
  EXPECT_EQ(answer->request_id(), "create");
}

// Not sequenced (Redis went): the creator is answered at once, as a member of the room
// this node holds; the re-reads after the outage settle the rest.
TEST(RoomStateNodesTest, ACreatorWhoseOpenWasNotSequencedIsAnsweredAtOnce) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config, "ann");
  host.engine().hold_all = true;
  room->Join(MemberJoin(kAnn, "ann", /*opened=*/true), true);
  EXPECT_EQ(JoinAnswer(host, kAnn), nullptr);
  host.engine().LoseChecked();
  const proto::ClientMessage* answer = JoinAnswer(host, kAnn);
  ASSERT_NE(answer, nullptr);
  EXPECT_EQ(answer->room_joined_response().room_info().owner_id(), "ann");
}

TEST(RoomStateNodesTest, AnotherNodesModeratorAndOwnerNoticesApplyHere) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config, "ann");
  room->Join(MemberJoin(kAnn, "ann", true), true);
  room->Join(MemberJoin(kBob, "bob"), true);
  room->Join(MemberJoin(kCay, "cay"), true);

  FromNode(*room, RemoteNotice(proto::MOD_APPOINT_MODERATOR, "bob", "zed"));
  room->Command(kBob, Cmd("/kick cay"), "k");
  EXPECT_FALSE(room->IsMember(kCay)) << "bob's appointment did not apply here";

  FromNode(*room, RemoteNotice(proto::MOD_TRANSFER_OWNERSHIP, "bob", "zed"));
  EXPECT_EQ(room->owner_id(), "bob");
  // Ann, the owner before, is a moderator now, and no longer changes settings.
  proto::UpdateRoomCommand update;
  update.mutable_settings()->set_max_users(4);
  host.direct[kAnn].clear();
  room->Update(kAnn, update, "", "u");
  EXPECT_EQ(LastError(host, kAnn), proto::PERMISSION_DENIED);

  FromNode(*room, RemoteNotice(proto::MOD_REMOVE_MODERATOR, "ann", "zed"));
  room->Join(MemberJoin(kCay, "cay"), true);
  host.direct[kAnn].clear();
  room->Command(kAnn, Cmd("/kick cay"), "k2");
  EXPECT_EQ(LastError(host, kAnn), proto::PERMISSION_DENIED);
  EXPECT_TRUE(room->IsMember(kCay));
}

TEST(RoomStateNodesTest, AnotherNodesRoomUpdatedIsReadBackBeforeTheNextJoin) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config, "ann");
  room->Join(MemberJoin(kAnn, "ann", true), true);
  room->Join(MemberJoin(kBob, "bob"), true);

  // Another node made the room private, for two, with a password.
  host.engine().state = Kept(7, 2);
  host.engine().hold_state = true;
  proto::ClientMessage updated;
  updated.mutable_room_updated()->mutable_room_info()->set_room_id("jam");
  FromNode(*room, updated);
  room->Join(MemberJoin(kCay, "cay"), true);
  EXPECT_TRUE(host.direct[kCay].empty()) << "the join did not wait for the read";
  host.engine().AnswerState();
  EXPECT_EQ(LastError(host, kCay), proto::ROOM_FULL);
  EXPECT_EQ(room->password_hash(), "hash-of-zeds-password");
  EXPECT_EQ(room->Info().room_type(), proto::PRIVATE);
}

TEST(RoomStateNodesTest, AJoinCheckedAgainstAReplacedPasswordIsCheckedAgain) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config, "ann");
  room->Join(MemberJoin(kAnn, "ann", true), true);

  // Another node set a password; cay's join was let through by her shard against none.
  host.engine().state = Kept(7);
  host.engine().hold_state = true;
  proto::ClientMessage updated;
  updated.mutable_room_updated()->mutable_room_info()->set_room_id("jam");
  FromNode(*room, updated);
  JoinRequest cay = MemberJoin(kCay, "cay");
  cay.checked_hash = "";
  room->Join(cay, /*password_ok=*/true);
  host.engine().AnswerState();
  EXPECT_FALSE(room->IsMember(kCay));
  ASSERT_EQ(host.rejoined.size(), 1u) << "the join was not checked again";
  EXPECT_EQ(host.rejoined[0].session, kCay);
  // One checked against the password the room has now goes on.
  JoinRequest bob = MemberJoin(kBob, "bob");
  bob.checked_hash = "hash-of-zeds-password";
  room->Join(bob, true);
  EXPECT_TRUE(room->IsMember(kBob));
}

TEST(RoomStateNodesTest, ChangesHereAreHandedOnWithTheirEvent) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config, "ann");
  room->Join(MemberJoin(kAnn, "ann", true), true);
  room->Join(MemberJoin(kBob, "bob"), true);
  host.engine().states.clear();

  proto::UpdateRoomCommand update;
  update.mutable_settings()->set_max_users(4);
  update.set_set_password(true);
  room->Update(kAnn, update, "new-hash", "u");
  room->Command(kAnn, Cmd("/mod bob"), "m");
  room->Command(kAnn, Cmd("/unmod bob"), "um");
  room->Command(kAnn, Cmd("/topic jazz"), "t");
  room->Command(kAnn, Cmd("/owner bob"), "o");

  using Kind = RoomStateChange::Kind;
  const auto& s = host.engine().states;
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0].kind, Kind::kSettings);
  EXPECT_EQ(s[0].password_hash, "new-hash");
  proto::RoomInfo written;
  ASSERT_TRUE(written.ParseFromString(s[0].room));
  EXPECT_EQ(written.settings().max_users(), 4);
  EXPECT_EQ(s[1].kind, Kind::kAddModerator);
  EXPECT_EQ(s[1].user, "bob");
  EXPECT_EQ(s[2].kind, Kind::kRemoveModerator);
  EXPECT_EQ(s[3].kind, Kind::kSettings);
  ASSERT_TRUE(written.ParseFromString(s[3].room));
  EXPECT_EQ(written.topic(), "jazz");
  EXPECT_EQ(s[4].kind, Kind::kOwner);
  EXPECT_EQ(s[4].user, "bob");
}

TEST(RoomStateNodesTest, AfterAResyncTheKeptStateIsReadAgainAndShown) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config, "ann");
  room->Join(MemberJoin(kAnn, "ann", true), true);
  // Zed took the room over on another node while this one missed the events.
  host.engine().state = Kept(9);
  host.engine().others = {Elsewhere()};
  host.fanned.clear();
  room->OnResync("jam", {}, "events missed");
  EXPECT_EQ(room->owner_id(), "zed");
  EXPECT_EQ(room->password_hash(), "hash-of-zeds-password");
  EXPECT_TRUE(ShownOwner(host, "zed")) << "ann was not told";
}

TEST(RoomStateNodesTest, AfterAResyncMissedBansLiftsAndLeavesAreRepaired) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config, "ann");
  room->Join(MemberJoin(kAnn, "ann", true), true);
  // Bob is on another node; cay was banned there (both seen).
  proto::ClientMessage joined;
  auto* u = joined.mutable_user_joined_room()->mutable_user_info();
  u->set_user_id("bob");
  u->set_username("bob");
  u->set_session_id(kBob);
  FromNode(*room, joined);
  FromNode(*room, RemoteNotice(proto::MOD_BAN, "cay", "zed"));
  ASSERT_EQ(room->user_count(), 2u);

  // Missed meanwhile: cay's unban, dan's ban, bob's leave and zed's join.
  KeptPenalty dan;
  dan.user_id = "dan";
  host.engine().kept = {dan};
  host.engine().others = {Elsewhere()};
  host.engine().hold_penalties = true;
  room->OnResync("jam", {}, "events missed");
  // Joins wait for the reads.
  room->Join(MemberJoin(kCay, "cay"), true);
  EXPECT_TRUE(host.direct[kCay].empty());
  host.engine().AnswerPenalties();
  EXPECT_TRUE(room->IsMember(kCay)) << "the missed unban was not repaired";
  room->Join(MemberJoin(kDan, "dan"), true);
  EXPECT_EQ(LastError(host, kDan), proto::BANNED);
  // The roster: bob gone, zed there (ann, cay and zed).
  EXPECT_EQ(room->user_count(), 3u);

  // A new epoch (Redis lost what it kept): nothing is dropped for not being kept.
  host.engine().kept.clear();
  host.engine().others.clear();
  host.engine().hold_penalties = false;
  room->OnResync("jam", {}, "epoch changed");
  room->Join(MemberJoin(kDan + 1, "dan"), true);
  EXPECT_EQ(LastError(host, kDan + 1), proto::BANNED);
  EXPECT_EQ(room->user_count(), 3u);
}

// Another node's member joining, as its node announces it.
void JoinedFrom(Room& room, SessionId s, const std::string& user, bool guest = false) {
  proto::ClientMessage joined;
  auto* u = joined.mutable_user_joined_room()->mutable_user_info();
  u->set_user_id(user);
  u->set_username(user);
  u->set_session_id(s);
  u->set_is_guest(guest);
  u->set_is_member(!guest);
  FromNode(room, joined);
}

// Every event this node's engine sequenced for the room.
struct Sequenced : StreamSubscriber {
  void OnPublication(const std::string&, const Publication& pub) override {
    proto::ClientMessage m;
    if (m.ParseFromString(pub.frame->payload())) got.push_back(m);
  }
  std::vector<proto::ClientMessage> got;
};

TEST(RoomStateNodesTest, AnOwnerLeavingWithNobodyHereHandsTheRoomToAnotherNodesMember) {
  ServerConfig config;
  Host host;  // node A
  auto room = Make(&host, &config, "ann");
  room->Join(MemberJoin(kAnn, "ann", true), true);
  // Node B's members, in the order they joined: a guest, cay, then bob (a lower session id).
  JoinedFrom(*room, kZed, "guest:zed", /*guest=*/true);
  JoinedFrom(*room, kCay, "cay");
  JoinedFrom(*room, kBob, "bob");
  ASSERT_EQ(room->user_count(), 4u);
  Sequenced a;
  host.engine().Subscribe("jam", &a);
  host.engine().states.clear();

  room->Leave(kAnn, "left", "");
  // Cay inherits (registered, longest present), written only while ann is the kept owner,
  // and announced with RoomUpdated.
  using Kind = RoomStateChange::Kind;
  ASSERT_EQ(host.engine().states.size(), 1u);
  const RoomStateChange& handed = host.engine().states[0];
  EXPECT_EQ(handed.kind, Kind::kOwner);
  EXPECT_EQ(handed.user, "cay");
  EXPECT_EQ(handed.check, RoomStateChange::Check::kOwner);
  EXPECT_EQ(handed.actor, "ann");
  ASSERT_EQ(a.got.size(), 2u);
  ASSERT_TRUE(a.got[0].has_user_left_room());
  ASSERT_TRUE(a.got[1].has_room_updated());
  EXPECT_EQ(a.got[1].room_updated().room_info().owner_id(), "cay");
  host.engine().Unsubscribe("jam", &a);

  // Node B, where ann was on the roster: the leave and the RoomUpdated arrive, and the
  // state kept with them names cay. Cay changes settings there; bob may not.
  Host host_b;
  auto b = Make(&host_b, &config, "ann");
  b->Join(MemberJoin(kCay, "cay"), true);
  b->Join(MemberJoin(kBob, "bob"), true);
  JoinedFrom(*b, kAnn, "ann");
  proto::RoomInfo info;
  info.set_room_name("Jam");
  info.set_room_type(proto::PUBLIC);
  info.mutable_settings()->set_max_users(10);
  info.mutable_settings()->set_allow_chat(true);
  KeptRoomState kept;
  kept.found = true;
  kept.owner = "cay";
  kept.room = info.SerializeAsString();
  kept.moderators = {"ann"};
  kept.version = 5;
  host_b.engine().state = kept;
  FromNode(*b, a.got[0]);
  FromNode(*b, a.got[1]);
  EXPECT_EQ(b->owner_id(), "cay");
  EXPECT_EQ(b->user_count(), 2u);
  proto::UpdateRoomCommand update;
  update.mutable_settings()->set_max_users(6);
  b->Update(kCay, update, "", "six");
  ASSERT_FALSE(host_b.direct[kCay].empty());
  EXPECT_TRUE(host_b.direct[kCay].back().has_room_updated());
  b->Update(kBob, update, "", "seven");
  EXPECT_EQ(LastError(host_b, kBob), proto::PERMISSION_DENIED);
}

TEST(RoomStateNodesTest, AHandOnRefusedBecauseTheOwnerChangedFirstTakesTheKeptOwner) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config, "ann");
  room->Join(MemberJoin(kAnn, "ann", true), true);
  room->Join(MemberJoin(kBob, "bob"), true);
  // Zed took the room over on another node; that notice has not reached this node when
  // ann leaves, so this node hands the room to bob, and the script refuses it.
  host.engine().state = Kept(8);
  host.engine().refuse_checked = true;
  host.fanned.clear();
  room->Leave(kAnn, "left", "");
  ASSERT_FALSE(host.engine().states.empty());
  EXPECT_EQ(host.engine().states.back().user, "bob");
  EXPECT_EQ(room->owner_id(), "zed");
  bool told = false;
  for (const auto& f : host.fanned) {
    if (!f.msg.has_room_updated()) continue;
    EXPECT_EQ(f.msg.room_updated().room_info().owner_id(), "zed") << "bob shown as owner";
    told = true;
  }
  EXPECT_TRUE(told) << "bob was not told";
  proto::UpdateRoomCommand update;
  update.mutable_settings()->set_max_users(6);
  room->Update(kBob, update, "", "u");
  EXPECT_EQ(LastError(host, kBob), proto::PERMISSION_DENIED);
}

TEST(RoomStateNodesTest, AnOwnerWhoseNodeDiedIsSucceededByTheNodeThatFindsItGone) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config, "zed");  // the room is zed's, who is on another node
  JoinedFrom(*room, kZed, "zed");
  room->Join(MemberJoin(kBob, "bob"), true);
  room->Join(MemberJoin(kCay, "cay"), true);
  host.engine().states.clear();
  // This node's presence read is the one that found zed's entry expired.
  PresenceEntry gone = Elsewhere();
  gone.expired = true;
  room->OnPresence("jam", {gone});
  EXPECT_EQ(room->owner_id(), "bob");
  ASSERT_EQ(host.engine().states.size(), 1u);
  EXPECT_EQ(host.engine().states[0].user, "bob");
  EXPECT_EQ(host.engine().states[0].actor, "zed");
  EXPECT_TRUE(ShownOwner(host, "bob"));
}

TEST(RoomStateNodesTest, AnOwnersSettingsChangeRefusedForAnOwnerNoLongerKeptIsAnError) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config, "ann");
  room->Join(MemberJoin(kAnn, "ann", true), true);
  room->Join(MemberJoin(kBob, "bob"), true);
  // Zed took the room over on another node; this node has not heard yet when ann
  // changes the limit, so the script refuses her change and its RoomUpdated.
  host.engine().state = Kept(8);
  host.engine().refuse_checked = true;
  host.fanned.clear();
  proto::UpdateRoomCommand update;
  update.mutable_settings()->set_max_users(6);
  room->Update(kAnn, update, "", "six");
  ASSERT_FALSE(host.engine().states.empty());
  EXPECT_EQ(host.engine().states.back().kind, RoomStateChange::Kind::kSettings);
  EXPECT_EQ(host.engine().states.back().check, RoomStateChange::Check::kOwner);
  EXPECT_EQ(host.engine().states.back().actor, "ann");
  EXPECT_EQ(LastError(host, kAnn), proto::PERMISSION_DENIED);
  // The room holds what is kept, and its members are shown that, never her limit.
  EXPECT_EQ(room->owner_id(), "zed");
  EXPECT_EQ(room->Info().settings().max_users(), 3);
  for (const auto& f : host.fanned) {
    if (!f.msg.has_room_updated()) continue;
    EXPECT_NE(f.msg.room_updated().room_info().settings().max_users(), 6);
  }
  EXPECT_TRUE(ShownOwner(host, "zed"));
}

}  // namespace
}  // namespace tutti::server
