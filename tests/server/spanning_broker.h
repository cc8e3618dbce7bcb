// SpanningBroker: the in-process stream engine (a real InProcessBroker) behind a wrapper
// that says its streams span nodes, for the unit tests of rooms across nodes
// (room_roster_test, room_state_nodes_test, room_opening_nodes_test, ...): rooms then keep
// a roster, share moderation and keep their owner, settings and moderators with the
// stream. It records the ban, mute and room-state changes handed with each publish, and
// answers the reads of what is kept (chat lines, bans and mutes, room state, other nodes'
// presence) from fields the test sets, at once or when the test says (hold_*); when told
// to (refuse_checked), it refuses a change with a precondition and its event, as the
// publish script does when another change came first, and it can hold such a change
// until the test answers it (hold_checked, or every publish: hold_all), or answer publishes
// as Redis being unreachable does (unavailable, LoseChecked); with check_versions it refuses
// a settings change built on another settings version than `state`'s as stale, and writes
// the others, and tempo changes, to `state` (an open, with nobody in `others`, drops its
// tempo). Also another node's events as its engine delivers them (FromNode,
// JoinedElsewhere, RemoteNotice), another node's presence entry (MemberOn), a member's
// join request and a snapshot's sessions (MemberJoin, SnapshotSessionIds). A join's seat
// claim is decided as the seat script decides it (a ban in `kept`, a settings version
// other than `state`'s with check_versions, then the count), at once or when the test
// says (hold_seats, AnswerSeats). Test code only; the test's thread. Header only.
#ifndef TUTTI_TESTS_SERVER_SPANNING_BROKER_H_
#define TUTTI_TESTS_SERVER_SPANNING_BROKER_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/broker.h"
#include "server/envelope.h"
#include "server/memory_broker.h"
#include "server/room.h"

