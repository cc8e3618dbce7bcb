// The parsers of what the Redis scripts keep (server/redis/kept_wire.h), without Redis:
// records taken whole, and every way a record written by someone else can be wrong
// refused whole. RedisBrokerTest.KeptRoomStateAndPenaltiesAreTakenOnlyWhenTheyParse
// covers the same through a real redis-server.
#include "server/redis/kept_wire.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protos/tutti.pb.h"

namespace tutti::server::redis {
namespace {

std::string Room(const std::string& name) {
  proto::RoomInfo info;
  info.set_room_id("jam");
  info.set_room_name(name);
  info.set_room_type(proto::PUBLIC);
  return info.SerializeAsString();
}

std::string User(const std::string& id) {
  proto::UserInfo u;
  u.set_user_id(id);
  u.set_username("Ann");
  return u.SerializeAsString();
}

TEST(KeptWireTest, AKeptRoomStateIsTakenWithItsModerators) {
  const std::string room = Room("Jam");
  KeptRoomState kept;
  EXPECT_EQ(ParseKeptRoomState({{"owner", "ann"},
                                {"room", room},
                                {"password_hash", "h"},
                                {"version", "7"},
                                {"settings_version", "5"}},
                               {"cay", "", "dan"}, &kept),
            KeptParse::kTaken);
  EXPECT_EQ(kept.settings_version, 5);
  EXPECT_TRUE(kept.found);
  EXPECT_EQ(kept.owner, "ann");
  EXPECT_EQ(kept.room, room);
  EXPECT_EQ(kept.password_hash, "h");
  EXPECT_EQ(kept.version, 7);
  EXPECT_EQ(kept.moderators, (std::vector<std::string>{"cay", "dan"}));
  EXPECT_TRUE(kept.tempo.empty());
  // With the tempo a change set (a serialized TempoState), taken as it is.
  proto::TempoState t;
  t.set_bpm(100);
  t.set_changed_by_username("Ann");
  EXPECT_EQ(ParseKeptRoomState({{"room", room}, {"tempo", t.SerializeAsString()}}, {}, &kept),
            KeptParse::kTaken);
  EXPECT_EQ(kept.tempo, t.SerializeAsString());
}

TEST(KeptWireTest, ARoomStateThatDoesNotParseIsNoStateAtAll) {
  const std::string room = Room("Jam");
  KeptRoomState kept;
  // A version that is no number, or only starts with one.
  for (const char* version : {"seven", "7x", "", "99999999999999999999"}) {
    EXPECT_EQ(ParseKeptRoomState({{"owner", "ann"}, {"room", room}, {"version", version}}, {"cay"},
                                 &kept),
              KeptParse::kMalformed)
        << version;
    EXPECT_EQ(ParseKeptRoomState({{"owner", "ann"}, {"room", room}, {"settings_version", version}},
                                 {"cay"}, &kept),
              KeptParse::kMalformed)
        << "settings_version " << version;
    EXPECT_FALSE(kept.found);
    EXPECT_TRUE(kept.owner.empty() && kept.room.empty() && kept.moderators.empty());
  }
  // A room whose name is not UTF-8.
  EXPECT_EQ(ParseKeptRoomState({{"room", Room("J\xff"
                                              "m")}},
                               {}, &kept),
            KeptParse::kMalformed);
  EXPECT_FALSE(kept.found);
  // A tempo whose setter's name is not UTF-8, or that is no protobuf: the whole record.
  proto::TempoState t;
  t.set_changed_by_username("A\xffn");
  for (const std::string& tempo : {t.SerializeAsString(), std::string("\xff\xff\xff")}) {
    EXPECT_EQ(ParseKeptRoomState({{"owner", "ann"}, {"room", room}, {"tempo", tempo}}, {}, &kept),
              KeptParse::kMalformed);
    EXPECT_FALSE(kept.found);
  }
  // Nothing kept: no room field (moderators alone are no state).
  EXPECT_EQ(ParseKeptRoomState({{"owner", "ann"}}, {"cay"}, &kept), KeptParse::kAbsent);
  EXPECT_FALSE(kept.found);
  EXPECT_TRUE(kept.owner.empty() && kept.moderators.empty());
}

TEST(KeptWireTest, PenaltiesNeedAUserAndAPositiveEndOrNone) {
  KeptPenalty k;
  EXPECT_EQ(ParseKeptPenalty(KeptPenalty::Kind::kMute, "bob", "1893456000000", &k),
            KeptParse::kTaken);
  EXPECT_EQ(k.kind, KeptPenalty::Kind::kMute);
  EXPECT_EQ(k.user_id, "bob");
  EXPECT_EQ(k.until_unix_ms, 1893456000000);
  EXPECT_EQ(ParseKeptPenalty(KeptPenalty::Kind::kBan, "cay", "inf", &k), KeptParse::kTaken);
  EXPECT_EQ(k.until_unix_ms, 0);
  for (const char* score : {"soon", "0", "-5", "12abc", ""}) {
    EXPECT_EQ(ParseKeptPenalty(KeptPenalty::Kind::kBan, "bob", score, &k), KeptParse::kMalformed)
        << score;
  }
  EXPECT_EQ(ParseKeptPenalty(KeptPenalty::Kind::kBan, "", "inf", &k), KeptParse::kAbsent);
}

TEST(KeptWireTest, PresenceEntriesCarryTheirSessionAndTheWritersOrigin) {
  const std::string value = "1764900000000:1:" + User("ann");
  PresenceEntry e;
  ASSERT_TRUE(ParsePresenceEntry("node-a:4097", value, /*expired=*/false, "node-b", &e));
  EXPECT_EQ(e.session, 4097u);
  EXPECT_EQ(e.origin, "node-a");
  EXPECT_EQ(e.user_id, "ann");
  EXPECT_TRUE(e.reconnecting);
  EXPECT_EQ(e.user.session_id(), 4097u);
  EXPECT_TRUE(e.user.reconnecting());
  ASSERT_TRUE(ParsePresenceEntry("node-b:18446744073709551361", value, true, "node-b", &e));
  EXPECT_EQ(e.session, 18446744073709551361u);  // the whole range of SessionId
  EXPECT_EQ(e.origin, "");                      // written by the reader itself
  EXPECT_TRUE(e.expired);
  // A session that is no number, zero or only starts with one; no writer (every engine
  // has one: it would be taken for the reader's own); a value without its two colons; a
  // user that is not UTF-8.
  for (const char* field : {"node-a:x", "node-a:0", "node-a:12abc", "node-a:", "4097", ":4097"}) {
    EXPECT_FALSE(ParsePresenceEntry(field, value, false, "node-b", &e)) << field;
  }
  EXPECT_FALSE(ParsePresenceEntry("node-a:4097", "1764900000000", false, "node-b", &e));
  proto::UserInfo bad;
  bad.set_user_id("a\xc3");
  EXPECT_FALSE(
      ParsePresenceEntry("node-a:4097", "1:0:" + bad.SerializeAsString(), false, "node-b", &e));
}

TEST(KeptWireTest, AResumeStateNeedsAUserThatParses) {
  const std::string user = User("ann");
  SharedResume r;
  ASSERT_TRUE(ParseKeptResume({{"user", user}, {"room", "jam"}}, &r));
  EXPECT_EQ(r.user.user_id(), "ann");
  EXPECT_EQ(r.room_id, "jam");
  proto::UserInfo bad;
  bad.set_user_id("a\xc3");
  const std::string bad_bytes = bad.SerializeAsString();
  EXPECT_FALSE(ParseKeptResume({{"user", bad_bytes}, {"room", "jam"}}, &r));
  EXPECT_FALSE(ParseKeptResume({{"user", "\xff\xff"}}, &r));
  EXPECT_FALSE(ParseKeptResume({{"room", "jam"}}, &r));
}

}  // namespace
}  // namespace tutti::server::redis
