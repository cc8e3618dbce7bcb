// Room, its moderation-across-nodes side (docs/SCALE-OUT.md, "Room moderation across
// nodes"): with a networked engine a room command may name another node's member (the
// roster is searched when resolving the target), and a kick, ban, unban, mute or unmute
// is also a room event: its ModerationNotice goes on the stream, and a ban or mute is
// written beside the stream by the script call that sequences that notice. Every node's
// room applies another node's notice when it is delivered: the ban or mute holds there
// too, and the target's own node removes its sessions (kick, ban) or releases their notes
// (mute) exactly as on one node. A room opening on a node reads the kept bans and mutes
// beside its chat and presence reads, and its first joins wait for all three. /mod,
// /unmod and /owner notices are room events too, applied here when another node's
// arrives (their change to the kept state: room_state_nodes.cc). Every such command, and
// /topic and /clear, is checked again by the script that sequences it, against the roles kept in
// Redis (RoomStateChange::Check): the acting room changes nothing until the script
// answers, then applies it at its event's place, or answers PERMISSION_DENIED and reads
// the kept state. None of this runs with the in-process engine.
// Same class, owner and thread as room.cc (the room's home shard).
#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "server/audit_wire.h"
#include "server/envelope.h"
#include "server/room.h"

namespace tutti::server {

const Room::RemoteMember* Room::FindRemote(const std::string& who) const {
  const RemoteMember* by_name = nullptr;
  for (const auto& [sid, r] : remote_) {
    if (r.user.user_id() == who) return &r;
    if (!by_name && absl::EqualsIgnoreCase(r.user.username(), who)) by_name = &r;
  }
  return by_name;
}

bool Room::CheckedAcrossNodes(moderation::CommandKind kind) const {
  using moderation::CommandKind;
  if (!SpansNodes()) return false;
  switch (kind) {
    case CommandKind::kKick:
    case CommandKind::kBan:
    case CommandKind::kUnban:
    case CommandKind::kMute:
    case CommandKind::kUnmute:
    case CommandKind::kMod:
    case CommandKind::kUnmod:
    case CommandKind::kOwner:
    case CommandKind::kTopic:
    case CommandKind::kClear:
      return true;
    default:
      return false;
  }
}

namespace {

// The kept role the command's actor must still have when the script sequences it: what
// MinimumRole asks of a room role, and for the commands whose target must rank below the
// actor, that a moderator's target is neither the owner nor a moderator.
RoomStateChange::Check CheckFor(moderation::CommandKind kind) {
  using moderation::CommandKind;
  switch (kind) {
    case CommandKind::kMod:
    case CommandKind::kUnmod:
    case CommandKind::kOwner:
      return RoomStateChange::Check::kOwner;
    case CommandKind::kKick:
    case CommandKind::kBan:
    case CommandKind::kMute:
      return RoomStateChange::Check::kOutranks;
    default:
      return RoomStateChange::Check::kModerator;
  }
}

}  // namespace

void Room::CommandAcrossNodes(SessionId session, const Member& actor,
                              const moderation::ParsedCommand& resolved,
                              const moderation::AuditRecord& rec, ResolvedTarget target,
                              int64_t now_ms, const std::string& request_id) {
  using moderation::CommandKind;
  // Nothing would be sequenced, so nothing would answer.
  if (!host_->broker()->Available()) {
    return Error(session, proto::STREAM_UNAVAILABLE, kStreamUnavailableText, request_id);
  }
  // Server staff act by their server role, which the kept state does not hold: unchecked.
  const RoomStateChange::Check check =
      IsStaff(actor) ? RoomStateChange::Check::kNone : CheckFor(resolved.kind);
  // A /topic's change is built on this version (SettingsChange, below).
  const int64_t base = settings_version_;
  // A refusal or an outage answers the actor as every checked change does (a /topic
  // shown here is put right by the re-read, or by the snapshot and re-reads after the
  // outage).
  auto done = WhenSequenced(session, request_id, check,
                            [this, session, resolved, rec, base, target = std::move(target),
                             actor_id = actor.user.user_id(), actor_name = actor.user.username(),
                             now_ms, request_id](const Publication&) {
                              // Sequenced: every event before it was delivered here, and now its
                              // own too (to every member here, the target among them): the change
                              // applies at that place.
                              if (resolved.kind == moderation::CommandKind::kTopic) {
                                // Written on top of `base`: the kept settings are one version on
                                // (or a read already took a later one, which includes it).
                                settings_version_ = std::max(settings_version_, base + 1);
                              } else if (resolved.kind != moderation::CommandKind::kClear) {
                                ApplySequenced(resolved.kind, rec);
                              }
                              FinishChange(session, resolved, rec, target, actor_id, actor_name,
                                           now_ms, request_id,
                                           /*shared=*/true);
                            });
  if (resolved.kind == CommandKind::kClear) {
    // The clear is its own event: sequenced (and every node's lines cleared) only while
    // the actor's kept role allows it; the actor's copy follows once it was.
    proto::ClientMessage out;
    out.mutable_chat_cleared()->set_room_id(id_);
    out.mutable_chat_cleared()->set_actor_user_id(actor.user.user_id());
    StampType(&out);
    RoomStateChange change;
    change.kind = RoomStateChange::Kind::kCheckOnly;
    change.check = check;
    change.actor = actor.user.user_id();
    Broadcast(out, session, /*droppable=*/false, std::move(done), ChatMark::kClear,
              std::move(change));
    return;
  }
  if (resolved.kind == CommandKind::kTopic) {
    // A settings change, as an owner's UpdateRoomCommand: shown here at once, written with
    // its RoomUpdated only while the actor's kept role allows it, else read back.
    topic_ = resolved.text;
    RoomStateChange change = SettingsChange();
    change.check = check;
    change.actor = actor.user.user_id();
    BroadcastInfo(std::move(change), std::move(done));
    return;
  }
  ShareModeration(resolved.kind, rec, check, std::move(done));
}

void Room::ShareModeration(moderation::CommandKind kind, const moderation::AuditRecord& rec,
                           RoomStateChange::Check check, Broker::PublishDone done) {
  using moderation::CommandKind;
  std::optional<PenaltyChange> change;
  RoomStateChange state;
  // Kick, unban, mute, unmute: nothing of the kept state changes, only its check (a ban
  // ends a moderator appointment, below).
  state.kind = RoomStateChange::Kind::kCheckOnly;
  state.user = rec.target;
  state.check = check;
  state.actor = rec.actor;
  switch (kind) {
    case CommandKind::kBan:
      // A banned moderator loses the appointment (as on one node), in the kept state too,
      // with the ban: nodes that never saw the appointment's end would keep it.
      state.kind = RoomStateChange::Kind::kRemoveModerator;
      [[fallthrough]];
    case CommandKind::kUnban:
    case CommandKind::kMute:
    case CommandKind::kUnmute:
      change.emplace();
      change->penalty.kind = kind == CommandKind::kMute || kind == CommandKind::kUnmute
                                 ? KeptPenalty::Kind::kMute
                                 : KeptPenalty::Kind::kBan;
      change->penalty.user_id = rec.target;
      change->penalty.until_unix_ms = rec.until_unix_ms;
      change->lift = kind == CommandKind::kUnban || kind == CommandKind::kUnmute;
      // As new as a read of the kept ones that is out now (its answer may predate it).
      if (reading_penalties_) penalties_while_reading_.insert(rec.target);
      break;
    case CommandKind::kMod:
    case CommandKind::kUnmod:
    case CommandKind::kOwner:
      // Written to the kept state with the notice (room_state_nodes.cc).
      state.kind = kind == CommandKind::kMod     ? RoomStateChange::Kind::kAddModerator
                   : kind == CommandKind::kUnmod ? RoomStateChange::Kind::kRemoveModerator
                                                 : RoomStateChange::Kind::kOwner;
      break;
    default:
      break;
  }
  PublishRequest req;
  auto* n = req.message.mutable_moderation_notice();
  n->set_action(ModerationActionOf(rec.action));
  n->set_room_id(id_);
  n->set_target_user_id(rec.target);
  n->set_actor_user_id(rec.actor);
  n->set_reason(rec.reason);
  n->set_until_unix_ms(rec.until_unix_ms);
  StampType(&req.message);
  req.penalty = std::move(change);
  req.state = std::move(state);
  host_->broker()->Publish(id_, std::move(req), std::move(done));
}

void Room::ApplySequenced(moderation::CommandKind kind, const moderation::AuditRecord& rec) {
  using moderation::CommandKind;
  // What the script wrote, in this node's tables (as Apply would have changed them): a
  // table at its cap or a change another node's event already made changes nothing more.
  moderation::RoomPenalty penalty{rec.target, rec.reason, rec.actor, rec.unix_ms,
                                  rec.until_unix_ms};
  switch (kind) {
    case CommandKind::kBan:
      mod_.Ban(std::move(penalty)).IgnoreError();
      // A banned moderator loses the appointment, as on one node.
      mod_.RemoveModerator(rec.target).IgnoreError();
      break;
    case CommandKind::kUnban:
      mod_.Unban(rec.target).IgnoreError();
      break;
    case CommandKind::kMute:
      mod_.Mute(std::move(penalty)).IgnoreError();
      break;
    case CommandKind::kUnmute:
      mod_.Unmute(rec.target).IgnoreError();
      break;
    case CommandKind::kMod:
      mod_.AddModerator(rec.target).IgnoreError();
      break;
    case CommandKind::kUnmod:
      mod_.RemoveModerator(rec.target).IgnoreError();
      break;
    case CommandKind::kOwner:
      if (!mod_.IsOwner(rec.target)) mod_.TransferOwnership(rec.target).IgnoreError();
      break;
    default:
      break;
  }
  host_->RoomChanged(id_);
}

void Room::ApplyRemoteModeration(const proto::ModerationNotice& n) {
  const std::string& target = n.target_user_id();
  if (target.empty()) return;
  // Owner and moderators: the same change here, at the notice's place in the stream.
  switch (n.action()) {
    case proto::MOD_APPOINT_MODERATOR:
      mod_.AddModerator(target).IgnoreError();
      return RemoteStateChanged();
    case proto::MOD_REMOVE_MODERATOR:
      mod_.RemoveModerator(target).IgnoreError();
      return RemoteStateChanged();
    case proto::MOD_TRANSFER_OWNERSHIP:
      if (!is_lobby() && !mod_.IsOwner(target)) mod_.TransferOwnership(target).IgnoreError();
      return RemoteStateChanged();
    default:
      break;
  }
  const int64_t now_ms = host_->UnixMs();
  moderation::RoomPenalty penalty;
  penalty.user_id = target;
  penalty.reason = n.reason();
  penalty.actor = n.actor_user_id();
  penalty.created_unix_ms = now_ms;
  penalty.until_unix_ms = n.until_unix_ms();
  // The acting node checked the command against its roles; this node applies it. A table
  // at its cap or a lift of what this node never had changes nothing here.
  switch (n.action()) {
    case proto::MOD_KICK:
      break;
    case proto::MOD_BAN:
      mod_.Ban(penalty).IgnoreError();
      // A banned moderator loses the appointment, as on the acting node.
      if (mod_.RemoveModerator(target).ok()) host_->RoomChanged(id_);
      break;
    case proto::MOD_UNBAN:
      mod_.Unban(target).IgnoreError();
      break;
    case proto::MOD_MUTE:
      mod_.Mute(penalty).IgnoreError();
      break;
    case proto::MOD_UNMUTE:
      mod_.Unmute(target).IgnoreError();
      break;
    default:
      return;
  }
  if (reading_penalties_) penalties_while_reading_.insert(target);
  std::vector<SessionId> here;
  for (const auto& [sid, m] : members_) {
    if (m.user.user_id() == target) here.push_back(sid);
  }
  if (!here.empty() && (n.action() == proto::MOD_BAN || n.action() == proto::MOD_MUTE)) {
    record_names_[target] = members_.find(here.front())->second.user.username();
  } else if (!mod_.BanOf(target, now_ms) && !mod_.MuteOf(target, now_ms)) {
    record_names_.erase(target);
  }
  // The target's sessions here already got the notice (it was delivered to every member
  // before this runs), as a target on the acting node gets it before its RoomLeft.
  if (n.action() == proto::MOD_KICK || n.action() == proto::MOD_BAN) {
    const char* reason = n.action() == proto::MOD_KICK ? "kicked" : "banned";
    // RemoveMember may end the room object here (its last member): nothing after it.
    for (SessionId t : here) {
      auto it = members_.find(t);
      if (it != members_.end()) RemoveMember(it, reason, "");
    }
    return;
  }
  if (n.action() == proto::MOD_MUTE) {
    // A muted player's sounding notes would otherwise hang until unmuted.
    for (SessionId t : here) ReleaseHeldNotes(t, members_.find(t)->second);
  }
}

void Room::PenaltiesRead(const std::vector<KeptPenalty>& kept) {
  const int64_t now_ms = host_->UnixMs();
  if (replace_penalties_ && !persistent()) {
    // After a resynchronisation: what this room holds and Redis no longer keeps was lifted
    // (or never sequenced) while events were missed. Not in a persistent room, whose bans
    // restored from its store need not be in Redis.
    std::set<std::string> bans, mutes;
    for (const KeptPenalty& k : kept) {
      (k.kind == KeptPenalty::Kind::kBan ? bans : mutes).insert(k.user_id);
    }
    for (const moderation::RoomPenalty& p : mod_.ListBans(now_ms)) {
      if (!bans.count(p.user_id) && !penalties_while_reading_.count(p.user_id)) {
        mod_.Unban(p.user_id).IgnoreError();
      }
    }
    for (const moderation::RoomPenalty& p : mod_.ListMutes(now_ms)) {
      if (!mutes.count(p.user_id) && !penalties_while_reading_.count(p.user_id)) {
        mod_.Unmute(p.user_id).IgnoreError();
      }
    }
  }
  replace_penalties_ = false;
  for (const KeptPenalty& k : kept) {
    // A change delivered during the read is at least as new as what the read found.
    if (penalties_while_reading_.count(k.user_id)) continue;
    if (k.until_unix_ms != 0 && k.until_unix_ms <= now_ms) continue;
    moderation::RoomPenalty p;
    p.user_id = k.user_id;
    p.created_unix_ms = now_ms;
    p.until_unix_ms = k.until_unix_ms;
    // Who made it and why stay with the node that made it (and with the store of a
    // persistent room, whose restored ban is kept as it is).
    if (k.kind == KeptPenalty::Kind::kBan) {
      if (!mod_.BanOf(k.user_id, now_ms)) mod_.Ban(std::move(p)).IgnoreError();
    } else if (!mod_.MuteOf(k.user_id, now_ms)) {
      mod_.Mute(std::move(p)).IgnoreError();
    }
  }
  penalties_while_reading_.clear();
  reading_penalties_ = false;
  RunWaitingJoins();
}

}  // namespace tutti::server
