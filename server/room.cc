#include "server/room.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <utility>

#include "server/envelope.h"
#include "server/store/store.h"

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
      host_(host) {
  // Chat line ids start at a random point in [1, 2^40) per room object: with rooms across
  // nodes every node's room object numbers the lines it relays, and objects that all began
  // at 1 gave two nodes' lines the same ids (as with session serials, shard.h). Below 2^53,
  // a JavaScript number holds every id exactly.
  std::random_device entropy;
  const uint64_t draw = (static_cast<uint64_t>(entropy()) << 32) | entropy();
  next_message_id_ = 1 + draw % ((uint64_t{1} << 40) - 1);
  OpenStream();
}

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
  info.set_user_count(static_cast<int32_t>(user_count()));
  info.set_has_password(has_password());
  info.set_topic(topic_);
  for (const std::string& p : performers_) info.add_performer_ids(p);
  *info.mutable_tempo() = TempoView();
  info.set_recording(recording_.has_value());
  return info;
}

proto::UserInfo Room::UserView(const Member& m, bool for_staff) const {
  proto::UserInfo u = m.user;
  if (for_staff) *u.mutable_quality() = m.quality;
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
  return HeldView(s, m.user.user_id(), m.last_sequence, m.held);
}

proto::HeldNotesSnapshot Room::HeldView(SessionId s, const std::string& user_id, uint64_t sequence,
                                        const midi::HeldNotes& held) const {
  proto::HeldNotesSnapshot snap;
  snap.set_user_id(user_id);
  snap.set_session_id(s);
  snap.set_sequence(sequence);
  snap.set_server_time(host_->NowUs());
  held.ForEachHeld([&snap](uint8_t channel, uint8_t note, uint8_t velocity) {
    auto* n = snap.add_notes();
    n->set_channel(channel);
    n->set_note(note);
    n->set_velocity(velocity);
  });
  snap.set_sustain_channels(held.sustain_mask());
  snap.set_sostenuto_channels(held.sostenuto_mask());
  snap.set_soft_channels(held.soft_mask());
  for (uint8_t ch = 0; ch < 16; ++ch) {
    const int program = held.program(ch);
    const uint16_t bend = held.pitch_bend(ch);
    const uint8_t mod = held.mod_wheel(ch);
    if (program < 0 && bend == midi::kPitchBendCenter && mod == 0) continue;
    auto* c = snap.add_controllers();
    c->set_channel(ch);
    c->set_has_program(program >= 0);
    c->set_program(program < 0 ? 0 : static_cast<uint32_t>(program));
    c->set_pitch_bend(bend);
    c->set_mod_wheel(mod);
  }
  return snap;
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
  if (reading_chat_ || reading_presence_ || reading_penalties_ || reading_state_) {
    // The room just opened on this node: its joiner gets the earlier chat lines (and,
    // across nodes, the members other nodes have, and is checked against the bans,
    // owner, settings and password kept there).
    waiting_joins_.emplace_back(req, password_ok);
    return;
  }
  if (req.join_only) host_->ProbeSettled(id_);
  // A create here of a room that other nodes have, or a join checked against a password
  // another node's change has replaced since: joined as the room is, password asked.
  if (((req.opened_room && adopted_at_open_) ||
       (req.checked_hash && *req.checked_hash != password_hash_)) &&
      host_->RejoinExisting(id_, req)) {
    return;
  }
  auto fail = [&](proto::ErrorCode code, const std::string& text) { FailJoin(req, code, text); };
  // A join that opened this object to find the room on another node: nobody has it.
  if (req.join_only) {
    fail(proto::NOT_FOUND, "no such room");
    return;
  }
  // Bans and mutes that are over stop here, on the room's own activity (no timer).
  ExpirePenalties(host_->UnixMs());
  if (members_.count(req.session)) {
    fail(proto::WRONG_STATE, "already in this room");
    return;
  }
  // Full only now that the opening reads counted other nodes' members: on, as the
  // host's walk would have sent it.
  if (is_lobby() && full() && host_->WalkOnFromLobby(id_, req)) return;
  // Server staff pass every barrier below (docs/MODERATION.md, "Server staff entering
  // rooms"); each one they pass is named in the audit record written for the entry.
  const bool staff = req.server_admin || req.server_moderator;
  std::vector<std::string> passed;
  auto barrier = [&](bool stops, const char* name, proto::ErrorCode code, const char* text) {
    if (!stops) return true;
    if (staff) {
      passed.push_back(name);
      return true;
    }
    fail(code, text);
    return false;
  };
  const int64_t now_ms = host_->UnixMs();
  if (!barrier(!password_ok, "password", proto::WRONG_PASSWORD, "wrong room password") ||
      !barrier(mod_.IsBanned(req.user.user_id(), now_ms), "banned", proto::BANNED,
               "you are banned from this room") ||
      !barrier(full(), "full", proto::ROOM_FULL, "room is full") ||
      !barrier(req.user.is_guest() && !settings_.allow_guests() && !is_lobby(), "guests",
               proto::PERMISSION_DENIED, "this room does not allow guests") ||
      !barrier(settings_.require_pro() && !req.user.is_member(), "members-only",
               proto::PERMISSION_DENIED, "this room is for members only")) {
    return;
  }
  if (!passed.empty()) AuditStaffEntry(req.user.user_id(), passed, now_ms);
  // Across nodes this node's count may miss another node's joiner of the same instant:
  // the seat is Redis's to give (staff take one past the capacity, as above).
  if (SpansNodes() && !staff) return ClaimSeat(req);
  Admit(req);
}

