// Social driven through a fake SocialHost over a real SQLite store: friend requests end
// to end with events to both sides, acknowledgements only after the commit, presence
// pushes and invisibility, blocks, guests, private message routing, profiles.
#include "server/social.h"

#include <stdlib.h>

#include <deque>
#include <filesystem>
#include <map>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "server/envelope.h"
#include "server/store/sqlite_db.h"
#include "server/store/store.h"

namespace tutti::server {
namespace {

class FakeSocialHost : public SocialHost {
 public:
  enum class Mode { kInline, kDeferred, kRefuse };

  FakeSocialHost() {
    char tmpl[] = "/tmp/tutti-social-test-XXXXXX";
    dir = mkdtemp(tmpl);
    auto opened = store::Store::Open(dir + "/t.db");
    EXPECT_TRUE(opened.ok()) << opened.status();
    db = std::move(*opened);
  }
  ~FakeSocialHost() override {
    db.reset();
    std::filesystem::remove_all(dir);
  }

  int64_t NowUs() override { return now_us; }
  int64_t UnixMs() override { return unix_ms; }
  void SendToSession(SessionId s, const Frame& f) override {
    frames[s].push_back(f);
    proto::ClientMessage m;
    EXPECT_TRUE(m.ParseFromString(f->payload()));
    EXPECT_EQ(m.message_type(), ExpectedType(m)) << "every message is stamped";
    got[s].push_back(std::move(m));
  }
  bool Storage(std::function<void(store::Store&)> work, std::function<void()> then) override {
    if (mode == Mode::kRefuse) return false;
    ++storage_calls;
    if (mode == Mode::kDeferred) {
      queue.emplace_back(std::move(work), std::move(then));
      return true;
    }
    work(*db);
    then();
    return true;
  }
  void ApplyProfile(SessionId s, const proto::AvatarData& avatar) override {
    applied[s].push_back(avatar);
  }

  // Runs queued storage jobs in order: each job's work, then its completion.
  void RunStorage() {
    while (!queue.empty()) {
      auto [work, then] = std::move(queue.front());
      queue.pop_front();
      work(*db);
      then();
    }
  }

  // Messages of one kind a session received, and the last one.
  std::vector<proto::ClientMessage> Of(SessionId s, proto::ClientMessage::MessageCase c) const {
    std::vector<proto::ClientMessage> out;
    auto it = got.find(s);
    if (it == got.end()) return out;
    for (const auto& m : it->second) {
      if (m.message_case() == c) out.push_back(m);
    }
    return out;
  }
  proto::ClientMessage Last(SessionId s) const {
    auto it = got.find(s);
    return it == got.end() || it->second.empty() ? proto::ClientMessage() : it->second.back();
  }
  std::vector<proto::FriendEvent> Events(SessionId s) const {
    std::vector<proto::FriendEvent> out;
    for (const auto& m : Of(s, proto::ClientMessage::kFriendEvent)) out.push_back(m.friend_event());
    return out;
  }
  size_t Count(SessionId s) const {
    auto it = got.find(s);
    return it == got.end() ? 0 : it->second.size();
  }
  void Clear() {
    got.clear();
    frames.clear();
    applied.clear();
  }

  Mode mode = Mode::kInline;
  int64_t now_us = 5'000'000;
  int64_t unix_ms = 1'700'000'000'000;
  int storage_calls = 0;
  std::deque<std::pair<std::function<void(store::Store&)>, std::function<void()>>> queue;
  std::map<SessionId, std::vector<proto::ClientMessage>> got;
  std::map<SessionId, std::vector<Frame>> frames;
  std::map<SessionId, std::vector<proto::AvatarData>> applied;
  std::string dir;
  std::unique_ptr<store::Store> db;
};

// Sessions on different shards (the low byte is the shard).
const SessionId kAlice = MakeSessionId(1, 0);
const SessionId kBob = MakeSessionId(2, 1);
const SessionId kBob2 = MakeSessionId(3, 2);
const SessionId kCarol = MakeSessionId(4, 1);
const SessionId kGuest = MakeSessionId(5, 3);

class SocialTest : public ::testing::Test {
 protected:
  void Online(SessionId s, const std::string& name, bool guest = false) {
    proto::UserInfo u;
    u.set_user_id(guest ? "guest:" + name : "u-" + name);
    u.set_username(name);
    u.set_is_guest(guest);
    social.SessionOnline(s, u);
  }
  void Act(SessionId s, const std::string& name, proto::FriendAction action,
           const std::string& target, const std::string& rid = "r") {
    proto::FriendRequest req;
    req.set_action(action);
    req.set_target_user_id(target);
    social.Friend(s, "u-" + name, false, req, rid);
  }
  void Pm(SessionId s, const std::string& name, const std::string& to, const std::string& text,
          const std::string& rid = "pm") {
    proto::PrivateMessage pm;
    pm.set_to_user_id(to);
    pm.set_message(text);
    social.PrivateMessage(s, "u-" + name, name, pm, rid);
  }
  proto::ErrorCode LastError(SessionId s) const {
    proto::ClientMessage m = host.Last(s);
    return m.has_error_message() ? m.error_message().code() : proto::ERROR_CODE_UNSPECIFIED;
  }
  // The friend list row for `user_id` in the last FriendList `s` received.
  proto::FriendInfo Row(SessionId s, const std::string& user_id) const {
    auto lists = host.Of(s, proto::ClientMessage::kFriendList);
    if (lists.empty()) return {};
    for (const auto& f : lists.back().friend_list().friends()) {
      if (f.user_id() == user_id) return f;
    }
    return {};
  }
  // Makes alice and bob (both online) friends.
  void MakeFriends() {
    Act(kAlice, "alice", proto::SEND_REQUEST, "u-bob");
    Act(kBob, "bob", proto::ACCEPT_REQUEST, "u-alice");
    host.Clear();
  }

