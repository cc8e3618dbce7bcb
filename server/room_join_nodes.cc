// Room, its joins across nodes (docs/SCALE-OUT.md, "Joins across nodes"): a room's
// capacity holds for all its nodes together. Each node's count (this node's members plus
// its roster of the others') learns of another node's joiner only when that join is
// delivered, so two nodes checking their copies at one instant could both admit the
// last seat. With a networked engine a joiner who passed every check here (and is not
// server staff, who take a seat past the capacity) is therefore admitted only once the
// engine took its seat in Redis (Broker::ClaimSeat: the presence hash's live entries,
// every node's members and claimed seats, counted and the joiner's written in one atomic
// step). Meanwhile the seat is held here (seats_), so this node's own next joiners count
// it and the room object stays open; the joiner is answered when Redis is: admitted
// (Admit), ROOM_FULL (a lobby walks the join on to the next one, as a full lobby does),
// or STREAM_UNAVAILABLE when Redis could not say (nothing joined). A session that ends
// meanwhile is dropped at the answer, its seat given back. The bans and the password
// this node checked the join against are its copy's, which may not have been delivered
// another node's ban or settings change yet, so the claim is checked against what Redis
// keeps too: a live kept ban refuses it (BANNED, and the room reads the kept bans), and a
// kept settings version other than the one the join was checked against sends it back
// to be checked again once the room has read the kept state (a password changed since is
// asked again, RoomHost::RejoinExisting). None of this runs with the in-process engine,
// whose joins are admitted at once as they always were.
// Same class, owner and thread as room.cc (the room's home shard).
#include <memory>
#include <utility>
#include <vector>

#include "server/room.h"

namespace tutti::server {

void Room::ClaimSeat(const JoinRequest& req) {
  PresenceEntry entry;
  entry.session = req.session;
  entry.user_id = req.user.user_id();
  entry.user = req.user;
  entry.user.set_session_id(req.session);
  entry.claiming = true;
  // Held before the claim goes: an engine may answer at once (one that cannot ask). The
  // hash the password was checked against is this copy's now (Join handed back a join
  // checked against another hash), kept for a check again if the claim is stale.
  HeldSeat& held = seats_[req.session];
  held = {req};
  if (!held.req.checked_hash) held.req.checked_hash = password_hash_;
  // A lobby keeps no settings in Redis: nothing to compare.
  const int64_t checked_version = is_lobby() ? -1 : settings_version_;
  host_->broker()->ClaimSeat(
      id_, entry, capacity(), checked_version,
      [this, alive = std::weak_ptr<bool>(alive_), session = req.session](SeatClaim answer) {
        // The object went (the server is stopping: nothing else closes a room that holds
        // a seat), and its joiner's session with it.
        if (alive.expired()) return;
        SeatAnswered(session, answer);
      });
}

void Room::SeatAnswered(SessionId session, SeatClaim answer) {
  auto it = seats_.find(session);
  if (it == seats_.end()) return;
  HeldSeat seat = std::move(it->second);
  seats_.erase(it);
  const JoinRequest& req = seat.req;
  if (seat.dropped) {
    // Its session ended while Redis decided: a seat taken is given back (the entry was
    // only a claim, shown to nobody), and nothing is answered.
    if (answer == SeatClaim::kTaken || answer == SeatClaim::kUnreachable) {
      host_->broker()->RemovePresence(id_, session);
    }
    if (empty() && waiting_joins_.empty() && !is_lobby() && !persistent()) {
      host_->RoomEmpty(id_);
    }
    return;
  }
  switch (answer) {
    case SeatClaim::kTaken:
      // A ban that arrived while Redis decided holds as it would have at the check.
      if (mod_.IsBanned(req.user.user_id(), host_->UnixMs())) {
        host_->broker()->RemovePresence(id_, session);
        return FailJoin(req, proto::BANNED, "you are banned from this room");
      }
      return Admit(req);
    case SeatClaim::kFull:
      // Full counting every node's joins: a lobby walks the join on, as a lobby found
      // full here does.
      if (is_lobby() && host_->WalkOnFromLobby(id_, req)) return;
      return FailJoin(req, proto::ROOM_FULL, "room is full");
    case SeatClaim::kBanned:
      // Banned by another node in what Redis keeps, not yet delivered here: refused as
      // the ban will refuse it once delivered, and the room reads the kept bans (its
      // next joins wait) so that this node's copy has it before then.
      ReadPenaltiesAfterSeat();
      return FailJoin(req, proto::BANNED, "you are banned from this room");
    case SeatClaim::kStale:
      return RecheckStaleJoin(req);
    case SeatClaim::kUnreachable:
      // The claim may have run before the link went: its entry, if any, is deleted if
      // the link is back already, else it expires, leaving without a word (a claim is
      // nobody's member); it counts as a taken seat until then.
      host_->broker()->RemovePresence(id_, session);
      return FailJoin(req, proto::STREAM_UNAVAILABLE, kStreamUnavailableText);
  }
}

void Room::ReadPenaltiesAfterSeat() {
  // One read at a time: one out already answers with the ban or a later state.
  if (reading_penalties_) return;
  reading_penalties_ = true;
  host_->broker()->Penalties(
      id_, [this, alive = std::weak_ptr<bool>(alive_)](std::vector<KeptPenalty> kept) {
        if (alive.expired()) return;
        PenaltiesRead(kept);
      });
}

void Room::RecheckStaleJoin(JoinRequest req) {
  // Settings that keep changing on other nodes faster than a read and a claim go to
  // Redis and back: answered rather than tried without end.
  if (++req.stale_rechecks > JoinRequest::kMaxStaleRechecks) {
    return FailJoin(req, proto::RATE_LIMITED, "the room's settings keep changing, try again");
  }
  // Checked against settings another node changed since (its RoomUpdated not read here
  // yet): the room takes the kept state whatever version it last read, then the join
  // runs its checks again against it, as the joins that wait for a read do; a password
  // hash other than the one it was checked against hands it back to be checked again
  // (Join, RejoinExisting).
  state_version_ = -1;
  waiting_joins_.emplace_back(std::move(req), true);
  ReadState();
  RunWaitingJoins();  // the read may have been answered at once (or not asked at all)
}

void Room::DropSeat(SessionId session) {
  auto it = seats_.find(session);
  if (it != seats_.end()) it->second.dropped = true;
}

}  // namespace tutti::server