void Room::FailJoin(const JoinRequest& req, proto::ErrorCode code, const std::string& text) {
  host_->JoinFailed(req.session, id_, MakeFrame(MakeError(code, text, req.request_id)));
  // An object opened on this node for joins that were all refused (the room lives on
  // another node and asked a password, or kept a ban, or had no seat left): nothing keeps
  // it, as nothing keeps a room whose last member left. Deferred and checked again by the
  // host.
  if (empty() && waiting_joins_.empty() && !is_lobby() && !persistent()) host_->RoomEmpty(id_);
}

void Room::Admit(const JoinRequest& req) {
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
  host_->RoomChanged(id_);
  // In the presence before the join is published (one link, in order): a node that
  // sees the join and then reads the presence finds the member there.
  ShareMember(req.session, it->second);
  *info->mutable_user_info() = UserView(it->second);
  StampType(&joined);
  // Across nodes the first join here writes this node's owner, settings and moderators
  // unless the room lives on elsewhere; read back once sequenced (a creator on another
  // node may have come first). Its joiner is answered only after that read: a room it
  // was told it created is then one that every node's later joins find (its entry and
  // its kOpen are in Redis), and its answer shows the owner every node agrees on.
  std::optional<RoomStateChange> open;
  Broker::PublishDone reread = nullptr;
  const bool answer_after_read = announce_open_ && SpansNodes() && !is_lobby();
  if (announce_open_ && SpansNodes()) {
    open = SettingsChange();
    open->kind = RoomStateChange::Kind::kOpen;
    open->user = mod_.owner_id();
    open->moderators = mod_.Moderators();
    // What the kOpen writes; when it writes nothing (another creator's came first), the
    // read-back takes that one's version.
    ++settings_version_;
    reread = [this, alive = std::weak_ptr<bool>(alive_), session = req.session,
              request_id = req.request_id, answer_after_read](const Publication& p) {
      if (alive.expired()) return;
      if (answer_after_read) answers_after_read_.emplace_back(session, request_id);
      // Not sequenced (Redis went): the re-reads after the outage do the rest.
      if (p.unavailable) return AnswerJoinsAfterRead();
      ReadState(/*announce=*/true);
    };
  }
  announce_open_ = false;
  Broadcast(joined, req.session, /*droppable=*/false, reread, ChatMark::kNone, std::move(open));
  if (!answer_after_read) AnswerJoin(req.session, req.request_id);
}