  FakeSocialHost host;
  Social social{&host};
};

TEST_F(SocialTest, RequestAcceptEndToEndWithEventsToBothSides) {
  Online(kAlice, "alice");
  Online(kBob, "bob");
  Act(kAlice, "alice", proto::SEND_REQUEST, "u-bob", "s1");
  // The requester's answer is its committed list.
  proto::ClientMessage ack = host.Last(kAlice);
  ASSERT_TRUE(ack.has_friend_list()) << ack.DebugString();
  EXPECT_EQ(ack.request_id(), "s1");
  proto::FriendInfo row = Row(kAlice, "u-bob");
  EXPECT_TRUE(row.pending_outgoing());
  EXPECT_EQ(row.username(), "bob");
  EXPECT_EQ(row.status(), proto::OFFLINE) << "no presence before the friendship";
  // Bob hears of it.
  auto bob_events = host.Events(kBob);
  ASSERT_EQ(bob_events.size(), 1u);
  EXPECT_EQ(bob_events[0].kind(), proto::FRIEND_REQUEST_RECEIVED);
  EXPECT_EQ(bob_events[0].friend_info().user_id(), "u-alice");
  EXPECT_EQ(bob_events[0].friend_info().username(), "alice");
  EXPECT_TRUE(bob_events[0].friend_info().pending_incoming());
  EXPECT_EQ(host.Last(kBob).request_id(), "") << "the other party never sees a request id";

  Act(kBob, "bob", proto::ACCEPT_REQUEST, "alice", "a1");  // by username
  ack = host.Last(kBob);
  ASSERT_TRUE(ack.has_friend_list());
  EXPECT_EQ(ack.request_id(), "a1");
  row = Row(kBob, "u-alice");
  EXPECT_FALSE(row.pending_incoming());
  EXPECT_EQ(row.status(), proto::ONLINE);
  auto alice_events = host.Events(kAlice);
  ASSERT_EQ(alice_events.size(), 1u);
  EXPECT_EQ(alice_events[0].kind(), proto::FRIEND_REQUEST_ACCEPTED);
  EXPECT_EQ(alice_events[0].friend_info().user_id(), "u-bob");
  EXPECT_EQ(alice_events[0].friend_info().status(), proto::ONLINE);
  // Stored server-side.
  auto friends = host.db->AreFriends("u-alice", "u-bob");
  ASSERT_TRUE(friends.ok());
  EXPECT_TRUE(*friends);
}

TEST_F(SocialTest, AcknowledgedOnlyAfterTheStoreCommitted) {
  Online(kAlice, "alice");
  Online(kBob, "bob");
  Act(kAlice, "alice", proto::SEND_REQUEST, "u-bob");
  host.Clear();
  host.mode = FakeSocialHost::Mode::kDeferred;
  Act(kBob, "bob", proto::ACCEPT_REQUEST, "u-alice", "a1");
  // Nothing is said while the write is queued.
  EXPECT_EQ(host.Count(kBob), 0u);
  EXPECT_EQ(host.Count(kAlice), 0u);
  EXPECT_FALSE(*host.db->AreFriends("u-alice", "u-bob"));
  host.RunStorage();
  EXPECT_TRUE(*host.db->AreFriends("u-alice", "u-bob"));
  EXPECT_TRUE(host.Last(kBob).has_friend_list());
  EXPECT_EQ(host.Last(kBob).request_id(), "a1");
  ASSERT_EQ(host.Events(kAlice).size(), 1u);
  EXPECT_EQ(host.Events(kAlice)[0].kind(), proto::FRIEND_REQUEST_ACCEPTED);
}

TEST_F(SocialTest, CrossingRequestAcceptsAndPersistsAcrossRestart) {
  Online(kAlice, "alice");
  Online(kBob, "bob");
  Act(kAlice, "alice", proto::SEND_REQUEST, "u-bob");
  host.Clear();
  Act(kBob, "bob", proto::SEND_REQUEST, "u-alice", "s2");
  EXPECT_EQ(Row(kBob, "u-alice").status(), proto::ONLINE);
  ASSERT_EQ(host.Events(kAlice).size(), 1u);
  EXPECT_EQ(host.Events(kAlice)[0].kind(), proto::FRIEND_REQUEST_ACCEPTED);

  // A new Social (a restarted server) on the same store knows the friendship.
  Social restarted(&host);
  proto::UserInfo a;
  a.set_user_id("u-alice");
  a.set_username("alice");
  restarted.SessionOnline(kAlice, a);
  host.Clear();
  proto::FriendRequest list;
  list.set_action(proto::LIST_FRIENDS);
  restarted.Friend(kAlice, "u-alice", false, list, "l");
  proto::FriendInfo row = Row(kAlice, "u-bob");
  EXPECT_EQ(row.user_id(), "u-bob");
  EXPECT_EQ(row.username(), "bob") << "offline friends are named from the profile";
  EXPECT_EQ(row.status(), proto::OFFLINE);
}

TEST_F(SocialTest, DeclineWithdrawAndRemoveTellTheOtherSide) {
  Online(kAlice, "alice");
  Online(kBob, "bob");
  Act(kAlice, "alice", proto::SEND_REQUEST, "u-bob");
  host.Clear();
  Act(kBob, "bob", proto::DECLINE_REQUEST, "u-alice", "d1");
  EXPECT_TRUE(host.Last(kBob).has_friend_list());
  EXPECT_EQ(host.Last(kBob).friend_list().friends_size(), 0);
  ASSERT_EQ(host.Events(kAlice).size(), 1u);
  EXPECT_EQ(host.Events(kAlice)[0].kind(), proto::FRIEND_REQUEST_DECLINED);
  EXPECT_EQ(host.Events(kAlice)[0].friend_info().user_id(), "u-bob");
  Act(kBob, "bob", proto::DECLINE_REQUEST, "u-alice");
  EXPECT_EQ(LastError(kBob), proto::NOT_FOUND);

  // Withdrawing one's own request is a decline too.
  Act(kAlice, "alice", proto::SEND_REQUEST, "u-bob");
  host.Clear();
  Act(kAlice, "alice", proto::DECLINE_REQUEST, "u-bob");
  ASSERT_EQ(host.Events(kBob).size(), 1u);
  EXPECT_EQ(host.Events(kBob)[0].kind(), proto::FRIEND_REQUEST_DECLINED);

  MakeFriends();
  Act(kAlice, "alice", proto::REMOVE_FRIEND, "u-bob", "rm");
  EXPECT_EQ(host.Last(kAlice).request_id(), "rm");
  EXPECT_EQ(host.Last(kAlice).friend_list().friends_size(), 0);
  ASSERT_EQ(host.Events(kBob).size(), 1u);
  EXPECT_EQ(host.Events(kBob)[0].kind(), proto::FRIEND_REMOVED);
  EXPECT_FALSE(*host.db->AreFriends("u-alice", "u-bob"));
  Act(kAlice, "alice", proto::REMOVE_FRIEND, "u-bob");
  EXPECT_EQ(LastError(kAlice), proto::NOT_FOUND);
  // No longer friends: bob's status no longer reaches alice.
  host.Clear();
  social.StatusChanged(kBob, "u-bob", proto::AWAY, "");
  EXPECT_TRUE(host.Events(kAlice).empty());
}

TEST_F(SocialTest, RefusalsAreTyped) {
  Online(kAlice, "alice");
  Act(kAlice, "alice", proto::SEND_REQUEST, "u-nobody", "x");
  EXPECT_EQ(LastError(kAlice), proto::NOT_FOUND);
  EXPECT_EQ(host.Last(kAlice).request_id(), "x");
  Act(kAlice, "alice", proto::SEND_REQUEST, "u-alice");
  EXPECT_EQ(LastError(kAlice), proto::INVALID_PARAMETERS);
  Act(kAlice, "alice", proto::SEND_REQUEST, "");
  EXPECT_EQ(LastError(kAlice), proto::INVALID_PARAMETERS);
  Act(kAlice, "alice", proto::SEND_REQUEST, std::string(200, 'x'));
  EXPECT_EQ(LastError(kAlice), proto::INVALID_PARAMETERS);
  Act(kAlice, "alice", proto::ACCEPT_REQUEST, "u-nobody");
  EXPECT_EQ(LastError(kAlice), proto::NOT_FOUND);
  Act(kAlice, "alice", proto::UNBLOCK_USER, "u-nobody");
  EXPECT_EQ(LastError(kAlice), proto::NOT_FOUND);
  Act(kAlice, "alice", static_cast<proto::FriendAction>(99), "u-bob");
  EXPECT_EQ(LastError(kAlice), proto::INVALID_PARAMETERS);
  Online(kBob, "bob");
  Act(kAlice, "alice", proto::SEND_REQUEST, "u-bob");
  Act(kAlice, "alice", proto::SEND_REQUEST, "u-bob");
  EXPECT_EQ(LastError(kAlice), proto::ALREADY_EXISTS);
  // A full store queue is answered at once.
  host.mode = FakeSocialHost::Mode::kRefuse;
  Act(kAlice, "alice", proto::LIST_FRIENDS, "", "busy");
  EXPECT_EQ(LastError(kAlice), proto::RATE_LIMITED);
  EXPECT_EQ(host.Last(kAlice).request_id(), "busy");
}

TEST_F(SocialTest, ListShowsLiveStatusAndRoom) {
  Online(kCarol, "carol");
  Online(kAlice, "alice");
  Online(kBob, "bob");
  MakeFriends();
  Act(kCarol, "carol", proto::SEND_REQUEST, "u-alice");
  Act(kAlice, "alice", proto::ACCEPT_REQUEST, "u-carol");
  social.SessionOffline(kCarol, "u-carol");
  social.StatusChanged(kBob, "u-bob", proto::AWAY, "brb");
  social.RoomChanged(kBob, "u-bob", "jam");
  host.Clear();
  Act(kAlice, "alice", proto::LIST_FRIENDS, "", "l1");
  proto::ClientMessage list = host.Last(kAlice);
  ASSERT_TRUE(list.has_friend_list());
  EXPECT_EQ(list.request_id(), "l1");
  ASSERT_EQ(list.friend_list().friends_size(), 2);
  proto::FriendInfo bob = Row(kAlice, "u-bob");
  EXPECT_EQ(bob.status(), proto::AWAY);
  EXPECT_EQ(bob.status_text(), "brb");
  EXPECT_EQ(bob.room_id(), "jam");
  EXPECT_EQ(bob.username(), "bob");
  proto::FriendInfo carol = Row(kAlice, "u-carol");
  EXPECT_EQ(carol.status(), proto::OFFLINE);
  EXPECT_EQ(carol.username(), "carol");
  EXPECT_EQ(carol.room_id(), "");
}

TEST_F(SocialTest, StatusIsPushedToOnlineFriendsOnly) {
  Online(kAlice, "alice");
  Online(kBob, "bob");
  Online(kCarol, "carol");  // online, not a friend
  MakeFriends();
  social.StatusChanged(kBob, "u-bob", proto::BUSY, "practising");
  auto ev = host.Events(kAlice);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind(), proto::FRIEND_STATUS_CHANGED);
  EXPECT_EQ(ev[0].friend_info().user_id(), "u-bob");
  EXPECT_EQ(ev[0].friend_info().status(), proto::BUSY);
  EXPECT_EQ(ev[0].friend_info().status_text(), "practising");
  EXPECT_EQ(host.Count(kCarol), 0u);
  EXPECT_EQ(host.Count(kBob), 0u) << "status pushes go to friends, not back";
  // Room changes are presence too.
  social.RoomChanged(kBob, "u-bob", "jam");
  ASSERT_EQ(host.Events(kAlice).size(), 2u);
  EXPECT_EQ(host.Events(kAlice)[1].friend_info().room_id(), "jam");
  // Nothing new to say: no push.
  social.RoomChanged(kBob, "u-bob", "jam");
  EXPECT_EQ(host.Events(kAlice).size(), 2u);

