// Store::SaveRoom and Store::DeleteRoom with stream stamps (rooms across nodes): nodes
// commit a room's record in their own order, and the record standing latest in the room's
// stream is the one kept, on SQLite and on PostgreSQL; and a database from before the
// stamps gets them by its migration.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/store/migrations.h"
#include "server/store/store.h"
#include "tests/store/backend.h"

namespace tutti::server::store {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

RoomRecord Jam(int64_t time_us, int64_t offset, const std::string& topic,
               std::vector<std::string> moderators) {
  RoomRecord room;
  room.room_id = "jam";
  room.name = "Jam";
  room.type = 1;
  room.owner_id = "olive";
  room.topic = topic;
  room.moderators = std::move(moderators);
  room.performers = {"olive"};
  room.updated_unix_ms = kNow;
  room.stream = {time_us, offset};
  return room;
}

class RoomOrderTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    TUTTI_REQUIRE_LOCATION(where_);
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(where_.location);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  std::string Topic() {
    absl::StatusOr<RoomRecord> room = store_->LoadRoom("jam");
    return room.ok() ? room->topic : std::string("<") + room.status().ToString() + ">";
  }

  Location where_{GetParam()};
  std::unique_ptr<Store> store_;
};

TEST_P(RoomOrderTest, AnOlderStampDoesNotOverwriteANewerOne) {
  ASSERT_TRUE(store_->SaveRoom(Jam(5'000, 7, "seventh", {"ann"})).ok());
  // Committed later, standing earlier (a lower offset at the same time, an earlier time
  // with a higher offset): OK, and nothing of it written, moderators and performers too.
  RoomRecord older = Jam(5'000, 6, "sixth", {"bob"});
  older.performers = {"bob"};
  EXPECT_TRUE(store_->SaveRoom(older).ok());
  EXPECT_TRUE(store_->SaveRoom(Jam(4'999, 99, "earlier", {"bob"})).ok());
  absl::StatusOr<RoomRecord> room = store_->LoadRoom("jam");
  ASSERT_TRUE(room.ok()) << room.status();
  EXPECT_EQ(room->topic, "seventh");
  EXPECT_EQ(room->moderators, std::vector<std::string>{"ann"});
  EXPECT_EQ(room->performers, std::vector<std::string>{"olive"});
  EXPECT_EQ(room->stream.time_us, 5'000);
  EXPECT_EQ(room->stream.offset, 7);
  // The same place (two nodes saving one state) and later places are written.
  ASSERT_TRUE(store_->SaveRoom(Jam(5'000, 7, "seventh again", {"ann"})).ok());
  EXPECT_EQ(Topic(), "seventh again");
  ASSERT_TRUE(store_->SaveRoom(Jam(5'001, 1, "new epoch", {"cy"})).ok());
  EXPECT_EQ(Topic(), "new epoch");
  EXPECT_EQ(store_->LoadRoom("jam")->moderators, std::vector<std::string>{"cy"});
  // Unstamped (one node, a creation): always written, and stamped saves go on after it.
  ASSERT_TRUE(store_->SaveRoom(Jam(0, 0, "one node", {})).ok());
  EXPECT_EQ(Topic(), "one node");
  ASSERT_TRUE(store_->SaveRoom(Jam(1, 1, "stamped", {})).ok());
  EXPECT_EQ(Topic(), "stamped");
}

TEST_P(RoomOrderTest, AStampedUnregistrationKeepsOlderSavesOut) {
  ASSERT_TRUE(store_->SaveRoom(Jam(5'000, 7, "kept", {"ann"})).ok());
  ASSERT_TRUE(store_->AddRoomBan(RoomBanRecord{"jam", "eve", "", "olive", kNow, 0}).ok());
  // Standing earlier than what is stored: the room stays.
  EXPECT_TRUE(store_->DeleteRoom("jam", {5'000, 6}).ok());
  EXPECT_EQ(Topic(), "kept");
  ASSERT_TRUE(store_->DeleteRoom("jam", {6'000, 1}).ok());
  EXPECT_EQ(store_->LoadRoom("jam").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->ListPersistentRooms()->empty());
  EXPECT_TRUE(store_->ListRoomBans("jam", kNow)->empty());
  // Another node's save from before the unregistration, committed after it: no room.
  EXPECT_TRUE(store_->SaveRoom(Jam(5'500, 2, "resurrected", {"ann"})).ok());
  EXPECT_EQ(store_->LoadRoom("jam").status().code(), absl::StatusCode::kNotFound);
  // Registered again later in the stream: back, with only what that record holds.
  ASSERT_TRUE(store_->SaveRoom(Jam(6'000, 2, "again", {})).ok());
  absl::StatusOr<RoomRecord> room = store_->LoadRoom("jam");
  ASSERT_TRUE(room.ok()) << room.status();
  EXPECT_EQ(room->topic, "again");
  EXPECT_TRUE(room->moderators.empty());
  ASSERT_EQ(store_->ListPersistentRooms()->size(), 1u);
  // A room never saved is still not found.
  EXPECT_EQ(store_->DeleteRoom("nosuch", {7'000, 1}).code(), absl::StatusCode::kNotFound);
}

TEST_P(RoomOrderTest, ADatabaseFromBeforeTheStampsIsMigratedAndItsRoomsKept) {
  // A location of its own: SetUp's store already has the whole schema.
  Location fresh(GetParam());
  TUTTI_REQUIRE_LOCATION(fresh);
  const std::string where = fresh.location;
  store_.reset();
  {
    // The schema one step before the stamps, with a room saved by that server.
    absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(where);
    ASSERT_TRUE(db.ok()) << db.status();
    std::vector<Migration> before = SchemaMigrations();
    while (!before.empty() && before.back().description != std::string("room stream stamps")) {
      before.pop_back();
    }
    ASSERT_FALSE(before.empty()) << "no stamp migration";
    before.pop_back();
    absl::StatusOr<int> version = ApplyMigrations(**db, before);
    ASSERT_TRUE(version.ok()) << version.status();
    ASSERT_EQ(*version, static_cast<int>(before.size()));
    ASSERT_TRUE((*db)
                    ->Exec("INSERT INTO rooms (room_id, name, type, owner_id, topic, "
                           "updated_unix_ms) VALUES ('jam', 'Jam', 1, 'olive', 'old', 1)")
                    .ok());
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(where);
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = std::move(*store);
  EXPECT_EQ(store_->schema_version(), static_cast<int>(SchemaMigrations().size()));
  absl::StatusOr<RoomRecord> room = store_->LoadRoom("jam");
  ASSERT_TRUE(room.ok()) << room.status();
  EXPECT_EQ(room->topic, "old");
  EXPECT_EQ(room->stream.time_us, 0);
  // Any stamped save passes an unstamped row.
  ASSERT_TRUE(store_->SaveRoom(Jam(1, 1, "stamped", {})).ok());
  EXPECT_EQ(Topic(), "stamped");
}

INSTANTIATE_TEST_SUITE_P(Drivers, RoomOrderTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);

}  // namespace
}  // namespace tutti::server::store
