// Membership: the session side of room membership on one shard — the join/leave state
// machine of each of the shard's sessions (in no room, joining, in a room, leaving) and
// the fan-out index (room id -> this shard's sessions in it). The only writer of a
// session's Seat (session.h) and of the index, so "which room is this session in" and
// "who here gets this room's broadcasts" cannot disagree. The room side (who is a
// member, in what order, holding what) is the Room's own (room.h); the two meet only
// through RoomHost's MemberJoined / JoinFailed / MemberLeft, which the Shard turns into
// the calls below.
//
// The machine, per session (Shard, Dispatcher and the rooms drive it):
//   CheckJoin/MarkJoining  a join may start (none in flight; not already in that room)
//   AbandonJoin            the request died before or at the room (refused, hash failed)
//   Joined                 the room accepted: indexed; the previous room must be left
//   RequestLeave           the user asked to leave: no longer routed to the room
//   Left                   the room let the session go (left, kicked, banned): unindexed
//   End                    the session is gone: unindexed; these rooms must let it go
//
// Thread affinity: its shard's thread only; no locks. Ownership: one per Shard. The
// index holds raw Session pointers: the sessions belong to the same shard, and End is
// called before a session is destroyed.
#ifndef TUTTI_SERVER_MEMBERSHIP_H_
#define TUTTI_SERVER_MEMBERSHIP_H_

#include <string>
#include <unordered_map>
#include <vector>

#include "server/session.h"

namespace tutti::server {

class Membership {
 public:
  enum class Admission { kOk, kJoinInFlight, kAlreadyThere };
  // Whether `s` may start a join of `room_id` (a lobby request may target the lobby the
  // session is in: it walks on to the next one with room).
  Admission CheckJoin(const Session& s, const std::string& room_id, bool lobby) const;
  // From here until the room answers, another join is refused.
  void MarkJoining(Session& s, const std::string& room_id, const std::string& request_id);
  void AbandonJoin(Session& s);

  // The room accepted the join. Returns the room the session was in before (to be left,
  // echoing the join's request id), or an empty room id.
  struct Previous {
    std::string room_id;
    std::string request_id;
  };
  Previous Joined(Session& s, const std::string& room_id);
  // The user asked to leave. Returns the room to tell ("" when in none).
  std::string RequestLeave(Session& s);
  // The room let the session go. True when the session is now in no room and joining
  // none (what friends see changes).
  bool Left(Session& s, const std::string& room_id);
  // The session ends. Returns the rooms that must let it go (current and joining).
  std::vector<std::string> End(Session& s);

  // Calls fn(Session&) for each of this shard's sessions that the room's broadcasts
  // reach.
  template <typename Fn>
  void ForEachMember(const std::string& room_id, Fn fn) const {
    auto it = index_.find(room_id);
    if (it == index_.end()) return;
    for (Session* s : it->second) fn(*s);
  }

 private:
  void Unindex(const std::string& room_id, Session* s);

  std::unordered_map<std::string, std::vector<Session*>> index_;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_MEMBERSHIP_H_