void Room::AnswerJoin(SessionId session, const std::string& request_id) {
  auto it = members_.find(session);
  // Gone before its answer (its session ended, or it was removed and told so): the
  // host undoes a join whose session ended; nothing is owed.
  if (it == members_.end()) return;
  proto::ClientMessage resp;
  auto* r = resp.mutable_room_joined_response();
  r->set_success(true);
  *r->mutable_room_info() = Info();
  const bool staff_view = IsRoomStaff(it->second);
  for (const auto& [sid, member] : members_) {
    *r->add_current_users() = UserView(member, staff_view);
    // Also a sender holding nothing but a program, a bend or a pedal: a late joiner must hear
    // the right instrument at the right pitch.
    if (sid != session && member.held.HasState()) {
      *r->add_held_notes() = HeldView(sid, member);
    }
  }
  for (const auto& [sid, remote] : remote_) {
    *r->add_current_users() = remote.user;
    if (remote.held.HasState()) {
      *r->add_held_notes() =
          HeldView(sid, remote.user.user_id(), remote.last_sequence, remote.held);
    }
  }
  for (const auto& line : history_) *r->add_chat_history() = line;
  *r->mutable_you() = UserView(it->second);
  SetPosition(r->mutable_stream_position());
  resp.set_request_id(request_id);
  StampType(&resp);
  host_->MemberJoined(session, id_, MakeFrame(resp));
  if (!settings_.welcome_message().empty()) {
    proto::ClientMessage welcome;
    auto* line = welcome.mutable_room_chat_message();
    line->set_message(settings_.welcome_message());
    line->set_message_type(proto::SYSTEM_MESSAGE);
    line->set_server_time(host_->NowUs());
    SendTo(session, std::move(welcome), request_id);
  }
}

void Room::AnswerJoinsAfterRead() {
  std::vector<std::pair<SessionId, std::string>> answers;
  answers.swap(answers_after_read_);
  for (const auto& [session, request_id] : answers) AnswerJoin(session, request_id);
}

void Room::AuditStaffEntry(const std::string& user_id, const std::vector<std::string>& passed,
                           int64_t now_ms) {
  moderation::AuditRecord rec;
  rec.unix_ms = now_ms;
  rec.actor = user_id;
  rec.action = moderation::AuditAction::kStaffEntry;
  rec.target = user_id;
  rec.room_id = id_;
  for (const std::string& p : passed) rec.reason += (rec.reason.empty() ? "" : ", ") + p;
  // Queued before the join is answered: the store runs work in order, so any /log read
  // after the answer sees the record. The join does not wait for it (staff entry is
  // allowed either way; the record is what makes it visible).
  const bool queued = host_->Storage(
      [rec](store::Store& st) {
        absl::Status st_ok = st.AppendAudit(rec);
        if (!st_ok.ok()) {
          std::fprintf(stderr, "tutti: staff entry to %s not audited: %s\n", rec.room_id.c_str(),
                       std::string(st_ok.message()).c_str());
        }
      },
      [] {});
  if (!queued) {
    std::fprintf(stderr, "tutti: staff entry to %s not audited: storage busy\n", id_.c_str());
  }
}

void Room::UpdateMember(SessionId session, const proto::UserInfo& user, bool server_admin,
                        bool server_moderator) {
  auto it = members_.find(session);
  if (it == members_.end()) return;
  Member& m = it->second;
  m.user.set_is_member(user.is_member());
  *m.user.mutable_roles() = user.roles();
  m.server_admin = server_admin;
  m.server_moderator = server_moderator;
  ShareMember(session, m);
  proto::ClientMessage out;
  auto* p = out.mutable_permissions_updated();
  *p->mutable_user() = UserView(m);
  p->set_room_id(id_);
  StampType(&out);
  Broadcast(out, session, /*droppable=*/false);
}

void Room::ReleaseHeldNotes(SessionId s, Member& m) {
  // Keys, pedals, bend and mod wheel: a listener's synth must be left as if the sender had
  // let go of everything (AtRest covers all of them, not only sounding notes).
  if (m.held.AtRest()) return;
  // Nobody else can release these notes once their sender is gone: the server does it,
  // flagged synthetic so receivers can tell it from playing.
  std::string bytes;
  for (const auto& off : m.held.ReleaseAll()) midi::AppendBytes(off, &bytes);
  BroadcastSyntheticMidi(s, m, std::move(bytes));
}

