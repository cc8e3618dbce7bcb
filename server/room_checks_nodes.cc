// Room, the changes the publish script checks across nodes beyond the moderation
// commands (docs/SCALE-OUT.md, "Owner, settings and moderators across nodes"): a settings
// change (UpdateRoomCommand) by the owner or a server admin, in any room, persistent ones
// too; and the common answer (WhenSequenced) of the others that wait for the script the
// same way (/perform and /audience, tempo changes: room_music.cc). With a networked engine the
// acting room applies nothing until the script has sequenced the change's event: the change goes
// out with the precondition its actor's kept role needs (none for server staff, whose role is not
// kept), and only once it is sequenced does the room apply it, save it to a persistent room's store
// (after a read of the kept state, so that the record holds every change sequenced before it:
// SaveWhenRead) and answer the actor. Refused, the actor gets PERMISSION_DENIED and the room reads
// the kept state; refused as stale (built on an older kept settings version: RoomStateChange::
// base_version), WRONG_STATE and the kept state read; not sequenced (Redis went),
// STREAM_UNAVAILABLE; nothing was applied or saved in any of these cases. None of this runs with
// the in-process engine (room_state_nodes.cc applies at once). Same class, owner and thread as
// room.cc (the room's home shard).
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "server/envelope.h"
#include "server/room.h"
#include "server/store/store.h"

