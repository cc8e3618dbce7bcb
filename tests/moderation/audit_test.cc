#include "server/moderation/audit.h"

#include "gtest/gtest.h"
#include "protos/tutti.pb.h"

namespace tutti::server::moderation {
namespace {

TEST(AuditTest, ActionsMirrorTheProtoNumbering) {
  EXPECT_EQ(static_cast<int>(AuditAction::kKick), proto::MOD_KICK);
  EXPECT_EQ(static_cast<int>(AuditAction::kBan), proto::MOD_BAN);
  EXPECT_EQ(static_cast<int>(AuditAction::kUnban), proto::MOD_UNBAN);
  EXPECT_EQ(static_cast<int>(AuditAction::kMute), proto::MOD_MUTE);
  EXPECT_EQ(static_cast<int>(AuditAction::kUnmute), proto::MOD_UNMUTE);
  EXPECT_EQ(static_cast<int>(AuditAction::kAppointModerator), proto::MOD_APPOINT_MODERATOR);
  EXPECT_EQ(static_cast<int>(AuditAction::kRemoveModerator), proto::MOD_REMOVE_MODERATOR);
  EXPECT_EQ(static_cast<int>(AuditAction::kTransferOwnership), proto::MOD_TRANSFER_OWNERSHIP);
  EXPECT_EQ(static_cast<int>(AuditAction::kServerBan), proto::MOD_SERVER_BAN);
  EXPECT_EQ(static_cast<int>(AuditAction::kServerUnban), proto::MOD_SERVER_UNBAN);
  EXPECT_EQ(static_cast<int>(AuditAction::kClearChat), proto::MOD_CLEAR_CHAT);
  EXPECT_EQ(static_cast<int>(AuditAction::kSetTopic), proto::MOD_SET_TOPIC);
  EXPECT_EQ(static_cast<int>(AuditAction::kStaffEntry), proto::MOD_STAFF_ENTRY);
  EXPECT_EQ(static_cast<int>(AuditAction::kDrain), proto::MOD_DRAIN);
  EXPECT_EQ(static_cast<int>(AuditAction::kMaintenanceOn), proto::MOD_MAINTENANCE_ON);
  EXPECT_EQ(static_cast<int>(AuditAction::kMaintenanceOff), proto::MOD_MAINTENANCE_OFF);
  EXPECT_EQ(proto::ModerationAction_MAX, proto::MOD_MAINTENANCE_OFF);  // no unmirrored value
}

TEST(AuditTest, NamesRoundTrip) {
  for (int i = 0; i <= proto::ModerationAction_MAX; ++i) {
    const auto action = static_cast<AuditAction>(i);
    std::string_view name = AuditActionName(action);
    EXPECT_NE(name, "unknown");
    EXPECT_EQ(AuditActionFromName(name), action) << name;
  }
  EXPECT_FALSE(AuditActionFromName("explode").has_value());
}

TEST(AuditTest, FormatsOneLine) {
  AuditRecord record;
  record.unix_ms = 1'800'000'000'000;  // 2027-01-15 08:00:00 UTC
  record.actor = "max";
  record.action = AuditAction::kBan;
  record.target = "bob";
  record.room_id = "jam";
  record.reason = "spam";
  record.until_unix_ms = record.unix_ms + 3'600'000;
  EXPECT_EQ(FormatAuditRecord(record),
            "2027-01-15 08:00:00 UTC max ban bob until 2027-01-15 09:00:00 UTC: spam");
  AuditRecord clear;
  clear.unix_ms = 0;
  clear.actor = "olive";
  clear.action = AuditAction::kClearChat;
  EXPECT_EQ(FormatAuditRecord(clear), "1970-01-01 00:00:00 UTC olive clear_chat");
}

}  // namespace
}  // namespace tutti::server::moderation
