#include "server/moderation/room_moderation.h"

#include "gtest/gtest.h"

namespace tutti::server::moderation {
namespace {

constexpr int64_t kNow = 1'800'000'000'000;
constexpr int64_t kMinute = 60'000;

using R = RoomRole;

ParsedCommand Parse(std::string_view line) {
  absl::StatusOr<ParsedCommand> parsed = ParseCommand(line);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? *parsed : ParsedCommand{};
}

TEST(RoomModerationTest, RolesComeFromOwnerModeratorsAndServerRole) {
  RoomModeration room("olive");
  ASSERT_TRUE(room.AddModerator("max").ok());
  EXPECT_EQ(room.RoleOf("olive", R::kMember), R::kRoomOwner);
  EXPECT_EQ(room.RoleOf("max", R::kMember), R::kRoomModerator);
  EXPECT_EQ(room.RoleOf("bob", R::kMember), R::kMember);
  EXPECT_EQ(room.RoleOf("g", R::kGuest), R::kGuest);
  EXPECT_EQ(room.RoleOf("max", R::kServerAdmin), R::kServerAdmin);
  EXPECT_EQ(room.RoomRoleOf("bob"), R::kGuest);
  EXPECT_FALSE(room.IsOwner(""));
}

TEST(RoomModerationTest, ModeratorSet) {
  RoomModeration room("olive");
  EXPECT_TRUE(room.AddModerator("max").ok());
  EXPECT_EQ(room.AddModerator("max").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(room.AddModerator("olive").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(room.AddModerator("").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(room.AddModerator("ann").ok());
  EXPECT_EQ(room.Moderators(), (std::vector<std::string>{"ann", "max"}));
  EXPECT_TRUE(room.RemoveModerator("max").ok());
  EXPECT_EQ(room.RemoveModerator("max").code(), absl::StatusCode::kNotFound);
}

TEST(RoomModerationTest, ModeratorCap) {
  RoomModeration::Options options;
  options.max_moderators = 1;
  RoomModeration room("olive", options);
  EXPECT_TRUE(room.AddModerator("a").ok());
  EXPECT_EQ(room.AddModerator("b").code(), absl::StatusCode::kResourceExhausted);
}

TEST(RoomModerationTest, TransferOwnershipKeepsOldOwnerAsModerator) {
  RoomModeration room("olive");
  ASSERT_TRUE(room.AddModerator("max").ok());
  ASSERT_TRUE(room.TransferOwnership("max").ok());
  EXPECT_EQ(room.owner_id(), "max");
  EXPECT_FALSE(room.IsModerator("max"));
  EXPECT_TRUE(room.IsModerator("olive"));
  EXPECT_EQ(room.TransferOwnership("max").code(), absl::StatusCode::kFailedPrecondition);
}

TEST(RoomModerationTest, BansAndMutesExpire) {
  RoomModeration room("olive");
  ASSERT_TRUE(room.Ban({"bob", "spam", "olive", kNow, kNow + 10 * kMinute}).ok());
  ASSERT_TRUE(room.Ban({"eve", "worse", "olive", kNow, 0}).ok());
  ASSERT_TRUE(room.Mute({"carl", "loud", "olive", kNow, kNow + kMinute}).ok());
  EXPECT_TRUE(room.IsBanned("bob", kNow));
  EXPECT_TRUE(room.IsBanned("bob", kNow + 10 * kMinute - 1));
  EXPECT_FALSE(room.IsBanned("bob", kNow + 10 * kMinute));
  EXPECT_TRUE(room.IsBanned("eve", kNow + 1000 * kMinute));
  EXPECT_TRUE(room.IsMuted("carl", kNow));
  EXPECT_FALSE(room.IsMuted("carl", kNow + kMinute));
  EXPECT_FALSE(room.IsMuted("bob", kNow));
  ASSERT_NE(room.BanOf("bob", kNow), nullptr);
  EXPECT_EQ(room.BanOf("bob", kNow)->reason, "spam");
  EXPECT_EQ(room.NextExpiry(), kNow + kMinute);

  EXPECT_EQ(room.ListBans(kNow).size(), 2u);
  EXPECT_EQ(room.ListBans(kNow + 10 * kMinute).size(), 1u);

  RoomModeration::Expired expired = room.ExpireUntil(kNow + 10 * kMinute);
  EXPECT_EQ(expired.bans, std::vector<std::string>{"bob"});
  EXPECT_EQ(expired.mutes, std::vector<std::string>{"carl"});
  EXPECT_EQ(room.NextExpiry(), 0);
  EXPECT_EQ(room.Unban("bob").code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(room.Unban("eve").ok());
  EXPECT_FALSE(room.IsBanned("eve", kNow));
}

TEST(RoomModerationTest, SecondBanReplacesTheFirst) {
  RoomModeration room("olive");
  ASSERT_TRUE(room.Ban({"bob", "a", "olive", kNow, kNow + kMinute}).ok());
  ASSERT_TRUE(room.Ban({"bob", "b", "olive", kNow, 0}).ok());
  EXPECT_EQ(room.ListBans(kNow).size(), 1u);
  EXPECT_EQ(room.BanOf("bob", kNow + 2 * kMinute)->reason, "b");
}

TEST(RoomModerationTest, TablesAreCapped) {
  RoomModeration::Options options;
  options.max_bans = 2;
  options.max_mutes = 1;
  RoomModeration room("olive", options);
  EXPECT_TRUE(room.Ban({"a", "", "o", kNow, 0}).ok());
  EXPECT_TRUE(room.Ban({"b", "", "o", kNow, 0}).ok());
  EXPECT_EQ(room.Ban({"c", "", "o", kNow, 0}).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(room.Ban({"a", "again", "o", kNow, 0}).ok());  // replacing is fine
  EXPECT_TRUE(room.Mute({"a", "", "o", kNow, 0}).ok());
  EXPECT_EQ(room.Mute({"b", "", "o", kNow, 0}).code(), absl::StatusCode::kResourceExhausted);
}

TEST(RoomModerationTest, DefaultDurations) {
  RoomModeration room("olive");
  EXPECT_EQ(room.BanUntil(std::nullopt, kNow), 0);  // permanent
  EXPECT_EQ(room.MuteUntil(std::nullopt, kNow), kNow + 10 * kMinute);
  EXPECT_EQ(room.MuteUntil(kPermanent, kNow), 0);
  EXPECT_EQ(room.BanUntil(5 * kMinute, kNow), kNow + 5 * kMinute);
}

TEST(RoomModerationApplyTest, ModeratorBansAMemberWithDuration) {
  RoomModeration room("olive");
  ASSERT_TRUE(room.AddModerator("max").ok());
  absl::StatusOr<RoomModeration::Outcome> out =
      room.Apply(Parse("/ban bob 1h spamming links"), "max", R::kMember, R::kMember, "jam", kNow);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->audit.action, AuditAction::kBan);
  EXPECT_EQ(out->audit.actor, "max");
  EXPECT_EQ(out->audit.target, "bob");
  EXPECT_EQ(out->audit.room_id, "jam");
  EXPECT_EQ(out->audit.reason, "spamming links");
  EXPECT_EQ(out->audit.unix_ms, kNow);
  EXPECT_EQ(out->audit.until_unix_ms, kNow + 60 * kMinute);
  EXPECT_TRUE(room.IsBanned("bob", kNow + 59 * kMinute));
  EXPECT_FALSE(room.IsBanned("bob", kNow + 60 * kMinute));
}

TEST(RoomModerationApplyTest, ModeratorCannotTouchOwnerOrPeerAndNothingChanges) {
  RoomModeration room("olive");
  ASSERT_TRUE(room.AddModerator("max").ok());
  ASSERT_TRUE(room.AddModerator("mia").ok());
  EXPECT_EQ(
      room.Apply(Parse("/ban olive"), "max", R::kMember, R::kMember, "jam", kNow).status().code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(
      room.Apply(Parse("/mute mia"), "max", R::kMember, R::kMember, "jam", kNow).status().code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(room.Apply(Parse("/kick staff"), "max", R::kMember, R::kServerModerator, "jam", kNow)
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_FALSE(room.IsBanned("olive", kNow));
  EXPECT_FALSE(room.IsMuted("mia", kNow));
}

TEST(RoomModerationApplyTest, MemberMayNotModerate) {
  RoomModeration room("olive");
  absl::StatusOr<RoomModeration::Outcome> out =
      room.Apply(Parse("/kick eve"), "bob", R::kMember, R::kMember, "jam", kNow);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kPermissionDenied);
}

TEST(RoomModerationApplyTest, ServerStaffOutranksTheOwner) {
  RoomModeration room("olive");
  absl::StatusOr<RoomModeration::Outcome> out =
      room.Apply(Parse("/mute olive 5m"), "staff", R::kServerModerator, R::kMember, "jam", kNow);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(room.IsMuted("olive", kNow));
  EXPECT_EQ(out->audit.until_unix_ms, kNow + 5 * kMinute);
}

TEST(RoomModerationApplyTest, MuteDefaultsAndUnmute) {
  RoomModeration room("olive");
  auto out = room.Apply(Parse("/mute bob"), "olive", R::kMember, R::kMember, "jam", kNow);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->audit.until_unix_ms, kNow + 10 * kMinute);
  out = room.Apply(Parse("/unmute bob"), "olive", R::kMember, R::kMember, "jam", kNow);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->audit.action, AuditAction::kUnmute);
  EXPECT_FALSE(room.IsMuted("bob", kNow));
  EXPECT_EQ(room.Apply(Parse("/unmute bob"), "olive", R::kMember, R::kMember, "jam", kNow)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST(RoomModerationApplyTest, BanningAModeratorRemovesTheAppointment) {
  RoomModeration room("olive");
  ASSERT_TRUE(room.AddModerator("max").ok());
  ASSERT_TRUE(room.Apply(Parse("/ban max"), "olive", R::kMember, R::kMember, "jam", kNow).ok());
  EXPECT_FALSE(room.IsModerator("max"));
  ASSERT_TRUE(room.Apply(Parse("/unban max"), "olive", R::kMember, R::kMember, "jam", kNow).ok());
  EXPECT_FALSE(room.IsModerator("max"));
}

TEST(RoomModerationApplyTest, OwnerAppointsAndHandsOver) {
  RoomModeration room("olive");
  auto mod = room.Apply(Parse("/mod max"), "olive", R::kMember, R::kMember, "jam", kNow);
  ASSERT_TRUE(mod.ok());
  EXPECT_EQ(mod->audit.action, AuditAction::kAppointModerator);
  EXPECT_EQ(
      room.Apply(Parse("/mod max"), "olive", R::kMember, R::kMember, "jam", kNow).status().code(),
      absl::StatusCode::kFailedPrecondition);  // already a room moderator
  EXPECT_EQ(room.Apply(Parse("/mod guest:1"), "olive", R::kMember, R::kGuest, "jam", kNow)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      room.Apply(Parse("/mod bob"), "max", R::kMember, R::kMember, "jam", kNow).status().code(),
      absl::StatusCode::kPermissionDenied);  // moderators do not appoint

  auto owner = room.Apply(Parse("/owner bob"), "olive", R::kMember, R::kMember, "jam", kNow);
  ASSERT_TRUE(owner.ok()) << owner.status();
  EXPECT_EQ(owner->audit.action, AuditAction::kTransferOwnership);
  EXPECT_EQ(owner->previous_owner, "olive");
  EXPECT_EQ(room.owner_id(), "bob");
  EXPECT_EQ(room.RoleOf("olive", R::kMember), R::kRoomModerator);

  auto unmod = room.Apply(Parse("/unmod max"), "bob", R::kMember, R::kMember, "jam", kNow);
  ASSERT_TRUE(unmod.ok());
  EXPECT_FALSE(room.IsModerator("max"));
  EXPECT_EQ(
      room.Apply(Parse("/unmod max"), "bob", R::kMember, R::kMember, "jam", kNow).status().code(),
      absl::StatusCode::kNotFound);
}

TEST(RoomModerationApplyTest, SelfTargetingIsRefused) {
  RoomModeration room("olive");
  EXPECT_EQ(room.Apply(Parse("/kick olive"), "olive", R::kMember, R::kMember, "jam", kNow)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RoomModerationApplyTest, TopicAndClearAreAuthorizedAndAudited) {
  RoomModeration room("olive");
  ASSERT_TRUE(room.AddModerator("max").ok());
  auto topic =
      room.Apply(Parse("/topic Blues in E tonight"), "max", R::kMember, R::kGuest, "jam", kNow);
  ASSERT_TRUE(topic.ok()) << topic.status();
  EXPECT_EQ(topic->audit.action, AuditAction::kSetTopic);
  EXPECT_EQ(topic->audit.reason, "Blues in E tonight");
  EXPECT_EQ(topic->audit.target, "");
  auto clear = room.Apply(Parse("/clear"), "max", R::kMember, R::kGuest, "jam", kNow);
  ASSERT_TRUE(clear.ok());
  EXPECT_EQ(clear->audit.action, AuditAction::kClearChat);
  EXPECT_EQ(room.Apply(Parse("/clear"), "bob", R::kMember, R::kGuest, "jam", kNow).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(RoomModerationApplyTest, NonModerationCommandsAreNotApplied) {
  RoomModeration room("olive");
  for (const char* line :
       {"/bans", "/w bob hi", "/help", "/users", "/log 5", "/sban eve", "/status away", "/dance"}) {
    EXPECT_EQ(
        room.Apply(Parse(line), "olive", R::kServerAdmin, R::kMember, "jam", kNow).status().code(),
        absl::StatusCode::kUnimplemented)
        << line;
  }
}

}  // namespace
}  // namespace tutti::server::moderation
