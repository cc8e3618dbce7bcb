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
// meanwhile is dropped at the answer, its seat given back. None of this runs with the
// in-process engine, whose joins are admitted at once as they always were.
// Same class, owner and thread as room.cc (the room's home shard).
#include <memory>
#include <utility>

#include "server/room.h"

namespace tutti::server {

void Room::ClaimSeat(const JoinRequest& req) {
  PresenceEntry entry;
  entry.session = req.session;
  entry.user_id = req.user.user_id();
  entry.user = req.user;
  entry.user.set_session_id(req.session);
  entry.claiming = true;
  // Held before the claim goes: an engine may answer at once (one that cannot ask).
  seats_[req.session] = {req};
  host_->broker()->ClaimSeat(
      id_, entry, capacity(),
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
    if (answer != SeatClaim::kFull) host_->broker()->RemovePresence(id_, session);
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
    case SeatClaim::kUnreachable:
      // The claim may have run before the link went: its entry, if any, is deleted if
      // the link is back already, else it expires, leaving without a word (a claim is
      // nobody's member); it counts as a taken seat until then.
      host_->broker()->RemovePresence(id_, session);
      return FailJoin(req, proto::STREAM_UNAVAILABLE, kStreamUnavailableText);
  }
}

void Room::DropSeat(SessionId session) {
  auto it = seats_.find(session);
  if (it != seats_.end()) it->second.dropped = true;
}

}  // namespace tutti::server
