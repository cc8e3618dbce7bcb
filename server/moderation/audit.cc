#include "server/moderation/audit.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/moderation/string_view_compat.h"

namespace tutti::server::moderation {
namespace {

constexpr std::pair<AuditAction, std::string_view> kNames[] = {
    {AuditAction::kKick, "kick"},
    {AuditAction::kBan, "ban"},
    {AuditAction::kUnban, "unban"},
    {AuditAction::kMute, "mute"},
    {AuditAction::kUnmute, "unmute"},
    {AuditAction::kAppointModerator, "appoint_moderator"},
    {AuditAction::kRemoveModerator, "remove_moderator"},
    {AuditAction::kTransferOwnership, "transfer_ownership"},
    {AuditAction::kServerBan, "server_ban"},
    {AuditAction::kServerUnban, "server_unban"},
    {AuditAction::kClearChat, "clear_chat"},
    {AuditAction::kSetTopic, "set_topic"},
    {AuditAction::kStaffEntry, "staff_entry"},
    {AuditAction::kDrain, "drain"},
    {AuditAction::kMaintenanceOn, "maintenance_on"},
    {AuditAction::kMaintenanceOff, "maintenance_off"},
};

}  // namespace

std::string_view AuditActionName(AuditAction action) {
  for (const auto& [value, name] : kNames) {
    if (value == action) return name;
  }
  return "unknown";
}

std::optional<AuditAction> AuditActionFromName(std::string_view name) {
  for (const auto& [value, known] : kNames) {
    if (known == name) return value;
  }
  return std::nullopt;
}

std::string FormatUnixMs(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

std::string FormatAuditRecord(const AuditRecord& record) {
  std::string line = absl::StrCat(FormatUnixMs(record.unix_ms), " ", record.actor, " ",
                                  ToAbsl(AuditActionName(record.action)));
  if (!record.target.empty()) absl::StrAppend(&line, " ", record.target);
  if (record.until_unix_ms != 0) {
    absl::StrAppend(&line, " until ", FormatUnixMs(record.until_unix_ms));
  }
  if (!record.reason.empty()) absl::StrAppend(&line, ": ", record.reason);
  return line;
}

}  // namespace tutti::server::moderation
