#include "server/room.h"

#include <algorithm>
#include <utility>

#include "server/envelope.h"

namespace tutti::server {

Room::Room(std::string room_id, std::string room_name, proto::RoomType type,
           proto::RoomSettings settings, std::string password_hash, std::string owner_id,
           const ServerConfig* config, RoomHost* host)
    : id_(std::move(room_id)),
      name_(std::move(room_name)),
      type_(type),
      settings_(std::move(settings)),
      password_hash_(std::move(password_hash)),
      mod_(std::move(owner_id)),
      config_(config),
      host_(host) {}

int Room::capacity() const {
  int limit = is_lobby() ? config_->lobby_max_users : config_->max_users_per_room;
  int wanted = settings_.max_users();
  return (wanted > 0 && wanted < limit) ? wanted : limit;
}

proto::RoomInfo Room::Info() const {
  proto::RoomInfo info;
  info.set_room_id(id_);
  info.set_room_name(name_);
  info.set_room_type(type_);
  info.set_owner_id(mod_.owner_id());
  *info.mutable_settings() = settings_;
  info.mutable_settings()->set_max_users(capacity());
  info.set_user_count(static_cast<int32_t>(members_.size()));
  info.set_has_password(has_password());
  info.set_topic(topic_);
  return info;
}

proto::UserInfo Room::UserView(const Member& m) const {
  proto::UserInfo u = m.user;
  if (IsOwner(m)) {
    u.add_roles(proto::ROLE_ROOM_OWNER);
  } else if (mod_.IsModerator(m.user.user_id())) {
    u.add_roles(proto::ROLE_ROOM_MODERATOR);
  }
  return u;
}

moderation::RoomRole Room::ServerRoleOf(const Member& m) {
  if (m.server_admin) return moderation::RoomRole::kServerAdmin;
  if (m.server_moderator) return moderation::RoomRole::kServerModerator;
  return m.user.is_guest() ? moderation::RoomRole::kGuest : moderation::RoomRole::kMember;
}

moderation::RoomRole Room::RoleOf(const Member& m) const {
  return mod_.RoleOf(m.user.user_id(), ServerRoleOf(m));
}

proto::HeldNotesSnapshot Room::HeldView(SessionId s, const Member& m) const {
  proto::HeldNotesSnapshot snap;
  snap.set_user_id(m.user.user_id());
  snap.set_session_id(s);
  snap.set_sequence(m.last_sequence);
  snap.set_server_time(host_->NowUs());
  m.held.ForEachHeld([&snap](uint8_t channel, uint8_t note, uint8_t velocity) {
    auto* n = snap.add_notes();
    n->set_channel(channel);
    n->set_note(note);
    n->set_velocity(velocity);
  });
  snap.set_sustain_channels(m.held.sustain_mask());
  return snap;
}

void Room::BroadcastFrame(const Frame& frame, SessionId exclude, bool droppable) {
  for (int shard = 0; shard < kMaxShards; ++shard) {
    if (shard_members_[shard] > 0) host_->DeliverToShard(shard, id_, frame, exclude, droppable);
  }
}

void Room::Broadcast(const proto::ClientMessage& msg, SessionId exclude, bool droppable) {
  BroadcastFrame(MakeFrame(msg), exclude, droppable);
}

void Room::SendTo(SessionId s, proto::ClientMessage msg, const std::string& request_id) {
  msg.set_request_id(request_id);
  StampType(&msg);
  host_->SendToSession(s, MakeFrame(msg));
}

void Room::Error(SessionId s, proto::ErrorCode code, const std::string& text,
                 const std::string& request_id) {
  host_->SendToSession(s, MakeFrame(MakeError(code, text, request_id)));
}

int64_t Room::NextRoomTime() {
  // Relay order time: strictly increasing per room even if two events share a clock tick.
  last_room_time_ = std::max(host_->NowUs(), last_room_time_ + 1);
  return last_room_time_;
}

void Room::Join(const JoinRequest& req, bool password_ok) {
  auto fail = [&](proto::ErrorCode code, const std::string& text) {
    host_->JoinFailed(req.session, id_, MakeFrame(MakeError(code, text, req.request_id)));
  };
  const bool staff = req.server_admin || req.server_moderator;
  if (members_.count(req.session)) {
    fail(proto::WRONG_STATE, "already in this room");
    return;
  }
  if (!password_ok && !staff) {
    fail(proto::WRONG_PASSWORD, "wrong room password");
    return;
  }
  if (!staff && mod_.IsBanned(req.user.user_id(), host_->UnixMs())) {
    fail(proto::BANNED, "you are banned from this room");
    return;
  }
  if (full() && !staff) {
    fail(proto::ROOM_FULL, "room is full");
    return;
  }
  if (req.user.is_guest() && !settings_.allow_guests() && !is_lobby() && !staff) {
    fail(proto::PERMISSION_DENIED, "this room does not allow guests");
    return;
  }
  if (settings_.require_pro() && !req.user.is_member() && !staff) {
    fail(proto::PERMISSION_DENIED, "this room is for members only");
    return;
  }

  Member m;
  m.user = req.user;
  m.user.set_session_id(req.session);
  m.server_admin = req.server_admin;
  m.server_moderator = req.server_moderator;
  m.join_order = next_join_order_++;
  if (mod_.owner_id().empty() && !is_lobby()) {
    mod_.TransferOwnership(m.user.user_id()).IgnoreError();  // cannot fail: id non-empty
  }

  proto::ClientMessage joined;
  auto* info = joined.mutable_user_joined_room();
  info->set_room_id(id_);
  // Insert first so the announcement carries the new member's room roles.
  auto [it, inserted] = members_.emplace(req.session, std::move(m));
  ++shard_members_[ShardOfSession(req.session)];
  *info->mutable_user_info() = UserView(it->second);
  StampType(&joined);
  Broadcast(joined, req.session, /*droppable=*/false);

  proto::ClientMessage resp;
  auto* r = resp.mutable_room_joined_response();
  r->set_success(true);
  *r->mutable_room_info() = Info();
  for (const auto& [sid, member] : members_) {
    *r->add_current_users() = UserView(member);
    if (sid != req.session && !member.held.Empty()) *r->add_held_notes() = HeldView(sid, member);
  }
  for (const auto& line : history_) *r->add_chat_history() = line;
  *r->mutable_you() = UserView(it->second);
  resp.set_request_id(req.request_id);
  StampType(&resp);
  host_->MemberJoined(req.session, id_, MakeFrame(resp));
  if (!settings_.welcome_message().empty()) {
    proto::ClientMessage welcome;
    auto* line = welcome.mutable_room_chat_message();
    line->set_message(settings_.welcome_message());
    line->set_message_type(proto::SYSTEM_MESSAGE);
    line->set_server_time(host_->NowUs());
    SendTo(req.session, std::move(welcome), req.request_id);
  }
}

void Room::ReleaseHeldNotes(SessionId s, Member& m) {
  if (m.held.Empty()) return;
  // Nobody else can release these notes once their sender is gone: the server does it,
  // flagged synthetic so receivers can tell it from playing.
  std::string bytes;
  for (const auto& off : m.held.ReleaseAll()) midi::AppendBytes(off, &bytes);
  proto::ClientMessage out;
  auto* midi = out.mutable_midi_message();
  midi->set_midi_data(std::move(bytes));
  const int64_t now = host_->NowUs();
  // Never before the sender's own last event: receivers play by stamped time, and a
  // release stamped earlier than the note it releases would leave it sounding.
  midi->set_timestamp(std::max(now, m.last_event_us));
  midi->set_server_arrival_time(now);
  midi->set_room_time(NextRoomTime());
  midi->set_user_id(m.user.user_id());
  midi->set_session_id(s);
  midi->set_sequence(++m.last_sequence);
  midi->set_flags(proto::MIDI_FLAG_SYNTHETIC);
  StampType(&out);
  Broadcast(out, s, /*droppable=*/false);
}

void Room::HandOwnership() {
  // A persistent room keeps its registered owner while away. Otherwise the
  // longest-present registered member inherits the room; guests only if nobody else.
  if (persistent()) return;
  const Member* best = nullptr;
  for (const auto& [sid, m] : members_) {
    if (IsOwner(m)) return;  // another session of the owner remains
    bool better = !best || (best->user.is_guest() && !m.user.is_guest()) ||
                  (best->user.is_guest() == m.user.is_guest() && m.join_order < best->join_order);
    if (better) best = &m;
  }
  if (best) mod_.TransferOwnership(best->user.user_id()).IgnoreError();
}

void Room::Leave(SessionId session, const std::string& reason, const std::string& request_id) {
  auto it = members_.find(session);
  if (it == members_.end()) return;  // e.g. a leave that crossed a kick; nothing to undo
  RemoveMember(it, reason, request_id);
}

void Room::RemoveMember(MemberMap::iterator it, const std::string& reason,
                        const std::string& request_id) {
  const SessionId session = it->first;
  ReleaseHeldNotes(session, it->second);
  const std::string user_id = it->second.user.user_id();
  const bool was_owner = IsOwner(it->second);
  members_.erase(it);
  --shard_members_[ShardOfSession(session)];

  proto::ClientMessage notice;
  notice.mutable_room_left()->set_room_id(id_);
  notice.mutable_room_left()->set_reason(reason);
  notice.set_request_id(request_id);
  StampType(&notice);
  host_->MemberLeft(session, id_, MakeFrame(notice));

  proto::ClientMessage left;
  auto* l = left.mutable_user_left_room();
  l->set_user_id(user_id);
  l->set_session_id(session);
  l->set_room_id(id_);
  l->set_reason(reason);
  StampType(&left);
  Broadcast(left, 0, /*droppable=*/false);

  if (was_owner && !is_lobby() && !members_.empty()) {
    std::string before = mod_.owner_id();
    HandOwnership();
    if (mod_.owner_id() != before) BroadcastInfo();
  }
  if (members_.empty() && !is_lobby() && !persistent()) host_->RoomEmpty(id_);
}

void Room::BroadcastInfo() {
  proto::ClientMessage updated;
  *updated.mutable_room_updated()->mutable_room_info() = Info();
  StampType(&updated);
  Broadcast(updated, 0, /*droppable=*/false);
}

void Room::Chat(SessionId session, const std::string& text, proto::ChatMessageType type,
                const std::string& request_id) {
  auto it = members_.find(session);
  if (it == members_.end())
    return Error(session, proto::WRONG_STATE, "not in this room", request_id);
  if (mod_.IsMuted(it->second.user.user_id(), host_->UnixMs())) {
    return Error(session, proto::MUTED, "you are muted in this room", request_id);
  }
  if (!settings_.allow_chat() && RoleOf(it->second) < moderation::RoomRole::kRoomModerator) {
    return Error(session, proto::PERMISSION_DENIED, "chat is disabled in this room", request_id);
  }
  proto::ClientMessage out;
  auto* line = out.mutable_room_chat_message();
  line->set_message(text);
  // Only staff may speak as moderators; a client cannot forge system or bot lines.
  const bool staff = RoleOf(it->second) >= moderation::RoomRole::kRoomModerator;
  line->set_message_type(type == proto::MODERATOR_MESSAGE && staff ? type : proto::USER_MESSAGE);
  line->set_user_id(it->second.user.user_id());
  line->set_username(it->second.user.username());
  line->set_session_id(session);
  line->set_server_time(NextRoomTime());
  line->set_message_id(next_message_id_++);
  history_.push_back(*line);
  while (history_.size() > config_->chat_history) history_.pop_front();
  StampType(&out);
  Frame frame = MakeFrame(out);
  if (request_id.empty()) {
    BroadcastFrame(frame, 0, /*droppable=*/false);
  } else {
    // The sender's copy echoes its request id; everyone else shares one frame.
    BroadcastFrame(frame, session, /*droppable=*/false);
    SendTo(session, out, request_id);
  }
}

void Room::Midi(MidiRelay relay) {
  auto it = members_.find(relay.session);
  if (it == members_.end()) return;  // left while the batch was in flight
  Member& m = it->second;
  if (mod_.IsMuted(m.user.user_id(), host_->UnixMs())) {
    // The mute released this sender's notes; nothing more is relayed until unmuted.
    return Error(relay.session, proto::MUTED, "you are muted in this room", "");
  }
  for (const auto& msg : relay.parsed) m.held.Apply(msg);
  m.last_sequence = relay.sequence;
  int64_t last_delay = 0;
  for (const auto& [data, delay] : relay.events) last_delay = std::max<int64_t>(last_delay, delay);
  m.last_event_us = std::max(m.last_event_us, relay.stamped_us + last_delay);
  proto::ClientMessage out;
  auto* midi = out.mutable_midi_message();
  midi->set_midi_data(std::move(relay.midi_data));
  for (auto& [data, delay] : relay.events) {
    auto* e = midi->add_events();
    e->set_data(std::move(data));
    e->set_delay_us(delay);
  }
  midi->set_timestamp(relay.stamped_us);
  midi->set_server_arrival_time(relay.arrival_us);
  midi->set_room_time(NextRoomTime());
  midi->set_user_id(m.user.user_id());
  midi->set_session_id(relay.session);
  midi->set_sequence(relay.sequence);
  midi->set_flags(relay.flags);
  StampType(&out);
  Broadcast(out, relay.session, /*droppable=*/false);
}

void Room::Avatar(SessionId session, const proto::AvatarCommand& cmd) {
  auto it = members_.find(session);
  if (it == members_.end()) return;
  proto::ClientMessage out;
  auto* a = out.mutable_avatar_command();
  *a = cmd;
  a->set_user_id(it->second.user.user_id());
  a->set_session_id(session);
  if (cmd.action() != proto::UPDATE_POSITION) {
    *it->second.user.mutable_avatar() = cmd.avatar_data();
  }
  StampType(&out);
  Broadcast(out, session, /*droppable=*/cmd.action() == proto::UPDATE_POSITION);
}

void Room::UserStatus(SessionId session, const proto::UserStatusUpdate& update) {
  auto it = members_.find(session);
  if (it == members_.end()) return;
  auto* avatar = it->second.user.mutable_avatar();
  avatar->set_status(update.status());
  avatar->set_status_text(update.status_text());
  proto::ClientMessage out;
  *out.mutable_user_status_update() = update;
  out.mutable_user_status_update()->set_room_id(id_);
  StampType(&out);
  Broadcast(out, session, /*droppable=*/true);
}

void Room::Update(SessionId session, const proto::UpdateRoomCommand& cmd,
                  const std::string& new_password_hash, const std::string& request_id) {
  auto it = members_.find(session);
  if (it == members_.end())
    return Error(session, proto::WRONG_STATE, "not in this room", request_id);
  if (is_lobby())
    return Error(session, proto::PERMISSION_DENIED, "lobby settings are fixed", request_id);
  if (!IsOwner(it->second) && !it->second.server_admin) {
    return Error(session, proto::PERMISSION_DENIED, "only the room owner may change settings",
                 request_id);
  }
  // Validate everything before changing anything: a refused update changes nothing.
  if (cmd.set_room_type() &&
      (cmd.room_type() == proto::LOBBY || !proto::RoomType_IsValid(cmd.room_type()))) {
    return Error(session, proto::INVALID_PARAMETERS, "a room cannot become a lobby", request_id);
  }
  if (cmd.has_settings() && cmd.settings().max_users() < 0) {
    return Error(session, proto::INVALID_PARAMETERS, "max_users must not be negative", request_id);
  }
  if (cmd.has_settings() && cmd.settings().persistent() && !persistent() &&
      it->second.user.is_guest()) {
    return Error(session, proto::PERMISSION_DENIED, "guests cannot register rooms", request_id);
  }
  const bool was_persistent = persistent();
  if (cmd.has_settings()) {
    settings_ = cmd.settings();
  }
  if (cmd.set_password()) password_hash_ = new_password_hash;
  if (cmd.set_room_type()) type_ = cmd.room_type();
  proto::ClientMessage updated;
  *updated.mutable_room_updated()->mutable_room_info() = Info();
  StampType(&updated);
  Frame frame = MakeFrame(updated);
  BroadcastFrame(frame, session, false);
  if (!persistent() && !was_persistent) {
    SendTo(session, updated, request_id);
    return;
  }
  // A persistent room's settings are durable before the owner is told they changed
  // (and an unregistered room's record is gone).
  updated.set_request_id(request_id);
  Frame done = MakeFrame(updated);
  Frame failed =
      MakeFrame(MakeError(proto::INTERNAL_ERROR, "settings applied but not saved", request_id));
  store::RoomRecord record = Record();
  auto ok = std::make_shared<absl::Status>();
  RoomHost* host = host_;
  const bool keep = persistent();
  bool queued = host_->Storage(
      [record = std::move(record), ok, keep](store::Store& st) {
        *ok = keep ? st.SaveRoom(record) : st.DeleteRoom(record.room_id);
      },
      [host, session, done, failed, ok] {
        host->SendToSession(session, ok->ok() ? done : failed);
      });
  if (!queued) host_->SendToSession(session, failed);
}

void Room::SendSnapshot(SessionId session, const std::string& request_id) {
  if (!members_.count(session))
    return Error(session, proto::WRONG_STATE, "not in this room", request_id);
  proto::ClientMessage out;
  auto* snap = out.mutable_room_snapshot();
  *snap->mutable_room_info() = Info();
  for (const auto& [sid, m] : members_) {
    *snap->add_users() = UserView(m);
    if (!m.held.Empty()) *snap->add_held_notes() = HeldView(sid, m);
  }
  for (const auto& line : history_) *snap->add_chat_history() = line;
  snap->set_server_time(host_->NowUs());
  SendTo(session, std::move(out), request_id);
}

void Room::TickHeldNotes() {
  for (const auto& [sid, m] : members_) {
    if (m.held.Empty()) continue;
    proto::ClientMessage out;
    *out.mutable_held_notes_snapshot() = HeldView(sid, m);
    StampType(&out);
    Broadcast(out, sid, /*droppable=*/false);
  }
}

// --- moderation -----------------------------------------------------------------------

namespace {

proto::ModerationAction ActionOf(moderation::AuditAction a) {
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
  }
  return proto::MOD_KICK;
}

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

void Room::Notice(SessionId s, proto::ModerationAction action, const moderation::AuditRecord& rec) {
  proto::ClientMessage out;
  auto* n = out.mutable_moderation_notice();
  n->set_action(action);
  n->set_room_id(id_);
  n->set_target_user_id(rec.target);
  n->set_actor_user_id(rec.actor);
  n->set_reason(rec.reason);
  n->set_until_unix_ms(rec.until_unix_ms);
  SendTo(s, std::move(out), "");
}

void Room::SystemLine(const std::string& text) {
  proto::ClientMessage out;
  auto* line = out.mutable_room_chat_message();
  line->set_message(text);
  line->set_message_type(proto::MODERATOR_MESSAGE);
  line->set_server_time(NextRoomTime());
  line->set_message_id(next_message_id_++);
  history_.push_back(*line);
  while (history_.size() > config_->chat_history) history_.pop_front();
  StampType(&out);
  Broadcast(out, 0, /*droppable=*/false);
}

store::RoomRecord Room::Record() const {
  store::RoomRecord r;
  r.room_id = id_;
  r.name = name_;
  r.type = type_;
  r.settings = settings_.SerializeAsString();
  r.password_hash = password_hash_;
  r.owner_id = mod_.owner_id();
  r.topic = topic_;
  r.moderators = mod_.Moderators();
  r.updated_unix_ms = host_->UnixMs();
  return r;
}

void Room::Restore(const store::RoomRecord& record, const std::vector<store::RoomBanRecord>& bans) {
  topic_ = record.topic;
  for (const auto& m : record.moderators) mod_.AddModerator(m).IgnoreError();
  for (const auto& b : bans) {
    moderation::RoomPenalty p;
    p.user_id = b.user_id;
    p.reason = b.reason;
    p.actor = b.actor;
    p.created_unix_ms = b.created_unix_ms;
    p.until_unix_ms = b.until_unix_ms;
    mod_.Ban(std::move(p)).IgnoreError();
  }
}

void Room::Command(SessionId session, const moderation::ParsedCommand& cmd,
                   const std::string& request_id) {
  using moderation::CommandKind;
  auto it = members_.find(session);
  if (it == members_.end())
    return Error(session, proto::WRONG_STATE, "not in this room", request_id);
  const Member& actor = it->second;
  const moderation::RoomRole role = RoleOf(actor);
  const std::string name(moderation::CommandName(cmd.kind));
  const int64_t now_ms = host_->UnixMs();

  switch (cmd.kind) {
    case CommandKind::kHelp:
      return Result(session, name, true,
                    cmd.target.empty() ? moderation::HelpLines(role)
                                       : moderation::HelpForCommand(role, cmd.target),
                    request_id);
    case CommandKind::kUsers: {
      std::vector<std::string> lines;
      for (const auto& [sid, m] : members_) {
        std::string line = m.user.username() + " (" + m.user.user_id() + ") " +
                           std::string(moderation::RoomRoleName(RoleOf(m)));
        if (mod_.IsMuted(m.user.user_id(), now_ms)) line += " [muted]";
        lines.push_back(std::move(line));
      }
      return Result(session, name, true, std::move(lines), request_id);
    }
    case CommandKind::kBans: {
      if (!moderation::MayUse(role, cmd.kind)) {
        return Error(session, proto::PERMISSION_DENIED, "/bans is for room moderators", request_id);
      }
      std::vector<std::string> lines;
      for (const auto& b : mod_.ListBans(now_ms)) {
        lines.push_back(b.user_id + " by " + b.actor + " until " +
                        (b.until_unix_ms ? moderation::FormatUnixMs(b.until_unix_ms) : "forever") +
                        (b.reason.empty() ? "" : ": " + b.reason));
      }
      if (lines.empty()) lines.push_back("no bans");
      return Result(session, name, true, std::move(lines), request_id);
    }
    case CommandKind::kLog: {
      if (!moderation::MayUse(role, cmd.kind)) {
        return Error(session, proto::PERMISSION_DENIED, "/log is for room moderators", request_id);
      }
      auto log = std::make_shared<absl::StatusOr<std::vector<moderation::AuditRecord>>>();
      std::string room_id = id_;
      int count = cmd.count > 0 ? cmd.count : moderation::kDefaultLogCount;
      RoomHost* host = host_;
      bool queued = host_->Storage(
          [log, room_id, count](store::Store& st) { *log = st.ListAudit(room_id, count); },
          [host, log, session, request_id] {
            if (!log->ok()) {
              host->SendToSession(session, MakeFrame(MakeError(proto::INTERNAL_ERROR,
                                                               "cannot read the log", request_id)));
              return;
            }
            proto::ClientMessage out;
            for (const auto& r : **log) {
              auto* e = out.mutable_audit_log()->add_entries();
              e->set_unix_ms(r.unix_ms);
              e->set_actor_user_id(r.actor);
              e->set_action(ActionOf(r.action));
              e->set_target(r.target);
              e->set_room_id(r.room_id);
              e->set_reason(r.reason);
              e->set_until_unix_ms(r.until_unix_ms);
            }
            out.mutable_audit_log();
            out.set_request_id(request_id);
            StampType(&out);
            host->SendToSession(session, MakeFrame(out));
          });
      if (!queued) Error(session, proto::RATE_LIMITED, "server busy, try again", request_id);
      return;
    }
    default:
      break;
  }

  // Commands that change the room. Resolve the target among those present (by id or
  // name); an absent target is taken as a user id (unban, unmod, ban of someone gone).
  moderation::ParsedCommand resolved = cmd;
  moderation::RoomRole target_server_role = moderation::RoomRole::kMember;
  if (!cmd.target.empty()) {
    if (const Member* t = FindUser(cmd.target)) {
      resolved.target = t->user.user_id();
      target_server_role = ServerRoleOf(*t);
    } else if (cmd.target.rfind("guest:", 0) == 0) {
      target_server_role = moderation::RoomRole::kGuest;
    }
  }
  auto outcome = mod_.Apply(resolved, actor.user.user_id(), ServerRoleOf(actor), target_server_role,
                            id_, now_ms);
  if (!outcome.ok()) {
    return Error(session, CodeOf(outcome.status()), std::string(outcome.status().message()),
                 request_id);
  }
  const moderation::AuditRecord& rec = outcome->audit;
  const proto::ModerationAction action = ActionOf(rec.action);
  const std::string actor_name = actor.user.username();
  std::string target_name = resolved.target;
  if (const Member* t = FindUser(resolved.target)) target_name = t->user.username();

  // Apply the effects on the room now: bans, mutes and kicks take effect at once.
  std::vector<SessionId> targets;
  for (const auto& [sid, m] : members_) {
    if (!resolved.target.empty() && m.user.user_id() == resolved.target) targets.push_back(sid);
  }
  switch (cmd.kind) {
    case CommandKind::kKick:
    case CommandKind::kBan:
      for (SessionId t : targets) {
        Notice(t, action, rec);
        RemoveMember(members_.find(t), cmd.kind == CommandKind::kKick ? "kicked" : "banned", "");
      }
      SystemLine(target_name +
                 (cmd.kind == CommandKind::kKick ? " was kicked by " : " was banned by ") +
                 actor_name + (rec.reason.empty() ? "" : ": " + rec.reason));
      break;
    case CommandKind::kMute:
      for (SessionId t : targets) {
        // A muted player's sounding notes would otherwise hang until unmuted.
        ReleaseHeldNotes(t, members_.find(t)->second);
        Notice(t, action, rec);
      }
      SystemLine(target_name + " was muted by " + actor_name +
                 (rec.reason.empty() ? "" : ": " + rec.reason));
      break;
    case CommandKind::kUnmute:
    case CommandKind::kUnban:
      for (SessionId t : targets) Notice(t, action, rec);
      break;
    case CommandKind::kMod:
    case CommandKind::kUnmod:
    case CommandKind::kOwner:
      // Everyone's view of the roles changes, so every member gets the notice (a client
      // updates the target's badge from action + target; RoomUpdated carries only the owner,
      // and UserInfo roles arrive with the next RoomJoinedResponse or RoomSnapshot), and the
      // chat says it.
      for (const auto& [sid, m] : members_) Notice(sid, action, rec);
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
      topic_ = cmd.text;
      BroadcastInfo();
      break;
    case CommandKind::kClear: {
      history_.clear();
      proto::ClientMessage out;
      out.mutable_chat_cleared()->set_room_id(id_);
      out.mutable_chat_cleared()->set_actor_user_id(actor.user.user_id());
      StampType(&out);
      Broadcast(out, 0, /*droppable=*/false);
      break;
    }
    default:
      break;
  }

  // Durable before acknowledged: the audit record, and for a persistent room its ban
  // table or saved state, are committed before the actor hears "done".
  const bool keep = persistent();
  store::RoomRecord record = Record();
  store::RoomBanRecord ban;
  ban.room_id = id_;
  ban.user_id = rec.target;
  ban.reason = rec.reason;
  ban.actor = rec.actor;
  ban.created_unix_ms = now_ms;
  ban.until_unix_ms = rec.until_unix_ms;
  const CommandKind kind = cmd.kind;
  auto status = std::make_shared<absl::Status>();
  RoomHost* host = host_;
  std::string summary = std::string(moderation::AuditActionName(rec.action)) +
                        (target_name.empty() ? "" : " " + target_name) + ": done";
  bool queued = host_->Storage(
      [rec, keep, record = std::move(record), ban, kind, status](store::Store& st) {
        *status = st.AppendAudit(rec);
        if (!status->ok() || !keep) return;
        if (kind == CommandKind::kBan) {
          *status = st.AddRoomBan(ban);
        } else if (kind == CommandKind::kUnban) {
          absl::Status s = st.RemoveRoomBan(ban.room_id, ban.user_id);
          if (!s.ok() && !absl::IsNotFound(s)) *status = s;
        } else if (kind != CommandKind::kKick && kind != CommandKind::kMute &&
                   kind != CommandKind::kUnmute && kind != CommandKind::kClear) {
          *status = st.SaveRoom(record);
        }
      },
      [host, status, session, name, summary, request_id] {
        proto::ClientMessage out;
        if (status->ok()) {
          auto* r = out.mutable_command_result();
          r->set_command(name);
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
