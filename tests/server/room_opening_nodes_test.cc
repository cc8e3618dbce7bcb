// The failure cases of docs/SCALE-OUT.md that fall between a room's reads of what is kept
// with its stream and the events it is delivered meanwhile, driven without Redis: a real
// in-process engine behind SpanningBroker, whose reads the test holds and answers. A
// ban or unban delivered while the opening read of the kept ones is out wins over that
// read; a chat read that the link dropped (answered with no lines) lets the waiting joins
// go on, with the lines delivered meanwhile; after a resynchronisation the members'
// snapshot waits for the re-reads, so it shows who joined or left elsewhere meanwhile;
// a resume on another node racing the expiry of the old session's presence entry ends
// with the member shown once, in either order of the two events.
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

using Host = BrokerRoomHost<SpanningBroker>;

constexpr SessionId kAnn = 1 << 8;   // this node's member
constexpr SessionId kBob = 7 << 8;   // another node's member
constexpr SessionId kBob2 = 9 << 8;  // bob, resumed
constexpr SessionId kCay = 11 << 8;
constexpr SessionId kDan = 13 << 8;
constexpr SessionId kZed = 17 << 8;  // joined elsewhere while events were missed

std::unique_ptr<Room> Make(Host* host, const ServerConfig* config) {
  proto::RoomSettings settings;
  settings.set_allow_chat(true);
  settings.set_max_users(10);
  return std::make_unique<Room>("jam", "Jam", proto::PUBLIC, settings, "", "", config, host);
}

std::vector<uint64_t> SnapshotSessions(Host& host, Room& room, SessionId s) {
  host.direct[s].clear();
  room.SendSnapshot(s, "");
  if (host.direct[s].empty()) return {};
  return SnapshotSessionIds(host.direct[s].back().room_snapshot());
}

proto::ErrorCode LastError(Host& host, SessionId s) {
  if (host.direct[s].empty() || !host.direct[s].back().has_error_message()) {
    return proto::ERROR_CODE_UNSPECIFIED;
  }
  return host.direct[s].back().error_message().code();
}

// The unasked ResumeResults `s` was sent.
std::vector<proto::ResumeResult> Resyncs(Host& host, SessionId s) {
  std::vector<proto::ResumeResult> out;
  for (const auto& m : host.direct[s]) {
    if (m.has_resume_result()) out.push_back(m.resume_result());
  }
  return out;
}

PresenceEntry Entry(SessionId s, const std::string& user, const std::string& origin) {
  return MemberOn(origin, s, user);
}

proto::ClientMessage LeftElsewhere(SessionId s, const std::string& user) {
  proto::ClientMessage m;
  m.mutable_user_left_room()->set_session_id(s);
  m.mutable_user_left_room()->set_user_id(user);
  m.mutable_user_left_room()->set_reason("disconnected");
  return m;
}

proto::ClientMessage ResumedElsewhere(SessionId now, SessionId previous, const std::string& user) {
  proto::ClientMessage m;
  m.mutable_member_connection()->set_session_id(now);
  m.mutable_member_connection()->set_previous_session_id(previous);
  m.mutable_member_connection()->set_user_id(user);
  return m;
}

// A chat line kept with the stream (ChatMark::kKeep), said on another node, delivered
// here at `offset`.
void ChatFromNode(Room& room, const std::string& text, uint64_t offset) {
  proto::ClientMessage m;
  m.mutable_room_chat_message()->set_message(text);
  m.mutable_room_chat_message()->set_user_id("bob");
  StampType(&m);
  Publication pub;
  pub.frame = MakeFrame(m);
  pub.origin = "nodeB";
  pub.chat = ChatMark::kKeep;
  pub.position.offset = offset;
  room.OnPublication(room.id(), pub);
}

TEST(RoomOpeningNodesTest, ABanOrUnbanDeliveredDuringTheOpeningReadWinsOverTheRead) {
  ServerConfig config;
  Host host;
  // The read answers with what Redis kept when it was asked: dan banned, cay not.
  KeptPenalty dan;
  dan.user_id = "dan";
  host.engine().kept = {dan};
  host.engine().hold_penalties = true;
  auto room = Make(&host, &config);
  room->Join(MemberJoin(kAnn, "ann"), true);
  EXPECT_FALSE(room->IsMember(kAnn)) << "the first join did not wait for the read";
  // Sequenced after the read was answered by Redis, delivered before its answer is here:
  // cay banned and dan let in on another node.
  FromNode(*room, RemoteNotice(proto::MOD_BAN, "cay", "zed"), "nodeB");
  FromNode(*room, RemoteNotice(proto::MOD_UNBAN, "dan", "zed"), "nodeB");
  host.engine().AnswerPenalties();
  ASSERT_TRUE(room->IsMember(kAnn));
  // What Redis keeps now, which the seat claims check: the unban removed dan.
  host.engine().kept.clear();

  room->Join(MemberJoin(kCay, "cay"), true);
  EXPECT_FALSE(room->IsMember(kCay));
  EXPECT_EQ(LastError(host, kCay), proto::BANNED) << "the read undid a later ban";
  room->Join(MemberJoin(kDan, "dan"), true);
  EXPECT_TRUE(room->IsMember(kDan)) << "the read undid a later unban";
}

