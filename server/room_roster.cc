// Room, its members-across-nodes side (docs/SCALE-OUT.md, "Members across nodes"): with
// a networked engine each node's room object writes its own members into the room's
// presence and keeps a roster of the members other nodes have (remote_), from their
// join, leave, connection and look events on the stream and, for those that joined
// before the object opened here, from a presence read at its opening. User lists, the
// room's user count and its fullness count both. A member whose node died is found by
// the engine's periodic presence read: the one read that deletes its expired entry
// makes this room publish its release and its UserLeftRoom, so every node's members see
// it leave at one place in the stream (and, when it was the room's owner, hand the room
// on). Another node's MIDI updates what its sender holds (so joiners here get it in their
// snapshot). Another node's moderation notices are handed on to
// room_moderation_nodes.cc. None of this runs with the in-process engine.
// Same class, owner and thread as room.cc (the room's home shard).
#include <iterator>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "midi/channel_message.h"
#include "midi/midi_parse.h"
#include "server/envelope.h"
#include "server/room.h"

namespace tutti::server {
namespace {

using Type = proto::ClientMessage::MessageType;

// The message_type of a serialized ClientMessage when it comes first (field 1, a varint,
// as libprotobuf writes it), without parsing the rest; -1 when it cannot tell.
int PeekType(const std::string& bytes) {
  if (bytes.size() < 2 || bytes[0] != 0x08) return -1;
  int value = 0;
  for (size_t i = 1; i < bytes.size() && i < 5; ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    value |= (b & 0x7f) << (7 * (i - 1));
    if ((b & 0x80) == 0) return value;
  }
  return -1;
}

// The events that change who is in the room or how a member is shown.
bool RosterEvent(int type) {
  switch (type) {
    case proto::ClientMessage::UserJoinedRoom:
    case proto::ClientMessage::UserLeftRoom:
    case proto::ClientMessage::MemberConnection:
    case proto::ClientMessage::PermissionsUpdated:
    case proto::ClientMessage::AvatarCommand:
    case proto::ClientMessage::ModerationNotice:  // room_moderation_nodes.cc
    case proto::ClientMessage::RoomUpdated:       // room_state_nodes.cc
    case proto::ClientMessage::TempoState:        // room_music.cc
    case -1:                                      // not told by the peek: parsed to be sure
      return true;
    default:
      return false;
  }
}

}  // namespace

bool Room::SpansNodes() const {
  Broker* b = host_->broker();
  return b != nullptr && b->SpansNodes();
}

void Room::ShareMember(SessionId s, const Member& m) {
  if (!SpansNodes()) return;
  PresenceEntry e;
  e.session = s;
  e.user_id = m.user.user_id();
  e.reconnecting = m.user.reconnecting();
  e.user = UserView(m);
  host_->broker()->SetPresence(id_, e);
}

void Room::UnshareMember(SessionId s) {
  if (SpansNodes()) host_->broker()->RemovePresence(id_, s);
}

void Room::ApplyRemote(const Publication& pub) {
  const int type = PeekType(pub.frame->payload());
  if (type == proto::ClientMessage::MidiMessage) return ApplyRemoteMidi(pub);
  if (!RosterEvent(type)) return;
  proto::ClientMessage m;
  if (!m.ParseFromString(pub.frame->payload())) return;
  const size_t before = remote_.size();
  switch (m.message_case()) {
    case proto::ClientMessage::kUserJoinedRoom: {
      const proto::UserInfo& u = m.user_joined_room().user_info();
      const SessionId sid = u.session_id();
      if (sid == 0 || members_.count(sid)) break;
      remote_[sid] = {u, pub.origin, next_join_order_++};
      left_while_reading_.erase(sid);
      if (reading_presence_) joined_while_reading_.insert(sid);
      break;
    }
    case proto::ClientMessage::kUserLeftRoom: {
      const SessionId sid = m.user_left_room().session_id();
      remote_.erase(sid);
      if (deferred_hand_on_ && deferred_hand_on_->owner == m.user_left_room().user_id()) {
        HandOnAfterRemoteLeave(pub.position);
      }
      if (reading_presence_) left_while_reading_.insert(sid);
      auto adopted = adopted_.find(sid);
      if (adopted != adopted_.end()) {
        // The old session of a member that resumed here, taken for gone by another
        // node after the resume: the member is announced again under its new session.
        const SessionId now = adopted->second;
        adopted_.erase(adopted);
        if (members_.count(now)) Reannounce(now);
      } else if (members_.count(sid)) {
        // A member of this node taken for gone (its presence was not refreshed in time).
        Reannounce(sid);
      }
      break;
    }
    case proto::ClientMessage::kMemberConnection: {
      const proto::MemberConnection& c = m.member_connection();
      const SessionId sid = c.session_id();
      const SessionId previous = c.previous_session_id();
      if (previous == 0) {
        auto it = remote_.find(sid);
        if (it != remote_.end()) it->second.user.set_reconnecting(c.reconnecting());
        break;
      }
      // A resume on another node: re-keyed there, and here.
      auto it = remote_.find(previous);
      if (it != remote_.end()) {
        RemoteMember r = std::move(it->second);
        remote_.erase(it);
        r.user.set_session_id(sid);
        r.user.set_reconnecting(false);
        r.origin = pub.origin;
        remote_[sid] = std::move(r);
        if (reading_presence_) joined_while_reading_.insert(sid);
      } else if (reading_presence_) {
        left_while_reading_.insert(previous);  // the read may still list the old session
      }
      auto local = members_.find(previous);
      if (local != members_.end() && !remote_.count(sid)) {
        // A member of this node that resumed on another node (this node lost its
        // connection, or still holds it parked): it is that node's member now, and this
        // node lets its old session go without a word (the others saw it re-keyed).
        Member gone = std::move(local->second);
        if (!gone.user.reconnecting()) --shard_members_[ShardOfSession(previous)];
        members_.erase(local);
        UnshareMember(previous);
        gone.user.set_session_id(sid);
        gone.user.set_reconnecting(false);
        remote_[sid] = {UserView(gone), pub.origin, gone.join_order};
        proto::ClientMessage notice;
        notice.mutable_room_left()->set_room_id(id_);
        notice.mutable_room_left()->set_reason("resumed on another server");
        StampType(&notice);
        host_->MemberLeft(previous, id_, MakeFrame(notice));
        host_->RoomChanged(id_);
        if (members_.empty() && !is_lobby() && !persistent()) host_->RoomEmpty(id_);
        return;
      }
      break;
    }
    case proto::ClientMessage::kPermissionsUpdated: {
      const proto::UserInfo& u = m.permissions_updated().user();
      auto it = remote_.find(u.session_id());
      if (it == remote_.end()) break;
      const bool reconnecting = it->second.user.reconnecting();
      it->second.user = u;
      it->second.user.set_reconnecting(reconnecting);
      break;
    }
    case proto::ClientMessage::kAvatarCommand: {
      const proto::AvatarCommand& a = m.avatar_command();
      auto it = remote_.find(a.session_id());
      if (it == remote_.end() || a.action() == proto::UPDATE_POSITION) break;
      auto* avatar = it->second.user.mutable_avatar();
      avatar->set_color(a.avatar_data().color());
      avatar->set_appearance(a.avatar_data().appearance());
      break;
    }
    case proto::ClientMessage::kRoomUpdated: {
      // Another node's owner or settings change. The owner it names holds from this event
      // on, as after an /owner notice (an heir may act as soon as it is told); the rest,
      // and the password hash no event carries, come from the kept state, read again.
      // The performer list it shows holds from now on too (a performer named there plays
      // here).
      const std::string& owner = m.room_updated().room_info().owner_id();
      if (!owner.empty() && !is_lobby() && !mod_.IsOwner(owner)) {
        mod_.TransferOwnership(owner).IgnoreError();
      }
      TakePerformers(m.room_updated().room_info());
      RemoteStateChanged();
      break;
    }
    case proto::ClientMessage::kTempoState:
      return ApplyRemoteTempo(m.tempo_state());
    case proto::ClientMessage::kModerationNotice:
      // May remove this node's last member (the room object then ends): nothing after.
      return ApplyRemoteModeration(m.moderation_notice());
    default:
      break;
  }
  if (remote_.size() != before) host_->RoomChanged(id_);
}

// One protobuf parse per batch per node (not per receiver): a late joiner here, or a
// member resynchronised here, hears the program, bend, pedals and notes another node's
// sender set up before, as for this node's senders. The sender's node has checked the
// batch; what does not parse here is skipped. Its release (a leave, a kill, a mute, a
// dead node's) arrives as MIDI too and empties it; its leave drops it with the entry.
void Room::ApplyRemoteMidi(const Publication& pub) {
  proto::ClientMessage m;
  if (!m.ParseFromString(pub.frame->payload()) || !m.has_midi_message()) return;
  const proto::MidiMessage& batch = m.midi_message();
  auto it = remote_.find(batch.session_id());
  if (it == remote_.end()) return;
  std::vector<midi::ChannelMessage> parsed;
  const std::string& data = batch.midi_data();
  if (!data.empty()) midi::ParseChannelMessages(data, data.size(), &parsed).IgnoreError();
  for (const proto::MidiEvent& e : batch.events()) {
    midi::ChannelMessage one;
    if (midi::ParseOneChannelMessage(e.data(), &one).ok()) parsed.push_back(one);
  }
  for (const midi::ChannelMessage& c : parsed) it->second.held.Apply(c);
  it->second.last_sequence = batch.sequence();
}

void Room::PresenceRead(const std::vector<PresenceEntry>& entries) {
  if (replace_roster_) {
    // After a resynchronisation: a roster member with no live entry left while events
    // were missed (one that joined during the read is newer than the read).
    std::set<SessionId> live;
    for (const PresenceEntry& e : entries) {
      if (!e.origin.empty() && !e.expired && !e.claiming) live.insert(e.session);
    }
    for (auto it = remote_.begin(); it != remote_.end();) {
      const bool gone = !live.count(it->first) && !joined_while_reading_.count(it->first);
      it = gone ? remote_.erase(it) : std::next(it);
    }
  }
  replace_roster_ = false;
  joined_while_reading_.clear();
  for (const PresenceEntry& e : entries) {
    if (e.origin.empty() || members_.count(e.session)) continue;  // this node's own
    // A seat another node's join claimed: its member, if admitted, is announced.
    if (e.claiming) continue;
    if (e.expired) {
      PublishGone(e);
      continue;
    }
    // Joined (or re-keyed) during the read: the event is newer than the entry.
    if (left_while_reading_.count(e.session) || remote_.count(e.session)) continue;
    // Before every member this object saw join (their order among themselves is unknown).
    remote_[e.session] = {e.user, e.origin, 0};
  }
  left_while_reading_.clear();
  reading_presence_ = false;
  host_->RoomChanged(id_);
  RunWaitingJoins();
}

void Room::OnPresence(const std::string&, const std::vector<PresenceEntry>& entries) {
  // Resumed sessions that left again need no watching any more.
  for (auto it = adopted_.begin(); it != adopted_.end();) {
    it = members_.count(it->second) ? std::next(it) : adopted_.erase(it);
  }
  for (const PresenceEntry& e : entries) {
    // This node's own entry expired only when its refresh came too late (it is
    // written again at the next one); a session that resumed here is not gone.
    // A claimed seat that expired was nobody's member (its join never completed).
    if (!e.expired || e.claiming || e.origin.empty() || members_.count(e.session) ||
        adopted_.count(e.session)) {
      continue;
    }
    PublishGone(e);
  }
}

void Room::PublishGone(const PresenceEntry& e) {
  // Published whether or not this node's roster has it: this read was the only one to
  // see the entry expire, so no other node will say it.
  BroadcastRelease(e.user_id, e.session);
  if (remote_.erase(e.session) > 0) host_->RoomChanged(id_);
  proto::ClientMessage left;
  auto* l = left.mutable_user_left_room();
  l->set_user_id(e.user_id);
  l->set_session_id(e.session);
  l->set_room_id(id_);
  l->set_reason("disconnected");
  StampType(&left);
  const bool owner = mod_.IsOwner(e.user_id);
  Broadcast(std::move(left), 0, /*droppable=*/false, owner ? OwnerLeaving(e.user_id) : nullptr);
  // The owner's node died: this read is the one that knows, so this node hands it on.
  if (owner && !is_lobby()) HandOwnership();
}

void Room::Reannounce(SessionId s) {
  auto it = members_.find(s);
  if (it == members_.end()) return;
  ShareMember(s, it->second);
  proto::ClientMessage joined;
  auto* info = joined.mutable_user_joined_room();
  info->set_room_id(id_);
  *info->mutable_user_info() = UserView(it->second);
  StampType(&joined);
  // To everyone, the member too: every member here was delivered the leave as well.
  Broadcast(std::move(joined), 0, /*droppable=*/false);
}

void Room::BroadcastRelease(const std::string& user_id, SessionId session) {
  std::string bytes;
  for (uint8_t ch = 0; ch < 16; ++ch) {
    const char cc = static_cast<char>(midi::kControlChange | ch);
    bytes += {cc, static_cast<char>(midi::kCcSustain),     0,
              cc, static_cast<char>(midi::kCcAllNotesOff), 0};
  }
  proto::ClientMessage release;
  auto* msg = release.mutable_midi_message();
  msg->set_midi_data(std::move(bytes));
  const int64_t now = host_->NowUs();
  msg->set_timestamp(now);
  msg->set_server_arrival_time(now);
  msg->set_room_time(NextRoomTime());
  msg->set_user_id(user_id);
  msg->set_session_id(session);
  msg->set_flags(proto::MIDI_FLAG_SYNTHETIC);
  StampType(&release);
  Broadcast(std::move(release), 0, /*droppable=*/false);
}

}  // namespace tutti::server