  host.Clear();
  social.SessionOffline(kBob, "u-bob");
  ev = host.Events(kAlice);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].friend_info().status(), proto::OFFLINE);
  EXPECT_EQ(ev[0].friend_info().room_id(), "");
  EXPECT_EQ(host.Count(kCarol), 0u);

  host.Clear();
  Online(kBob, "bob");
  ev = host.Events(kAlice);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].friend_info().status(), proto::BUSY) << "the stored status comes back";
  EXPECT_EQ(ev[0].friend_info().status_text(), "practising");

  // Alice offline: bob's changes go nowhere and cost nothing.
  social.SessionOffline(kAlice, "u-alice");
  host.Clear();
  social.StatusChanged(kBob, "u-bob", proto::ONLINE, "");
  EXPECT_TRUE(host.got.empty());
}

TEST_F(SocialTest, InvisibleUsersAppearOffline) {
  Online(kAlice, "alice");
  Online(kBob, "bob");
  MakeFriends();
  social.RoomChanged(kBob, "u-bob", "jam");
  host.Clear();
  social.StatusChanged(kBob, "u-bob", proto::INVISIBLE, "hiding");
  auto ev = host.Events(kAlice);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].friend_info().status(), proto::OFFLINE);
  EXPECT_EQ(ev[0].friend_info().status_text(), "");
  EXPECT_EQ(ev[0].friend_info().room_id(), "");
  // Invisible moves are not announced, and lists show them offline.
  social.RoomChanged(kBob, "u-bob", "other");
  EXPECT_EQ(host.Events(kAlice).size(), 1u);
  Act(kAlice, "alice", proto::LIST_FRIENDS, "");
  EXPECT_EQ(Row(kAlice, "u-bob").status(), proto::OFFLINE);
  EXPECT_EQ(Row(kAlice, "u-bob").room_id(), "");
  // Going offline while invisible says nothing new.
  host.Clear();
  social.SessionOffline(kBob, "u-bob");
  EXPECT_TRUE(host.Events(kAlice).empty());
  // Invisibility is kept in the profile: reconnecting does not reveal bob.
  Online(kBob, "bob");
  EXPECT_TRUE(host.Events(kAlice).empty());
  ASSERT_EQ(host.applied[kBob].size(), 1u);
  EXPECT_EQ(host.applied[kBob][0].status(), proto::INVISIBLE);
  // Invisible users still receive private messages, confirmed like any other.
  Pm(kAlice, "alice", "bob", "are you there?", "p");
  ASSERT_EQ(host.Of(kBob, proto::ClientMessage::kPrivateMessage).size(), 1u);
  EXPECT_EQ(host.Last(kAlice).private_message().message(), "are you there?");
  EXPECT_EQ(host.Last(kAlice).request_id(), "p");
  // Visible again: friends hear it.
  social.StatusChanged(kBob, "u-bob", proto::ONLINE, "");
  ASSERT_EQ(host.Events(kAlice).size(), 1u);
  EXPECT_EQ(host.Events(kAlice)[0].friend_info().status(), proto::ONLINE);
}

