// Room, its owner-and-settings side: who owns the room and how ownership is handed on,
// the owner's settings changes (UpdateRoomCommand: checked, applied, announced, and saved
// first for a persistent room; across nodes applied only once the script sequenced it,
// room_checks_nodes.cc), RoomUpdated, and, with a networked engine, the
// room's owner, settings (name, type, settings, topic, password hash, performer list),
// moderators and tempo kept beside the stream so that every node's room object holds the same
// (docs/SCALE-OUT.md, "Owner, settings and moderators across nodes"). A change is written
// by the script call that sequences the event announcing it (RoomStateChange); a room
// object that opens on a node reads the kept state before its first joins run, takes it
// when the room lives on elsewhere, and otherwise writes its own with its first join (the
// first creator wins: the script keeps a state another node's live members use, and the
// room reads back what was kept). Another node's /mod, /unmod and /owner apply from their
// notice (room_moderation_nodes.cc); its RoomUpdated makes the room read the kept state
// again, joins waiting meanwhile, since the event does not carry the password hash. A
// persistent room's record is saved across nodes only after such a read, stamped with
// where in the stream it stands (SaveWhenRead, SaveAfterRead; docs/ARCHITECTURE.md, "Store
// write order"). With the in-process engine only the first part runs.
// Same class, owner and thread as room.cc (the room's home shard).
#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "server/envelope.h"
#include "server/room.h"
#include "server/store/store.h"

