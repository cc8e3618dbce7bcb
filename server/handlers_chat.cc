// Dispatcher handlers for chat and "/" commands: room chat lines, the command line
// parser's results (room moderation posted to the room's home shard), and server bans
// (written on the storage thread, then published to every shard's gate). Run on the
// session's shard.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/command_target.h"
#include "server/dispatcher.h"
#include "server/envelope.h"
#include "server/moderation/ban_list.h"
#include "server/moderation/permissions.h"
#include "server/room.h"
#include "server/server_log.h"
#include "server/shard.h"
#include "server/store/client_text.h"
#include "server/store/store.h"
#include "server/text.h"

namespace tutti::server {

// --- chat --------------------------------------------------------------------------------------

void Dispatcher::OnChat(Session& s, const proto::RoomChatMessage& chat, const std::string& rid) {
  if (!s.chat_bucket.TryTake(1, shard_->NowUs())) {
    return RateLimited(s, metrics::RateBucket::kChat, "you are sending messages too fast", rid);
  }
  const ServerConfig& cfg = shard_->cluster().config();
  if (chat.message().size() > cfg.max_chat_length * 4) {
    return Error(s, proto::INVALID_PARAMETERS, "message is too long", rid);
  }
  std::string text = CleanText(chat.message(), cfg.max_chat_length, false);
  if (text.empty()) return Error(s, proto::INVALID_PARAMETERS, "message is empty", rid);
  if (moderation::IsCommandLine(text)) return OnCommandLine(s, text, rid);
  if (s.room_id().empty()) return Error(s, proto::WRONG_STATE, "not in a room", rid);
  text = std::string(moderation::StripCommandEscape(text));
  shard_->OnRoom(s.room_id(), [id = s.id(), text = std::move(text), type = chat.message_type(),
                               rid](Room& r) { r.Chat(id, text, type, rid); });
}

// --- chat commands -------------------------------------------------------------------------------

namespace {

moderation::RoomRole ServerRoleOf(const Session& s) {
  if (s.identity().is_admin) return moderation::RoomRole::kServerAdmin;
  if (s.identity().is_moderator) return moderation::RoomRole::kServerModerator;
  return s.identity().is_guest ? moderation::RoomRole::kGuest : moderation::RoomRole::kMember;
}

}  // namespace

void Dispatcher::CommandResult(Session& s, const std::string& command, bool ok,
                               const std::vector<std::string>& lines, const std::string& rid) {
  proto::ClientMessage out;
  auto* r = out.mutable_command_result();
  r->set_command(command);
  r->set_ok(ok);
  for (const auto& l : lines) r->add_lines(l);
  Reply(s, std::move(out), rid);
}

void Dispatcher::OnServerChatCommand(Session& s, const proto::RoomChatServerCommand& cmd,
                                     const std::string& rid) {
  // Seed 003's structured form is the same command as the chat line it spells.
  if (!s.chat_bucket.TryTake(1, shard_->NowUs())) {
    return RateLimited(s, metrics::RateBucket::kChat, "you are sending commands too fast", rid);
  }
  if (cmd.command().empty() || cmd.command().size() > 32 || cmd.target_user().size() > 128 ||
      cmd.reason().size() > 512 || cmd.duration().size() > 16) {
    return Error(s, proto::INVALID_PARAMETERS, "command, target, duration or reason out of bounds",
                 rid);
  }
  const ServerConfig& cfg = shard_->cluster().config();
  auto parsed = moderation::CommandFromFields(
      CleanText(cmd.command(), 32, false), CleanText(cmd.target_user(), 128, false),
      CleanText(cmd.reason(), cfg.max_chat_length, false), CleanText(cmd.duration(), 16, false));
  if (!parsed.ok()) {
    return Error(s, proto::INVALID_PARAMETERS, std::string(parsed.status().message()), rid);
  }
  RunCommand(s, *parsed, rid);
}

void Dispatcher::OnCommandLine(Session& s, const std::string& line, const std::string& rid) {
  auto parsed = moderation::ParseCommand(line);
  if (!parsed.ok()) {
    return Error(s, proto::INVALID_PARAMETERS, std::string(parsed.status().message()), rid);
  }
  RunCommand(s, *parsed, rid);
}

void Dispatcher::RunCommand(Session& s, const moderation::ParsedCommand& cmd,
                            const std::string& rid) {
  using moderation::CommandKind;
  const moderation::RoomRole role = ServerRoleOf(s);
  switch (cmd.kind) {
    case CommandKind::kUnknown:
      return CommandResult(s, cmd.name, false, moderation::UnknownCommandLines(role, cmd.name),
                           rid);
    case CommandKind::kWhisper: {
      proto::PrivateMessage pm;
      pm.set_to_user_id(cmd.target);
      pm.set_message(cmd.text);
      return DeliverPrivateMessage(s, pm, rid);
    }
    case CommandKind::kStatus: {
      proto::UserStatusUpdate update;
      update.set_status(static_cast<proto::UserStatus>(cmd.status));
      update.set_status_text(cmd.text);
      return ApplyStatus(s, update, rid);
    }
    case CommandKind::kServerBan:
    case CommandKind::kServerUnban:
      return OnServerBan(s, cmd, rid);
    case CommandKind::kLog:
      // Outside a room, staff read the whole server's log (server bans included).
      if (s.room_id().empty()) {
        if (s.identity().is_admin || s.identity().is_moderator) return OnServerLog(s, cmd, rid);
        return Error(s, proto::WRONG_STATE, "join a room first: /log acts on a room", rid);
      }
      break;
    case CommandKind::kHelp:
      if (s.room_id().empty()) {
        return CommandResult(s, "help", true,
                             cmd.target.empty() ? moderation::HelpLines(role)
                                                : moderation::HelpForCommand(role, cmd.target),
                             rid);
      }
      break;
    default:
      if (s.room_id().empty()) {
        return Error(s, proto::WRONG_STATE, "join a room first: /" + cmd.name + " acts on a room",
                     rid);
      }
      break;
  }
  const SessionId id = s.id();
  if (!CommandNamesUser(cmd.kind) || cmd.target.empty()) {
    shard_->OnRoom(s.room_id(), [id, cmd, rid](Room& r) { r.Command(id, cmd, rid); });
    return;
  }
  // The target may be someone outside the room: shard 0 knows who is online and can
  // read profiles; the room then decides (members first).
  Cluster* server = &shard_->cluster();
  shard_->OnShard(0, [server, room_id = s.room_id(), id, cmd, rid](Shard& zero) {
    ResolveCommandTarget(*server, cmd.target, [&zero, room_id, id, cmd, rid](CommandTarget t) {
      zero.OnRoom(room_id,
                  [id, cmd, rid, t = std::move(t)](Room& r) { r.Command(id, cmd, rid, t); });
    });
  });
}

void Dispatcher::OnServerBan(Session& s, const moderation::ParsedCommand& cmd,
                             const std::string& rid) {
  using moderation::CommandKind;
  if (!moderation::MayUse(ServerRoleOf(s), cmd.kind)) {
    return Error(s, proto::PERMISSION_DENIED, "server bans are for server staff", rid);
  }
  auto target = moderation::CanonicalBanTarget(cmd.target);
  if (!target.ok()) {
    return Error(s, proto::INVALID_PARAMETERS, std::string(target.status().message()), rid);
  }
  Cluster& server = shard_->cluster();
  const int64_t now = server.clock().UnixMs();
  moderation::ServerBan ban;
  ban.target = *target;
  ban.reason = cmd.reason;
  ban.actor = s.user().user_id();
  ban.created_unix_ms = now;
  ban.until_unix_ms =
      cmd.duration_ms && *cmd.duration_ms != moderation::kPermanent ? now + *cmd.duration_ms : 0;
  moderation::AuditRecord rec;
  rec.unix_ms = now;
  rec.actor = ban.actor;
  rec.action = cmd.kind == CommandKind::kServerBan ? moderation::AuditAction::kServerBan
                                                   : moderation::AuditAction::kServerUnban;
  rec.target = ban.target;
  rec.reason = ban.reason;
  rec.until_unix_ms = ban.until_unix_ms;
  const bool add = cmd.kind == CommandKind::kServerBan;
  auto status = std::make_shared<absl::Status>();
  Cluster* srv = &server;
  Shard* shard = shard_;
  SessionId id = s.id();
  std::string name(moderation::CommandName(cmd.kind));
  bool queued = server.RunStorage(
      *shard_,
      [ban, rec, add, status, srv](store::Store& st) {
        *status = add ? st.AddServerBan(ban) : st.RemoveServerBan(ban.target);
        if (status->ok()) *status = st.AppendAudit(rec);
        // Publish before acknowledging: the next upgrade on any shard sees the ban.
        if (status->ok()) srv->RepublishBans(st);
      },
      [shard, srv, status, id, rid, name, ban, target = ban.target, actor = ban.actor, add] {
        Session* sess = shard->FindSession(id);
        if (!status->ok()) {
          if (sess) {
            proto::ErrorCode code =
                absl::IsNotFound(*status) ? proto::NOT_FOUND : proto::INTERNAL_ERROR;
            sess->Send(MakeFrame(MakeError(code, store::ClientText(*status), rid)), false);
          }
          return;
        }
        srv->log().Warn(add ? "ban.add" : "ban.lift", {{"target", target}, {"actor", actor}});
        // Every other node applies it too (rooms across nodes; nothing without Redis).
        shard->OnSocial([ban, add](Social& social) { social.PublishServerBan(ban, add); });
        if (add) {
          for (int i = 0; i < srv->shard_count(); ++i) {
            Shard& t = srv->shard(i);
            t.Post([&t] { t.CloseBannedSessions(); });
          }
        }
        if (sess) {
          proto::ClientMessage out;
          out.mutable_command_result()->set_command(name);
          out.mutable_command_result()->set_ok(true);
          out.mutable_command_result()->add_lines(name + " " + target + ": done");
          out.set_request_id(rid);
          StampType(&out);
          sess->Send(MakeFrame(out), false);
        }
      });
  if (!queued) RateLimited(s, metrics::RateBucket::kBusy, "server busy, try again", rid);
}

}  // namespace tutti::server
