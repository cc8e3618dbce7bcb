// The wire form of audit records: AuditAction -> proto::ModerationAction and a list of
// AuditRecords -> AuditLog entries. Used by the room's /log and the server-wide /log, so both
// answer with the same fields. Pure functions: any thread, no state, no owner.
#ifndef TUTTI_SERVER_AUDIT_WIRE_H_
#define TUTTI_SERVER_AUDIT_WIRE_H_

#include <vector>

#include "protos/tutti.pb.h"
#include "server/moderation/audit.h"

namespace tutti::server {

proto::ModerationAction ModerationActionOf(moderation::AuditAction a);

// Appends one AuditLog entry per record, in order.
void AppendAuditEntries(const std::vector<moderation::AuditRecord>& records, proto::AuditLog* log);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_AUDIT_WIRE_H_