TEST(RoomOpeningNodesTest, AChatReadTheLinkDroppedLetsTheJoinsGoOnWithTheLinesSinceTheOpening) {
  ServerConfig config;
  Host host;
  host.engine().hold_chat = true;
  auto room = Make(&host, &config);
  room->Join(MemberJoin(kAnn, "ann"), true);
  EXPECT_FALSE(room->IsMember(kAnn)) << "the first join did not wait for the chat read";
  // A line said elsewhere while the read is out is delivered here.
  ChatFromNode(*room, "said while reading", 1);
  // The link drops mid-read: the engine answers with no lines.
  host.engine().AnswerChat({});
  ASSERT_TRUE(room->IsMember(kAnn)) << "the join did not go on after the failed read";
  host.direct[kAnn].clear();
  room->SendSnapshot(kAnn, "");
  ASSERT_EQ(host.direct[kAnn].size(), 1u);
  const proto::RoomSnapshot& snap = host.direct[kAnn].back().room_snapshot();
  ASSERT_EQ(snap.chat_history_size(), 1);
  EXPECT_EQ(snap.chat_history(0).message(), "said while reading");
  // And the room goes on: its next join is answered at once.
  room->Join(MemberJoin(kCay, "cay"), true);
  EXPECT_TRUE(room->IsMember(kCay));
}

TEST(RoomOpeningNodesTest, AfterAResyncTheSnapshotWaitsForTheRereadsAndShowsTheMissedJoins) {
  ServerConfig config;
  Host host;
  auto room = Make(&host, &config);
  room->Join(MemberJoin(kAnn, "ann"), true);
  FromNode(*room, JoinedElsewhere(kBob, "bob"), "nodeB");
  ASSERT_EQ(SnapshotSessions(host, *room, kAnn), (std::vector<uint64_t>{kAnn, kBob}));

  // Missed while this node's channel link was down: bob left, zed joined.
  host.engine().others = {Entry(kZed, "zed", "nodeB")};
  host.engine().hold_penalties = true;
  host.direct[kAnn].clear();
  room->OnResync("jam", {}, "events missed");
  EXPECT_TRUE(Resyncs(host, kAnn).empty()) << "the snapshot went before the re-reads";
  // Another resynchronisation while the reads are out (the link dropped again): one
  // snapshot all the same, once the reads are in.
  room->OnResync("jam", {}, "events missed");
  host.engine().AnswerPenalties();

  const std::vector<proto::ResumeResult> got = Resyncs(host, kAnn);
  ASSERT_EQ(got.size(), 1u);
  const proto::ResumeResult& r = got[0];
  EXPECT_EQ(r.outcome(), proto::RESUME_UNRECOVERABLE);
  EXPECT_EQ(r.reason(), "events missed");
  EXPECT_EQ(SnapshotSessionIds(r.snapshot()), (std::vector<uint64_t>{kAnn, kZed}));
  EXPECT_EQ(r.top().offset(), r.snapshot().stream_position().offset());
  EXPECT_EQ(r.top().epoch(), r.snapshot().stream_position().epoch());
}

// Bob, of node B, resumes on node R (this test's `resumer`) as bob2 just as a third node's
// presence read finds his old entry expired and publishes his leave. The stream may
// sequence that leave before or after R's MemberConnection; R's room and a room
// elsewhere (`observer`) see the events in the stream's order and must end with bob
// shown once, as bob2.
void ResumeRacingExpiry(bool leave_first) {
  SCOPED_TRACE(leave_first ? "the leave first" : "the re-key first");
  ServerConfig config;
  Host resumer_host, observer_host;
  auto resumer = Make(&resumer_host, &config);
  auto observer = Make(&observer_host, &config);
  resumer->Join(MemberJoin(kAnn, "ann"), true);
  observer->Join(MemberJoin(kCay, "cay"), true);
  FromNode(*resumer, JoinedElsewhere(kBob, "bob"), "nodeB");
  FromNode(*observer, JoinedElsewhere(kBob, "bob"), "nodeB");

  // R admits bob2 and publishes the MemberConnection; the third node publishes the leave.
  resumer->AdoptResumed(MemberJoin(kBob2, "bob"), kBob, {});
  const proto::ClientMessage leave = LeftElsewhere(kBob, "bob");
  const proto::ClientMessage rekey = ResumedElsewhere(kBob2, kBob, "bob");
  // R's own events reach its room without an origin (ApplyRemote skips them); what R
  // publishes in answer to the leave (bob2 announced again) goes to the observer next.
  resumer_host.fanned.clear();
  if (leave_first) {
    FromNode(*resumer, leave, "nodeC");
    FromNode(*observer, leave, "nodeC");
    FromNode(*observer, rekey, "nodeR");
  } else {
    FromNode(*observer, rekey, "nodeR");
    FromNode(*resumer, leave, "nodeC");
    FromNode(*observer, leave, "nodeC");
  }
  for (const auto& f : resumer_host.fanned) {
    if (f.msg.has_user_joined_room()) FromNode(*observer, f.msg, "nodeR");
  }
  EXPECT_TRUE(resumer->IsMember(kBob2));
  EXPECT_EQ(SnapshotSessions(resumer_host, *resumer, kAnn), (std::vector<uint64_t>{kAnn, kBob2}));
  EXPECT_EQ(resumer->user_count(), 2u);
  EXPECT_EQ(SnapshotSessions(observer_host, *observer, kCay), (std::vector<uint64_t>{kCay, kBob2}));
  EXPECT_EQ(observer->user_count(), 2u);
}

TEST(RoomOpeningNodesTest, AResumeRacingItsOldEntrysExpiryShowsTheMemberOnceInEitherOrder) {
  ResumeRacingExpiry(/*leave_first=*/true);
  ResumeRacingExpiry(/*leave_first=*/false);
}

}  // namespace
}  // namespace tutti::server
