#include "server/audit_wire.h"

namespace tutti::server {

proto::ModerationAction ModerationActionOf(moderation::AuditAction a) {
  switch (a) {
    case moderation::AuditAction::kKick:
      return proto::MOD_KICK;
    case moderation::AuditAction::kBan:
      return proto::MOD_BAN;
    case moderation::AuditAction::kUnban:
      return proto::MOD_UNBAN;
    case moderation::AuditAction::kMute:
      return proto::MOD_MUTE;
    case moderation::AuditAction::kUnmute:
      return proto::MOD_UNMUTE;
    case moderation::AuditAction::kAppointModerator:
      return proto::MOD_APPOINT_MODERATOR;
    case moderation::AuditAction::kRemoveModerator:
      return proto::MOD_REMOVE_MODERATOR;
    case moderation::AuditAction::kTransferOwnership:
      return proto::MOD_TRANSFER_OWNERSHIP;
    case moderation::AuditAction::kServerBan:
      return proto::MOD_SERVER_BAN;
    case moderation::AuditAction::kServerUnban:
      return proto::MOD_SERVER_UNBAN;
    case moderation::AuditAction::kClearChat:
      return proto::MOD_CLEAR_CHAT;
    case moderation::AuditAction::kSetTopic:
      return proto::MOD_SET_TOPIC;
    case moderation::AuditAction::kStaffEntry:
      return proto::MOD_STAFF_ENTRY;
    case moderation::AuditAction::kDrain:
      return proto::MOD_DRAIN;
    case moderation::AuditAction::kMaintenanceOn:
      return proto::MOD_MAINTENANCE_ON;
    case moderation::AuditAction::kMaintenanceOff:
      return proto::MOD_MAINTENANCE_OFF;
  }
  return proto::MOD_KICK;
}

void AppendAuditEntries(const std::vector<moderation::AuditRecord>& records, proto::AuditLog* log) {
  for (const auto& r : records) {
    auto* e = log->add_entries();
    e->set_unix_ms(r.unix_ms);
    e->set_actor_user_id(r.actor);
    e->set_action(ModerationActionOf(r.action));
    e->set_target(r.target);
    e->set_room_id(r.room_id);
    e->set_reason(r.reason);
    e->set_until_unix_ms(r.until_unix_ms);
  }
}

}  // namespace tutti::server