TEST_F(SocialTest, BlocksRefusePrivateMessagesAndRequests) {
  Online(kAlice, "alice");
  Online(kBob, "bob");
  MakeFriends();
  Act(kBob, "bob", proto::BLOCK_USER, "u-alice", "b1");
  EXPECT_TRUE(host.Last(kBob).has_friend_list());
  EXPECT_EQ(host.Last(kBob).request_id(), "b1");
  EXPECT_EQ(host.Last(kBob).friend_list().friends_size(), 0);
  // The friendship ended; alice hears that, not that she is blocked.
  ASSERT_EQ(host.Events(kAlice).size(), 1u);
  EXPECT_EQ(host.Events(kAlice)[0].kind(), proto::FRIEND_REMOVED);
  EXPECT_FALSE(*host.db->AreFriends("u-alice", "u-bob"));
  EXPECT_TRUE(*host.db->IsBlocked("u-bob", "u-alice"));

  host.Clear();
  Pm(kAlice, "alice", "u-bob", "hello?", "p1");
  EXPECT_EQ(LastError(kAlice), proto::BLOCKED);
  EXPECT_EQ(host.Last(kAlice).request_id(), "p1");
  EXPECT_EQ(host.Count(kBob), 0u);
  Pm(kBob, "bob", "u-alice", "go away");
  EXPECT_EQ(LastError(kBob), proto::BLOCKED) << "a blocker cannot message the blocked";
  Act(kAlice, "alice", proto::SEND_REQUEST, "u-bob");
  EXPECT_EQ(LastError(kAlice), proto::BLOCKED);
  Act(kBob, "bob", proto::SEND_REQUEST, "u-alice");
  EXPECT_EQ(LastError(kBob), proto::BLOCKED);
  Act(kBob, "bob", proto::BLOCK_USER, "u-alice");
  EXPECT_EQ(LastError(kBob), proto::ALREADY_EXISTS);

  // The block holds across a reconnect (the cache is reloaded from the store).
  social.SessionOffline(kBob, "u-bob");
  Online(kBob, "bob");
  Pm(kAlice, "alice", "bob", "still?");
  EXPECT_EQ(LastError(kAlice), proto::BLOCKED);

  Act(kBob, "bob", proto::UNBLOCK_USER, "u-alice", "ub");
  EXPECT_TRUE(host.Last(kBob).has_friend_list());
  Pm(kAlice, "alice", "u-bob", "hi again", "p2");
  EXPECT_TRUE(host.Last(kAlice).has_private_message());
  EXPECT_EQ(host.Last(kBob).private_message().message(), "hi again");
}