namespace tutti::server {

// The in-process engine, saying its streams span nodes (so rooms keep a roster).
class SpanningBroker : public Broker {
 public:
  SpanningBroker(const Clock* clock, HistoryLimits limits) : clock_(clock), inner_(clock, limits) {}
  bool SpansNodes() const override { return true; }
  void Publish(const std::string& s, PublishRequest r, PublishDone d) override {
    if (unavailable) {
      // As the Redis engine does while Redis cannot be reached.
      Publication none;
      none.unavailable = true;
      if (d) d(none);
      return;
    }
    if (r.penalty) changes.push_back(*r.penalty);
    if (r.state) states.push_back(*r.state);
    if (Stale(r)) {
      // As the publish script does with a settings change built on an older version.
      Publication none;
      none.refused = true;
      none.stale = true;
      if (d) d(none);
      return;
    }
    const bool checked = r.state && r.state->check != RoomStateChange::Check::kNone;
    if ((hold_checked && checked) || hold_all) {
      // A script call not answered yet: the room waits for it.
      held_checked.push_back({s, std::move(r), std::move(d)});
      return;
    }
    if (refuse_checked && checked) {
      // As the publish script does when the precondition fails on the kept state.
      Publication none;
      none.refused = true;
      if (d) d(none);
      return;
    }
    Wrote(r);
    inner_.Publish(s, std::move(r), std::move(d));
  }
  // With check_versions: a settings change whose base is not `state`'s settings version
  // is stale; one that is not is written to `state` (both versions counted on).
  bool Stale(const PublishRequest& r) const {
    return check_versions && r.state && r.state->kind == RoomStateChange::Kind::kSettings &&
           r.state->base_version >= 0 && state.found &&
           r.state->base_version != state.settings_version;
  }
  // As the script writes a kept state: a settings change, a tempo change, and an open that
  // nobody elsewhere is live for (a new life of the room, whose tempo is the default).
  void Wrote(const PublishRequest& r) {
    if (!check_versions || !r.state || !state.found) return;
    switch (r.state->kind) {
      case RoomStateChange::Kind::kSettings:
        state.room = r.state->room;
        state.password_hash = r.state->password_hash;
        ++state.settings_version;
        break;
      case RoomStateChange::Kind::kTempo:
        state.tempo = r.state->tempo;
        break;
      case RoomStateChange::Kind::kOpen:
        for (const PresenceEntry& p : others) {
          if (!p.expired && !p.claiming) return;  // the kept state is the live room's
        }
        state.owner = r.state->user;
        state.room = r.state->room;
        state.password_hash = r.state->password_hash;
        state.moderators = r.state->moderators;
        state.tempo.clear();
        ++state.settings_version;
        break;
      default:
        return;
    }
    ++state.version;
  }
  void Subscribe(const std::string& s, StreamSubscriber* sub) override { inner_.Subscribe(s, sub); }
  void Unsubscribe(const std::string& s, StreamSubscriber* sub) override {
    inner_.Unsubscribe(s, sub);
  }
  StreamPosition Top(const std::string& s) override { return inner_.Top(s); }
  void History(const std::string& s, const StreamPosition& since, HistoryDone d) override {
    inner_.History(s, since, std::move(d));
  }
  void RemoveStream(const std::string& s) override { inner_.RemoveStream(s); }
  // The chat lines kept with the stream: the inner engine's, at once, or `lines` when
  // AnswerChat is called while `hold_chat` is set (none: a read the link dropped).
  void ChatLines(const std::string& s, ChatDone d) override {
    if (hold_chat) {
      held_chat = std::move(d);
      return;
    }
    inner_.ChatLines(s, std::move(d));
  }
  void AnswerChat(std::vector<Publication> lines = {}) {
    ChatDone d = std::move(held_chat);
    held_chat = nullptr;
    if (d) d(std::move(lines));
  }
  void SetPresence(const std::string& s, const PresenceEntry& e) override {
    inner_.SetPresence(s, e);
  }
  void RemovePresence(const std::string& s, SessionId id) override { inner_.RemovePresence(s, id); }
  void RemoveOtherPresence(const std::string&, const std::string& origin, SessionId id) override {
    removed_other.push_back(origin + ":" + std::to_string(id));
  }
  // This node's entries (the inner engine's), then `others` (other nodes' members).
  void Presence(const std::string& s, PresenceDone d) override {
    inner_.Presence(s, [this, d = std::move(d)](std::vector<PresenceEntry> e) {
      e.insert(e.end(), others.begin(), others.end());
      d(std::move(e));
    });
  }
  // A joiner's seat, decided as kSeatClaimScript does: kBanned for a ban in `kept` that
  // has not ended; with check_versions, kStale when `state` is kept at another settings
  // version than the claim's; else counted against this node's entries (the inner
  // engine's) and the live ones of `others`, the joiner's own not counted; a seat taken
  // is written as this node's entry, marked claiming. Answered at once, or when
  // AnswerSeats is called while `hold_seats` is set; kUnreachable while `unavailable`.
  void ClaimSeat(const std::string& s, const PresenceEntry& e, int capacity,
                 int64_t settings_version, SeatDone d) override {
    ++seat_claims;
    claimed_versions.push_back(settings_version);
    if (hold_seats) {
      held_seats.push_back({s, e, capacity, settings_version, std::move(d)});
      return;
    }
    DecideSeat({s, e, capacity, settings_version, std::move(d)});
  }
  struct HeldSeat {
    std::string stream;
    PresenceEntry entry;
    int capacity = 0;
    int64_t settings_version = -1;
    SeatDone done;
  };
  void DecideSeat(HeldSeat h) {
    if (unavailable) return h.done(SeatClaim::kUnreachable);
    for (const KeptPenalty& k : kept) {
      if (k.kind == KeptPenalty::Kind::kBan && k.user_id == h.entry.user_id &&
          (k.until_unix_ms == 0 || k.until_unix_ms > clock_->UnixMs())) {
        return h.done(SeatClaim::kBanned);
      }
    }
    if (check_versions && h.settings_version >= 0 && state.found &&
        h.settings_version != state.settings_version) {
      return h.done(SeatClaim::kStale);
    }
    int taken = 0;
    inner_.Presence(h.stream, [&](std::vector<PresenceEntry> mine) {
      for (const PresenceEntry& p : mine) taken += p.session != h.entry.session ? 1 : 0;
    });
    for (const PresenceEntry& p : others) {
      taken += !p.expired && p.session != h.entry.session ? 1 : 0;
    }
    if (taken >= h.capacity) return h.done(SeatClaim::kFull);
    inner_.SetPresence(h.stream, h.entry);
    h.done(SeatClaim::kTaken);
  }
  // The held seat claims, in order: each decided (as ClaimSeat would now), or answered
  // `answer` when given.
  void AnswerSeats(std::optional<SeatClaim> answer = std::nullopt) {
    std::vector<HeldSeat> held = std::move(held_seats);
    held_seats.clear();
    for (HeldSeat& h : held) {
      if (!answer) {
        DecideSeat(std::move(h));
      } else {
        if (*answer == SeatClaim::kTaken) inner_.SetPresence(h.stream, h.entry);
        h.done(*answer);
      }
    }
  }
  // This node's entry for `session` (the inner engine's), if any.
  std::optional<PresenceEntry> OwnEntry(const std::string& s, SessionId session) {
    std::optional<PresenceEntry> found;
    inner_.Presence(s, [&](std::vector<PresenceEntry> mine) {
      for (const PresenceEntry& p : mine) {
        if (p.session == session) found = p;
      }
    });
    return found;
  }

