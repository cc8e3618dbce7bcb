// Room, its resume side (docs/PROTOCOL.md §12): a member whose connection dropped stays in
// the room as `reconnecting` (its notes released at once), and comes back under a new
// session id with every room event it missed, in order, before any live one.
// Same class, owner and thread as room.cc (the room's home shard).
#include <string>
#include <utility>
#include <vector>

#include "server/envelope.h"
#include "server/room.h"

namespace tutti::server {

void Room::AnnounceConnection(const Member& m, SessionId session, SessionId previous) {
  proto::ClientMessage out;
  auto* c = out.mutable_member_connection();
  c->set_room_id(id_);
  c->set_user_id(m.user.user_id());
  c->set_session_id(session);
  c->set_reconnecting(m.user.reconnecting());
  c->set_previous_session_id(previous);
  StampType(&out);
  Broadcast(std::move(out), 0, /*droppable=*/false);
}

void Room::Disconnected(SessionId session) {
  auto it = members_.find(session);
  if (it == members_.end() || it->second.user.reconnecting()) return;
  Member& m = it->second;
  // Nothing may sound while the player is gone: released now, not at the end of the grace.
  ReleaseHeldNotes(session, m);
  m.user.set_reconnecting(true);
  // Its shard no longer holds a connection for it: no live delivery there on its account.
  --shard_members_[ShardOfSession(session)];
  ShareMember(session, m);
  AnnounceConnection(m, session, 0);
}

void Room::Rekey(SessionId previous, SessionId session) {
  auto it = members_.find(previous);
  if (it == members_.end() || members_.count(session)) return;
  if (!it->second.user.reconnecting()) Disconnected(previous);
  Member m = std::move(it->second);
  members_.erase(it);
  m.user.set_session_id(session);
  auto [now_it, inserted] = members_.emplace(session, std::move(m));
  UnshareMember(previous);
  ShareMember(session, now_it->second);
}

void Room::Resume(SessionId previous, SessionId session, const StreamPosition& since,
                  const std::string& request_id) {
  auto it = members_.find(previous);
  if (it == members_.end() || members_.count(session)) {
    // Kicked or banned while away (or the grace ran out first): restored in no room.
    proto::ClientMessage out;
    auto* r = out.mutable_resume_result();
    r->set_outcome(proto::RESUME_UNRECOVERABLE);
    r->set_reason("no longer in the room");
    r->mutable_since()->set_epoch(since.epoch);
    r->mutable_since()->set_offset(since.offset);
    out.set_request_id(request_id);
    StampType(&out);
    host_->JoinFailed(session, id_, MakeFrame(out));
    return;
  }
  Member m = std::move(it->second);
  if (!m.user.reconnecting()) --shard_members_[ShardOfSession(previous)];
  members_.erase(it);
  m.user.set_session_id(session);
  m.user.set_reconnecting(false);
  auto [now_it, inserted] = members_.emplace(session, std::move(m));
  const Member& member = now_it->second;
  ++shard_members_[ShardOfSession(session)];
  UnshareMember(previous);
  ShareMember(session, member);

  AnswerResume(member, previous, session, since, request_id);
  AnnounceConnection(member, session, previous);
}

void Room::AnswerResume(const Member& member, SessionId previous, SessionId session,
                        const StreamPosition& since, const std::string& request_id) {
  // The answer and the replay are handed to the session's shard in one step, before the
  // caller's MemberConnection (and every later event) is published: the shard sends them
  // before any live event it delivers for this room, and indexes the session only then,
  // so an event is neither missed nor sent twice. An engine completes History in call
  // order with publications (broker.h), so this holds for a networked engine too.
  proto::RoomSnapshot snapshot = Snapshot();  // the same instant as the history read
  proto::UserInfo you = UserView(member);
  const uint64_t last_sequence = member.last_sequence;
  RoomHost* host = host_;
  const std::string room_id = id_;
  auto answer = [host, session, previous, since, request_id, room_id, last_sequence,
                 you = std::move(you), snapshot = std::move(snapshot)](HistoryResult h) mutable {
    proto::ClientMessage out;
    auto* r = out.mutable_resume_result();
    r->set_room_id(room_id);
    r->mutable_since()->set_epoch(since.epoch);
    r->mutable_since()->set_offset(since.offset);
    r->mutable_top()->set_epoch(h.top.epoch);
    r->mutable_top()->set_offset(h.top.offset);
    *r->mutable_you() = std::move(you);
    std::vector<Frame> frames(1);
    if (h.recoverable) {
      // What excluded the old session (its own MIDI, avatar, status, chat echo) it never
      // got live; it does not get it now either.
      for (const Publication& p : h.publications) {
        if (p.exclude != previous && p.exclude != session) frames.push_back(p.frame);
      }
      r->set_outcome(proto::RESUME_RECOVERED);
      r->set_replayed(static_cast<uint32_t>(frames.size() - 1));
    } else {
      r->set_outcome(proto::RESUME_UNRECOVERABLE);
      r->set_reason(h.reason);
      *r->mutable_snapshot() = std::move(snapshot);
    }
    out.set_request_id(request_id);
    StampType(&out);
    frames[0] = MakeFrame(out);
    host->MemberResumed(session, room_id, std::move(frames), last_sequence);
  };
  Broker* b = host_->broker();
  if (b == nullptr) {
    answer(HistoryResult{false, "history not kept", {}, {}});
  } else {
    b->History(id_, since, std::move(answer));
  }
}

void Room::AdoptResumed(const JoinRequest& req, SessionId previous, const StreamPosition& since) {
  if (reading_chat_ || reading_presence_ || reading_penalties_ || reading_state_) {
    // The room just opened here (maybe for this resume): the member comes back into the
    // room as kept, with its bans, chat and other nodes' members (RunWaitingJoins).
    waiting_adopts_.push_back({req, previous, since});
    return;
  }
  ExpirePenalties(host_->UnixMs());
  // A placeholder that found nothing kept: the room ended everywhere (its stream expired,
  // or Redis lost it); the client joins again as after a first connect.
  const bool closed = probe_ && !adopted_at_open_ && members_.empty();
  if (closed || members_.count(req.session) || mod_.IsBanned(req.user.user_id(), host_->UnixMs())) {
    // Banned while away (or a stale repeat): restored in no room, as Resume says.
    proto::ClientMessage out;
    auto* r = out.mutable_resume_result();
    r->set_outcome(proto::RESUME_UNRECOVERABLE);
    r->set_reason(closed ? "room closed" : "no longer in the room");
    r->mutable_since()->set_epoch(since.epoch);
    r->mutable_since()->set_offset(since.offset);
    out.set_request_id(req.request_id);
    StampType(&out);
    host_->JoinFailed(req.session, id_, MakeFrame(out));
    if (empty() && waiting_joins_.empty() && waiting_adopts_.empty() && !is_lobby() &&
        !persistent()) {
      host_->RoomEmpty(id_);
    }
    return;
  }
  Member m;
  m.user = req.user;
  m.user.set_session_id(req.session);
  m.user.set_reconnecting(false);
  m.server_admin = req.server_admin;
  m.server_moderator = req.server_moderator;
  m.join_order = next_join_order_++;
  if (mod_.owner_id().empty() && !is_lobby()) {
    mod_.TransferOwnership(m.user.user_id()).IgnoreError();  // cannot fail: id non-empty
  }
  // Whatever the old session held on its node sounds on every listener until released;
  // this node cannot know what it was, so everything goes (the bytes of a panic:
  // room_music.cc), stamped as the old session's, whose sequence is not known here (0).
  // Excluding nobody: the old session is gone, and the new one gets it in its place in
  // the stream whether the history or the live fan-out brings it.
  BroadcastRelease(m.user.user_id(), previous);
  // The old session was in this node's roster of other nodes' members: it is this one
  // now, and its old presence entry goes (it must not expire into a second leave).
  // When the roster no longer has it (its presence expired first and its leave was
  // published), the others learn of it as a join.
  auto remote = remote_.find(previous);
  const bool known = remote != remote_.end();
  if (known) {
    if (Broker* b = host_->broker()) b->RemoveOtherPresence(id_, remote->second.origin, previous);
    remote_.erase(remote);
  }
  auto [it, inserted] = members_.emplace(req.session, std::move(m));
  ++shard_members_[ShardOfSession(req.session)];
  if (SpansNodes()) adopted_[previous] = req.session;
  ShareMember(req.session, it->second);
  host_->RoomChanged(id_);
  AnswerResume(it->second, previous, req.session, since, req.request_id);
  if (!known && SpansNodes()) Reannounce(req.session);
  AnnounceConnection(it->second, req.session, previous);
}

}  // namespace tutti::server