namespace tutti::server {

Broker::PublishDone Room::OwnerLeaving(const std::string& user_id) {
  if (!SpansNodes()) return nullptr;
  // Set before the publish (an engine may answer at once); HandOwnership keeps it only
  // when it defers. The number tells this leave's answer from an earlier one's.
  const uint64_t leave = ++owner_leaves_;
  deferred_hand_on_ = DeferredHandOn{user_id, {}, leave};
  return [this, alive = std::weak_ptr<bool>(alive_), leave](const Publication& p) {
    if (alive.expired() || !deferred_hand_on_ || deferred_hand_on_->leave != leave) return;
    if (p.position.epoch.empty()) {
      // Not sequenced (Redis went): nobody saw this leave, and the resynchronisation
      // after the outage reads the owner and the members again.
      if (p.unavailable || p.refused) deferred_hand_on_.reset();
    } else {
      deferred_hand_on_->left_at = p.position;
    }
    if (close_when_settled_) CloseWhenSettled();
  };
}

void Room::CloseWhenSettled() {
  close_when_settled_ = false;
  if (!empty() || !waiting_joins_.empty() || is_lobby() || persistent()) return;
  if (deferred_hand_on_) {
    // Every event before this node's own leave of the owner is delivered once that leave
    // is: a leave of the owner's other session that came earlier has then been seen
    // (HandOnAfterRemoteLeave), and one that comes later is its own node's to hand on.
    // A new epoch since cannot be compared: the re-reads after it settle the owner.
    const StreamPosition& at = deferred_hand_on_->left_at;
    const StreamPosition top = host_->broker()->Top(id_);
    if (at.epoch.empty() || (top.epoch == at.epoch && top.offset < at.offset)) {
      close_when_settled_ = true;
      return;
    }
    deferred_hand_on_.reset();
  }
  host_->RoomEmpty(id_);
}

void Room::HandOnAfterRemoteLeave(const StreamPosition& at) {
  const DeferredHandOn d = *deferred_hand_on_;
  // This node's leave of the owner came later in the stream when it is not sequenced
  // yet, or (the epoch having changed since) cannot be compared: the script's owner
  // check then keeps one hand-on whoever else tries.
  const bool mine_later = d.left_at.epoch.empty() || d.left_at.epoch != at.epoch ||
                          at.epoch.empty() || d.left_at.offset > at.offset;
  if (!mine_later || !mod_.IsOwner(d.owner) || is_lobby()) {
    // The node whose leave came last decides (it saw this node's leave before its own
    // was sequenced, or it sees the owner still here): nothing left to do here.
    deferred_hand_on_.reset();
    return;
  }
  HandOwnership();
}

void Room::HandOwnership() {
  // A persistent room keeps its registered owner while away. Otherwise the
  // longest-present registered member inherits the room; guests only if nobody else.
  if (persistent()) return;
  const std::string before = mod_.owner_id();
  const Member* best = nullptr;
  for (const auto& [sid, m] : members_) {
    if (IsOwner(m)) {
      deferred_hand_on_.reset();
      return;  // another session of the owner remains here
    }
    bool better = !best || (best->user.is_guest() && !m.user.is_guest()) ||
                  (best->user.is_guest() == m.user.is_guest() && m.join_order < best->join_order);
    if (better) best = &m;
  }
  // A session of the owner on another node: the room stays the owner's. (Only the node
  // where the owner's last session leaves hands the room on: every other session's leave
  // was sequenced before that one, so at most one node does.) That session may be
  // leaving at this moment, its node seeing this one's the same way: this node waits for
  // its leave (HandOnAfterRemoteLeave) with the deferral OwnerLeaving set up.
  for (const auto& [sid, r] : remote_) {
    if (mod_.IsOwner(r.user.user_id())) return;
  }
  deferred_hand_on_.reset();
  std::string heir = best ? best->user.user_id() : "";
  if (!best) {
    // Nobody left here (across nodes): the roster's longest-present member, by the same
    // rule; the map's order (the lowest session id) settles what this node cannot tell.
    const RemoteMember* r_best = nullptr;
    for (const auto& [sid, r] : remote_) {
      bool better =
          !r_best || (r_best->user.is_guest() && !r.user.is_guest()) ||
          (r_best->user.is_guest() == r.user.is_guest() && r.join_order < r_best->join_order);
      if (better) r_best = &r;
    }
    if (r_best) heir = r_best->user.user_id();
  }
  if (heir.empty() || !mod_.TransferOwnership(heir).ok()) return;
  // Written with its RoomUpdated only while the kept owner is still the one who left, so
  // an owner change that came first wins on every node.
  BroadcastInfo(OwnerChange(before),
                [this, alive = std::weak_ptr<bool>(alive_)](const Publication& p) {
                  if (alive.expired() || !p.refused) return;
                  // Refused: this room's view is not what is kept. It takes that and tells
                  // its members.
                  TakeKeptState();
                });
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
  if (cmd.has_settings() && !proto::PlayMode_IsValid(cmd.settings().play_mode())) {
    return Error(session, proto::INVALID_PARAMETERS, "unknown play_mode", request_id);
  }
  if (cmd.has_settings() && cmd.settings().max_users() < 0) {
    return Error(session, proto::INVALID_PARAMETERS, "max_users must not be negative", request_id);
  }
  if (cmd.has_settings() && cmd.settings().persistent() && !persistent() &&
      it->second.user.is_guest()) {
    return Error(session, proto::PERMISSION_DENIED, "guests cannot register rooms", request_id);
  }
  // Across nodes nothing applies until the script has sequenced it (room_update_nodes.cc).
  if (SpansNodes())
    return UpdateAcrossNodes(session, it->second, cmd, new_password_hash, request_id);
  const bool was_persistent = persistent();
  if (cmd.has_settings()) {
    settings_ = cmd.settings();
  }
  if (cmd.set_password()) password_hash_ = new_password_hash;
  if (cmd.set_room_type()) type_ = cmd.room_type();
  host_->RoomChanged(id_);
  // Whoever may no longer play is silenced at every listener, as a mute does.
  for (auto& [sid, m] : members_) {
    if (!MayPlay(m)) ReleaseHeldNotes(sid, m);
  }
  proto::ClientMessage updated;
  *updated.mutable_room_updated()->mutable_room_info() = Info();
  StampType(&updated);
  // The updater's copy carries the event's position (the in-process engine completes
  // before Broadcast returns). The owner of a room that is not persistent is answered
  // with it; a persistent room's change is answered once its store saved it (below).
  const bool answer_when_sequenced = !persistent() && !was_persistent;
  auto stamped = std::make_shared<proto::ClientMessage>(updated);
  RoomHost* host = host_;
  Broadcast(
      updated, session, false,
      [host, stamped, session, request_id, answer_when_sequenced](const Publication& p) {
        if (!p.position.epoch.empty()) {
          proto::StreamPosition* pos = stamped->mutable_stream();
          pos->set_epoch(p.position.epoch);
          pos->set_offset(p.position.offset);
          pos->set_server_time(p.server_time_us);
        }
        if (!answer_when_sequenced) return;
        proto::ClientMessage own = *stamped;
        own.set_request_id(request_id);
        host->SendToSession(session, MakeFrame(own));
      },
      ChatMark::kNone);
  if (answer_when_sequenced) return;
  updated = *stamped;
  // A persistent room's settings are durable before the owner is told they changed
  // (and an unregistered room's record is gone).
  updated.set_request_id(request_id);
  Frame done = MakeFrame(updated);
  Frame failed =
      MakeFrame(MakeError(proto::INTERNAL_ERROR, "settings applied but not saved", request_id));
  store::RoomRecord record = Record();
  auto ok = std::make_shared<absl::Status>();
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

void Room::BroadcastInfo(std::optional<RoomStateChange> change, Broker::PublishDone then) {
  proto::ClientMessage updated;
  *updated.mutable_room_updated()->mutable_room_info() = Info();
  StampType(&updated);
  Broadcast(updated, 0, /*droppable=*/false, then, ChatMark::kNone, std::move(change));
  host_->RoomChanged(id_);
}

std::string Room::StateBlob() const {
  // The settings as set (Info() shows max_users capped by the server's limit).
  proto::RoomInfo info;
  info.set_room_id(id_);
  info.set_room_name(name_);
  info.set_room_type(type_);
  *info.mutable_settings() = settings_;
  info.set_topic(topic_);
  // The performer list too: who may play is the room's, not one node's.
  for (const std::string& p : performers_) info.add_performer_ids(p);
  return info.SerializeAsString();
}

RoomStateChange Room::SettingsChange() const {
  RoomStateChange c;
  c.kind = RoomStateChange::Kind::kSettings;
  c.room = StateBlob();
  c.password_hash = password_hash_;
  // Built on what this room holds: refused if the kept settings moved on since.
  c.base_version = settings_version_;
  return c;
}

RoomStateChange Room::OwnerChange(const std::string& from) const {
  RoomStateChange c;
  c.kind = RoomStateChange::Kind::kOwner;
  c.user = mod_.owner_id();
  if (!from.empty()) {
    c.check = RoomStateChange::Check::kOwner;
    c.actor = from;
  }
  return c;
}

void Room::ReadState(bool announce) {
  Broker* b = host_->broker();
  if (b == nullptr || is_lobby()) return;
  announce_read_ = announce_read_ || announce;
  if (reading_state_) {
    // One read at a time; the one out may predate what asked for this one.
    state_changed_while_reading_ = true;
    return;
  }
  reading_state_ = true;
  // What the answer holds at the least: every change sequenced before it was asked.
  asked_at_ = seen_;
  tempo_since_asked_ = false;
  b->RoomState(id_, [this, alive = std::weak_ptr<bool>(alive_)](KeptRoomState kept) {
    if (alive.expired()) return;
    StateRead(std::move(kept));
  });
}

void Room::StateRead(KeptRoomState kept) {
  reading_state_ = false;
  if (state_changed_while_reading_) {
    // A change was delivered while this read was out: the answer may be older than it.
    state_changed_while_reading_ = false;
    ReadState();
    return;
  }
  if (!state_settled_) {
    opening_state_ = std::move(kept);  // settled once the presence read is in too
  } else if (kept.found && kept.version != state_version_) {
    // Reads on one link are answered in order and each is asked after the change that
    // called for it, so this is at least as new as what this room holds. (Not `>`: a
    // Redis that lost its data counts again from 1.)
    const bool took = AdoptState(kept);
    // A creator here that another node's came before (the kOpen read back): the members
    // here were shown this node's view, so they are told.
    if (took && announce_read_ && !members_.empty()) BroadcastInfo();
  }
  announce_read_ = false;
  // A creator's join whose kOpen was sequenced before this read was asked (Admit).
  AnswerJoinsAfterRead();
  SaveAfterRead();
  RunWaitingJoins();
}

void Room::NoteSequenced(const Publication& p) {
  if (p.position.epoch.empty()) return;
  const store::StreamStamp at{p.server_time_us, static_cast<int64_t>(p.position.offset)};
  if (seen_ < at) seen_ = at;
}

void Room::SaveWhenRead(std::function<void(store::RoomRecord)> save) {
  saves_after_read_.push_back(std::move(save));
  // Asked now (or again after the one out): it includes this node's change just sequenced.
  ReadState();
}

void Room::SaveAfterRead() {
  // The room now holds every change sequenced before the read was asked (what was kept
  // then, or a later state) or more (this node's own applied since): its record stands
  // there. A read that found nothing (Redis lost the state, or could not be asked) leaves
  // the room as it was, which is what it saves.
  read_at_ = asked_at_;
  std::vector<std::function<void(store::RoomRecord)>> saves;
  saves.swap(saves_after_read_);
  if (!saves.empty()) {
    remote_change_unsaved_ = false;
    if (saved_at_ < read_at_) saved_at_ = read_at_;
    for (auto& save : saves) save(Record());
    return;
  }
  // Another node's change, read: saved here too, so that the store ends as the stream
  // says whichever node commits last (the acting node's save may stand earlier, or be
  // refused by this one's). Nothing answers it, so a failure is only logged.
  if (!remote_change_unsaved_ || !state_settled_) return;
  remote_change_unsaved_ = false;
  if (!SpansNodes() || !persistent() || !(saved_at_ < read_at_)) return;
  saved_at_ = read_at_;
  const std::string id = id_;
  host_->Storage(
      [record = Record(), id](store::Store& st) {
        const absl::Status s = st.SaveRoom(record);
        if (!s.ok()) {
          std::fprintf(stderr, "tutti: room %s: saving another server's change failed: %s\n",
                       id.c_str(), std::string(s.message()).c_str());
        }
      },
      [] {});
}

void Room::SettleOpeningState() {
  if (state_settled_ || !opening_state_) return;
  state_settled_ = true;
  KeptRoomState kept = std::move(*opening_state_);
  opening_state_.reset();
  // Kept, and members on other nodes now: that is the room, whoever created it here; so
  // it is for a member resuming from another node (a resume waits), even when no other
  // node has members now (they all resumed, or are resuming, here).
  // Kept with nobody elsewhere: the room emptied everywhere and this is a new life of
  // it (as on one node, where an emptied room is gone), so this node's state is written
  // by its first join instead (the script checks again that nobody else is live).
  adopted_at_open_ =
      kept.found && (!remote_.empty() || !waiting_adopts_.empty()) && AdoptState(kept);
  announce_open_ = !adopted_at_open_;
  // Not taken: the first join writes this node's over it (kOpen), one settings version on.
  if (!adopted_at_open_ && kept.found) settings_version_ = kept.settings_version;
}

bool Room::AdoptState(const KeptRoomState& kept) {
  proto::RoomInfo info;
  if (!info.ParseFromString(kept.room) || !proto::RoomType_IsValid(info.room_type()) ||
      info.room_type() == proto::LOBBY) {
    return false;
  }
  state_version_ = kept.version;
  settings_version_ = kept.settings_version;
  name_ = info.room_name();
  type_ = info.room_type();
  settings_ = info.settings();
  topic_ = info.topic();
  performers_ = std::set<std::string>(info.performer_ids().begin(), info.performer_ids().end());
  password_hash_ = kept.password_hash;
  if (!kept.owner.empty() && !mod_.IsOwner(kept.owner)) {
    mod_.TransferOwnership(kept.owner).IgnoreError();
  }
  const std::set<std::string> mods(kept.moderators.begin(), kept.moderators.end());
  for (const std::string& m : mod_.Moderators()) {
    if (!mods.count(m)) mod_.RemoveModerator(m).IgnoreError();
  }
  for (const std::string& m : mods) {
    if (!mod_.IsModerator(m)) mod_.AddModerator(m).IgnoreError();
  }
  // The tempo as kept (ApplyRemoteTempo refuses a grid no node could have set), unless a
  // tempo event was taken since the read was asked: that one is at least as new, and any
  // later change is still to be delivered. Nothing kept: the room keeps what it shows. The
  // same as shown: nothing to take (a running recording's tempo map gets no repeat).
  proto::TempoState tempo;
  if (!kept.tempo.empty() && !tempo_since_asked_ && tempo.ParseFromString(kept.tempo) &&
      tempo.SerializeAsString() != TempoView().SerializeAsString()) {
    ApplyRemoteTempo(tempo);
  }
  // Whoever may no longer play is silenced at every listener, as an Update does.
  for (auto& [sid, m] : members_) {
    if (!MayPlay(m)) ReleaseHeldNotes(sid, m);
  }
  host_->RoomChanged(id_);
  return true;
}

void Room::RereadAfterResync(bool replace) {
  Broker* b = host_->broker();
  if (b == nullptr || !b->SpansNodes()) return;
  // Every read is marked out before any is asked: an engine may answer one at once, and
  // what waits for them (joins, the resynchronisation's snapshot) must not go before the
  // others are in.
  const bool read_penalties = !reading_penalties_;
  const bool read_presence = !reading_presence_;
  if (read_penalties) {
    reading_penalties_ = true;
    replace_penalties_ = replace;
  }
  if (read_presence) {
    reading_presence_ = true;
    replace_roster_ = replace;
  }
  // Owner, settings and moderators (lobbies have none); this node's members are told
  // when they changed, and a persistent room's record is saved (a missed event may have
  // been another node's change).
  remote_change_unsaved_ = true;
  ReadState(/*announce=*/true);
  // Bans and mutes, replacing what the room holds (a missed lift too), and the roster.
  if (read_penalties) {
    b->Penalties(id_, [this, alive = std::weak_ptr<bool>(alive_)](std::vector<KeptPenalty> k) {
      if (alive.expired()) return;
      PenaltiesRead(k);
    });
  }
  if (read_presence) {
    b->Presence(id_, [this, alive = std::weak_ptr<bool>(alive_)](std::vector<PresenceEntry> e) {
      if (alive.expired()) return;
      PresenceRead(e);
    });
  }
}

void Room::RemoteStateChanged() {
  remote_change_unsaved_ = true;
  host_->RoomChanged(id_);
  // Owner and moderators already changed (from the notice); the rest, and the password
  // hash no event carries, come from the kept state. Joins wait for it.
  ReadState();
}

}  // namespace tutti::server