TEST_F(SocialTest, BlockCheckedInTheStoreWhileTheCacheLoads) {
  Online(kAlice, "alice");
  Online(kBob, "bob");
  Act(kBob, "bob", proto::BLOCK_USER, "u-alice");
  social.SessionOffline(kBob, "u-bob");
  host.mode = FakeSocialHost::Mode::kDeferred;
  Online(kBob, "bob");
  EXPECT_FALSE(social.CacheLoaded("u-bob"));
  host.Clear();
  Pm(kAlice, "alice", "u-bob", "sneaky");
  host.RunStorage();
  EXPECT_EQ(LastError(kAlice), proto::BLOCKED);
  EXPECT_TRUE(host.Of(kBob, proto::ClientMessage::kPrivateMessage).empty());
}

TEST_F(SocialTest, GuestsCannotHaveFriendsOrWhisper) {
  Online(kAlice, "alice");
  Online(kGuest, "visitor", /*guest=*/true);
  proto::FriendRequest req;
  req.set_action(proto::SEND_REQUEST);
  req.set_target_user_id("u-alice");
  social.Friend(kGuest, "guest:visitor", true, req, "g1");
  EXPECT_EQ(LastError(kGuest), proto::PERMISSION_DENIED);
  EXPECT_EQ(host.Last(kGuest).request_id(), "g1");
  req.set_action(proto::BLOCK_USER);
  social.Friend(kGuest, "guest:visitor", true, req, "g2");
  EXPECT_EQ(LastError(kGuest), proto::PERMISSION_DENIED);
  // A guest's list is simply empty.
  req.set_action(proto::LIST_FRIENDS);
  social.Friend(kGuest, "guest:visitor", true, req, "g3");
  EXPECT_TRUE(host.Last(kGuest).has_friend_list());
  EXPECT_EQ(host.Last(kGuest).friend_list().friends_size(), 0);
  // Members cannot befriend a guest either, online (by name) or not.
  Act(kAlice, "alice", proto::SEND_REQUEST, "visitor");
  EXPECT_EQ(LastError(kAlice), proto::PERMISSION_DENIED);
  Act(kAlice, "alice", proto::SEND_REQUEST, "guest:gone");
  EXPECT_EQ(LastError(kAlice), proto::PERMISSION_DENIED);
  // Guests may not whisper (a block could never hold against them), but can be told.
  host.Clear();
  proto::PrivateMessage pm;
  pm.set_to_user_id("alice");
  pm.set_message("hi");
  social.PrivateMessage(kGuest, "guest:visitor", "visitor", pm, "g4");
  EXPECT_EQ(LastError(kGuest), proto::PERMISSION_DENIED);
  EXPECT_EQ(host.Count(kAlice), 0u);
  Pm(kAlice, "alice", "visitor", "welcome");
  EXPECT_EQ(host.Last(kGuest).private_message().message(), "welcome");
  // No store work is done for guests.
  int calls = host.storage_calls;
  social.StatusChanged(kGuest, "guest:visitor", proto::AWAY, "");
  social.SessionOffline(kGuest, "guest:visitor");
  EXPECT_EQ(host.storage_calls, calls);
}

