#include "server/store/store.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/moderation/ban_list.h"
#include "server/store/sqlite_db.h"
#include "tests/store/backend.h"
#include "tests/store/temp_dir.h"

namespace tutti::server::store {
namespace {

constexpr int64_t kNow = 1'800'000'000'000;
constexpr int64_t kHour = 3'600'000;

using moderation::AuditAction;
using moderation::AuditRecord;
using moderation::ServerBan;

// Every StoreTest runs on both drivers (INSTANTIATE_TEST_SUITE_P at the end).
class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    TUTTI_REQUIRE_LOCATION(where_);
    path_ = where_.location;
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  // Closes and reopens the file: what was committed must be there.
  void Reopen() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  std::vector<std::string> FriendIds(std::string_view user) {
    absl::StatusOr<std::vector<FriendRow>> rows = store_->ListFriends(user);
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::vector<std::string> ids;
    if (rows.ok()) {
      for (const FriendRow& row : *rows) ids.push_back(row.user_id);
    }
    return ids;
  }

  Location where_{GetParam()};
  std::string path_;  // the SQLite file or the PostgreSQL URL
  std::unique_ptr<Store> store_;
};

// --- Opening ------------------------------------------------------------------------

TEST(StoreOpenTest, SqliteOpensInWalModeWithFullSyncAndForeignKeys) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir.File("tutti.db"));
  ASSERT_TRUE(store.ok()) << store.status();
  auto pragma = [&](const char* sql) {
    absl::StatusOr<Statement> stmt = (*store)->db().Prepare(sql);
    EXPECT_TRUE(stmt.ok());
    EXPECT_TRUE(*stmt->Step());
    return stmt->ColumnText(0);
  };
  EXPECT_EQ(pragma("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(pragma("PRAGMA synchronous"), "2");  // FULL
  EXPECT_EQ(pragma("PRAGMA foreign_keys"), "1");
  EXPECT_GE((*store)->schema_version(), 1);
}

TEST(StoreOpenTest, MissingDirectoryIsAnErrorNotCreated) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir.File("absent/tutti.db"));
  EXPECT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_FALSE(std::filesystem::exists(dir.File("absent")));
}

TEST(StoreOpenTest, NotADatabaseIsDataLoss) {
  TempDir dir;
  const std::string path = dir.File("garbage.db");
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::string junk(4096, 'x');
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
}

// --- Profiles -----------------------------------------------------------------------