void Room::BroadcastSyntheticMidi(SessionId s, Member& m, std::string bytes) {
  proto::ClientMessage out;
  auto* midi = out.mutable_midi_message();
  midi->set_midi_data(std::move(bytes));
  const int64_t now = host_->NowUs();
  if (recording_) RecordBytes(m, midi->midi_data(), std::max(now, m.last_event_us));
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

void Room::Leave(SessionId session, const std::string& reason, const std::string& request_id) {
  auto it = members_.find(session);
  // E.g. a leave that crossed a kick, nothing to undo; or the end of a session whose
  // join waits for its seat.
  if (it == members_.end()) return DropSeat(session);
  RemoveMember(it, reason, request_id);
}

void Room::RemoveMember(MemberMap::iterator it, const std::string& reason,
                        const std::string& request_id) {
  const SessionId session = it->first;
  ReleaseHeldNotes(session, it->second);
  const std::string user_id = it->second.user.user_id();
  const bool was_owner = IsOwner(it->second);
  // A reconnecting member's shard already stopped counting it (Disconnected).
  if (!it->second.user.reconnecting()) --shard_members_[ShardOfSession(session)];
  members_.erase(it);
  UnshareMember(session);
  host_->RoomChanged(id_);

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
  Broadcast(left, 0, /*droppable=*/false, was_owner ? OwnerLeaving(user_id) : nullptr);

  // Across nodes the heir may be another node's member (nobody may be left here).
  if (was_owner && !is_lobby()) HandOwnership();
  CloseWhenSettled();
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
  StampType(&out);
  if (request_id.empty()) {
    Broadcast(std::move(out), 0, /*droppable=*/false, nullptr, ChatMark::kKeep);
  } else {
    // The sender's copy echoes its request id (at the same stream position); everyone
    // else shares one frame.
    Broadcast(out, session, /*droppable=*/false, EchoToSender(session, request_id),
              ChatMark::kKeep);
  }
}

void Room::Midi(MidiRelay relay) {
  auto it = members_.find(relay.session);
  if (it == members_.end()) return;  // left while the batch was in flight
  Member& m = it->second;
  if (mod_.IsMuted(m.user.user_id(), host_->UnixMs())) {
    // The mute released this sender's notes; nothing more is relayed until unmuted.
    return Error(relay.session, proto::MUTED, "you are muted in this room", relay.request_id);
  }
  if (!MayPlay(m)) {
    return Error(relay.session, proto::NOT_A_PERFORMER,
                 "only performers play in this room; you are in the audience", relay.request_id);
  }
  for (const auto& msg : relay.parsed) m.held.Apply(msg);
  if (!held_listed_ && !m.held.Empty()) {
    held_listed_ = true;
    host_->RoomHoldsNotes(id_);
  }
  m.last_sequence = relay.sequence;
  int64_t last_delay = 0;
  for (const auto& [data, delay] : relay.events) last_delay = std::max<int64_t>(last_delay, delay);
  m.last_event_us = std::max(m.last_event_us, relay.stamped_us + last_delay);
  if (recording_) RecordRelay(m, relay);
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
  if (metrics::ShardHistogram* fanout = host_->midi_fanout()) fanout->Observe(members_.size() - 1);
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
    // The look only: status reaches the room through UserStatus, never through here.
    auto* avatar = it->second.user.mutable_avatar();
    avatar->set_color(cmd.avatar_data().color());
    avatar->set_appearance(cmd.avatar_data().appearance());
    a->mutable_avatar_data()->set_status(avatar->status());
    a->mutable_avatar_data()->set_status_text(avatar->status_text());
    ShareMember(session, it->second);
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

bool Room::TickHeldNotes() {
  bool holding = false;
  for (const auto& [sid, m] : members_) {
    if (m.held.Empty()) continue;
    holding = true;
    proto::ClientMessage out;
    *out.mutable_held_notes_snapshot() = HeldView(sid, m);
    StampType(&out);
    Broadcast(out, sid, /*droppable=*/false);
  }
  held_listed_ = holding;
  return holding;
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
  r.performers.assign(performers_.begin(), performers_.end());
  r.updated_unix_ms = host_->UnixMs();
  // Across nodes: where the last read of the kept state stands (SaveAfterRead); unstamped
  // (always written) on one node, and before the first read.
  r.stream = read_at_;
  return r;
}

void Room::Restore(const store::RoomRecord& record, const std::vector<store::RoomBanRecord>& bans) {
  topic_ = record.topic;
  for (const auto& m : record.moderators) mod_.AddModerator(m).IgnoreError();
  performers_.insert(record.performers.begin(), record.performers.end());
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

}  // namespace tutti::server