TEST_F(SocialTest, PrivateMessagesRouteByIdOrNameAndReportOffline) {
  Online(kAlice, "alice");
  Online(kBob, "Bob");
  Pm(kAlice, "alice", "BOB", "psst", "p1");
  auto got = host.Of(kBob, proto::ClientMessage::kPrivateMessage);
  ASSERT_EQ(got.size(), 1u);
  const proto::PrivateMessage& pm = got[0].private_message();
  EXPECT_EQ(pm.message(), "psst");
  EXPECT_EQ(pm.to_user_id(), "u-Bob") << "the name is resolved to the id";
  EXPECT_EQ(pm.from_user_id(), "u-alice");
  EXPECT_EQ(pm.from_username(), "alice");
  EXPECT_EQ(pm.server_time(), host.now_us);
  EXPECT_EQ(got[0].request_id(), "");
  proto::ClientMessage echo = host.Last(kAlice);
  ASSERT_TRUE(echo.has_private_message());
  EXPECT_EQ(echo.request_id(), "p1");
  EXPECT_EQ(echo.private_message().to_user_id(), "u-Bob");

  Pm(kAlice, "alice", "u-Bob", "by id");
  EXPECT_EQ(host.Last(kBob).private_message().message(), "by id");
  Pm(kAlice, "alice", "nobody", "hello?", "p2");
  EXPECT_EQ(LastError(kAlice), proto::NOT_FOUND);
  EXPECT_EQ(host.Last(kAlice).request_id(), "p2");
  Pm(kAlice, "alice", "alice", "me");
  EXPECT_EQ(LastError(kAlice), proto::INVALID_PARAMETERS);
  social.SessionOffline(kBob, "u-Bob");
  Pm(kAlice, "alice", "bob", "gone?");
  EXPECT_EQ(LastError(kAlice), proto::NOT_FOUND);
  Pm(kAlice, "alice", "u-Bob", "gone?");
  EXPECT_EQ(LastError(kAlice), proto::NOT_FOUND);
}