TEST_P(StoreTest, ProfileUpsertAndGet) {
  EXPECT_EQ(store_->GetProfile("u1").status().code(), absl::StatusCode::kNotFound);
  Profile p{"u1", "Ursula", std::string("\0\x01\xff", 3), 1, "brb", kNow};
  ASSERT_TRUE(store_->UpsertProfile(p).ok());
  p.username = "Ursula K";
  p.status = 2;
  p.updated_unix_ms = kNow + 1;
  ASSERT_TRUE(store_->UpsertProfile(p).ok());
  Reopen();
  absl::StatusOr<Profile> got = store_->GetProfile("u1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->username, "Ursula K");
  EXPECT_EQ(got->appearance, std::string("\0\x01\xff", 3));  // binary-safe
  EXPECT_EQ(got->status, 2);
  EXPECT_EQ(got->status_text, "brb");
  EXPECT_EQ(got->updated_unix_ms, kNow + 1);
  EXPECT_EQ(store_->UpsertProfile(Profile{}).code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreTest, EmptyAppearanceStaysEmptyNotNull) {
  ASSERT_TRUE(store_->UpsertProfile(Profile{"u1", "U", "", 0, "", kNow}).ok());
  EXPECT_EQ(store_->GetProfile("u1")->appearance, "");
}

// --- Friends ------------------------------------------------------------------------

TEST_P(StoreTest, FriendRequestThenAccept) {
  ASSERT_TRUE(store_->UpsertProfile(Profile{"bob", "Bob", "", 1, "jamming", kNow}).ok());
  absl::StatusOr<FriendRequestResult> sent = store_->SendFriendRequest("ann", "bob", kNow);
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(*sent, FriendRequestResult::kRequestSent);

  absl::StatusOr<std::vector<FriendRow>> ann = store_->ListFriends("ann");
  ASSERT_EQ(ann->size(), 1u);
  EXPECT_EQ((*ann)[0].user_id, "bob");
  EXPECT_EQ((*ann)[0].username, "Bob");
  EXPECT_EQ((*ann)[0].status, 1);
  EXPECT_EQ((*ann)[0].status_text, "jamming");
  EXPECT_TRUE((*ann)[0].pending_outgoing);
  EXPECT_FALSE((*ann)[0].pending_incoming);
  absl::StatusOr<std::vector<FriendRow>> bob = store_->ListFriends("bob");
  ASSERT_EQ(bob->size(), 1u);
  EXPECT_TRUE((*bob)[0].pending_incoming);
  EXPECT_EQ((*bob)[0].username, "");  // ann has no profile

  EXPECT_EQ(store_->AcceptFriendRequest("ann", "bob", kNow).code(),
            absl::StatusCode::kNotFound);  // ann sent it; she cannot accept it
  ASSERT_TRUE(store_->AcceptFriendRequest("bob", "ann", kNow + 5).ok());
  Reopen();
  EXPECT_TRUE(*store_->AreFriends("ann", "bob"));
  EXPECT_TRUE(*store_->AreFriends("bob", "ann"));
  ann = store_->ListFriends("ann");
  ASSERT_EQ(ann->size(), 1u);
  EXPECT_FALSE((*ann)[0].pending_incoming || (*ann)[0].pending_outgoing);
  EXPECT_EQ((*ann)[0].since_unix_ms, kNow + 5);
}

TEST_P(StoreTest, CrossingRequestsBecomeFriendship) {
  ASSERT_EQ(*store_->SendFriendRequest("ann", "bob", kNow), FriendRequestResult::kRequestSent);
  ASSERT_EQ(*store_->SendFriendRequest("bob", "ann", kNow), FriendRequestResult::kAccepted);
  EXPECT_TRUE(*store_->AreFriends("ann", "bob"));
  // No pending rows left behind.
  absl::StatusOr<std::vector<FriendRow>> rows = store_->ListFriends("bob");
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_FALSE((*rows)[0].pending_incoming || (*rows)[0].pending_outgoing);
}

TEST_P(StoreTest, FriendRequestRefusals) {
  EXPECT_EQ(store_->SendFriendRequest("ann", "ann", kNow).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->SendFriendRequest("", "ann", kNow).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(store_->SendFriendRequest("ann", "bob", kNow).ok());
  EXPECT_EQ(store_->SendFriendRequest("ann", "bob", kNow).status().code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(store_->AcceptFriendRequest("bob", "ann", kNow).ok());
  EXPECT_EQ(store_->SendFriendRequest("bob", "ann", kNow).status().code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(store_->Block("cat", "ann", kNow).ok());
  EXPECT_EQ(store_->SendFriendRequest("ann", "cat", kNow).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->SendFriendRequest("cat", "ann", kNow).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_P(StoreTest, DeclineOrWithdrawAndRemove) {
  ASSERT_TRUE(store_->SendFriendRequest("ann", "bob", kNow).ok());
  ASSERT_TRUE(store_->DeclineFriendRequest("bob", "ann").ok());  // bob declines
  EXPECT_TRUE(FriendIds("ann").empty());
  EXPECT_EQ(store_->DeclineFriendRequest("bob", "ann").code(), absl::StatusCode::kNotFound);

  ASSERT_TRUE(store_->SendFriendRequest("ann", "bob", kNow).ok());
  ASSERT_TRUE(store_->DeclineFriendRequest("ann", "bob").ok());  // ann withdraws
  EXPECT_TRUE(FriendIds("bob").empty());

  ASSERT_TRUE(store_->SendFriendRequest("ann", "bob", kNow).ok());
  ASSERT_TRUE(store_->AcceptFriendRequest("bob", "ann", kNow).ok());
  ASSERT_TRUE(store_->RemoveFriend("bob", "ann").ok());
  EXPECT_FALSE(*store_->AreFriends("ann", "bob"));
  EXPECT_EQ(store_->RemoveFriend("ann", "bob").code(), absl::StatusCode::kNotFound);
}

TEST_P(StoreTest, ListFriendsMixesKindsInIdOrder) {
  ASSERT_TRUE(store_->SendFriendRequest("zed", "me", kNow).ok());  // incoming
  ASSERT_TRUE(store_->SendFriendRequest("me", "amy", kNow).ok());  // outgoing
  ASSERT_TRUE(store_->SendFriendRequest("me", "kim", kNow).ok());
  ASSERT_TRUE(store_->AcceptFriendRequest("kim", "me", kNow).ok());  // friend, stored (kim, me)
  ASSERT_TRUE(store_->SendFriendRequest("bea", "me", kNow).ok());
  ASSERT_TRUE(store_->AcceptFriendRequest("me", "bea", kNow).ok());  // friend, stored (bea, me)
  EXPECT_EQ(FriendIds("me"), (std::vector<std::string>{"amy", "bea", "kim", "zed"}));
  EXPECT_EQ(FriendIds("nobody"), std::vector<std::string>{});
}

// --- Blocks -------------------------------------------------------------------------

TEST_P(StoreTest, BlockEndsFriendshipAndRequests) {
  ASSERT_TRUE(store_->SendFriendRequest("ann", "bob", kNow).ok());
  ASSERT_TRUE(store_->AcceptFriendRequest("bob", "ann", kNow).ok());
  ASSERT_TRUE(store_->SendFriendRequest("cat", "ann", kNow).ok());

  absl::StatusOr<bool> ended = store_->Block("ann", "bob", kNow);
  ASSERT_TRUE(ended.ok()) << ended.status();
  EXPECT_TRUE(*ended);
  EXPECT_FALSE(*store_->AreFriends("ann", "bob"));
  ended = store_->Block("ann", "cat", kNow);
  ASSERT_TRUE(ended.ok());
  EXPECT_FALSE(*ended);
  EXPECT_TRUE(FriendIds("ann").empty());
  EXPECT_TRUE(FriendIds("cat").empty());

  EXPECT_TRUE(*store_->IsBlocked("ann", "bob"));
  EXPECT_FALSE(*store_->IsBlocked("bob", "ann"));
  EXPECT_TRUE(*store_->IsBlockedEitherWay("bob", "ann"));
  EXPECT_EQ(*store_->ListBlocked("ann"), (std::vector<std::string>{"bob", "cat"}));
  EXPECT_EQ(store_->Block("ann", "bob", kNow).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->Block("ann", "ann", kNow).status().code(), absl::StatusCode::kInvalidArgument);

  Reopen();
  EXPECT_TRUE(*store_->IsBlocked("ann", "bob"));
  ASSERT_TRUE(store_->Unblock("ann", "bob").ok());
  EXPECT_FALSE(*store_->IsBlockedEitherWay("ann", "bob"));
  EXPECT_EQ(store_->Unblock("ann", "bob").code(), absl::StatusCode::kNotFound);
}

// --- Server bans --------------------------------------------------------------------

TEST_P(StoreTest, ServerBansAreCanonicalUpsertedAndListedWhileActive) {
  ASSERT_TRUE(store_->AddServerBan(ServerBan{"eve", "spam", "root", kNow, 0}).ok());
  ASSERT_TRUE(store_->AddServerBan(ServerBan{"192.0.2.77/24", "scan", "root", kNow, 0}).ok());
  ASSERT_TRUE(
      store_->AddServerBan(ServerBan{"2001:DB8::1", "flood", "server", kNow, kNow + kHour}).ok());
  ASSERT_TRUE(
      store_->AddServerBan(ServerBan{"old", "x", "root", kNow - 2 * kHour, kNow - kHour}).ok());
  // Re-banning replaces reason and end.
  ASSERT_TRUE(store_->AddServerBan(ServerBan{"eve", "worse", "root", kNow, kNow + 2 * kHour}).ok());
  EXPECT_EQ(store_->AddServerBan(ServerBan{"", "", "", kNow, 0}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->AddServerBan(ServerBan{"10.0.0.0/33", "", "", kNow, 0}).code(),
            absl::StatusCode::kInvalidArgument);
  Reopen();

  absl::StatusOr<std::vector<ServerBan>> bans = store_->ListServerBans(kNow);
  ASSERT_TRUE(bans.ok());
  ASSERT_EQ(bans->size(), 3u);
  EXPECT_EQ((*bans)[0].target, "192.0.2.0/24");
  EXPECT_EQ((*bans)[1].target, "2001:db8::1");
  EXPECT_EQ((*bans)[1].until_unix_ms, kNow + kHour);
  EXPECT_EQ((*bans)[2].target, "eve");
  EXPECT_EQ((*bans)[2].reason, "worse");
  EXPECT_EQ(store_->ListServerBans(kNow + kHour)->size(), 2u);

  // The listing feeds the gate's snapshot.
  auto list = moderation::BanList::Build(*store_->ListServerBans(kNow), kNow);
  EXPECT_TRUE(list->Match("", "192.0.2.1", kNow).has_value());
  EXPECT_TRUE(list->Match("eve", "", kNow).has_value());

  // Unban accepts any spelling of the same network.
  ASSERT_TRUE(store_->RemoveServerBan("192.0.2.200/24").ok());
  EXPECT_EQ(store_->RemoveServerBan("192.0.2.0/24").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->ListServerBans(kNow)->size(), 2u);
}

// --- Rooms --------------------------------------------------------------------------

RoomRecord Jam() {
  RoomRecord room;
  room.room_id = "jam";
  room.name = "Jam";
  room.type = 1;
  room.settings = std::string("\x08\x10\x10\x01", 4);
  room.password_hash = "$argon2id$v=19$...";
  room.owner_id = "olive";
  room.topic = "blues in E";
  room.moderators = {"max", "ann"};
  room.updated_unix_ms = kNow;
  return room;
}

TEST_P(StoreTest, SaveLoadRoomWithModerators) {
  EXPECT_EQ(store_->LoadRoom("jam").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(store_->SaveRoom(Jam()).ok());
  Reopen();
  absl::StatusOr<RoomRecord> room = store_->LoadRoom("jam");
  ASSERT_TRUE(room.ok()) << room.status();
  EXPECT_EQ(room->name, "Jam");
  EXPECT_EQ(room->type, 1);
  EXPECT_EQ(room->settings, std::string("\x08\x10\x10\x01", 4));
  EXPECT_EQ(room->password_hash, "$argon2id$v=19$...");
  EXPECT_EQ(room->owner_id, "olive");
  EXPECT_EQ(room->topic, "blues in E");
  EXPECT_EQ(room->moderators, (std::vector<std::string>{"ann", "max"}));
  EXPECT_EQ(room->updated_unix_ms, kNow);
}

TEST_P(StoreTest, SavingAgainReplacesModeratorsButKeepsBans) {
  ASSERT_TRUE(store_->SaveRoom(Jam()).ok());
  ASSERT_TRUE(store_->AddRoomBan(RoomBanRecord{"jam", "eve", "rude", "max", kNow, 0}).ok());
  RoomRecord changed = Jam();
  changed.owner_id = "max";
  changed.moderators = {"olive"};
  changed.topic = "";
  ASSERT_TRUE(store_->SaveRoom(changed).ok());
  absl::StatusOr<RoomRecord> room = store_->LoadRoom("jam");
  EXPECT_EQ(room->owner_id, "max");
  EXPECT_EQ(room->moderators, std::vector<std::string>{"olive"});
  EXPECT_EQ(room->topic, "");
  EXPECT_EQ(store_->ListRoomBans("jam", kNow)->size(), 1u);
}

TEST_P(StoreTest, SavingARoomKeepsItsPerformerListSortedAndReplacesIt) {
  RoomRecord room = Jam();
  room.performers = {"zed", "bob"};
  ASSERT_TRUE(store_->SaveRoom(room).ok());
  Reopen();
  absl::StatusOr<RoomRecord> loaded = store_->LoadRoom("jam");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->performers, (std::vector<std::string>{"bob", "zed"}));
  room.performers = {"ann"};
  ASSERT_TRUE(store_->SaveRoom(room).ok());
  absl::StatusOr<std::vector<RoomRecord>> all = store_->ListPersistentRooms();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].performers, std::vector<std::string>{"ann"});
  ASSERT_TRUE(store_->DeleteRoom("jam").ok());  // the list goes with the room
  ASSERT_TRUE(store_->SaveRoom(Jam()).ok());
  EXPECT_TRUE(store_->LoadRoom("jam")->performers.empty());
}

TEST_P(StoreTest, FailedSaveRoomChangesNothing) {
  ASSERT_TRUE(store_->SaveRoom(Jam()).ok());
  // Make the third statement of SaveRoom fail, after the room row was updated and the
  // old moderators deleted: the transaction must undo both.
  const char* refuse_mallory =
      GetParam() == Backend::kSqlite
          ? "CREATE TEMP TRIGGER refuse_mallory BEFORE INSERT ON room_moderators "
            "WHEN NEW.user_id = 'mallory' BEGIN SELECT RAISE(ABORT, 'no'); END"
          : "CREATE FUNCTION refuse_mallory() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.user_id = 'mallory' THEN RAISE EXCEPTION 'no'; END IF; RETURN NEW; END $$; "
            "CREATE TRIGGER refuse_mallory BEFORE INSERT ON room_moderators FOR EACH ROW "
            "EXECUTE FUNCTION refuse_mallory()";
  ASSERT_TRUE(store_->db().Exec(refuse_mallory).ok());
  RoomRecord changed = Jam();
  changed.topic = "changed";
  changed.moderators = {"mallory"};
  EXPECT_FALSE(store_->SaveRoom(changed).ok());
  absl::StatusOr<RoomRecord> room = store_->LoadRoom("jam");
  ASSERT_TRUE(room.ok());
  EXPECT_EQ(room->topic, "blues in E");
  EXPECT_EQ(room->moderators, (std::vector<std::string>{"ann", "max"}));
  // And the connection is usable afterwards (no transaction left open).
  changed.moderators = {"max"};
  EXPECT_TRUE(store_->SaveRoom(changed).ok());
  EXPECT_EQ(store_->LoadRoom("jam")->topic, "changed");
}

TEST_P(StoreTest, ListAndDeleteRooms) {
  RoomRecord b = Jam();
  b.room_id = "b-room";
  b.moderators = {};
  ASSERT_TRUE(store_->SaveRoom(Jam()).ok());
  ASSERT_TRUE(store_->SaveRoom(b).ok());
  ASSERT_TRUE(store_->AddRoomBan(RoomBanRecord{"jam", "eve", "", "max", kNow, 0}).ok());
  absl::StatusOr<std::vector<RoomRecord>> rooms = store_->ListPersistentRooms();
  ASSERT_TRUE(rooms.ok());
  ASSERT_EQ(rooms->size(), 2u);
  EXPECT_EQ((*rooms)[0].room_id, "b-room");
  EXPECT_TRUE((*rooms)[0].moderators.empty());
  EXPECT_EQ((*rooms)[1].moderators.size(), 2u);

  ASSERT_TRUE(store_->DeleteRoom("jam").ok());
  EXPECT_EQ(store_->DeleteRoom("jam").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->ListPersistentRooms()->size(), 1u);
  // Its bans and moderators went with it.
  EXPECT_TRUE(store_->ListRoomBans("jam", kNow)->empty());
  ASSERT_TRUE(store_->SaveRoom(Jam()).ok());
  EXPECT_TRUE(store_->ListRoomBans("jam", kNow)->empty());
}

TEST_P(StoreTest, RoomBans) {
  EXPECT_EQ(store_->AddRoomBan(RoomBanRecord{"nosuch", "eve", "", "max", kNow, 0}).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store_->SaveRoom(Jam()).ok());
  ASSERT_TRUE(store_->AddRoomBan(RoomBanRecord{"jam", "eve", "rude", "max", kNow, 0}).ok());
  ASSERT_TRUE(
      store_->AddRoomBan(RoomBanRecord{"jam", "dan", "spam", "max", kNow, kNow + kHour}).ok());
  ASSERT_TRUE(
      store_->AddRoomBan(RoomBanRecord{"jam", "eve", "ruder", "olive", kNow, kNow + 3 * kHour})
          .ok());
  Reopen();
  absl::StatusOr<std::vector<RoomBanRecord>> bans = store_->ListRoomBans("jam", kNow);
  ASSERT_TRUE(bans.ok());
  ASSERT_EQ(bans->size(), 2u);
  EXPECT_EQ((*bans)[0].user_id, "dan");
  EXPECT_EQ((*bans)[1].user_id, "eve");
  EXPECT_EQ((*bans)[1].reason, "ruder");
  EXPECT_EQ((*bans)[1].actor, "olive");
  EXPECT_EQ((*bans)[1].until_unix_ms, kNow + 3 * kHour);
  EXPECT_EQ(store_->ListRoomBans("jam", kNow + kHour)->size(), 1u);
  ASSERT_TRUE(store_->RemoveRoomBan("jam", "eve").ok());
  EXPECT_EQ(store_->RemoveRoomBan("jam", "eve").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->AddRoomBan(RoomBanRecord{"jam", "", "", "", kNow, 0}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreTest, PurgeExpiredBans) {
  ASSERT_TRUE(store_->SaveRoom(Jam()).ok());
  ASSERT_TRUE(store_->AddServerBan(ServerBan{"a", "", "", kNow, kNow + kHour}).ok());
  ASSERT_TRUE(store_->AddServerBan(ServerBan{"b", "", "", kNow, 0}).ok());
  ASSERT_TRUE(store_->AddRoomBan(RoomBanRecord{"jam", "c", "", "", kNow, kNow + kHour}).ok());
  ASSERT_TRUE(store_->AddRoomBan(RoomBanRecord{"jam", "d", "", "", kNow, kNow + 5 * kHour}).ok());
  EXPECT_EQ(*store_->PurgeExpiredBans(kNow + kHour - 1), 0);
  EXPECT_EQ(*store_->PurgeExpiredBans(kNow + kHour), 2);
  EXPECT_EQ(store_->ListServerBans(0)->size(), 1u);
  EXPECT_EQ(store_->ListRoomBans("jam", 0)->size(), 1u);
}

// --- Audit log ----------------------------------------------------------------------

AuditRecord Audit(int i, std::string room, AuditAction action = AuditAction::kKick) {
  AuditRecord record;
  record.unix_ms = kNow + i;
  record.actor = "mod" + std::to_string(i);
  record.action = action;
  record.target = "user" + std::to_string(i);
  record.room_id = std::move(room);
  record.reason = "reason " + std::to_string(i);
  record.until_unix_ms = i % 2 ? kNow + kHour : 0;
  return record;
}

TEST_P(StoreTest, AuditAppendAndListNewestInReadingOrder) {
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(store_->AppendAudit(Audit(i, i % 2 ? "jam" : "")).ok());
  }
  ASSERT_TRUE(store_->AppendAudit(Audit(10, "", AuditAction::kServerBan)).ok());
  Reopen();

  absl::StatusOr<std::vector<AuditRecord>> all = store_->ListAudit(std::nullopt, 3);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].actor, "mod8");
  EXPECT_EQ((*all)[2].actor, "mod10");
  EXPECT_EQ((*all)[2].action, AuditAction::kServerBan);

  absl::StatusOr<std::vector<AuditRecord>> jam = store_->ListAudit("jam", 100);
  ASSERT_EQ(jam->size(), 5u);
  EXPECT_EQ((*jam)[0].target, "user1");
  EXPECT_EQ((*jam)[0].reason, "reason 1");
  EXPECT_EQ((*jam)[0].until_unix_ms, kNow + kHour);
  EXPECT_EQ((*jam)[0].unix_ms, kNow + 1);
  EXPECT_EQ((*jam)[4].target, "user9");

  absl::StatusOr<std::vector<AuditRecord>> server = store_->ListAudit("", 100);
  ASSERT_EQ(server->size(), 6u);
  for (const AuditRecord& r : *server) EXPECT_EQ(r.room_id, "");

  EXPECT_EQ(store_->ListAudit(std::nullopt, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->ListAudit(std::nullopt, Store::kMaxAuditList + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreTest, AuditPrune) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store_->AppendAudit(Audit(i, "jam")).ok());
  EXPECT_EQ(*store_->PruneAudit(kNow + 3), 3);
  EXPECT_EQ(store_->ListAudit(std::nullopt, 10)->size(), 2u);
}

TEST_P(StoreTest, UnknownAuditActionIsReportedAsDataLoss) {
  ASSERT_TRUE(store_->db()
                  .Exec("INSERT INTO audit_log (unix_ms, actor, action) VALUES (1, 'x', 'zap')")
                  .ok());
  EXPECT_EQ(store_->ListAudit(std::nullopt, 10).status().code(), absl::StatusCode::kDataLoss);
}

// --- Statements ---------------------------------------------------------------------

TEST_P(StoreTest, StatementsArePreparedOnceAndReused) {
  ASSERT_TRUE(store_->UpsertProfile(Profile{"u", "U", "", 0, "", kNow}).ok());
  const size_t cached = store_->db().cached_statements();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->UpsertProfile(Profile{"u", "U", "", 0, "", kNow + i}).ok());
  }
  EXPECT_EQ(store_->db().cached_statements(), cached);
}

TEST_P(StoreTest, ValuesAreBoundNeverSpliced) {
  const std::string nasty = "x'); DROP TABLE profiles; --";
  ASSERT_TRUE(store_->UpsertProfile(Profile{nasty, nasty, "", 0, nasty, kNow}).ok());
  absl::StatusOr<Profile> got = store_->GetProfile(nasty);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->username, nasty);
}

INSTANTIATE_TEST_SUITE_P(Drivers, StoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);

}  // namespace
}  // namespace tutti::server::store
