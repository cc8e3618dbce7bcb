#include "server/moderation/permissions.h"

#include <map>
#include <string>

#include "gtest/gtest.h"
#include "protos/tutti.pb.h"

namespace tutti::server::moderation {
namespace {

using K = CommandKind;
using R = RoomRole;

constexpr R kRoles[] = {R::kGuest,     R::kMember,          R::kRoomModerator,
                        R::kRoomOwner, R::kServerModerator, R::kServerAdmin};

// The table from docs/MODERATION.md, written out cell by cell (G M RM RO SM SA) rather
// than derived from MinimumRole, so a change to either shows up here.
const std::map<K, std::string>& ExpectedMatrix() {
  static const auto* matrix = new std::map<K, std::string>{
      {K::kHelp, "111111"},        {K::kUsers, "111111"},    {K::kStatus, "111111"},
      {K::kUnknown, "111111"},     {K::kWhisper, "011111"},  {K::kKick, "001111"},
      {K::kBan, "001111"},         {K::kUnban, "001111"},    {K::kBans, "001111"},
      {K::kMute, "001111"},        {K::kUnmute, "001111"},   {K::kTopic, "001111"},
      {K::kClear, "001111"},       {K::kLog, "001111"},      {K::kMod, "000111"},
      {K::kUnmod, "000111"},       {K::kOwner, "000111"},    {K::kServerBan, "000001"},
      {K::kServerUnban, "000001"}, {K::kPanic, "111111"},    {K::kTempo, "001111"},
      {K::kPerform, "000111"},     {K::kAudience, "000111"}, {K::kRecord, "001111"},
  };
  return *matrix;
}

TEST(PermissionsTest, MatrixMatchesTheDocumentedTable) {
  ASSERT_EQ(ExpectedMatrix().size(), std::size(kAllCommands) + 1);  // + kUnknown
  for (const auto& [kind, row] : ExpectedMatrix()) {
    for (size_t i = 0; i < std::size(kRoles); ++i) {
      EXPECT_EQ(MayUse(kRoles[i], kind), row[i] == '1')
          << "/" << CommandName(kind) << " for " << RoomRoleName(kRoles[i]);
    }
  }
}

TEST(PermissionsTest, RolesMirrorTheProtoNumbering) {
  EXPECT_EQ(static_cast<int>(R::kGuest), proto::ROLE_GUEST);
  EXPECT_EQ(static_cast<int>(R::kMember), proto::ROLE_MEMBER);
  EXPECT_EQ(static_cast<int>(R::kRoomModerator), proto::ROLE_ROOM_MODERATOR);
  EXPECT_EQ(static_cast<int>(R::kRoomOwner), proto::ROLE_ROOM_OWNER);
  EXPECT_EQ(static_cast<int>(R::kServerModerator), proto::ROLE_SERVER_MODERATOR);
  EXPECT_EQ(static_cast<int>(R::kServerAdmin), proto::ROLE_SERVER_ADMIN);
  EXPECT_EQ(static_cast<int>(StatusWord::kOnline), proto::ONLINE);
  EXPECT_EQ(static_cast<int>(StatusWord::kAway), proto::AWAY);
  EXPECT_EQ(static_cast<int>(StatusWord::kBusy), proto::BUSY);
  EXPECT_EQ(static_cast<int>(StatusWord::kInvisible), proto::INVISIBLE);
}

TEST(PermissionsTest, EffectiveRoleIsTheHigher) {
  EXPECT_EQ(EffectiveRole(R::kMember, R::kRoomOwner), R::kRoomOwner);
  EXPECT_EQ(EffectiveRole(R::kServerModerator, R::kRoomModerator), R::kServerModerator);
  EXPECT_EQ(EffectiveRole(R::kGuest, R::kGuest), R::kGuest);
}

TEST(CheckTargetableTest, ModeratorCannotActOnOwnerStaffOrEquals) {
  for (K kind : {K::kKick, K::kBan, K::kMute}) {
    EXPECT_TRUE(CheckTargetable(R::kRoomModerator, R::kMember, kind).ok());
    EXPECT_TRUE(CheckTargetable(R::kRoomModerator, R::kGuest, kind).ok());
    for (R target : {R::kRoomModerator, R::kRoomOwner, R::kServerModerator, R::kServerAdmin}) {
      absl::Status s = CheckTargetable(R::kRoomModerator, target, kind);
      EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << RoomRoleName(target);
      EXPECT_NE(s.message().find(std::string(RoomRoleName(target))), absl::string_view::npos);
    }
  }
}

TEST(CheckTargetableTest, OwnerCannotActOnServerStaff) {
  EXPECT_TRUE(CheckTargetable(R::kRoomOwner, R::kRoomModerator, K::kKick).ok());
  EXPECT_EQ(CheckTargetable(R::kRoomOwner, R::kServerModerator, K::kBan).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(CheckTargetable(R::kServerModerator, R::kRoomOwner, K::kKick).ok());
  EXPECT_EQ(CheckTargetable(R::kServerModerator, R::kServerModerator, K::kMute).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(CheckTargetable(R::kServerAdmin, R::kServerModerator, K::kServerBan).ok());
  EXPECT_EQ(CheckTargetable(R::kServerAdmin, R::kServerAdmin, K::kServerBan).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(CheckTargetableTest, AppointmentsAndHandover) {
  EXPECT_TRUE(CheckTargetable(R::kRoomOwner, R::kMember, K::kMod).ok());
  EXPECT_EQ(CheckTargetable(R::kRoomOwner, R::kGuest, K::kMod).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CheckTargetable(R::kRoomOwner, R::kRoomModerator, K::kMod).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(CheckTargetable(R::kRoomOwner, R::kRoomModerator, K::kUnmod).ok());
  EXPECT_TRUE(CheckTargetable(R::kRoomOwner, R::kMember, K::kOwner).ok());
  EXPECT_EQ(CheckTargetable(R::kRoomOwner, R::kGuest, K::kOwner).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CheckTargetable(R::kRoomOwner, R::kServerAdmin, K::kOwner).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(CheckTargetableTest, LiftingAndNonTargetingCommandsHaveNoRankRule) {
  for (K kind : {K::kUnban, K::kUnmute, K::kServerUnban, K::kWhisper, K::kTopic, K::kHelp}) {
    EXPECT_TRUE(CheckTargetable(R::kRoomModerator, R::kServerAdmin, kind).ok())
        << CommandName(kind);
  }
}

TEST(AuthorizeTest, ChecksPermissionThenSelfThenRank) {
  absl::Status s = Authorize("bob", R::kMember, "eve", R::kMember, K::kKick);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("room moderator"), absl::string_view::npos);
  EXPECT_EQ(Authorize("mod", R::kRoomModerator, "mod", R::kRoomModerator, K::kKick).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Authorize("mod", R::kRoomModerator, "mod", R::kRoomModerator, K::kUnmute).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Authorize("bob", R::kMember, "bob", R::kMember, K::kWhisper).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Authorize("mod", R::kRoomModerator, "eve", R::kMember, K::kBan).ok());
  EXPECT_TRUE(Authorize("g", R::kGuest, "", R::kGuest, K::kHelp).ok());
  EXPECT_EQ(Authorize("g", R::kGuest, "bob", R::kMember, K::kWhisper).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(HelpTest, ListsOnlyWhatTheRoleMayUse) {
  std::vector<CommandKind> guest = CommandsFor(R::kGuest);
  // /panic too: every player may silence its own notes (docs/PROTOCOL.md, music in a room).
  EXPECT_EQ(guest, (std::vector<CommandKind>{K::kHelp, K::kUsers, K::kStatus, K::kPanic}));
  EXPECT_EQ(CommandsFor(R::kServerAdmin).size(), std::size(kAllCommands));

  auto joined = [](const std::vector<std::string>& lines) {
    std::string all;
    for (const std::string& line : lines) all += line + "\n";
    return all;
  };
  std::string member = joined(HelpLines(R::kMember));
  EXPECT_NE(member.find("/w <user> <text>"), std::string::npos);
  EXPECT_EQ(member.find("/kick"), std::string::npos);
  std::string owner = joined(HelpLines(R::kRoomOwner));
  EXPECT_NE(owner.find("/owner <user>"), std::string::npos);
  EXPECT_EQ(owner.find("/sban"), std::string::npos);
}

TEST(HelpTest, HelpForOneCommand) {
  std::vector<std::string> ban = HelpForCommand(R::kRoomModerator, "ban");
  ASSERT_EQ(ban.size(), 2u);
  EXPECT_EQ(ban[0], "/ban <user> [duration] [reason]");
  std::vector<std::string> hidden = HelpForCommand(R::kMember, "ban");
  EXPECT_NE(hidden[0].find("not available"), std::string::npos);
  EXPECT_GT(hidden.size(), 1u);
  EXPECT_NE(HelpForCommand(R::kMember, "zzz")[0].find("not a command"), std::string::npos);
}

TEST(HelpTest, UnknownCommandGetsHelpNotSilence) {
  std::vector<std::string> lines = UnknownCommandLines(R::kGuest, "dance");
  ASSERT_EQ(lines.size(), 1u + CommandsFor(R::kGuest).size());
  EXPECT_EQ(lines[0], "Unknown command /dance. Commands you can use:");
}

}  // namespace
}  // namespace tutti::server::moderation