TEST_F(SocialTest, EverySessionOfAUserReceivesOneSharedFrame) {
  Online(kAlice, "alice");
  Online(kBob, "bob");
  Online(kBob2, "bob");
  EXPECT_EQ(social.online_users(), 2u);
  std::string id;
  EXPECT_EQ(social.Find("BOB", &id).size(), 2u);
  EXPECT_EQ(id, "u-bob");

  Pm(kAlice, "alice", "bob", "both of you");
  ASSERT_EQ(host.frames[kBob].size(), 1u);
  ASSERT_EQ(host.frames[kBob2].size(), 1u);
  EXPECT_EQ(host.frames[kBob][0], host.frames[kBob2][0]) << "serialized once, shared";
  EXPECT_EQ(host.Last(kBob2).private_message().message(), "both of you");

  Act(kAlice, "alice", proto::SEND_REQUEST, "u-bob");
  EXPECT_EQ(host.Events(kBob).size(), 1u);
  EXPECT_EQ(host.Events(kBob2).size(), 1u);
  Act(kBob2, "bob", proto::ACCEPT_REQUEST, "u-alice");
  host.Clear();
  // A friend's status reaches all of alice's sessions through one frame.
  const SessionId kAlice2 = MakeSessionId(9, 3);
  Online(kAlice2, "alice");
  social.StatusChanged(kBob, "u-bob", proto::AWAY, "");
  ASSERT_EQ(host.frames[kAlice].size(), 1u);
  ASSERT_EQ(host.frames[kAlice2].size(), 1u);
  EXPECT_EQ(host.frames[kAlice][0], host.frames[kAlice2][0]);

  // Bob stays online while any session is.
  host.Clear();
  social.SessionOffline(kBob, "u-bob");
  EXPECT_TRUE(host.Events(kAlice).empty());
  EXPECT_EQ(social.online_users(), 2u);
  social.SessionOffline(kBob2, "u-bob");
  ASSERT_EQ(host.Events(kAlice).size(), 1u);
  EXPECT_EQ(host.Events(kAlice)[0].friend_info().status(), proto::OFFLINE);
  EXPECT_EQ(social.online_users(), 1u);
}

TEST_F(SocialTest, RoomIsTheNewestOfTheUsersSessions) {
  Online(kAlice, "alice");
  Online(kBob, "bob");
  Online(kBob2, "bob");
  MakeFriends();
  social.RoomChanged(kBob, "u-bob", "jam");
  social.RoomChanged(kBob2, "u-bob", "lounge");
  EXPECT_EQ(host.Events(kAlice).back().friend_info().room_id(), "lounge");
  social.SessionOffline(kBob2, "u-bob");
  EXPECT_EQ(host.Events(kAlice).back().friend_info().room_id(), "jam");
  social.RoomChanged(kBob, "u-bob", "");
  EXPECT_EQ(host.Events(kAlice).back().friend_info().room_id(), "");
}

TEST_F(SocialTest, GoingOfflineDropsTheCaches) {
  Online(kAlice, "alice");
  EXPECT_TRUE(social.CacheLoaded("u-alice"));
  EXPECT_EQ(social.online_users(), 1u);
  social.SessionOffline(kAlice, "u-alice");
  EXPECT_FALSE(social.CacheLoaded("u-alice"));
  EXPECT_EQ(social.online_users(), 0u);
  std::string id;
  EXPECT_TRUE(social.Find("alice", &id).empty());
  // Unknown sessions and users are ignored.
  social.SessionOffline(kAlice, "u-alice");
  social.StatusChanged(kAlice, "u-alice", proto::AWAY, "");
  EXPECT_EQ(social.online_users(), 0u);
}

TEST_F(SocialTest, ProfileIsAppliedOnReconnect) {
  Online(kBob, "bob");
  EXPECT_TRUE(host.applied[kBob].empty()) << "nothing stored yet";
  proto::AvatarData avatar;
  avatar.set_appearance("top-hat");
  avatar.set_color("#112233");
  social.AppearanceChanged(kBob, "u-bob", avatar);
  social.StatusChanged(kBob, "u-bob", proto::BUSY, "recording");
  auto stored = host.db->GetProfile("u-bob");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->appearance, "top-hat");
  EXPECT_EQ(stored->status, proto::BUSY);
  EXPECT_EQ(stored->status_text, "recording");
  EXPECT_EQ(stored->username, "bob");

  social.SessionOffline(kBob, "u-bob");
  host.Clear();
  Online(kBob, "bob");
  ASSERT_EQ(host.applied[kBob].size(), 1u);
  EXPECT_EQ(host.applied[kBob][0].appearance(), "top-hat");
  EXPECT_EQ(host.applied[kBob][0].status(), proto::BUSY);
  EXPECT_EQ(host.applied[kBob][0].status_text(), "recording");
  // A second session of an online user gets the same.
  Online(kBob2, "bob");
  ASSERT_EQ(host.applied[kBob2].size(), 1u);
  EXPECT_EQ(host.applied[kBob2][0].appearance(), "top-hat");
  // A renamed user's profile follows the new name.
  social.SessionOffline(kBob, "u-bob");
  social.SessionOffline(kBob2, "u-bob");
  proto::UserInfo renamed;
  renamed.set_user_id("u-bob");
  renamed.set_username("Robert");
  social.SessionOnline(kBob, renamed);
  EXPECT_EQ(host.db->GetProfile("u-bob")->username, "Robert");
  EXPECT_EQ(host.db->GetProfile("u-bob")->appearance, "top-hat");
  std::string id;
  EXPECT_EQ(social.Find("robert", &id).size(), 1u);
  EXPECT_TRUE(social.Find("bob", &id).empty());
}

