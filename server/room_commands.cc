// Room::Command and its helpers: the room-scope chat commands (kick, ban, mute, mod,
// owner, topic, clear, users, bans, log, help), how their target is resolved, and what
// each announces and records. Part of the Room class (room.h); runs on the room's home
// shard like every Room method.
#include <algorithm>
#include <memory>
#include <optional>
#include <utility>

#include "server/audit_wire.h"
#include "server/envelope.h"
#include "server/link_quality.h"
#include "server/room.h"
#include "server/store/store.h"

namespace tutti::server {

// --- moderation -----------------------------------------------------------------------

namespace {

proto::ErrorCode CodeOf(const absl::Status& st) {
  switch (st.code()) {
    case absl::StatusCode::kPermissionDenied:
      return proto::PERMISSION_DENIED;
    case absl::StatusCode::kNotFound:
      return proto::NOT_FOUND;
    case absl::StatusCode::kAlreadyExists:
      return proto::ALREADY_EXISTS;
    case absl::StatusCode::kResourceExhausted:
      return proto::LIMIT_REACHED;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
      return proto::INVALID_PARAMETERS;
    default:
      return proto::INTERNAL_ERROR;
  }
}

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

}  // namespace

const Room::Member* Room::FindUser(const std::string& who) const {
  const std::string lower = Lower(who);
  const Member* by_name = nullptr;
  for (const auto& [sid, m] : members_) {
    if (m.user.user_id() == who) return &m;
    if (!by_name && Lower(m.user.username()) == lower) by_name = &m;
  }
  return by_name;
}

void Room::Result(SessionId s, const std::string& command, bool ok, std::vector<std::string> lines,
                  const std::string& request_id) {
  proto::ClientMessage out;
  auto* r = out.mutable_command_result();
  r->set_command(command);
  r->set_ok(ok);
  for (auto& l : lines) r->add_lines(std::move(l));
  SendTo(s, std::move(out), request_id);
}

void Room::Notice(SessionId s, proto::ModerationAction action, const moderation::AuditRecord& rec,
                  const std::string& request_id) {
  proto::ClientMessage out;
  auto* n = out.mutable_moderation_notice();
  n->set_action(action);
  n->set_room_id(id_);
  n->set_target_user_id(rec.target);
  n->set_actor_user_id(rec.actor);
  n->set_reason(rec.reason);
  n->set_until_unix_ms(rec.until_unix_ms);
  SendTo(s, std::move(out), request_id);
}

void Room::SystemLine(const std::string& text) {
  proto::ClientMessage out;
  auto* line = out.mutable_room_chat_message();
  line->set_message(text);
  line->set_message_type(proto::MODERATOR_MESSAGE);
  line->set_server_time(NextRoomTime());
  line->set_message_id(next_message_id_++);
  StampType(&out);
  Broadcast(out, 0, /*droppable=*/false, nullptr, ChatMark::kKeep);
}

void Room::ExpirePenalties(int64_t now_unix_ms) {
  moderation::RoomModeration::Expired gone = mod_.ExpireUntil(now_unix_ms);
  for (const auto* ids : {&gone.bans, &gone.mutes}) {
    for (const std::string& id : *ids) {
      if (!mod_.BanOf(id, now_unix_ms) && !mod_.MuteOf(id, now_unix_ms)) record_names_.erase(id);
    }
  }
}

std::string Room::FindRecorded(const std::string& who, int64_t now_ms) const {
  if (mod_.BanOf(who, now_ms) || mod_.MuteOf(who, now_ms) || mod_.IsModerator(who) ||
      mod_.IsOwner(who)) {
    return who;
  }
  const std::string lower = Lower(who);
  for (const auto& [id, name] : record_names_) {
    if (Lower(name) == lower) return id;
  }
  return "";
}

void Room::ListBans(SessionId session, const std::string& request_id, int64_t now_ms) {
  // Names come from the stored profiles (a ban outlives the session that made it, and a
  // restored ban has only an id), falling back on the name the room remembers.
  struct Listing {
    std::vector<moderation::RoomPenalty> bans;
    std::vector<std::string> names;
  };
  auto listing = std::make_shared<Listing>();
  listing->bans = mod_.ListBans(now_ms);
  for (const auto& b : listing->bans) {
    auto it = record_names_.find(b.user_id);
    listing->names.push_back(it == record_names_.end() ? "" : it->second);
  }
  RoomHost* host = host_;
  auto reply = [host, listing, session, request_id] {
    std::vector<std::string> lines;
    for (size_t i = 0; i < listing->bans.size(); ++i) {
      const auto& b = listing->bans[i];
      const std::string& name = listing->names[i];
      lines.push_back((name.empty() ? b.user_id : name + " (" + b.user_id + ")") + " by " +
                      b.actor + " until " +
                      (b.until_unix_ms ? moderation::FormatUnixMs(b.until_unix_ms) : "forever") +
                      (b.reason.empty() ? "" : ": " + b.reason));
    }
    if (lines.empty()) lines.push_back("no bans");
    proto::ClientMessage out;
    auto* r = out.mutable_command_result();
    r->set_command("bans");
    r->set_ok(true);
    for (auto& l : lines) r->add_lines(std::move(l));
    out.set_request_id(request_id);
    StampType(&out);
    host->SendToSession(session, MakeFrame(out));
  };
  bool queued = host_->Storage(
      [listing](store::Store& st) {
        for (size_t i = 0; i < listing->bans.size(); ++i) {
          if (!listing->names[i].empty()) continue;
          auto profile = st.GetProfile(listing->bans[i].user_id);
          if (profile.ok()) listing->names[i] = profile->username;
        }
      },
      reply);
  if (!queued) reply();  // ids only, rather than no answer
}

void Room::Command(SessionId session, const moderation::ParsedCommand& cmd,
                   const std::string& request_id, const CommandTarget& outside) {
  using moderation::CommandKind;
  ExpirePenalties(host_->UnixMs());
  auto it = members_.find(session);
  if (it == members_.end())
    return Error(session, proto::WRONG_STATE, "not in this room", request_id);
  const Member& actor = it->second;
  switch (cmd.kind) {
    case CommandKind::kHelp:
      return Result(session, std::string(moderation::CommandName(cmd.kind)), true,
                    cmd.target.empty() ? moderation::HelpLines(RoleOf(actor))
                                       : moderation::HelpForCommand(RoleOf(actor), cmd.target),
                    request_id);
    case CommandKind::kUsers:
      return CommandUsers(session, request_id);
    case CommandKind::kPanic:
      return Panic(session, cmd.target == "all", request_id);
    case CommandKind::kPerform:
    case CommandKind::kAudience:
      return SetPerformer(session, cmd.target, cmd.kind == CommandKind::kPerform, request_id,
                          outside);
    case CommandKind::kTempo: {
      auto change = ParseTempoWords(cmd.text);
      if (!change.ok()) {
        return Error(session, proto::INVALID_PARAMETERS, std::string(change.status().message()),
                     request_id);
      }
      return SetTempo(session, *change, request_id);
    }
    case CommandKind::kBans:
      if (!moderation::MayUse(RoleOf(actor), cmd.kind)) {
        return Error(session, proto::PERMISSION_DENIED, "/bans is for room moderators", request_id);
      }
      return ListBans(session, request_id, host_->UnixMs());
    case CommandKind::kLog:
      if (!moderation::MayUse(RoleOf(actor), cmd.kind)) {
        return Error(session, proto::PERMISSION_DENIED, "/log is for room moderators", request_id);
      }
      return CommandLog(session, cmd, IsStaff(actor), request_id);
    case CommandKind::kRecord:
      return CommandRecord(session, actor, cmd, request_id);
    default:
      return CommandChange(session, actor, cmd, request_id, outside);
  }
}

void Room::CommandUsers(SessionId session, const std::string& request_id) {
  const int64_t now_ms = host_->UnixMs();
  auto caller = members_.find(session);
  // Link quality is for staff: it tells them who is late for everyone, and why.
  const bool staff = caller != members_.end() && IsRoomStaff(caller->second);
  std::vector<std::string> lines;
  for (const auto& [sid, m] : members_) {
    std::string line = m.user.username() + " (" + m.user.user_id() + ") " +
                       std::string(moderation::RoomRoleName(RoleOf(m)));
    if (mod_.IsMuted(m.user.user_id(), now_ms)) line += " [muted]";
    if (settings_.play_mode() == proto::PLAY_PERFORMERS_ONLY) {
      line += MayPlay(m) ? " [performer]" : " [audience]";
    }
    if (staff) line += " [" + DescribeQuality(m.quality) + "]";
    lines.push_back(std::move(line));
  }
  // Other nodes' members (rooms across nodes): their room role, mute and place in a
  // performers-only room are this room's to know (every node applies the room's roles,
  // mutes and performer list); their link quality is their own node's.
  for (const auto& [sid, r] : remote_) {
    moderation::RoomRole role =
        r.user.is_guest() ? moderation::RoomRole::kGuest : moderation::RoomRole::kMember;
    role = mod_.RoleOf(r.user.user_id(), role);
    std::string line = r.user.username() + " (" + r.user.user_id() + ") " +
                       std::string(moderation::RoomRoleName(role));
    if (mod_.IsMuted(r.user.user_id(), now_ms)) line += " [muted]";
    if (settings_.play_mode() == proto::PLAY_PERFORMERS_ONLY) {
      const bool plays =
          role >= moderation::RoomRole::kRoomModerator || performers_.count(r.user.user_id()) != 0;
      line += plays ? " [performer]" : " [audience]";
    }
    if (staff) line += " [quality known on its own server]";
    lines.push_back(std::move(line));
  }
  Result(session, std::string(moderation::CommandName(moderation::CommandKind::kUsers)), true,
         std::move(lines), request_id);
}

void Room::CommandLog(SessionId session, const moderation::ParsedCommand& cmd, bool staff,
                      const std::string& request_id) {
  auto log = std::make_shared<absl::StatusOr<std::vector<moderation::AuditRecord>>>();
  std::string room_id = id_;
  int count = cmd.count > 0 ? cmd.count : moderation::kDefaultLogCount;
  RoomHost* host = host_;
  // Server staff also see the server-wide records (server bans and unbans, automatic
  // bans) among the room's, in time order.
  bool queued = host_->Storage(
      [log, room_id, count, staff](store::Store& st) {
        *log = st.ListAudit(room_id, count);
        if (!staff || !log->ok()) return;
        auto server_wide = st.ListAudit(std::string_view(), count);
        if (!server_wide.ok()) {
          *log = server_wide.status();
          return;
        }
        auto& merged = **log;
        merged.insert(merged.end(), server_wide->begin(), server_wide->end());
        std::stable_sort(merged.begin(), merged.end(),
                         [](const moderation::AuditRecord& a, const moderation::AuditRecord& b) {
                           return a.unix_ms < b.unix_ms;
                         });
        if (merged.size() > static_cast<size_t>(count)) {
          merged.erase(merged.begin(), merged.end() - count);
        }
      },
      [host, log, session, request_id] {
        if (!log->ok()) {
          host->SendToSession(session, MakeFrame(MakeError(proto::INTERNAL_ERROR,
                                                           "cannot read the log", request_id)));
          return;
        }
        proto::ClientMessage out;
        AppendAuditEntries(**log, out.mutable_audit_log());
        out.set_request_id(request_id);
        StampType(&out);
        host->SendToSession(session, MakeFrame(out));
      });
  if (!queued) Error(session, proto::RATE_LIMITED, "server busy, try again", request_id);
}

bool Room::ResolveTarget(SessionId session, const moderation::ParsedCommand& cmd,
                         const CommandTarget& outside, const std::string& request_id,
                         int64_t now_ms, ResolvedTarget* out) {
  // In the room (a member's id or name), then outside it (online anywhere, or a stored
  // profile by id: the dispatcher asked shard 0), then in the room's own records (unban,
  // unmute, unmod of someone gone). Nobody by that name or id is NOT_FOUND.
  out->user_id = cmd.target;
  if (cmd.target.empty()) return true;
  if (const Member* present = FindUser(cmd.target)) {
    out->user_id = present->user.user_id();
    out->server_role = ServerRoleOf(*present);
    out->name = present->user.username();
    out->present = true;
  } else if (const RemoteMember* remote = FindRemote(cmd.target)) {
    // A member on another node (rooms across nodes): its node announced its roles, and
    // it applies the effect when the command's notice reaches it (ShareModeration).
    const proto::UserInfo& u = remote->user;
    out->user_id = u.user_id();
    out->name = u.username();
    out->server_role = u.is_guest() ? moderation::RoomRole::kGuest : moderation::RoomRole::kMember;
    for (int role : u.roles()) {
      if (role == proto::ROLE_SERVER_ADMIN) {
        out->server_role = moderation::RoomRole::kServerAdmin;
      } else if (role == proto::ROLE_SERVER_MODERATOR &&
                 out->server_role != moderation::RoomRole::kServerAdmin) {
        out->server_role = moderation::RoomRole::kServerModerator;
      }
    }
    out->present = true;
  } else if (!outside.user_id.empty()) {
    out->user_id = outside.user_id;
    out->name = outside.username;
    if (outside.is_guest) out->server_role = moderation::RoomRole::kGuest;
  } else if (std::string id = FindRecorded(cmd.target, now_ms); !id.empty()) {
    out->user_id = id;
    auto known = record_names_.find(id);
    if (known != record_names_.end()) out->name = known->second;
    if (id.rfind("guest:", 0) == 0) out->server_role = moderation::RoomRole::kGuest;
  } else {
    Error(session, proto::NOT_FOUND,
          "nobody called " + cmd.target + " is in this room, online, or known by that id",
          request_id);
    return false;
  }
  if (cmd.kind == moderation::CommandKind::kKick && !out->present) {
    Error(session, proto::NOT_FOUND, cmd.target + " is not in this room", request_id);
    return false;
  }
  return true;
}

void Room::CommandChange(SessionId session, const Member& actor,
                         const moderation::ParsedCommand& cmd, const std::string& request_id,
                         const CommandTarget& outside) {
  using moderation::CommandKind;
  // Who may not use the command learns nothing about who exists: checked before lookup.
  const std::string name(moderation::CommandName(cmd.kind));
  if (!moderation::MayUse(RoleOf(actor), cmd.kind)) {
    return Error(session, proto::PERMISSION_DENIED,
                 "/" + name + " is not yours to use in this room", request_id);
  }
  const int64_t now_ms = host_->UnixMs();
  ResolvedTarget target;
  if (!ResolveTarget(session, cmd, outside, request_id, now_ms, &target)) return;
  moderation::ParsedCommand resolved = cmd;
  resolved.target = target.user_id;
  // Across nodes the tables change only once the script that sequences the command has
  // checked it against the kept roles (room_moderation_nodes.cc): checked here against a
  // copy of this node's, as on one node.
  const bool across = CheckedAcrossNodes(cmd.kind);
  std::optional<moderation::RoomModeration> trial;
  if (across) trial.emplace(mod_);
  auto outcome = (across ? *trial : mod_)
                     .Apply(resolved, actor.user.user_id(), ServerRoleOf(actor), target.server_role,
                            id_, now_ms);
  if (!outcome.ok()) {
    return Error(session, CodeOf(outcome.status()), std::string(outcome.status().message()),
                 request_id);
  }
  if (across) {
    return CommandAcrossNodes(session, actor, resolved, outcome->audit, std::move(target), now_ms,
                              request_id);
  }
  FinishChange(session, cmd, outcome->audit, std::move(target), actor.user.user_id(),
               actor.user.username(), now_ms, request_id, /*shared=*/false);
}

void Room::FinishChange(SessionId session, const moderation::ParsedCommand& cmd,
                        const moderation::AuditRecord& rec, ResolvedTarget target,
                        const std::string& actor_id, const std::string& actor_name, int64_t now_ms,
                        const std::string& request_id, bool shared) {
  using moderation::CommandKind;
  if (cmd.kind == CommandKind::kBan || cmd.kind == CommandKind::kMute) {
    if (!target.name.empty()) record_names_[target.user_id] = target.name;
  } else if (cmd.kind == CommandKind::kUnban || cmd.kind == CommandKind::kUnmute) {
    if (!mod_.BanOf(target.user_id, now_ms) && !mod_.MuteOf(target.user_id, now_ms)) {
      record_names_.erase(target.user_id);
    }
  }
  // Shown as "name (id)" when both are known, so two users of one name stay apart.
  const std::string shown = target.name.empty() || target.name == target.user_id
                                ? target.user_id
                                : target.name + " (" + target.user_id + ")";
  if (target.name.empty()) target.name = target.user_id;
  // The actor may be removed below (banning oneself is refused, but be safe): copies.
  ApplyEffects(session, cmd, rec, target.user_id, target.name, std::string(actor_id),
               std::string(actor_name), request_id, shared);
  PersistChange(session, cmd.kind, rec, now_ms,
                std::string(moderation::AuditActionName(rec.action)) +
                    (shown.empty() ? "" : " " + shown) + ": done",
                request_id);
}

void Room::ApplyEffects(SessionId session, const moderation::ParsedCommand& cmd,
                        const moderation::AuditRecord& rec, const std::string& target_id,
                        const std::string& target_name, const std::string& actor_id,
                        const std::string& actor_name, const std::string& request_id, bool shared) {
  using moderation::CommandKind;
  // Bans, mutes and kicks take effect at once, for every member session of the target.
  const proto::ModerationAction action = ModerationActionOf(rec.action);
  const std::string because = rec.reason.empty() ? "" : ": " + rec.reason;
  std::vector<SessionId> targets;
  for (const auto& [sid, m] : members_) {
    if (!target_id.empty() && m.user.user_id() == target_id) targets.push_back(sid);
  }
  // Across nodes (`shared`) the notice is a room event, so that the target's node (and
  // every node, for bans and mutes) applies it; it was sequenced and delivered to every
  // member here before these effects, so everyone sees the notice before the target's
  // release and leave, and nobody here is sent it twice.
  switch (cmd.kind) {
    case CommandKind::kKick:
    case CommandKind::kBan: {
      const bool kick = cmd.kind == CommandKind::kKick;
      for (SessionId t : targets) {
        if (!shared) Notice(t, action, rec);
        RemoveMember(members_.find(t), kick ? "kicked" : "banned", "");
      }
      SystemLine(target_name + (kick ? " was kicked by " : " was banned by ") + actor_name +
                 because);
      break;
    }
    case CommandKind::kMute:
      for (SessionId t : targets) {
        // A muted player's sounding notes would otherwise hang until unmuted.
        ReleaseHeldNotes(t, members_.find(t)->second);
        if (!shared) Notice(t, action, rec);
      }
      SystemLine(target_name + " was muted by " + actor_name + because);
      break;
    case CommandKind::kUnmute:
    case CommandKind::kUnban:
      if (!shared) {
        for (SessionId t : targets) Notice(t, action, rec);
      }
      break;
    case CommandKind::kMod:
    case CommandKind::kUnmod:
    case CommandKind::kOwner:
      // Everyone's view of the roles changes, so every member gets the notice (a client
      // updates the target's badge from action + target; RoomUpdated carries only the owner,
      // and UserInfo roles arrive with the next RoomJoinedResponse or RoomSnapshot), and the
      // chat says it.
      // Across nodes the notice is a room event (ShareModeration), which every member on
      // every node gets from the stream, and which carries the change to the kept state.
      if (!shared) {
        for (const auto& [sid, m] : members_) {
          Notice(sid, action, rec, sid == session ? request_id : std::string());
        }
      }
      if (cmd.kind == CommandKind::kMod) {
        SystemLine(target_name + " is now a room moderator (appointed by " + actor_name + ")");
      } else if (cmd.kind == CommandKind::kUnmod) {
        SystemLine(target_name + " is no longer a room moderator (by " + actor_name + ")");
      } else {
        SystemLine(target_name + " now owns the room (handed over by " + actor_name + ")");
      }
      BroadcastInfo();
      break;
    case CommandKind::kTopic:
      // Across nodes the topic went out with its check already (CommandAcrossNodes).
      if (shared) break;
      topic_ = cmd.text;
      BroadcastInfo(SettingsChange());
      break;
    case CommandKind::kClear: {
      proto::ClientMessage out;
      out.mutable_chat_cleared()->set_room_id(id_);
      out.mutable_chat_cleared()->set_actor_user_id(actor_id);
      StampType(&out);
      // Every node's room clears its lines when the event reaches it (KeepChat). Across
      // nodes the event went out with its check already (CommandAcrossNodes).
      if (!shared) Broadcast(out, session, /*droppable=*/false, nullptr, ChatMark::kClear);
      SendTo(session, std::move(out), request_id);  // the actor's copy echoes its request
      break;
    }
    default:
      break;
  }
}

void Room::PersistChange(SessionId session, moderation::CommandKind kind,
                         const moderation::AuditRecord& rec, int64_t now_ms,
                         const std::string& summary, const std::string& request_id) {
  using moderation::CommandKind;
  // Durable before acknowledged: the audit record, and for a persistent room its ban
  // table or saved state, are committed before the actor hears "done".
  const bool keep = persistent();
  store::RoomBanRecord ban;
  ban.room_id = id_;
  ban.user_id = rec.target;
  ban.reason = rec.reason;
  ban.actor = rec.actor;
  ban.created_unix_ms = now_ms;
  ban.until_unix_ms = rec.until_unix_ms;
  auto write = [rec, ban, kind](store::Store& st, const store::RoomRecord& record,
                                bool registered) {
    absl::Status s = st.AppendAudit(rec);
    if (!s.ok() || !registered) return s;
    switch (kind) {
      case CommandKind::kBan:
        // A banned moderator loses the appointment (RoomModeration::Apply): the record's
        // moderators change with the ban table, or a restart would bring it back.
        s = st.AddRoomBan(ban);
        return s.ok() ? st.SaveRoom(record) : s;
      case CommandKind::kUnban:
        s = st.RemoveRoomBan(ban.room_id, ban.user_id);
        return absl::IsNotFound(s) ? absl::OkStatus() : s;
      case CommandKind::kKick:
      case CommandKind::kMute:
      case CommandKind::kUnmute:
      case CommandKind::kClear:
        return absl::OkStatus();  // nothing of the room's record changed
      default:
        return st.SaveRoom(record);
    }
  };
  const std::string command(moderation::CommandName(kind));
  const bool saves_record = keep && kind != CommandKind::kUnban && kind != CommandKind::kKick &&
                            kind != CommandKind::kMute && kind != CommandKind::kUnmute &&
                            kind != CommandKind::kClear;
  if (saves_record && SpansNodes()) {
    // Across nodes the record follows a read of the kept state asked from now on, so that
    // it holds every change sequenced up to this one (room_state_nodes.cc, SaveWhenRead);
    // a room another node unregistered meanwhile keeps only the audit record.
    return SaveWhenRead(
        [this, session, command, summary, request_id, write](store::RoomRecord record) {
          AnswerWhenSaved(session, command, summary, request_id,
                          [write, record = std::move(record), registered = persistent()](
                              store::Store& st) { return write(st, record, registered); });
        });
  }
  AnswerWhenSaved(
      session, command, summary, request_id,
      [write, record = Record(), keep](store::Store& st) { return write(st, record, keep); });
}

void Room::AnswerWhenSaved(SessionId session, const std::string& command,
                           const std::string& summary, const std::string& request_id,
                           std::function<absl::Status(store::Store&)> write) {
  auto status = std::make_shared<absl::Status>();
  RoomHost* host = host_;
  bool queued = host_->Storage(
      [write = std::move(write), status](store::Store& st) { *status = write(st); },
      [host, status, session, command, summary, request_id] {
        proto::ClientMessage out;
        if (status->ok()) {
          auto* r = out.mutable_command_result();
          r->set_command(command);
          r->set_ok(true);
          r->add_lines(summary);
          out.set_request_id(request_id);
          StampType(&out);
        } else {
          out = MakeError(proto::INTERNAL_ERROR, "applied but not saved", request_id);
        }
        host->SendToSession(session, MakeFrame(out));
      });
  if (!queued) Error(session, proto::INTERNAL_ERROR, "applied but not saved", request_id);
}

}  // namespace tutti::server
