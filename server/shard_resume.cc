// Shard, its resume side (docs/PROTOCOL.md §12, docs/ARCHITECTURE.md "Resume"): parking a
// session whose connection dropped, ending it when its grace is over, and the steps of a
// resume, each on the shard that owns what it touches:
//   new connection's shard B   StartResume: the token was redeemed at the upgrade (or by
//                              RECONNECT); asks the old session's shard A for it
//   A                          HandOverParked: takes the parked session out (if its grace
//                              has not run out) and sends its state to B
//   B                          AdoptCarryOver: the new session takes the state over and, if
//                              it was in a room, asks the room's home shard H
//   H                          Room::Resume: re-keys the member, reads the history since
//                              the client's position and calls MemberResumed
//   B                          MemberResumed: indexes the session in the room and sends the
//                              ResumeResult and the replay, before any live event
// Same class, owner and thread as shard.cc.
#include <deque>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/envelope.h"
#include "server/resume_tokens.h"
#include "server/shard.h"
#include "server/social.h"

namespace tutti::server {

namespace {

// A resume answered in no room: the session is restored, the client joins as after a
// first connect.
Frame UnrecoverableFrame(const std::string& reason, const std::string& request_id) {
  proto::ClientMessage out;
  auto* rr = out.mutable_resume_result();
  rr->set_outcome(proto::RESUME_UNRECOVERABLE);
  rr->set_reason(reason);
  out.set_request_id(request_id);
  StampType(&out);
  return MakeFrame(out);
}

constexpr uint16_t kCloseNormal = 1000;
constexpr uint16_t kCloseClientGoingAway = 1001;

}  // namespace

void Shard::ConnectionLost(SessionId id, uint16_t peer_code) {
  Session* s = FindSession(id);
  if (!s) return;
  // The client said goodbye (1000, or 1001 from a page being closed), or the server closed
  // it for a reason a resume must not undo (ban, token expiry, policy, shutdown, slow
  // consumer): the session ends. A connection that just vanished, or went silent until the
  // idle timeout, is the drop resume is for.
  const uint16_t ours = s->close_code();
  const bool drop = ours != 0 ? ours == kCloseIdle
                              : peer_code != kCloseNormal && peer_code != kCloseClientGoingAway;
  if (!drop || shutting_down_ || cluster_->config().resume_grace_ms <= 0) return EndSession(id);
  ParkSession(id);
}

void Shard::ParkSession(SessionId id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  Session* s = it->second.get();
  // The grace and the token's window start now, before anyone can hear of the drop (a test
  // that moves a manual clock on hearing it must find both already running).
  const int64_t deadline = NowUs() + int64_t{cluster_->config().resume_grace_ms} * 1000;
  cluster_->resume_tokens().Detached(id);
  if (broker_) broker_->ParkResume(id);  // its shared state expires with the token
  hooks_->SessionEnded(id);              // its token clock stops: nothing to close any more
  // Dropped again while its own resume was under way: parked in the room it was being
  // restored into, with what it had not yet been given.
  const std::string room = !s->room_id().empty() ? s->room_id() : s->resuming_into();
  const std::vector<std::string> rooms = membership_.End(*s);
  // A resume restores the session on a new primary, which asks for a new link.
  CloseLinkOf(*s, kCloseLinkSessionGone, "linked session dropped");
  s->DetachLink();
  ParkedSessions::Parked p;
  const bool listed = hooks_->ForgetRoomList(id);
  p.room_list = s->TakeRoomList() || listed;
  for (Frame& f : s->TakeHeld()) {
    p.held_bytes += f->wire_size();
    p.held.push_back(std::move(f));
  }
  p.session = std::move(it->second);
  p.room_id = room;
  p.deadline_us = deadline;
  sessions_.erase(it);
  parked_->Park(id, std::move(p));
  for (const std::string& r : rooms) {
    // A join in flight is abandoned (the room lets it go if it got there); the room it is
    // in keeps it, reconnecting.
    if (r == room) {
      OnRoom(r, [id](Room& rm) { rm.Disconnected(id); });
    } else {
      OnRoom(r, [id](Room& rm) { rm.Leave(id, "disconnected", ""); });
    }
  }
  if (shutting_down_ && sessions_.empty()) sweep_timer_.cancel();
}

void Shard::ParkedExpired(ParkedSessions::Parked p) {
  // The grace is over: what a drop was before resume existed, a leave.
  // The token is left to expire on its own (ResumeTokens keeps it a while longer), so a
  // late try is told "token expired" rather than "unknown".
  const SessionId id = p.session->id();
  if (broker_) broker_->DropResume(id);
  if (!p.room_id.empty()) {
    OnRoom(p.room_id, [id](Room& r) { r.Leave(id, "disconnected", ""); });
  }
  OnSocial([id, user_id = p.session->user().user_id()](Social& social) {
    social.SessionOffline(id, user_id);
  });
}

void Shard::SendResumeResult(SessionId session, proto::ResumeOutcome outcome,
                             const std::string& reason, const ResumeRequest& r) {
  proto::ClientMessage out;
  auto* rr = out.mutable_resume_result();
  rr->set_outcome(outcome);
  rr->set_reason(reason);
  rr->mutable_since()->set_epoch(r.epoch);
  rr->mutable_since()->set_offset(r.offset);
  if (Session* s = FindSession(session)) *rr->mutable_you() = s->user();
  out.set_request_id(r.request_id);
  StampType(&out);
  SendToSession(session, MakeFrame(out));
}

void Shard::StartResume(Session& s, ResumeRequest r) {
  if (!r.shared_key.empty() && broker_ && broker_->SharesResume()) {
    // Rooms across nodes: the token's state in Redis is taken first, whoever issued it,
    // so that it is spent on every node.
    const std::string key = std::exchange(r.shared_key, {});
    broker_->TakeResume(key, [this, fresh = s.id(), r = std::move(r)](ResumeTake t) mutable {
      Session* now = FindSession(fresh);
      if (now == nullptr) return;  // gone before the answer: nothing to restore into
      if (r.remote) return AdoptShared(*now, std::move(t), std::move(r));
      // Granted by this process's registry, but another node took it meanwhile. A Redis
      // out of reach cannot say: the local grant stands.
      if (r.refusal.empty() && t.status == ResumeTake::Status::kMissing) {
        r.refusal = ResumeTokens::OutcomeName(ResumeTokens::Outcome::kUnknown);
      }
      StartResume(*now, std::move(r));
    });
    return;
  }
  if (r.remote && r.refusal.empty()) {
    // Unknown here, and no engine that shares resume state could know it.
    r.refusal = ResumeTokens::OutcomeName(ResumeTokens::Outcome::kUnknown);
  }
  if (!r.refusal.empty()) {
    return SendResumeResult(s.id(), proto::RESUME_REFUSED, r.refusal, r);
  }
  // Queued: the caller is inside AddSession or the dispatcher.
  OnShard(
      ShardOfSession(r.previous),
      [fresh = s.id(), r = std::move(r)](Shard& old) mutable {
        old.HandOverParked(fresh, std::move(r));
      },
      Hop::kQueued);
}

void Shard::HandOverParked(SessionId fresh, ResumeRequest r) {
  std::optional<ParkedSessions::Parked> p = parked_->Take(r.previous);
  if (!p) {
    if (Session* old = FindSession(r.previous)) {
      // Still connected as far as this server knows: a half-open TCP connection (a phone
      // that changed networks sends no FIN) or a drop the server has not read yet. The
      // token's holder is on a new connection, so the old one is closed and counts as a
      // drop; waiting for its idle timeout would lose the session (the token is spent).
      old->Close(kCloseResumedElsewhere, "resumed on another connection");
      ParkSession(r.previous);
      p = parked_->Take(r.previous);
    }
  }
  if (!p) {
    // Its grace ran out (a normal leave followed) just before the token was redeemed.
    OnShard(ShardOfSession(fresh), [fresh, r](Shard& home) {
      home.SendResumeResult(fresh, proto::RESUME_REFUSED, "session ended", r);
    });
    return;
  }
  const SessionId previous = r.previous;
  if (broker_) broker_->DropResume(previous);  // spent (taken already when shared)
  const std::string user_id = p->session->user().user_id();
  auto carry = std::make_shared<SessionCarryOver>(p->session->Export(p->room_id));
  carry->room_list = p->room_list;
  carry->held.assign(std::make_move_iterator(p->held.begin()),
                     std::make_move_iterator(p->held.end()));
  p.reset();
  // The user stays online throughout: the new session announced itself before this.
  OnSocial([previous, user_id](Social& social) { social.SessionOffline(previous, user_id); });
  OnShard(ShardOfSession(fresh), [fresh, carry, r = std::move(r)](Shard& home) mutable {
    home.AdoptCarryOver(fresh, std::move(carry), std::move(r));
  });
}

void Shard::AdoptCarryOver(SessionId fresh, std::shared_ptr<SessionCarryOver> carry,
                           ResumeRequest r) {
  const std::string room = carry->room_id;
  const SessionId previous = r.previous;
  Session* s = FindSession(fresh);
  if (!s) {
    if (ParkedSessions::Parked* p = parked_->Find(fresh)) {
      // The new connection dropped too, before it could take over, and is parked (its
      // Welcome carried a new token): it takes the state over, parked in the old room,
      // which re-keys the member, still reconnecting. The held frames are older than
      // whatever it held itself.
      std::deque<Frame> held(std::make_move_iterator(carry->held.begin()),
                             std::make_move_iterator(carry->held.end()));
      carry->held.clear();
      for (Frame& f : p->held) held.push_back(std::move(f));
      p->held = std::move(held);
      p->held_bytes = 0;
      for (const Frame& f : p->held) p->held_bytes += f->wire_size();
      p->room_list = p->room_list || carry->room_list;
      carry->room_list = false;
      p->session->Import(std::move(*carry));
      if (room.empty()) return;
      if (p->room_id.empty()) {
        p->room_id = room;
        OnRoom(room, [previous, fresh](Room& rm) { rm.Rekey(previous, fresh); });
      } else {
        OnRoom(room, [previous](Room& rm) { rm.Leave(previous, "left", ""); });
      }
      return;
    }
    // The new connection is gone for good too, before it could take over: the member
    // leaves.
    if (!room.empty())
      OnRoom(room, [previous](Room& rm) { rm.Leave(previous, "disconnected", ""); });
    return;
  }
  s->Import(std::move(*carry));
  if (room.empty()) {
    SendResumeResult(fresh, proto::RESUME_RECOVERED, "", r);
    return FinishResume(*s);
  }
  if (s->seat().joining() || !s->room_id().empty()) {
    // The client asked for a room before the resume came back: that request wins.
    OnRoom(room, [previous](Room& rm) { rm.Leave(previous, "left", ""); });
    SendResumeResult(fresh, proto::RESUME_UNRECOVERABLE, "another join came first", r);
    return FinishResume(*s);
  }
  // Until the room answers, other joins wait (as for any join in flight); a drop meanwhile
  // parks the session in this room (ParkSession).
  s->set_resuming_into(room);
  membership_.MarkJoining(*s, room, r.request_id);
  StreamPosition since{r.epoch, r.offset};
  // The client's position only counts for the room it names; for another room it has none.
  if (r.room_id != room) since = StreamPosition{};
  OnShard(cluster_->RoomHomeIndex(room),
          [room, previous, fresh, since, rid = r.request_id](Shard& home) {
            if (Room* rm = home.FindRoom(room)) return rm->Resume(previous, fresh, since, rid);
            home.JoinFailed(fresh, room, UnrecoverableFrame("room closed", rid));
          });
}

void Shard::ShareResume(Session& s, bool create) {
  if (!broker_ || !broker_->SharesResume() || s.shared_resume_key.empty()) return;
  SharedResume state;
  state.user = s.user();
  state.user.set_session_id(s.id());
  state.room_id = s.room_id();
  broker_->KeepResume(s.id(), s.shared_resume_key, state, create);
}

void Shard::AdoptShared(Session& s, ResumeTake t, ResumeRequest r) {
  if (t.status != ResumeTake::Status::kFound) {
    const std::string why = t.status == ResumeTake::Status::kUnreachable
                                ? "resume state unreachable"
                                : ResumeTokens::OutcomeName(ResumeTokens::Outcome::kUnknown);
    return SendResumeResult(s.id(), proto::RESUME_REFUSED, why, r);
  }
  const proto::UserInfo& old = t.state.user;
  // As ResumeTokens::Redeem: a member presents a token of the same `sub`, a guest a guest
  // token (only the token names a guest's session).
  const bool same_user =
      s.identity().is_guest ? old.is_guest() : old.user_id() == s.user().user_id();
  if (!same_user || old.session_id() == 0) {
    return SendResumeResult(s.id(), proto::RESUME_REFUSED,
                            ResumeTokens::OutcomeName(ResumeTokens::Outcome::kWrongUser), r);
  }
  r.previous = old.session_id();
  if (old.user_id() != s.user().user_id()) {
    // A guest answers to its old id again; friends' presence follows the switch.
    OnSocial([id = s.id(), old_id = s.user().user_id()](Social& social) {
      social.SessionOffline(id, old_id);
    });
    s.AdoptUserId(old.user_id());
    OnSocial([id = s.id(), user = s.user()](Social& social) { social.SessionOnline(id, user); });
    // The gate checked bans on the new guest id; the old one answers for itself here.
    if (cluster_->bans()->Match(s.user().user_id(), s.remote_ip(), UnixMs())) {
      return s.Close(kCloseBanned, "banned from this server");
    }
  }
  // The look others knew (the name and roles come from this connection's identity).
  *s.mutable_user().mutable_avatar() = old.avatar();
  const std::string room = t.state.room_id;
  if (room.empty()) {
    ShareResume(s);
    return SendResumeResult(s.id(), proto::RESUME_RECOVERED, "", r);
  }
  if (s.seat().joining() || !s.room_id().empty()) {
    return SendResumeResult(s.id(), proto::RESUME_UNRECOVERABLE, "another join came first", r);
  }
  membership_.MarkJoining(s, room, r.request_id);
  StreamPosition since{r.epoch, r.offset};
  if (r.room_id != room) since = StreamPosition{};
  JoinRequest join;
  join.session = s.id();
  join.user = s.user();
  join.server_admin = s.identity().is_admin;
  join.server_moderator = s.identity().is_moderator;
  join.request_id = r.request_id;
  OnShard(cluster_->RoomHomeIndex(room),
          [room, previous = r.previous, since, join = std::move(join)](Shard& home) {
            if (Room* rm = home.FindRoom(room)) return rm->AdoptResumed(join, previous, since);
            // No object here (all of its members were on the node the client left): one
            // opens and reads what is kept, and the member comes back into the room as kept.
            home.OpenToAdopt(room, join, previous, since);
          });
}

void Shard::OpenToAdopt(const std::string& room_id, const JoinRequest& join, SessionId previous,
                        const StreamPosition& since) {
  if (!cluster_->ReserveRoom()) {
    return JoinFailed(join.session, room_id,
                      UnrecoverableFrame("the server has too many rooms", join.request_id));
  }
  // The room takes what is kept (Room::SettleOpeningState), or answers "room closed"
  // when nothing is.
  OpenProbe(room_id, room_id)->AdoptResumed(join, previous, since);
}

void Shard::MemberResumed(SessionId session, const std::string& room_id, std::vector<Frame> frames,
                          uint64_t last_sequence) {
  const Room* room = FindRoom(room_id);
  std::string visible = room && room->Info().room_type() == proto::PRIVATE ? "" : room_id;
  OnShard(ShardOfSession(session), [session, room_id, visible, last_sequence,
                                    frames = std::move(frames)](Shard& target) {
    Session* s = target.FindSession(session);
    if (!s) {
      // Parked meanwhile (it dropped during its resume): the room shows it reconnecting
      // (ParkSession told it) and a later resume replays from the client's position.
      if (target.parked_->Find(session)) return;
      target.OnRoom(
          room_id, [session](Room& r) { r.Leave(session, "disconnected", ""); }, Hop::kQueued);
      return;
    }
    target.membership_.Joined(*s, room_id);
    target.ShareResume(*s);
    s->ContinueMidiSequence(last_sequence, target.NowUs());
    target.OnSocial([session, user_id = s->user().user_id(),
                     visible](Social& social) { social.RoomChanged(session, user_id, visible); },
                    Hop::kQueued);
    // In this one step, before any later delivery for the room reaches this shard.
    for (const Frame& f : frames) target.Count(s->Send(f, false));
    target.FinishResume(*s);
  });
}

void Shard::FinishResume(Session& s) {
  // After the ResumeResult and its replay: the room list starts over with a full list
  // (the deltas missed meanwhile are gone), then what was held while parked.
  s.set_resuming_into("");
  if (s.TakeRoomList()) hooks_->SubscribeRoomList(s.id());
  for (const Frame& f : s.TakeHeld()) Count(s.Send(f, false));
}

}  // namespace tutti::server
