// Dispatcher handlers for the room music messages (docs/PROTOCOL.md, "Music in a room"): Panic and
// SetPerformer take the same path as their chat commands (/panic, /perform, /audience),
// SetTempo goes to the room's home shard. Run on the session's shard.
#include <string>

#include "server/dispatcher.h"
#include "server/moderation/command_parser.h"
#include "server/room.h"
#include "server/shard.h"
#include "server/tempo.h"

namespace tutti::server {

void Dispatcher::OnPanic(Session& s, const proto::Panic& panic, const std::string& rid) {
  if (!TakeRequest(s, rid)) return;
  moderation::ParsedCommand cmd;
  cmd.kind = moderation::CommandKind::kPanic;
  cmd.name = "panic";
  if (panic.everyone()) cmd.target = "all";
  RunCommand(s, cmd, rid);
}

void Dispatcher::OnSetPerformer(Session& s, const proto::SetPerformer& msg,
                                const std::string& rid) {
  if (!TakeRequest(s, rid)) return;
  if (msg.target_user().empty() || msg.target_user().size() > 128) {
    return Error(s, proto::INVALID_PARAMETERS, "target_user must be 1 to 128 bytes", rid);
  }
  moderation::ParsedCommand cmd;
  cmd.kind =
      msg.performer() ? moderation::CommandKind::kPerform : moderation::CommandKind::kAudience;
  cmd.name = msg.performer() ? "perform" : "audience";
  cmd.target = msg.target_user();
  RunCommand(s, cmd, rid);
}

void Dispatcher::OnSetTempo(Session& s, const proto::SetTempo& msg, const std::string& rid) {
  if (!TakeRequest(s, rid)) return;
  if (s.room_id().empty()) return Error(s, proto::WRONG_STATE, "not in a room", rid);
  TempoChange change;
  change.bpm = msg.bpm();
  change.beats_per_bar = msg.beats_per_bar();
  change.beat_unit = msg.beat_unit();
  switch (msg.transport()) {
    case proto::TRANSPORT_KEEP:
      break;
    case proto::TRANSPORT_START:
      change.transport = TempoChange::Transport::kStart;
      break;
    case proto::TRANSPORT_STOP:
      change.transport = TempoChange::Transport::kStop;
      break;
    default:
      return Error(s, proto::INVALID_PARAMETERS, "unknown transport change", rid);
  }
  shard_->OnRoom(s.room_id(), [id = s.id(), change, rid](Room& r) { r.SetTempo(id, change, rid); });
}

}  // namespace tutti::server
