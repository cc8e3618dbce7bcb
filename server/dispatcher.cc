#include "server/dispatcher.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include <google/protobuf/arena.h>

#include "server/command_target.h"
#include "server/envelope.h"
#include "server/midi_intake.h"
#include "server/moderation/ban_list.h"
#include "server/moderation/permissions.h"
#include "server/password.h"
#include "server/room.h"
#include "server/room_directory.h"
#include "server/room_info_request.h"
#include "server/room_list.h"
#include "server/server.h"
#include "server/server_command_params.h"
#include "server/shard.h"
#include "server/store/client_text.h"
#include "server/text.h"
#include "server/token_refresh.h"
#include "server/version.h"

namespace tutti::server {
namespace {

bool ValidColor(const std::string& c) {
  if (c.empty()) return true;
  if (c.size() != 7 || c[0] != '#') return false;
  for (size_t i = 1; i < 7; ++i) {
    char ch = c[i];
    bool hex = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
    if (!hex) return false;
  }
  return true;
}

struct ProcessUsage {
  double cpu_seconds = 0;
  uint64_t rss_bytes = 0;
};

// This process's CPU time and resident memory, from /proc (Linux).
ProcessUsage ReadProcessUsage() {
  ProcessUsage u;
  if (FILE* f = std::fopen("/proc/self/stat", "r")) {
    char buf[1024];
    size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
    std::fclose(f);
    buf[n] = 0;
    // Fields after the command name (which may hold spaces) start past the last ')'.
    const char* p = std::strrchr(buf, ')');
    unsigned long utime = 0, stime = 0;
    long rss_pages = 0;
    if (p && std::sscanf(p + 2,
                         "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d "
                         "%*d %*u %*u %ld",
                         &utime, &stime, &rss_pages) == 3) {
      const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
      u.cpu_seconds = static_cast<double>(utime + stime) / tick;
      u.rss_bytes = static_cast<uint64_t>(rss_pages) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    }
  }
  return u;
}

}  // namespace

Dispatcher::Dispatcher(Shard* shard) : shard_(shard) {}

void Dispatcher::Reply(Session& s, proto::ClientMessage msg, const std::string& request_id) {
  msg.set_request_id(request_id);
  StampType(&msg);
  s.Send(MakeFrame(msg), false);
}

void Dispatcher::Error(Session& s, proto::ErrorCode code, const std::string& text,
                       const std::string& request_id) {
  s.Send(MakeFrame(MakeError(code, text, request_id)), false);
}

void Dispatcher::Malformed(Session& s, const std::string& why, const std::string& rid) {
  ++shard_->mutable_counters().malformed;
  // Garbage costs the sender: a few mistakes are answered, a stream of them is closed.
  if (++s.malformed_strikes >= shard_->server().config().malformed_strikes) {
    s.Close(kClosePolicy, "too many malformed messages");
    return;
  }
  Error(s, proto::MALFORMED_MESSAGE, why, rid);
}

bool Dispatcher::TakeRequest(Session& s, const std::string& rid) {
  if (s.request_bucket.TryTake(1, shard_->NowUs())) return true;
  Error(s, proto::RATE_LIMITED, "too many requests", rid);
  return false;
}

void Dispatcher::SendWelcome(Session& s) {
  const ServerConfig& cfg = shard_->server().config();
  proto::ClientMessage msg;
  auto* w = msg.mutable_welcome();
  *w->mutable_user() = s.user();
  w->set_server_time(shard_->NowUs());
  w->set_unix_time_ms(shard_->server().clock().UnixMs());
  if (!s.identity().is_guest) {
    w->set_session_expires_unix_ms(
        SessionCloseAtMs(s.identity().token_exp_s, shard_->server().config().token_leeway_s));
  }
  w->set_server_version(kServerVersion);
  w->set_shard(static_cast<uint32_t>(shard_->index()));
  auto* l = w->mutable_limits();
  l->set_max_frame_bytes(static_cast<uint32_t>(cfg.max_frame_bytes));
  l->set_max_chat_length(static_cast<uint32_t>(cfg.max_chat_length));
  l->set_chat_messages_per_second(cfg.chat_per_second);
  l->set_chat_burst(static_cast<uint32_t>(cfg.chat_burst));
  l->set_notes_per_second(cfg.notes_per_second);
  l->set_note_burst(static_cast<uint32_t>(cfg.note_burst));
  l->set_joins_per_second(cfg.joins_per_second);
  l->set_join_burst(static_cast<uint32_t>(cfg.join_burst));
  l->set_idle_timeout_ms(static_cast<uint32_t>(cfg.idle_timeout_ms));
  l->set_heartbeat_interval_ms(static_cast<uint32_t>(cfg.heartbeat_interval_ms));
  l->set_max_users_per_room(static_cast<uint32_t>(cfg.max_users_per_room));
  l->set_max_events_per_midi_message(static_cast<uint32_t>(cfg.max_midi_messages));
  Reply(s, std::move(msg), "");
}

void Dispatcher::Handle(Session& s, const std::string& payload, bool binary, int64_t arrival_us) {
  s.last_activity_us = arrival_us;
  if (!binary) return Malformed(s, "binary protobuf frames only");
  // Decoding into a stack-backed arena: no heap allocation for ordinary messages.
  alignas(16) char block[4096];
  google::protobuf::ArenaOptions options;
  options.initial_block = block;
  options.initial_block_size = sizeof(block);
  google::protobuf::Arena arena(options);
  auto* msg = google::protobuf::Arena::CreateMessage<proto::ServerMessage>(&arena);
  if (!msg->ParseFromString(payload)) return Malformed(s, "not a ServerMessage");
  if (!TypeMatches(*msg)) {
    return Malformed(s, "message_type does not match the message", msg->request_id());
  }
  if (msg->request_id().size() > shard_->server().config().max_request_id_length) {
    return Error(s, proto::INVALID_PARAMETERS, "request_id is too long", "");
  }
  Dispatch(s, *msg, arrival_us);
}

void Dispatcher::Dispatch(Session& s, const proto::ServerMessage& msg, int64_t arrival_us) {
  const std::string& rid = msg.request_id();
  using M = proto::ServerMessage;
  switch (msg.message_case()) {
    case M::kHeartbeatMessage:
      return OnHeartbeat(s, msg.heartbeat_message(), arrival_us, rid);
    case M::kMidiMessage:
      return OnMidi(s, msg.midi_message(), arrival_us, rid);
    case M::kRoomChatMessage:
      return OnChat(s, msg.room_chat_message(), rid);
    case M::kAvatarCommand:
      return OnAvatar(s, msg.avatar_command(), rid);
    case M::kJoinRoomByName:
      return OnJoinByName(s, msg.join_room_by_name().room_name(),
                          msg.join_room_by_name().password(), rid, false);
    case M::kCreateRoomCommand:
      return OnCreate(s, msg.create_room_command(), rid, false);
    case M::kJoinNextAvailableLobby:
      return OnLobby(s, rid);
    case M::kLeaveRoom:
      return OnLeave(s, rid);
    case M::kGetRoomList:
      return OnRoomList(s, rid);
    case M::kGetRoomInfo:
      if (!TakeRequest(s, rid)) return;
      return RequestRoomInfo(*shard_, s, msg.get_room_info(), rid);
    case M::kSubscribeRoomList:
      if (!TakeRequest(s, rid)) return;
      return shard_->room_feed().Subscribe(s.id(), rid);
    case M::kUnsubscribeRoomList:
      if (!TakeRequest(s, rid)) return;
      return shard_->room_feed().Unsubscribe(s.id(), rid);
    case M::kUpdateRoomCommand:
      return OnUpdate(s, msg.update_room_command(), rid);
    case M::kUserStatusUpdate:
      return OnStatus(s, msg.user_status_update(), rid);
    case M::kPrivateMessage:
      return OnPrivateMessage(s, msg.private_message(), rid);
    case M::kServerCommand:
      return OnServerCommand(s, msg.server_command(), arrival_us, rid);
    case M::kRoomChatServerCommand:
      return OnServerChatCommand(s, msg.room_chat_server_command(), rid);
    case M::kFriendRequest: {
      if (!TakeRequest(s, rid)) return;
      Server* server = &shard_->server();
      SessionId id = s.id();
      std::string user_id = s.user().user_id();
      bool guest = s.identity().is_guest;
      proto::FriendRequest req = msg.friend_request();
      server->shard(0).Post([server, id, user_id, guest, req, rid] {
        server->social().Friend(id, user_id, guest, req, rid);
      });
      return;
    }
    case M::MESSAGE_NOT_SET:
      return Malformed(s, "empty ServerMessage");
  }
}

// --- heartbeat / clock sync --------------------------------------------------------------

void Dispatcher::OnHeartbeat(Session& s, const proto::HeartbeatMessage& hb, int64_t arrival_us,
                             const std::string& rid) {
  // Clock-sync bursts (a handful of pings in the first second) fit the request bucket;
  // a heartbeat flood does not, and each refused one costs only a small error.
  if (!TakeRequest(s, rid)) return;
  if (hb.has_clock()) s.clock = hb.clock();
  proto::ClientMessage out;
  auto* r = out.mutable_heartbeat_message();
  r->set_timestamp(hb.timestamp());
  r->set_server_receive_time(arrival_us);
  r->set_server_send_time(shard_->NowUs());
  Reply(s, std::move(out), rid);
}

// --- rooms ---------------------------------------------------------------------------------

JoinRequest Dispatcher::JoinRequestFor(Session& s, const std::string& rid) {
  JoinRequest j;
  j.session = s.id();
  j.user = s.user();
  j.server_admin = s.identity().is_admin;
  j.server_moderator = s.identity().is_moderator;
  j.request_id = rid;
  return j;
}

bool Dispatcher::AdmitJoin(Session& s, const RoomRequest& req, const std::string& rid) {
  if (!s.joining_room_id.empty()) {
    Error(s, proto::WRONG_STATE, "a join is already in progress", rid);
    return false;
  }
  if (!s.room_id.empty() && s.room_id == req.room_id && req.kind != RoomRequest::kLobby) {
    Error(s, proto::WRONG_STATE, "already in this room", rid);
    return false;
  }
  if (!s.join_bucket.TryTake(1, shard_->NowUs())) {
    Error(s, proto::RATE_LIMITED, "too many room joins", rid);
    return false;
  }
  // From here until the room answers, another join is refused.
  s.joining_room_id = req.room_id;
  s.joining_request_id = rid;
  return true;
}

void Dispatcher::SendJoin(RoomRequest req) {
  // The current room is left only once the new one has accepted (Shard::MemberJoined):
  // a refused join leaves the user where they were.
  Shard& home = shard_->server().RoomHome(req.room_id);
  home.Post([&home, req = std::move(req)]() mutable { home.HandleRoomRequest(std::move(req)); });
}

bool Dispatcher::BeginJoin(Session& s, RoomRequest req, const std::string& rid) {
  if (!AdmitJoin(s, req, rid)) return false;
  SendJoin(std::move(req));
  return true;
}

void Dispatcher::OnJoinByName(Session& s, const std::string& name, const std::string& password,
                              const std::string& rid, bool create_if_missing) {
  const ServerConfig& cfg = shard_->server().config();
  RoomRequest req;
  req.room_id = CanonicalRoomId(name, cfg.max_room_name_length);
  if (req.room_id.empty()) return Error(s, proto::INVALID_PARAMETERS, "room name is empty", rid);
  if (password.size() > cfg.max_password_length) {
    return Error(s, proto::INVALID_PARAMETERS, "password is too long", rid);
  }
  if (int lobby = LobbyIndexOf(req.room_id); lobby > 0) {
    // Lobby names are reserved on every path: "Lobby" by name (join or create-or-join)
    // is a lobby join, never an ordinary owned room (which could then be locked).
    req.kind = RoomRequest::kLobby;
    req.lobby_index = lobby;
    req.join = JoinRequestFor(s, rid);
    BeginJoin(s, std::move(req), rid);
    return;
  }
  if (create_if_missing) {
    proto::CreateRoomCommand cmd;
    cmd.set_room_name(name);
    cmd.set_password(password);
    return OnCreate(s, cmd, rid, /*join_if_exists=*/true);  // no settings: the defaults
  }
  req.kind = RoomRequest::kJoin;
  req.password = password;
  req.join = JoinRequestFor(s, rid);
  BeginJoin(s, std::move(req), rid);
}

void Dispatcher::OnCreate(Session& s, const proto::CreateRoomCommand& cmd, const std::string& rid,
                          bool join_if_exists) {
  const ServerConfig& cfg = shard_->server().config();
  if (cmd.room_name().size() > cfg.max_room_name_length * 4) {
    return Error(s, proto::INVALID_PARAMETERS, "room name is too long", rid);
  }
  RoomRequest req;
  req.kind = join_if_exists ? RoomRequest::kCreateOrJoin : RoomRequest::kCreate;
  req.room_name = CleanName(cmd.room_name(), cfg.max_room_name_length);
  req.room_id = CanonicalRoomId(cmd.room_name(), cfg.max_room_name_length);
  if (req.room_id.empty()) return Error(s, proto::INVALID_PARAMETERS, "room name is empty", rid);
  if (LobbyIndexOf(req.room_id) > 0 && !join_if_exists) {
    return Error(s, proto::ALREADY_EXISTS, "lobby names are reserved", rid);
  }
  if (cmd.room_type() == proto::LOBBY) {
    return Error(s, proto::INVALID_PARAMETERS, "lobbies are created by the server", rid);
  }
  if (cmd.password().size() > cfg.max_password_length) {
    return Error(s, proto::INVALID_PARAMETERS, "password is too long", rid);
  }
  if (cmd.settings().max_users() < 0) {
    return Error(s, proto::INVALID_PARAMETERS, "max_users must not be negative", rid);
  }
  req.room_type = cmd.room_type();
  req.settings = cmd.settings();
  if (!cmd.has_settings()) {
    // No settings at all is "the usual room", not "every switch off" (proto3's defaults):
    // chat on and guests welcome, as in a lobby. Settings that are sent are taken as sent.
    req.settings.set_allow_chat(true);
    req.settings.set_allow_guests(true);
  }
  req.settings.set_welcome_message(
      CleanText(cmd.settings().welcome_message(), cfg.max_chat_length, true));
  req.password = cmd.password();
  req.join = JoinRequestFor(s, rid);
  if (cmd.password().empty()) {
    BeginJoin(s, std::move(req), rid);
    return;
  }
  // Admitted (rate limit, one join at a time) before the costly hash, so one client's
  // flood of password creates cannot fill the shared slow-work pool. Hash off the event
  // loop, then continue on this shard.
  if (!AdmitJoin(s, req, rid)) return;
  Shard* shard = shard_;
  SessionId id = s.id();
  auto shared = std::make_shared<RoomRequest>(std::move(req));
  bool queued = shard_->server().PostSlow([shard, id, shared, rid] {
    shared->password_hash = HashPassword(shared->password);
    shard->Post([shard, id, shared, rid] {
      Session* sess = shard->FindSession(id);
      if (!sess) return;  // gone before the room heard of it: nothing to undo
      if (shared->password_hash.empty()) {
        sess->joining_room_id.clear();
        sess->Send(MakeFrame(MakeError(proto::INTERNAL_ERROR, "could not hash password", rid)),
                   false);
        return;
      }
      shard->dispatcher().SendJoin(std::move(*shared));
    });
  });
  if (!queued) {
    s.joining_room_id.clear();
    Error(s, proto::RATE_LIMITED, "server busy, try again", rid);
  }
}

void Dispatcher::OnLobby(Session& s, const std::string& rid) {
  RoomRequest req;
  req.kind = RoomRequest::kLobby;
  req.lobby_index = 1;
  req.room_id = CanonicalRoomId(LobbyName(1), 64);
  req.join = JoinRequestFor(s, rid);
  BeginJoin(s, std::move(req), rid);
}

void Dispatcher::OnLeave(Session& s, const std::string& rid) {
  if (s.room_id.empty()) return Error(s, proto::WRONG_STATE, "not in a room", rid);
  // Each leave tells the whole room; a leave/join loop must not become a room-wide flood.
  if (!s.leave_bucket.TryTake(1, shard_->NowUs())) {
    return Error(s, proto::RATE_LIMITED, "too many leaves, slow down", rid);
  }
  std::string room_id = std::move(s.room_id);
  s.room_id.clear();
  Shard& home = shard_->server().RoomHome(room_id);
  SessionId id = s.id();
  home.Post([&home, room_id, id, rid] {
    if (Room* r = home.FindRoom(room_id)) r->Leave(id, "left", rid);
  });
}

void Dispatcher::OnRoomList(Session& s, const std::string& rid) {
  if (!TakeRequest(s, rid)) return;
  // Gather from every shard; the merge happens here, on the asking shard only.
  struct Gather {
    int pending;
    std::vector<proto::RoomInfo> rooms;
    proto::ClientMessage msg;
  };
  Server& server = shard_->server();
  auto gather = std::make_shared<Gather>();
  gather->pending = server.shard_count();
  Shard* origin = shard_;
  SessionId id = s.id();
  const size_t cap = server.config().room_list_limit;
  for (int i = 0; i < server.shard_count(); ++i) {
    Shard& target = server.shard(i);
    target.Post([&target, origin, gather, id, rid, cap] {
      std::vector<proto::RoomInfo> rooms = target.ListedRooms();
      origin->Post([origin, gather, id, rid, cap, rooms = std::move(rooms)] {
        for (const auto& r : rooms) gather->rooms.push_back(r);
        if (--gather->pending > 0) return;
        // The same order and cap as the live list (room_directory.h).
        SortAndCap(&gather->rooms, cap);
        auto* list = gather->msg.mutable_room_list();
        for (auto& r : gather->rooms) *list->add_rooms() = std::move(r);
        gather->msg.set_request_id(rid);
        StampType(&gather->msg);
        origin->SendLocal(id, MakeFrame(gather->msg));
      });
    });
  }
}

void Dispatcher::OnUpdate(Session& s, const proto::UpdateRoomCommand& cmd, const std::string& rid) {
  if (s.room_id.empty()) return Error(s, proto::WRONG_STATE, "not in a room", rid);
  if (!TakeRequest(s, rid)) return;
  const ServerConfig& cfg = shard_->server().config();
  if (cmd.set_password() && cmd.password().size() > cfg.max_password_length) {
    return Error(s, proto::INVALID_PARAMETERS, "password is too long", rid);
  }
  proto::UpdateRoomCommand clean = cmd;
  if (clean.has_settings()) {
    clean.mutable_settings()->set_welcome_message(
        CleanText(cmd.settings().welcome_message(), cfg.max_chat_length, true));
  }
  Server& server = shard_->server();
  Shard& home = server.RoomHome(s.room_id);
  std::string room_id = s.room_id;
  SessionId id = s.id();
  auto post = [&home, room_id, id, rid](proto::UpdateRoomCommand c, std::string hash) {
    home.Post([&home, room_id, id, rid, c = std::move(c), hash = std::move(hash)] {
      if (Room* r = home.FindRoom(room_id)) r->Update(id, c, hash, rid);
    });
  };
  if (!clean.set_password() || clean.password().empty()) return post(std::move(clean), "");
  auto shared = std::make_shared<proto::UpdateRoomCommand>(std::move(clean));
  Shard* shard = shard_;
  bool queued = server.PostSlow([shared, post, shard, id, rid] {
    std::string hash = HashPassword(shared->password());
    shared->clear_password();
    if (hash.empty()) {
      // Never post an empty hash: it would clear the room's password.
      shard->Post([shard, id, rid] {
        shard->SendLocal(
            id, MakeFrame(MakeError(proto::INTERNAL_ERROR, "could not hash password", rid)));
      });
      return;
    }
    post(std::move(*shared), std::move(hash));
  });
  if (!queued) Error(s, proto::RATE_LIMITED, "server busy, try again", rid);
}

void Dispatcher::OnSnapshot(Session& s, const std::string& rid) {
  if (s.room_id.empty()) return Error(s, proto::WRONG_STATE, "not in a room", rid);
  if (!TakeRequest(s, rid)) return;
  Shard& home = shard_->server().RoomHome(s.room_id);
  std::string room_id = s.room_id;
  SessionId id = s.id();
  home.Post([&home, room_id, id, rid] {
    if (Room* r = home.FindRoom(room_id)) r->SendSnapshot(id, rid);
  });
}

// --- chat --------------------------------------------------------------------------------------

void Dispatcher::OnChat(Session& s, const proto::RoomChatMessage& chat, const std::string& rid) {
  if (!s.chat_bucket.TryTake(1, shard_->NowUs())) {
    return Error(s, proto::RATE_LIMITED, "you are sending messages too fast", rid);
  }
  const ServerConfig& cfg = shard_->server().config();
  if (chat.message().size() > cfg.max_chat_length * 4) {
    return Error(s, proto::INVALID_PARAMETERS, "message is too long", rid);
  }
  std::string text = CleanText(chat.message(), cfg.max_chat_length, false);
  if (text.empty()) return Error(s, proto::INVALID_PARAMETERS, "message is empty", rid);
  if (moderation::IsCommandLine(text)) return OnCommandLine(s, text, rid);
  if (s.room_id.empty()) return Error(s, proto::WRONG_STATE, "not in a room", rid);
  text = std::string(moderation::StripCommandEscape(text));
  Shard& home = shard_->server().RoomHome(s.room_id);
  std::string room_id = s.room_id;
  SessionId id = s.id();
  proto::ChatMessageType type = chat.message_type();
  home.Post([&home, room_id, id, text = std::move(text), type, rid] {
    if (Room* r = home.FindRoom(room_id)) r->Chat(id, text, type, rid);
  });
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
    return Error(s, proto::RATE_LIMITED, "you are sending commands too fast", rid);
  }
  if (cmd.command().empty() || cmd.command().size() > 32 || cmd.target_user().size() > 128 ||
      cmd.reason().size() > 512 || cmd.duration().size() > 16) {
    return Error(s, proto::INVALID_PARAMETERS, "command, target, duration or reason out of bounds",
                 rid);
  }
  const ServerConfig& cfg = shard_->server().config();
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
      if (s.room_id.empty()) {
        if (s.identity().is_admin || s.identity().is_moderator) return OnServerLog(s, cmd, rid);
        return Error(s, proto::WRONG_STATE, "join a room first: /log acts on a room", rid);
      }
      break;
    case CommandKind::kHelp:
      if (s.room_id.empty()) {
        return CommandResult(s, "help", true,
                             cmd.target.empty() ? moderation::HelpLines(role)
                                                : moderation::HelpForCommand(role, cmd.target),
                             rid);
      }
      break;
    default:
      if (s.room_id.empty()) {
        return Error(s, proto::WRONG_STATE, "join a room first: /" + cmd.name + " acts on a room",
                     rid);
      }
      break;
  }
  Server* server = &shard_->server();
  Shard& home = server->RoomHome(s.room_id);
  std::string room_id = s.room_id;
  SessionId id = s.id();
  if (!CommandNamesUser(cmd.kind) || cmd.target.empty()) {
    home.Post([&home, room_id, id, cmd, rid] {
      if (Room* r = home.FindRoom(room_id)) r->Command(id, cmd, rid);
    });
    return;
  }
  // The target may be someone outside the room: shard 0 knows who is online and can
  // read profiles; the room then decides (members first).
  server->shard(0).Post([server, &home, room_id, id, cmd, rid] {
    ResolveCommandTarget(*server, cmd.target, [&home, room_id, id, cmd, rid](CommandTarget t) {
      home.Post([&home, room_id, id, cmd, rid, t = std::move(t)] {
        if (Room* r = home.FindRoom(room_id)) r->Command(id, cmd, rid, t);
      });
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
  Server& server = shard_->server();
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
  Server* srv = &server;
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
      [shard, srv, status, id, rid, name, target = ban.target, add] {
        Session* sess = shard->FindSession(id);
        if (!status->ok()) {
          if (sess) {
            proto::ErrorCode code =
                absl::IsNotFound(*status) ? proto::NOT_FOUND : proto::INTERNAL_ERROR;
            sess->Send(MakeFrame(MakeError(code, store::ClientText(*status), rid)), false);
          }
          return;
        }
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
  if (!queued) Error(s, proto::RATE_LIMITED, "server busy, try again", rid);
}

// --- MIDI -------------------------------------------------------------------------------------

void Dispatcher::OnMidi(Session& s, const proto::MidiMessage& midi, int64_t arrival_us,
                        const std::string& rid) {
  if (s.room_id.empty()) return Error(s, proto::WRONG_STATE, "not in a room", rid);
  MidiIntakeResult in =
      TakeMidi(midi, shard_->server().config(), s.clock, arrival_us, s.id(), rid, &s.midi);
  if (!in.ok()) return Error(s, in.code, in.reason, rid);
  Shard& home = shard_->server().RoomHome(s.room_id);
  std::string room_id = s.room_id;
  home.Post([&home, room_id, relay = std::move(in.relay)]() mutable {
    if (Room* r = home.FindRoom(room_id)) r->Midi(std::move(relay));
  });
}

// --- avatars and status -------------------------------------------------------------------------

void Dispatcher::OnAvatar(Session& s, const proto::AvatarCommand& cmd, const std::string& rid) {
  const auto& d = cmd.avatar_data();
  if (cmd.action() == proto::UPDATE_POSITION) {
    // A position is a place in a room; a look is part of the profile and may be set before
    // joining any (a client's settings screen), so only positions need a room.
    if (s.room_id.empty()) return Error(s, proto::WRONG_STATE, "not in a room", rid);
    if (!std::isfinite(d.x()) || !std::isfinite(d.y()) || d.x() < 0 || d.x() > 1 || d.y() < 0 ||
        d.y() > 1) {
      return Error(s, proto::INVALID_PARAMETERS, "position must be within 0..1", rid);
    }
    // Positions are droppable: past the rate they are shed silently, as the next move
    // supersedes them anyway.
    if (!s.avatar_bucket.TryTake(1, shard_->NowUs())) return;
  } else {
    if (!TakeRequest(s, rid)) return;
    if (cmd.action() == proto::UPDATE_STATUS) {
      // Status has one path whatever message sets it: through Social (friends see it,
      // INVISIBLE hides presence) and to the room as a UserStatusUpdate.
      proto::UserStatusUpdate update;
      update.set_status(d.status());
      update.set_status_text(d.status_text());
      return ApplyStatus(s, update, rid);
    }
    if (!ValidColor(d.color()) || d.appearance().size() > 256) {
      return Error(s, proto::INVALID_PARAMETERS, "invalid avatar data", rid);
    }
  }
  proto::AvatarCommand clean = cmd;
  if (cmd.action() != proto::UPDATE_POSITION) {
    // A look changes colour and appearance only: the status stays what the status path
    // set, and the room is shown it as it shows status (INVISIBLE as ONLINE).
    proto::AvatarData* mine = s.mutable_user().mutable_avatar();
    mine->set_color(d.color());
    mine->set_appearance(d.appearance());
    *clean.mutable_avatar_data() = *mine;
    if (!s.room_id.empty() && mine->status() == proto::INVISIBLE) {
      clean.mutable_avatar_data()->set_status(proto::ONLINE);
    }
    // The look is part of the profile: kept in the store for the next visit.
    Server* server = &shard_->server();
    SessionId id = s.id();
    std::string user_id = s.user().user_id();
    proto::AvatarData avatar = *mine;
    server->shard(0).Post(
        [server, id, user_id, avatar] { server->social().AppearanceChanged(id, user_id, avatar); });
  } else {
    clean.mutable_avatar_data()->clear_status();
    clean.mutable_avatar_data()->clear_status_text();
  }
  if (s.room_id.empty()) {
    // Nobody to relay to: the sender gets its command back as confirmation, as the room
    // would show it (the room's own relay skips the sender).
    proto::ClientMessage out;
    auto* a = out.mutable_avatar_command();
    *a = std::move(clean);
    a->set_user_id(s.user().user_id());
    a->set_session_id(s.id());
    return Reply(s, std::move(out), rid);
  }
  Shard& home = shard_->server().RoomHome(s.room_id);
  std::string room_id = s.room_id;
  SessionId id = s.id();
  home.Post([&home, room_id, id, clean = std::move(clean)] {
    if (Room* r = home.FindRoom(room_id)) r->Avatar(id, clean);
  });
}

void Dispatcher::OnStatus(Session& s, const proto::UserStatusUpdate& update,
                          const std::string& rid) {
  if (!TakeRequest(s, rid)) return;
  ApplyStatus(s, update, rid);
}

void Dispatcher::ApplyStatus(Session& s, const proto::UserStatusUpdate& update,
                             const std::string& rid) {
  if (update.status() == proto::OFFLINE || !proto::UserStatus_IsValid(update.status())) {
    return Error(s, proto::INVALID_PARAMETERS, "status must be ONLINE, AWAY, BUSY or INVISIBLE",
                 rid);
  }
  proto::UserStatusUpdate clean;
  clean.set_status(update.status());
  clean.set_status_text(CleanText(update.status_text(), 128, false));
  clean.set_user_id(s.user().user_id());
  clean.set_username(s.user().username());
  s.mutable_user().mutable_avatar()->set_status(clean.status());
  s.mutable_user().mutable_avatar()->set_status_text(clean.status_text());
  {
    Server* server = &shard_->server();
    SessionId id = s.id();
    std::string user_id = s.user().user_id();
    proto::UserStatus status = clean.status();
    std::string text = clean.status_text();
    server->shard(0).Post([server, id, user_id, status, text] {
      server->social().StatusChanged(id, user_id, status, text);
    });
  }
  // Acknowledge to the sender with its own view.
  proto::ClientMessage ack;
  *ack.mutable_user_status_update() = clean;
  Reply(s, std::move(ack), rid);
  if (s.room_id.empty()) return;
  // Room members see an invisible user as plainly online: invisibility hides presence
  // from friends and lists, not from the people in the same room.
  if (clean.status() == proto::INVISIBLE) clean.set_status(proto::ONLINE);
  Shard& home = shard_->server().RoomHome(s.room_id);
  std::string room_id = s.room_id;
  SessionId id = s.id();
  home.Post([&home, room_id, id, clean = std::move(clean)] {
    if (Room* r = home.FindRoom(room_id)) r->UserStatus(id, clean);
  });
}

// --- private messages
// ------------------------------------------------------------------------------

void Dispatcher::OnPrivateMessage(Session& s, const proto::PrivateMessage& pm,
                                  const std::string& rid) {
  if (!s.chat_bucket.TryTake(1, shard_->NowUs())) {
    return Error(s, proto::RATE_LIMITED, "you are sending messages too fast", rid);
  }
  DeliverPrivateMessage(s, pm, rid);
}

void Dispatcher::DeliverPrivateMessage(Session& s, const proto::PrivateMessage& pm,
                                       const std::string& rid) {
  const ServerConfig& cfg = shard_->server().config();
  if (pm.message().size() > cfg.max_chat_length * 4 || pm.to_user_id().size() > 128) {
    return Error(s, proto::INVALID_PARAMETERS, "message is too long", rid);
  }
  std::string text = CleanText(pm.message(), cfg.max_chat_length, false);
  if (text.empty() || pm.to_user_id().empty()) {
    return Error(s, proto::INVALID_PARAMETERS, "recipient and message are required", rid);
  }
  // Routing, blocks and delivery to every session of the recipient happen in the
  // Social actor on shard 0, which knows who is online where.
  proto::PrivateMessage clean;
  clean.set_to_user_id(pm.to_user_id());
  clean.set_message(std::move(text));
  Server* server = &shard_->server();
  SessionId from = s.id();
  std::string user_id = s.user().user_id(), username = s.user().username();
  server->shard(0).Post([server, from, user_id, username, clean = std::move(clean), rid]() mutable {
    server->social().PrivateMessage(from, user_id, username, std::move(clean), rid);
  });
}

// --- seed 003 ServerCommand
// ------------------------------------------------------------------------

void Dispatcher::OnServerCommand(Session& s, const proto::ServerCommand& cmd, int64_t arrival_us,
                                 const std::string& rid) {
  auto param = [&cmd](const char* key) {
    auto it = cmd.parameters().find(key);
    return it == cmd.parameters().end() ? std::string() : it->second;
  };
  switch (cmd.commandtype()) {
    case proto::JOIN:
      return OnJoinByName(s, param("room_name"), param("password"), rid, false);
    case proto::CREATE_OR_JOIN_ROOM:
      return OnJoinByName(s, param("room_name"), param("password"), rid, true);
    case proto::LEAVE:
      return OnLeave(s, rid);
    case proto::ENTER_LOBBY:
      return OnLobby(s, rid);
    case proto::HEARTBEAT:
      return OnHeartbeat(s, proto::HeartbeatMessage(), arrival_us, rid);
    case proto::SYNC_STATE:
      return OnSnapshot(s, rid);
    case proto::GET_STATUS: {
      if (!TakeRequest(s, rid)) return;
      if (!s.identity().is_admin) {
        return Error(s, proto::PERMISSION_DENIED, "server administrators only", rid);
      }
      // Gathered from every shard like the room list.
      struct Gather {
        int pending;
        proto::ServerStatus status;
      };
      Server& server = shard_->server();
      auto g = std::make_shared<Gather>();
      g->pending = server.shard_count();
      g->status.set_shards(static_cast<uint32_t>(server.shard_count()));
      g->status.set_rooms(server.rooms());
      g->status.set_uptime_ms((shard_->NowUs() - server.started_us()) / 1000);
      ProcessUsage usage = ReadProcessUsage();
      g->status.set_cpu_seconds(usage.cpu_seconds);
      g->status.set_rss_bytes(usage.rss_bytes);
      Shard* origin = shard_;
      SessionId id = s.id();
      for (int i = 0; i < server.shard_count(); ++i) {
        Shard& t = server.shard(i);
        t.Post([&t, origin, g, id, rid] {
          uint64_t conns = t.session_count(), in = t.counters().frames_in,
                   out = t.counters().frames_out;
          origin->Post([origin, g, id, rid, conns, in, out] {
            g->status.set_connections(g->status.connections() + conns);
            g->status.set_frames_in(g->status.frames_in() + in);
            g->status.set_frames_out(g->status.frames_out() + out);
            if (--g->pending > 0) return;
            proto::ClientMessage msg;
            *msg.mutable_server_status() = g->status;
            msg.set_request_id(rid);
            StampType(&msg);
            origin->SendLocal(id, MakeFrame(msg));
          });
        });
      }
      return;
    }
    case proto::LIST_BANS:
      if (!TakeRequest(s, rid)) return;
      return OnListBans(s, cmd, rid);
    case proto::UPDATE_SETTINGS: {
      auto update = UpdateRoomFromParameters(cmd.parameters());
      if (update.ok()) return OnUpdate(s, *update, rid);
      if (!TakeRequest(s, rid)) return;
      return Error(s, proto::INVALID_PARAMETERS, std::string(update.status().message()), rid);
    }
    case proto::RECONNECT: {
      // Session resume does not exist yet: a documented refusal the client can act on.
      if (!TakeRequest(s, rid)) return;
      proto::ClientMessage refusal = MakeError(
          proto::NOT_FOUND, "no session to resume: reconnect, rejoin and send SYNC_STATE", rid);
      (*refusal.mutable_error_message()->mutable_error_details())["reason"] = "resume_unavailable";
      return Reply(s, std::move(refusal), rid);
    }
    case proto::UPDATE_PERMISSIONS:
      if (!TakeRequest(s, rid)) return;
      return RefreshSessionToken(*shard_, s, param("token"), rid);
    default:
      if (!TakeRequest(s, rid)) return;
      return Error(s, proto::UNSUPPORTED, "use the dedicated message for this command", rid);
  }
}

}  // namespace tutti::server