  // The bans and mutes kept with the stream: `kept`, answered at once, or when
  // AnswerPenalties is called while `hold_penalties` is set.
  void Penalties(const std::string&, PenaltiesDone d) override {
    if (hold_penalties) {
      held_penalties = std::move(d);
      return;
    }
    d(kept);
  }
  // The publishes with a precondition held back (hold_checked), in order: each refused
  // with its event (`refuse`) or sequenced and delivered.
  // The held publishes' calls lost with the link: each is told it was not sequenced.
  void LoseChecked() {
    std::vector<HeldPublish> held = std::move(held_checked);
    held_checked.clear();
    Publication none;
    none.unavailable = true;
    for (HeldPublish& h : held) {
      if (h.done) h.done(none);
    }
  }
  void ReleaseChecked(bool refuse) {
    std::vector<HeldPublish> held = std::move(held_checked);
    held_checked.clear();
    for (HeldPublish& h : held) {
      if (refuse) {
        Publication none;
        none.refused = true;
        if (h.done) h.done(none);
      } else {
        Wrote(h.req);
        inner_.Publish(h.stream, std::move(h.req), std::move(h.done));
      }
    }
  }
  void AnswerPenalties() {
    PenaltiesDone d = std::move(held_penalties);
    if (d) d(kept);
  }

  // The owner, settings and moderators kept: `state`, answered at once, or when
  // AnswerState is called while `hold_state` is set.
  void RoomState(const std::string&, RoomStateDone d) override {
    ++state_reads;
    if (hold_state) {
      held_state = std::move(d);
      return;
    }
    d(state);
  }
  void AnswerState() {
    RoomStateDone d = std::move(held_state);
    held_state = nullptr;
    if (d) d(state);
  }

  bool unavailable = false;  // every publish (and seat claim) is answered as Redis unreachable
  bool hold_seats = false;   // seat claims wait for AnswerSeats
  std::vector<HeldSeat> held_seats;
  int seat_claims = 0;
  std::vector<int64_t> claimed_versions;  // each claim's settings version, in order
  // Settings changes are checked against, and written to, `state` (Stale, Wrote).
  bool check_versions = false;
  bool hold_chat = false;
  ChatDone held_chat;
  std::vector<std::string> removed_other;
  std::vector<PresenceEntry> others;
  std::vector<RoomStateChange> states;  // written with a published event
  // A change with a precondition (RoomStateChange::check) is refused with its event.
  bool refuse_checked = false;
  // A change with a precondition waits, with its event, until ReleaseChecked.
  bool hold_checked = false;
  bool hold_all = false;  // every publish is held as hold_checked holds the checked ones
  struct HeldPublish {
    std::string stream;
    PublishRequest req;
    PublishDone done;
  };
  std::vector<HeldPublish> held_checked;
  KeptRoomState state;
  bool hold_state = false;
  RoomStateDone held_state;
  int state_reads = 0;
  std::vector<PenaltyChange> changes;  // written with a published event
  std::vector<KeptPenalty> kept;
  bool hold_penalties = false;
  PenaltiesDone held_penalties;

 private:
  const Clock* clock_;
  InProcessBroker inner_;
};

// Another node's ModerationNotice in room `room`, as its engine delivers it.
inline proto::ClientMessage RemoteNotice(proto::ModerationAction action, const std::string& target,
                                         const std::string& actor,
                                         const std::string& room = "jam") {
  proto::ClientMessage m;
  auto* n = m.mutable_moderation_notice();
  n->set_action(action);
  n->set_room_id(room);
  n->set_target_user_id(target);
  n->set_actor_user_id(actor);
  return m;
}

// A registered member's join as session `s` (`opened`: the join of the create that
// opened the room).
inline JoinRequest MemberJoin(SessionId s, const std::string& user, bool opened = false) {
  JoinRequest r;
  r.session = s;
  r.user.set_user_id(user);
  r.user.set_username(user);
  r.user.set_is_member(true);
  r.opened_room = opened;
  return r;
}

// The sessions a snapshot lists, in its order.
inline std::vector<uint64_t> SnapshotSessionIds(const proto::RoomSnapshot& snap) {
  std::vector<uint64_t> out;
  for (const auto& u : snap.users()) out.push_back(u.session_id());
  return out;
}

// Hands `msg` to `room` as another node's event (its engine `origin`), as the Redis
// engine delivers it.
inline void FromNode(Room& room, proto::ClientMessage msg, const std::string& origin) {
  StampType(&msg);
  Publication pub;
  pub.frame = MakeFrame(msg);
  pub.origin = origin;
  room.OnPublication(room.id(), pub);
}

// Another node's (`origin`) presence entry for `user` as session `s`.
inline PresenceEntry MemberOn(const std::string& origin, SessionId s, const std::string& user) {
  PresenceEntry e;
  e.session = s;
  e.user_id = user;
  e.user.set_user_id(user);
  e.user.set_username(user);
  e.user.set_session_id(s);
  e.origin = origin;
  return e;
}

// Another node's UserJoinedRoom of `user` as session `s` in room `room`.
inline proto::ClientMessage JoinedElsewhere(SessionId s, const std::string& user,
                                            const std::string& room = "jam") {
  proto::ClientMessage m;
  auto* u = m.mutable_user_joined_room()->mutable_user_info();
  u->set_user_id(user);
  u->set_username(user);
  u->set_session_id(s);
  u->set_is_member(true);
  m.mutable_user_joined_room()->set_room_id(room);
  return m;
}

}  // namespace tutti::server

#endif  // TUTTI_TESTS_SERVER_SPANNING_BROKER_H_