TEST_F(SocialTest, ChangesBeforeTheLoadCompletesWin) {
  Online(kAlice, "alice");
  Online(kBob, "bob");
  MakeFriends();
  social.StatusChanged(kBob, "u-bob", proto::BUSY, "stored");
  social.SessionOffline(kBob, "u-bob");
  host.Clear();

  host.mode = FakeSocialHost::Mode::kDeferred;
  Online(kBob, "bob");
  social.StatusChanged(kBob, "u-bob", proto::AWAY, "fresh");
  social.RoomChanged(kBob, "u-bob", "jam");
  // Nothing is said about bob until his lists are known.
  EXPECT_TRUE(host.Events(kAlice).empty());
  host.RunStorage();
  auto ev = host.Events(kAlice);
  ASSERT_EQ(ev.size(), 1u) << "one push with the settled state";
  EXPECT_EQ(ev[0].friend_info().status(), proto::AWAY);
  EXPECT_EQ(ev[0].friend_info().status_text(), "fresh");
  EXPECT_EQ(ev[0].friend_info().room_id(), "jam");
  ASSERT_EQ(host.applied[kBob].size(), 1u);
  EXPECT_EQ(host.applied[kBob][0].status(), proto::AWAY);
  auto stored = host.db->GetProfile("u-bob");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->status, proto::AWAY);
  EXPECT_EQ(stored->status_text, "fresh");
}

TEST_F(SocialTest, ALoadFromAnEarlierLoginIsIgnored) {
  host.mode = FakeSocialHost::Mode::kDeferred;
  Online(kBob, "bob");
  social.SessionOffline(kBob, "u-bob");
  Online(kBob2, "bob");
  host.RunStorage();
  EXPECT_TRUE(social.CacheLoaded("u-bob"));
  EXPECT_TRUE(host.applied[kBob].empty()) << "the first login's load is stale";
  EXPECT_EQ(host.applied[kBob2].size(), 1u);
}

TEST_F(SocialTest, AFailedLoadIsRetriedOnTheNextEvent) {
  Online(kAlice, "alice");
  host.mode = FakeSocialHost::Mode::kRefuse;
  Online(kBob, "bob");
  EXPECT_FALSE(social.CacheLoaded("u-bob"));
  // While unloaded, bob looks offline and PMs fall back to the store (here: busy).
  Pm(kAlice, "alice", "bob", "hi");
  EXPECT_EQ(LastError(kAlice), proto::RATE_LIMITED);
  host.mode = FakeSocialHost::Mode::kInline;
  social.RoomChanged(kBob, "u-bob", "jam");
  EXPECT_TRUE(social.CacheLoaded("u-bob"));
  Pm(kAlice, "alice", "bob", "hi");
  EXPECT_EQ(host.Last(kBob).private_message().message(), "hi");
}

TEST_F(SocialTest, FriendCountIsCapped) {
  Online(kAlice, "alice");
  Online(kBob, "bob");
  // Fill alice's list directly in the store's file (one transaction, through a second
  // connection: the Store keeps its own private), then reload her cache.
  auto raw = store::Db::Open(host.dir + "/t.db");
  ASSERT_TRUE(raw.ok()) << raw.status();
  ASSERT_TRUE((*raw)
                  ->Exec("INSERT INTO friendships (user_a, user_b, since_unix_ms) "
                         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                         "WHERE i < " +
                         std::to_string(Social::kMaxFriends) +
                         ") "
                         "SELECT 'u-alice', 'u-f' || i, 1 FROM n")
                  .ok());
  social.SessionOffline(kAlice, "u-alice");
  Online(kAlice, "alice");
  Act(kAlice, "alice", proto::SEND_REQUEST, "u-bob");
  EXPECT_EQ(LastError(kAlice), proto::LIMIT_REACHED);
  Act(kBob, "bob", proto::SEND_REQUEST, "u-alice");
  EXPECT_EQ(LastError(kBob), proto::LIMIT_REACHED);
}

}  // namespace
}  // namespace tutti::server