namespace tutti::server {
namespace {

constexpr char kOwnerRefusal[] = "the room changed owner on another server first";

// The answer to a change that did not happen anywhere, shared by every change that waits
// for the script: Redis went while it was on its way (STREAM_UNAVAILABLE), or the script
// refused it (WRONG_STATE when built on an older settings version, else PERMISSION_DENIED
// with `refusal`), when `refused` runs (the room, if still there, takes what is kept).
// False when the change was sequenced. The host answers: the room may be gone.
bool AnsweredUnapplied(const Publication& p, RoomHost* host, SessionId session,
                       const std::string& request_id, const std::string& refusal,
                       const std::function<void()>& refused) {
  if (p.unavailable) {
    host->SendToSession(session, MakeFrame(MakeError(proto::STREAM_UNAVAILABLE,
                                                     kStreamUnavailableText, request_id)));
    return true;
  }
  if (!p.refused) return false;
  host->SendToSession(
      session, MakeFrame(p.stale ? MakeError(proto::WRONG_STATE, kStaleSettingsText, request_id)
                                 : MakeError(proto::PERMISSION_DENIED, refusal, request_id)));
  refused();
  return true;
}

}  // namespace

void Room::TakeKeptState() {
  // This node's copy let a change through that the script refused, so the copy is not
  // what is kept: the next read is taken whatever its version.
  state_version_ = -1;
  ReadState(/*announce=*/true);
}

void Room::UpdateAcrossNodes(SessionId session, const Member& actor,
                             const proto::UpdateRoomCommand& cmd,
                             const std::string& new_password_hash, const std::string& request_id) {
  // Nothing would be sequenced, so nothing would answer.
  if (!host_->broker()->Available()) {
    return Error(session, proto::STREAM_UNAVAILABLE, kStreamUnavailableText, request_id);
  }
  // The room as the change would leave it: swapped in only to build the event, the kept
  // change and the store record, then swapped back (nothing applies before the script).
  proto::RoomSettings settings = cmd.has_settings() ? cmd.settings() : settings_;
  std::string hash = cmd.set_password() ? new_password_hash : password_hash_;
  proto::RoomType type = cmd.set_room_type() ? cmd.room_type() : type_;
  const bool was_persistent = persistent();
  std::swap(settings_, settings);
  std::swap(password_hash_, hash);
  std::swap(type_, type);
  proto::ClientMessage updated;
  *updated.mutable_room_updated()->mutable_room_info() = Info();
  StampType(&updated);
  RoomStateChange change = SettingsChange();
  store::RoomRecord record = Record();
  std::swap(settings_, settings);
  std::swap(password_hash_, hash);
  std::swap(type_, type);
  // A registered room's record is saved (or, unregistered, deleted) once sequenced.
  const bool keep = settings.persistent();
  const bool save = was_persistent || keep;
  // Server admins act past the owner by a server role the kept state does not hold.
  if (!actor.server_admin) {
    change.check = RoomStateChange::Check::kOwner;
    change.actor = actor.user.user_id();
  }
  const int64_t base = change.base_version;
  auto own = std::make_shared<proto::ClientMessage>(updated);
  RoomHost* host = host_;
  auto done = [this, alive = std::weak_ptr<bool>(alive_), host, own, session, request_id,
               settings = std::move(settings), hash = std::move(hash), type, save, keep, base,
               record = std::move(record)](const Publication& p) mutable {
    if (AnsweredUnapplied(p, host, session, request_id, kOwnerRefusal, [this, &alive] {
          if (!alive.expired()) TakeKeptState();
        })) {
      return;
    }
    // Sequenced, and delivered here (every member here was shown it): it applies now,
    // unless a read of the kept state already took a later one (which includes it).
    if (!alive.expired()) NoteSequenced(p);
    if (!alive.expired() && settings_version_ <= base) {
      settings_version_ = base + 1;
      settings_ = std::move(settings);
      password_hash_ = std::move(hash);
      type_ = type;
      host_->RoomChanged(id_);
      // Whoever may no longer play is silenced at every listener, as a mute does.
      for (auto& [sid, m] : members_) {
        if (!MayPlay(m)) ReleaseHeldNotes(sid, m);
      }
    }
    if (!p.position.epoch.empty()) {
      proto::StreamPosition* pos = own->mutable_stream();
      pos->set_epoch(p.position.epoch);
      pos->set_offset(p.position.offset);
      pos->set_server_time(p.server_time_us);
    }
    own->set_request_id(request_id);
    Frame answer = MakeFrame(*own);
    if (!save) return host->SendToSession(session, answer);
    // A registered room's settings are durable before the actor is told they changed
    // (and an unregistered room's record is gone).
    Frame failed =
        MakeFrame(MakeError(proto::INTERNAL_ERROR, "settings applied but not saved", request_id));
    auto write = [host, session, answer, failed](store::RoomRecord r, bool registered) {
      auto ok = std::make_shared<absl::Status>();
      bool queued = host->Storage(
          [r = std::move(r), ok, registered](store::Store& st) {
            *ok = registered ? st.SaveRoom(r) : st.DeleteRoom(r.room_id, r.stream);
          },
          [host, session, answer, failed, ok] {
            host->SendToSession(session, ok->ok() ? answer : failed);
          });
      if (!queued) host->SendToSession(session, failed);
    };
    // The room closed meanwhile: the record as built with the change.
    if (alive.expired()) return write(std::move(record), keep);
    // What is saved follows a read of the kept state asked from now on, so that it holds
    // every change sequenced up to this one, whichever node made them (SaveWhenRead): the
    // room registered or not as that read leaves it.
    SaveWhenRead([this, write](store::RoomRecord r) { write(std::move(r), persistent()); });
  };
  Broadcast(updated, session, /*droppable=*/false, std::move(done), ChatMark::kNone,
            std::move(change));
}

Broker::PublishDone Room::WhenSequenced(SessionId session, const std::string& request_id,
                                        RoomStateChange::Check check,
                                        std::function<void(const Publication&)> sequenced) {
  RoomHost* host = host_;
  const std::string refusal = check == RoomStateChange::Check::kOwner
                                  ? kOwnerRefusal
                                  : "the room's roles changed on another server first";
  return [this, alive = std::weak_ptr<bool>(alive_), host, session, request_id, refusal,
          sequenced = std::move(sequenced)](const Publication& p) {
    if (AnsweredUnapplied(p, host, session, request_id, refusal, [this, &alive] {
          if (!alive.expired()) TakeKeptState();
        })) {
      return;
    }
    if (alive.expired()) return;
    NoteSequenced(p);
    sequenced(p);
  };
}

}  // namespace tutti::server
