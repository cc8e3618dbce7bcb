// Joins across nodes (docs/SCALE-OUT.md, "Joins across nodes"), driven without Redis: a
// real in-process engine behind SpanningBroker, which decides a join's seat as the seat
// script does (this node's entries and the other nodes' live ones, against the capacity)
// and holds the claim until the test answers it. A joiner is answered only once its seat
// is decided: admitted, ROOM_FULL (a lobby walks it on), or STREAM_UNAVAILABLE; its seat
// is held here meanwhile (this node's next joiner counts it, the room stays open); a
// session that ends meanwhile gives its seat back; server staff claim nothing. The claim
// is refused for a ban kept in Redis that this node's copy lacks, and a claim checked
// against settings changed since is checked again once the room read them.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/envelope.h"
#include "server/room.h"
#include "tests/server/broker_room_host.h"
#include "tests/server/spanning_broker.h"

namespace tutti::server {
namespace {

constexpr SessionId kAnn = 1 << 8;
constexpr SessionId kBob = 2 << 8;
constexpr SessionId kCay = 3 << 8;
constexpr SessionId kAdm = 4 << 8;
constexpr SessionId kElsewhere = (5 << 8) | 1;  // another node's joiner

// Records the joins a lobby sends on (the shard's walk), and the joins handed back to
// have their password checked again.
class Host : public BrokerRoomHost<SpanningBroker> {
 public:
  bool WalkOnFromLobby(const std::string&, const JoinRequest& req) override {
    walked.push_back(req.session);
    return true;
  }
  bool RejoinExisting(const std::string&, const JoinRequest& req) override {
    rejoined.push_back(req);
    return true;
  }
  std::vector<SessionId> walked;
  std::vector<JoinRequest> rejoined;
};

// Another node's entry in the room's presence (a member, or a seat it claimed).
PresenceEntry OtherNodes(SessionId s, const std::string& user, bool expired = false) {
  PresenceEntry e;
  e.session = s;
  e.user_id = user;
  e.user.set_user_id(user);
  e.user.set_session_id(s);
  e.origin = "node-b";
  e.expired = expired;
  e.claiming = true;
  return e;
}

// A room of `capacity` seats with ann in it.
struct Jam {
  explicit Jam(int capacity, proto::RoomType type = proto::PUBLIC) {
    proto::RoomSettings settings;
    settings.set_allow_chat(true);
    settings.set_allow_guests(true);
    settings.set_max_users(capacity);
    room = std::make_unique<Room>(type == proto::LOBBY ? "lobby" : "jam", "Jam", type, settings, "",
                                  "", &config, &host);
    room->Join(MemberJoin(kAnn, "ann", /*opened=*/true), true);
    EXPECT_TRUE(room->IsMember(kAnn));
    host.direct.clear();
    host.fanned.clear();
    host.engine().seat_claims = 0;
    host.engine().claimed_versions.clear();
  }
  const proto::ClientMessage* Answer(SessionId s) {
    return host.direct[s].empty() ? nullptr : &host.direct[s].back();
  }
  int Joins() const {
    int n = 0;
    for (const auto& f : host.fanned) n += f.msg.has_user_joined_room() ? 1 : 0;
    return n;
  }
  ServerConfig config;
  Host host;
  std::unique_ptr<Room> room;
};

TEST(RoomJoinNodesTest, AJoinWaitsForItsSeatWhichThisNodesNextJoinerCounts) {
  Jam jam(2);
  jam.host.engine().hold_seats = true;
  jam.room->Join(MemberJoin(kBob, "bob"), true);
  // Claimed, with the capacity, and nothing answered or announced yet.
  ASSERT_EQ(jam.host.engine().held_seats.size(), 1u);
  EXPECT_EQ(jam.host.engine().held_seats[0].capacity, 2);
  EXPECT_EQ(jam.host.engine().held_seats[0].entry.session, kBob);
  EXPECT_TRUE(jam.host.engine().held_seats[0].entry.claiming);
  EXPECT_FALSE(jam.room->IsMember(kBob));
  EXPECT_EQ(jam.Answer(kBob), nullptr);
  EXPECT_EQ(jam.Joins(), 0);
  EXPECT_TRUE(jam.room->full()) << "the held seat counts";
  EXPECT_EQ(jam.room->Info().user_count(), 1) << "but nobody is shown for it";

  // This node's next joiner finds the seat held: refused at once, nothing claimed.
  jam.room->Join(MemberJoin(kCay, "cay"), true);
  ASSERT_NE(jam.Answer(kCay), nullptr);
  EXPECT_EQ(jam.Answer(kCay)->error_message().code(), proto::ROOM_FULL);
  EXPECT_EQ(jam.host.engine().seat_claims, 1);

  jam.host.engine().AnswerSeats();
  EXPECT_TRUE(jam.room->IsMember(kBob));
  ASSERT_NE(jam.Answer(kBob), nullptr);
  EXPECT_TRUE(jam.Answer(kBob)->room_joined_response().success());
  EXPECT_EQ(jam.Joins(), 1);
  // The claim became bob's member entry.
  auto entry = jam.host.engine().OwnEntry("jam", kBob);
  ASSERT_TRUE(entry);
  EXPECT_FALSE(entry->claiming);
}

TEST(RoomJoinNodesTest, ASeatAnotherNodeTookFirstRefusesTheJoinWithRoomFull) {
  Jam jam(2);
  // Another node's joiner of the same instant: in the presence, not yet in the roster.
  jam.host.engine().others = {OtherNodes(kElsewhere, "eve")};
  EXPECT_FALSE(jam.room->full()) << "this node's copy does not know of it";
  jam.room->Join(MemberJoin(kBob, "bob"), true);
  EXPECT_FALSE(jam.room->IsMember(kBob));
  ASSERT_NE(jam.Answer(kBob), nullptr);
  EXPECT_EQ(jam.Answer(kBob)->error_message().code(), proto::ROOM_FULL);
  EXPECT_EQ(jam.Answer(kBob)->error_message().error_message(), "room is full");
  EXPECT_EQ(jam.Joins(), 0);
  EXPECT_FALSE(jam.host.engine().OwnEntry("jam", kBob));
  EXPECT_FALSE(jam.room->full()) << "no seat held any more";

  // An entry that expired is nobody's seat.
  jam.host.engine().others = {OtherNodes(kElsewhere, "eve", /*expired=*/true)};
  jam.room->Join(MemberJoin(kCay, "cay"), true);
  EXPECT_TRUE(jam.room->IsMember(kCay));
}

TEST(RoomJoinNodesTest, ALobbyWhoseLastSeatWentElsewhereWalksTheJoinOn) {
  Jam jam(2, proto::LOBBY);
  jam.host.engine().others = {OtherNodes(kElsewhere, "eve")};
  jam.room->Join(MemberJoin(kBob, "bob"), true);
  EXPECT_FALSE(jam.room->IsMember(kBob));
  EXPECT_EQ(jam.host.walked, (std::vector<SessionId>{kBob}));
  EXPECT_EQ(jam.Answer(kBob), nullptr) << "answered by the next lobby";
}

TEST(RoomJoinNodesTest, ASessionEndingWhileItsSeatIsDecidedGivesItBackAndTheRoomThenCloses) {
  Jam jam(4);
  jam.host.engine().hold_seats = true;
  jam.room->Join(MemberJoin(kBob, "bob"), true);
  // Bob's session ends (the shard tells the room he is joining), then ann leaves: the
  // room has no member but still holds a seat, so it does not close yet.
  jam.room->Leave(kBob, "disconnected", "");
  jam.room->Leave(kAnn, "left", "");
  EXPECT_FALSE(jam.room->empty());

  jam.host.engine().AnswerSeats(SeatClaim::kTaken);
  EXPECT_FALSE(jam.room->IsMember(kBob));
  EXPECT_EQ(jam.Answer(kBob), nullptr) << "nobody to answer";
  EXPECT_EQ(jam.Joins(), 0);
  EXPECT_FALSE(jam.host.engine().OwnEntry("jam", kBob)) << "the seat was given back";
  EXPECT_TRUE(jam.room->empty());
  ASSERT_FALSE(jam.host.emptied.empty());
  EXPECT_EQ(jam.host.emptied.back(), "jam");
}

TEST(RoomJoinNodesTest, TheLastMemberLeavingWhileASeatIsDecidedLeavesTheRoomToTheJoiner) {
  Jam jam(4);
  jam.host.engine().hold_seats = true;
  jam.room->Join(MemberJoin(kBob, "bob"), true);
  EXPECT_EQ(jam.Answer(kBob), nullptr) << "not answered before the seat is decided";
  jam.room->Leave(kAnn, "left", "");
  EXPECT_FALSE(jam.room->empty()) << "the host's close finds the seat held";
  jam.host.engine().AnswerSeats();
  EXPECT_TRUE(jam.room->IsMember(kBob));
  ASSERT_NE(jam.Answer(kBob), nullptr);
  EXPECT_TRUE(jam.Answer(kBob)->room_joined_response().success());
}

TEST(RoomJoinNodesTest, RedisUnreachableWhileASeatIsDecidedAnswersStreamUnavailable) {
  Jam jam(4);
  jam.host.engine().hold_seats = true;
  jam.room->Join(MemberJoin(kBob, "bob"), true);
  jam.host.engine().AnswerSeats(SeatClaim::kUnreachable);
  EXPECT_FALSE(jam.room->IsMember(kBob));
  ASSERT_NE(jam.Answer(kBob), nullptr);
  EXPECT_EQ(jam.Answer(kBob)->error_message().code(), proto::STREAM_UNAVAILABLE);
  EXPECT_EQ(jam.Joins(), 0);
  EXPECT_FALSE(jam.room->full());

  // And at once when the engine cannot ask.
  jam.host.engine().hold_seats = false;
  jam.host.engine().unavailable = true;
  jam.room->Join(MemberJoin(kCay, "cay"), true);
  ASSERT_NE(jam.Answer(kCay), nullptr);
  EXPECT_EQ(jam.Answer(kCay)->error_message().code(), proto::STREAM_UNAVAILABLE);
}

TEST(RoomJoinNodesTest, ABanArrivingWhileTheSeatIsDecidedRefusesTheJoin) {
  Jam jam(4);
  jam.host.engine().hold_seats = true;
  jam.room->Join(MemberJoin(kBob, "bob"), true);
  // Another node's ban of bob is delivered while his seat is out.
  FromNode(*jam.room, RemoteNotice(proto::MOD_BAN, "bob", "ann"), "node-b");
  jam.host.engine().AnswerSeats();
  EXPECT_FALSE(jam.room->IsMember(kBob));
  ASSERT_NE(jam.Answer(kBob), nullptr);
  EXPECT_EQ(jam.Answer(kBob)->error_message().code(), proto::BANNED);
  EXPECT_FALSE(jam.host.engine().OwnEntry("jam", kBob));
}

TEST(RoomJoinNodesTest, ABanKeptInRedisButNotDeliveredHereRefusesTheJoin) {
  Jam jam(4);
  // Another node's ban of bob, written in Redis; its event has not reached this node.
  KeptPenalty ban;
  ban.user_id = "bob";
  jam.host.engine().kept = {ban};
  jam.room->Join(MemberJoin(kBob, "bob"), true);
  EXPECT_FALSE(jam.room->IsMember(kBob));
  ASSERT_NE(jam.Answer(kBob), nullptr);
  EXPECT_EQ(jam.Answer(kBob)->error_message().code(), proto::BANNED);
  EXPECT_EQ(jam.Answer(kBob)->error_message().error_message(), "you are banned from this room");
  EXPECT_EQ(jam.Joins(), 0);
  EXPECT_FALSE(jam.host.engine().OwnEntry("jam", kBob)) << "nothing written";
  EXPECT_FALSE(jam.room->full());
  // The room read the kept bans: its own copy refuses bob's next join, unclaimed.
  EXPECT_EQ(jam.host.engine().seat_claims, 1);
  jam.room->Join(MemberJoin(kBob + 1, "bob"), true);
  ASSERT_NE(jam.Answer(kBob + 1), nullptr);
  EXPECT_EQ(jam.Answer(kBob + 1)->error_message().code(), proto::BANNED);
  EXPECT_EQ(jam.host.engine().seat_claims, 1);
  // A ban that ended refuses nothing.
  ban.user_id = "cay";
  ban.until_unix_ms = jam.host.UnixMs();
  jam.host.engine().kept = {ban};
  jam.room->Join(MemberJoin(kCay, "cay"), true);
  EXPECT_TRUE(jam.room->IsMember(kCay));
}

// The settings another node changed, as Redis keeps them at settings version `version`:
// guests allowed or not, and the password hash.
KeptRoomState KeptSettings(int64_t version, bool allow_guests, const std::string& hash) {
  proto::RoomInfo info;
  info.set_room_name("Jam");
  info.set_room_type(proto::PUBLIC);
  info.mutable_settings()->set_max_users(4);
  info.mutable_settings()->set_allow_chat(true);
  info.mutable_settings()->set_allow_guests(allow_guests);
  KeptRoomState k;
  k.found = true;
  k.owner = "ann";
  k.room = info.SerializeAsString();
  k.password_hash = hash;
  k.version = version;
  k.settings_version = version;
  return k;
}

TEST(RoomJoinNodesTest, AJoinCheckedAgainstSettingsChangedSinceIsCheckedAgainAgainstTheKeptOnes) {
  Jam jam(4);
  jam.host.engine().check_versions = true;
  // Another node's change (no guests any more), kept; its RoomUpdated not here yet.
  jam.host.engine().state = KeptSettings(7, /*allow_guests=*/false, "");
  const int reads = jam.host.engine().state_reads;
  JoinRequest guest = MemberJoin(kBob, "bob");
  guest.user.set_is_guest(true);
  guest.user.set_is_member(false);
  jam.room->Join(guest, true);
  // Claimed at this copy's version, answered stale: the room read the kept state and ran
  // the join's checks again against it.
  ASSERT_EQ(jam.host.engine().claimed_versions.size(), 1u);
  EXPECT_NE(jam.host.engine().claimed_versions[0], 7);
  EXPECT_EQ(jam.host.engine().state_reads, reads + 1);
  EXPECT_FALSE(jam.room->IsMember(kBob));
  ASSERT_NE(jam.Answer(kBob), nullptr);
  EXPECT_EQ(jam.Answer(kBob)->error_message().code(), proto::PERMISSION_DENIED);
  EXPECT_FALSE(jam.host.engine().OwnEntry("jam", kBob)) << "nothing written";
  EXPECT_FALSE(jam.room->full());
  // A member passes the same checks again and claims at the kept version.
  jam.room->Join(MemberJoin(kCay, "cay"), true);
  EXPECT_TRUE(jam.room->IsMember(kCay));
  EXPECT_EQ(jam.host.engine().claimed_versions.back(), 7);
}

TEST(RoomJoinNodesTest, AJoinCheckedAgainstAPasswordChangedSinceHasItsPasswordCheckedAgain) {
  Jam jam(4);
  jam.host.engine().check_versions = true;
  jam.host.engine().state = KeptSettings(7, /*allow_guests=*/true, "hash-of-the-new-password");
  // Checked on the shard against this copy's password (none).
  JoinRequest bob = MemberJoin(kBob, "bob");
  bob.password = "old";
  bob.checked_hash = "";
  jam.room->Join(bob, true);
  EXPECT_FALSE(jam.room->IsMember(kBob));
  EXPECT_EQ(jam.Answer(kBob), nullptr) << "answered by the shard's check of the password";
  ASSERT_EQ(jam.host.rejoined.size(), 1u);
  EXPECT_EQ(jam.host.rejoined[0].session, kBob);
  EXPECT_EQ(jam.host.rejoined[0].password, "old");
  EXPECT_EQ(jam.Joins(), 0);
  EXPECT_FALSE(jam.host.engine().OwnEntry("jam", kBob)) << "nothing written";
  EXPECT_EQ(jam.room->password_hash(), "hash-of-the-new-password");
}

TEST(RoomJoinNodesTest, SettingsThatKeepChangingRefuseTheJoinAfterAFewChecks) {
  Jam jam(4);
  jam.host.engine().check_versions = true;
  jam.host.engine().state = KeptSettings(7, /*allow_guests=*/true, "");
  jam.host.engine().hold_seats = true;
  jam.room->Join(MemberJoin(kBob, "bob"), true);
  // Each time the room read the kept state, another change was written before the claim.
  for (int i = 0; i <= JoinRequest::kMaxStaleRechecks; ++i) {
    ASSERT_EQ(jam.host.engine().held_seats.size(), 1u) << i;
    jam.host.engine().state = KeptSettings(8 + i, /*allow_guests=*/true, "");
    jam.host.engine().AnswerSeats();
  }
  EXPECT_TRUE(jam.host.engine().held_seats.empty());
  EXPECT_FALSE(jam.room->IsMember(kBob));
  ASSERT_NE(jam.Answer(kBob), nullptr);
  EXPECT_EQ(jam.Answer(kBob)->error_message().code(), proto::RATE_LIMITED);
  EXPECT_FALSE(jam.room->full());
}

TEST(RoomJoinNodesTest, TheRoomGoneBeforeTheAnswerIsNotTouched) {
  Jam jam(4);
  jam.host.engine().hold_seats = true;
  jam.room->Join(MemberJoin(kBob, "bob"), true);
  jam.room.reset();
  jam.host.engine().AnswerSeats();  // must not reach the gone object (ASan would say)
  EXPECT_EQ(jam.Answer(kBob), nullptr);
}

TEST(RoomJoinNodesTest, ServerStaffClaimNoSeat) {
  Jam jam(1);
  JoinRequest adm = MemberJoin(kAdm, "adm");
  adm.server_admin = true;
  jam.room->Join(adm, true);
  EXPECT_TRUE(jam.room->IsMember(kAdm)) << "past the capacity, as on one node";
  EXPECT_EQ(jam.host.engine().seat_claims, 0);
}

}  // namespace
}  // namespace tutti::server
