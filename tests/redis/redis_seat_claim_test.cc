// The seat script (kSeatClaimScript, Broker::ClaimSeat) against a real redis-server, on
// what it checks besides the capacity: the room's kept bans and its kept settings version
// decide a join, not the joining node's copy of them (docs/SCALE-OUT.md, "Joins across
// nodes"). Split from redis_broker_test.cc by role; the fixture is
// tests/redis/broker_fixture.h.
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/redis/redis_scripts.h"
#include "tests/redis/broker_fixture.h"

namespace tutti::server::redis {
namespace {

// A ban written in Redis by another node (one this node's copy of the room has not been
// delivered yet) refuses the claim, an ended one does not; a claim checked against
// another settings version than the kept one is answered stale; neither writes the
// joiner's entry. A room with no kept state checks no version, and a claim with none
// (a lobby's) is not checked.
TEST_F(RedisBrokerTest, ASeatIsRefusedForAKeptBanOrAStaleSettingsVersion) {
  auto a = Engine();
  // The kept state at settings version 4 (the script reads only the version and whether
  // a room is kept), and bans as the publish script writes them (end in unix ms, +inf).
  ASSERT_TRUE(Run({"HSET", StateKey("room"), "room", "x", "settings_version", "4"}));
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const std::string hour_ago = std::to_string(now_ms - 3'600'000);
  const std::string in_an_hour = std::to_string(now_ms + 3'600'000);
  ASSERT_TRUE(
      Run({"ZADD", BansKey("room"), "+inf", "u-bob", hour_ago, "u-old", in_an_hour, "u-tmp"}));
  std::map<SessionId, SeatClaim> answers;
  auto claim = [&](const std::string& room, SessionId s, const std::string& user, int64_t version) {
    PresenceEntry e;
    e.session = s;
    e.user_id = user;
    e.user.set_user_id(user);
    a->ClaimSeat(room, e, 10, version, [&answers, s](SeatClaim c) { answers[s] = c; });
  };
  claim("room", 1, "u-bob", 4);  // banned for good
  claim("room", 2, "u-tmp", 4);  // banned for another hour
  claim("room", 3, "u-old", 4);  // a ban that ended
  claim("room", 4, "u-cay", 3);  // checked against settings changed since
  claim("room", 5, "u-cay", 4);
  claim("room", 6, "u-dee", -1);  // nothing to compare (a lobby)
  claim("fresh", 7, "u-eve", 9);  // no kept state: nothing to compare
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return answers.size() == 7; }));
  EXPECT_EQ(answers[1], SeatClaim::kBanned);
  EXPECT_EQ(answers[2], SeatClaim::kBanned);
  EXPECT_EQ(answers[3], SeatClaim::kTaken);
  EXPECT_EQ(answers[4], SeatClaim::kStale);
  EXPECT_EQ(answers[5], SeatClaim::kTaken);
  EXPECT_EQ(answers[6], SeatClaim::kTaken);
  EXPECT_EQ(answers[7], SeatClaim::kTaken);

  // Only the seats taken were written.
  std::vector<PresenceEntry> seen;
  bool got = false;
  a->Presence("room", [&](std::vector<PresenceEntry> e) {
    seen = std::move(e);
    got = true;
  });
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return got; }));
  std::map<SessionId, bool> claiming;
  for (const PresenceEntry& e : seen) claiming[e.session] = e.claiming;
  EXPECT_EQ(claiming.size(), 3u);
  EXPECT_EQ(claiming.count(1), 0u) << "a banned joiner's seat was written";
  EXPECT_EQ(claiming.count(2), 0u) << "a banned joiner's seat was written";
  EXPECT_EQ(claiming.count(4), 0u) << "a stale claim's seat was written";
  EXPECT_TRUE(claiming[3] && claiming[5] && claiming[6]);
}

}  // namespace
}  // namespace tutti::server::redis
