// Room's music features (docs/PROTOCOL.md, "Music in a room"): panic (all notes off), who may play
// (performers and audience), the shared tempo, and each member's link quality. Across nodes a
// performer-list or tempo change applies only once the publish script sequenced it, checked
// against the actor's kept role, and is kept with the room's state (docs/SCALE-OUT.md, "Owner,
// settings and moderators across nodes"). Part of the Room class (room.h); runs on the room's home
// shard like every Room method.
#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "server/envelope.h"
#include "server/link_quality.h"
#include "server/room.h"
#include "server/store/store.h"

namespace tutti::server {

namespace {

constexpr uint8_t kControlChange = 0xB0;
constexpr uint8_t kSustain = 64;
constexpr uint8_t kAllNotesOff = 123;

}  // namespace

bool Room::MayPlay(const Member& m) const {
  if (settings_.play_mode() != proto::PLAY_PERFORMERS_ONLY) return true;
  return IsRoomStaff(m) || performers_.count(m.user.user_id()) != 0;
}

void Room::SilenceMember(SessionId s, Member& m) {
  // The tracked notes first (so a listener's voices end with their own note-offs), then
  // sustain off and all-notes-off on every channel: a panic is for what the server cannot
  // know is sounding (a listener's synth that missed a release, a stuck local voice).
  std::string bytes;
  for (const auto& off : m.held.ReleaseAll()) midi::AppendBytes(off, &bytes);
  for (uint8_t ch = 0; ch < 16; ++ch) {
    const char cc = static_cast<char>(kControlChange | ch);
    bytes += {cc, static_cast<char>(kSustain), 0, cc, static_cast<char>(kAllNotesOff), 0};
  }
  BroadcastSyntheticMidi(s, m, std::move(bytes));
}

void Room::Panic(SessionId session, bool everyone, const std::string& request_id) {
  auto it = members_.find(session);
  if (it == members_.end())
    return Error(session, proto::WRONG_STATE, "not in this room", request_id);
  if (everyone && !IsRoomStaff(it->second)) {
    return Error(session, proto::PERMISSION_DENIED,
                 "only room moderators may silence everyone; /panic alone silences you",
                 request_id);
  }
  if (everyone) {
    // Members who never played and hold nothing have nothing sounding anywhere: skipping
    // them keeps a panic in a concert room from costing one broadcast per listener.
    for (auto& [sid, m] : members_) {
      if (sid == session || m.last_sequence != 0 || !m.held.AtRest()) SilenceMember(sid, m);
    }
  } else {
    SilenceMember(session, it->second);
  }
  proto::ClientMessage out;
  auto* n = out.mutable_panic_notice();
  n->set_room_id(id_);
  n->set_actor_user_id(it->second.user.user_id());
  if (!everyone) {
    n->set_target_user_id(it->second.user.user_id());
    n->set_target_session_id(session);
  }
  n->set_server_time(host_->NowUs());
  StampType(&out);
  Broadcast(out, session, /*droppable=*/false, EchoToSender(session, request_id));
}

void Room::SetPerformer(SessionId session, const std::string& who, bool performer,
                        const std::string& request_id, const CommandTarget& outside) {
  auto it = members_.find(session);
  if (it == members_.end())
    return Error(session, proto::WRONG_STATE, "not in this room", request_id);
  const Member& actor = it->second;
  if (RoleOf(actor) < moderation::RoomRole::kRoomOwner) {
    return Error(session, proto::PERMISSION_DENIED, "only the room owner manages performers",
                 request_id);
  }
  if (who.empty()) return Error(session, proto::INVALID_PARAMETERS, "whom?", request_id);
  // A member first (id or name; here, then on another node), then someone online or
  // stored (resolved on shard 0), then a listed performer's id (removing someone long gone).
  std::string id, name;
  if (const Member* m = FindUser(who)) {
    id = m->user.user_id();
    name = m->user.username();
  } else if (const RemoteMember* r = FindRemote(who)) {  // a member on another node
    id = r->user.user_id();
    name = r->user.username();
  } else if (!outside.user_id.empty()) {
    id = outside.user_id;
    name = outside.username;
  } else if (performers_.count(who)) {
    id = who;
  } else {
    return Error(session, proto::NOT_FOUND, "nobody called " + who + " is here or known",
                 request_id);
  }
  ApplyPerformer(session, actor, id, name.empty() ? id : name, performer, request_id);
}

void Room::ApplyPerformer(SessionId session, const Member& actor, const std::string& target_id,
                          const std::string& target_name, bool performer,
                          const std::string& request_id) {
  const std::string command = performer ? "perform" : "audience";
  if (performer) {
    if (performers_.count(target_id)) {
      return Result(session, command, true, {target_name + " is already a performer"}, request_id);
    }
    if (performers_.size() >= config_->max_performers) {
      return Error(session, proto::LIMIT_REACHED,
                   "the performer list is full (" + std::to_string(config_->max_performers) + ")",
                   request_id);
    }
  } else if (!performers_.count(target_id)) {
    return Result(session, command, true, {target_name + " is not on the performer list"},
                  request_id);
  }
  const std::string actor_name = actor.user.username();
  const std::string summary = command + " " + target_name + ": done";
  // The list changes, whoever may no longer play is silenced, the chat says so (and, on
  // one node, RoomUpdated tells everyone); then the owner hears "done", a persistent
  // room's list durable first.
  auto apply = [this, session, target_id, target_name, performer, actor_name, command, summary,
                request_id](bool announce, bool change_list) {
    if (!change_list) {
      // A read of the kept state already took a later list, which includes this change.
    } else if (performer) {
      performers_.insert(target_id);
    } else {
      performers_.erase(target_id);
      for (auto& [sid, m] : members_) {
        if (m.user.user_id() == target_id && !MayPlay(m)) ReleaseHeldNotes(sid, m);
      }
    }
    SystemLine(performer ? target_name + " may now play (added by " + actor_name + ")"
                         : target_name + " is now in the audience (by " + actor_name + ")");
    // Written with the event that announces it: every node's copy of the room lets the
    // same members play (docs/SCALE-OUT.md, "Owner, settings and moderators across nodes").
    if (announce) BroadcastInfo(SettingsChange());
    host_->RoomChanged(id_);
    if (!persistent()) return Result(session, command, true, {summary}, request_id);
    auto save = [this, session, command, summary, request_id](store::RoomRecord record) {
      // Unregistered meanwhile (another node's change, read): nothing to save.
      if (!persistent()) return Result(session, command, true, {summary}, request_id);
      AnswerWhenSaved(
          session, command, summary, request_id,
          [record = std::move(record)](store::Store& st) { return st.SaveRoom(record); });
    };
    // Across nodes the record follows a read of the kept state asked from now on
    // (room_state_nodes.cc, SaveWhenRead).
    if (SpansNodes()) return SaveWhenRead(std::move(save));
    save(Record());
  };
  if (!SpansNodes()) return apply(/*announce=*/true, /*change_list=*/true);
  // Across nodes the list changes only once the script sequenced its RoomUpdated, which
  // goes out only while the actor is the kept owner (server staff: unchecked).
  if (!host_->broker()->Available()) {
    return Error(session, proto::STREAM_UNAVAILABLE, kStreamUnavailableText, request_id);
  }
  // The list as the change leaves it, swapped in only to build the event and its change.
  std::set<std::string> listed = performers_;
  if (performer) {
    listed.insert(target_id);
  } else {
    listed.erase(target_id);
  }
  std::swap(performers_, listed);
  RoomStateChange change = SettingsChange();
  proto::ClientMessage updated;
  *updated.mutable_room_updated()->mutable_room_info() = Info();
  StampType(&updated);
  std::swap(performers_, listed);
  const RoomStateChange::Check check =
      IsStaff(actor) ? RoomStateChange::Check::kNone : RoomStateChange::Check::kOwner;
  change.check = check;
  change.actor = actor.user.user_id();
  const int64_t base = change.base_version;
  Broadcast(updated, 0, /*droppable=*/false,
            WhenSequenced(session, request_id, check,
                          [this, apply, base](const Publication&) {
                            const bool change_list = settings_version_ <= base;
                            if (change_list) settings_version_ = base + 1;
                            apply(/*announce=*/false, change_list);
                          }),
            ChatMark::kNone, std::move(change));
}

void Room::TakePerformers(const proto::RoomInfo& info) {
  std::set<std::string> listed(info.performer_ids().begin(), info.performer_ids().end());
  if (listed == performers_) return;
  performers_ = std::move(listed);
  for (auto& [sid, m] : members_) {
    if (!MayPlay(m)) ReleaseHeldNotes(sid, m);
  }
}

proto::TempoState Room::TempoView() const {
  proto::TempoState t;
  t.set_room_id(id_);
  t.set_bpm(tempo_.bpm());
  t.set_beats_per_bar(tempo_.beats_per_bar());
  t.set_beat_unit(tempo_.beat_unit());
  t.set_running(tempo_.running());
  t.set_anchor_server_time(tempo_.anchor_us());
  t.set_anchor_beat(tempo_.anchor_beat());
  t.set_changed_by_user_id(tempo_by_id_);
  t.set_changed_by_username(tempo_by_name_);
  t.set_changed_server_time(tempo_changed_us_);
  t.set_changed_unix_ms(tempo_changed_unix_ms_);
  return t;
}

void Room::SetTempo(SessionId session, const TempoChange& change, const std::string& request_id) {
  auto it = members_.find(session);
  if (it == members_.end())
    return Error(session, proto::WRONG_STATE, "not in this room", request_id);
  const Member& actor = it->second;
  if (!IsRoomStaff(actor)) {
    return Error(session, proto::PERMISSION_DENIED, "only room moderators change the tempo",
                 request_id);
  }
  const int64_t now = host_->NowUs();
  Tempo next = tempo_;
  if (absl::Status st = next.Apply(change, config_->tempo, now); !st.ok()) {
    return Error(session, proto::INVALID_PARAMETERS, std::string(st.message()), request_id);
  }
  const bool across = SpansNodes();
  if (across && !host_->broker()->Available()) {
    return Error(session, proto::STREAM_UNAVAILABLE, kStreamUnavailableText, request_id);
  }
  // What the change sets: at once on one node; across nodes once the script sequenced
  // its TempoState, which goes out only while the actor is the kept owner or a kept
  // moderator (server staff: unchecked), so a moderator removed on another node first
  // changes nothing.
  auto apply = [this, next, by_id = actor.user.user_id(), by_name = actor.user.username(), now,
                unix_ms = host_->UnixMs()] {
    tempo_ = next;
    tempo_by_id_ = by_id;
    tempo_by_name_ = by_name;
    tempo_changed_us_ = now;
    tempo_changed_unix_ms_ = unix_ms;
  };
  // The event shows the tempo as changed (across nodes, in place only to build it).
  const Tempo before = tempo_;
  const std::string before_id = tempo_by_id_, before_name = tempo_by_name_;
  const int64_t before_us = tempo_changed_us_, before_unix_ms = tempo_changed_unix_ms_;
  apply();
  proto::ClientMessage out;
  *out.mutable_tempo_state() = TempoView();
  StampType(&out);
  if (!across) {
    RecordTempoChange();
    host_->RoomChanged(id_);
    Broadcast(out, session, /*droppable=*/false, EchoToSender(session, request_id));
    return;
  }
  tempo_ = before;
  tempo_by_id_ = before_id;
  tempo_by_name_ = before_name;
  tempo_changed_us_ = before_us;
  tempo_changed_unix_ms_ = before_unix_ms;
  const RoomStateChange::Check check =
      IsStaff(actor) ? RoomStateChange::Check::kNone : RoomStateChange::Check::kModerator;
  // Kept with the event, so that a room object opening on a node later starts from it.
  RoomStateChange kept;
  kept.kind = RoomStateChange::Kind::kTempo;
  kept.tempo = out.tempo_state().SerializeAsString();
  kept.check = check;
  kept.actor = actor.user.user_id();
  Broadcast(
      out, session, /*droppable=*/false,
      WhenSequenced(session, request_id, check,
                    [this, apply, echo = EchoToSender(session, request_id)](const Publication& p) {
                      apply();
                      tempo_since_asked_ = true;
                      RecordTempoChange();
                      host_->RoomChanged(id_);
                      echo(p);
                    }),
      ChatMark::kNone, std::move(kept));
}

void Room::ApplyRemoteTempo(const proto::TempoState& t) {
  // A state no node of this server could have set (a foreign writer on the stream) is
  // relayed as it came but not taken.
  if (!tempo_
           .Restore(t.bpm(), t.beats_per_bar(), t.beat_unit(), t.running(), t.anchor_server_time(),
                    t.anchor_beat(), config_->tempo)
           .ok()) {
    return;
  }
  tempo_by_id_ = t.changed_by_user_id();
  tempo_by_name_ = t.changed_by_username();
  tempo_changed_us_ = t.changed_server_time();
  tempo_changed_unix_ms_ = t.changed_unix_ms();
  tempo_since_asked_ = true;
  RecordTempoChange();
  host_->RoomChanged(id_);
}

void Room::ReportQuality(SessionId session, const proto::ConnectionQuality& quality) {
  auto it = members_.find(session);
  if (it == members_.end()) return;
  Member& m = it->second;
  const proto::QualityGrade before = m.quality.grade();
  m.quality = quality;
  m.quality.set_grade(GradeQuality(quality, config_->quality));
  m.quality.set_reported_server_time(host_->NowUs());
  // Staff hear of a change of grade, not of every report: a steady link costs nothing.
  if (m.quality.grade() == before) return;
  proto::ClientMessage out;
  auto* q = out.mutable_member_quality();
  q->set_room_id(id_);
  q->set_user_id(m.user.user_id());
  q->set_session_id(session);
  *q->mutable_quality() = m.quality;
  StampType(&out);
  const Frame frame = MakeFrame(out);
  for (const auto& [sid, member] : members_) {
    if (IsRoomStaff(member)) host_->SendToSession(sid, frame);
  }
}

}  // namespace tutti::server
