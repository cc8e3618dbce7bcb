// RoomHost: what a room needs from the shard it lives on (output to sessions and shards,
// clocks, storage, the stream engine), and the values handed to a room with a join and a
// command (JoinRequest, CommandTarget). Declarations only: the Shard implements RoomHost;
// tests implement it with fakes. Every call is made on the room's home shard thread.
#ifndef TUTTI_SERVER_ROOM_HOST_H_
#define TUTTI_SERVER_ROOM_HOST_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "protos/tutti.pb.h"
#include "server/broker.h"
#include "server/frame.h"
#include "server/ids.h"
#include "server/metrics/shard_histogram.h"
#include "server/recording_service.h"
#include "server/store/records.h"

namespace tutti::server {

class Room;
struct JoinRequest;

// What a room needs from the shard it lives on.
class RoomHost {
 public:
  virtual ~RoomHost() = default;
  virtual int64_t NowUs() = 0;
  // Sends `frame` to every member of `room_id` whose session lives on `shard`,
  // except `exclude` (0 = nobody). Droppable frames may be shed under backpressure.
  virtual void DeliverToShard(int shard, const std::string& room_id, const Frame& frame,
                              SessionId exclude, bool droppable) = 0;
  virtual void SendToSession(SessionId session, const Frame& frame) = 0;
  // The session is now a member: its shard indexes it and then sends `response`.
  virtual void MemberJoined(SessionId session, const std::string& room_id,
                            const Frame& response) = 0;
  // The join did not happen; `error` goes to the session, which may join elsewhere.
  virtual void JoinFailed(SessionId session, const std::string& room_id, const Frame& error) = 0;
  // The session is no longer a member; `notice` (may be null) goes to it afterwards.
  virtual void MemberLeft(SessionId session, const std::string& room_id, const Frame& notice) = 0;
  // A reconnecting member came back as `session` (docs/PROTOCOL.md §12): its shard indexes
  // it, continues its MIDI sequence after `last_sequence`, and sends `frames` (the
  // ResumeResult, then the replayed events) before any live event of the room.
  virtual void MemberResumed(SessionId session, const std::string& room_id,
                             std::vector<Frame> frames, uint64_t last_sequence) {
    for (const Frame& f : frames) SendToSession(session, f);
  }
  // A join reached a lobby that is full counting every node's members only after the
  // host's own walk past full lobbies (its first moments on this node, while it read who
  // is in it): the host sends `req` on to the next lobby as that walk would. False when
  // it does not (the join then fails ROOM_FULL).
  virtual bool WalkOnFromLobby(const std::string& room_id, const JoinRequest& req) {
    (void)room_id;
    (void)req;
    return false;
  }
  // A join that opened this room object (a create on this node) found, once the room read
  // what other nodes keep of it, that the room already exists there: its password was
  // never checked against that room's. The host handles it again as a join of the
  // existing room (a create only: ALREADY_EXISTS). False when it does not (the join then
  // goes on as it is).
  virtual bool RejoinExisting(const std::string& room_id, const JoinRequest& req) {
    (void)room_id;
    (void)req;
    return false;
  }
  // The object opened to find a room on other nodes (JoinRequest::join_only) has read
  // what is kept and decides its join now: requests for that room that the host held
  // meanwhile may go on, after whatever that join asks of the host.
  virtual void ProbeSettled(const std::string& room_id) { (void)room_id; }
  // The room has no members and should be dropped. Called last in a Room method; the
  // host must defer the destruction until that method has returned.
  virtual void RoomEmpty(const std::string& room_id) = 0;
  // Wall clock, for bans and mutes (they are shown and outlive restarts).
  virtual int64_t UnixMs() = 0;
  // Runs `work` on the storage thread, then `then` back on the room's shard. False when
  // the store is overloaded: nothing runs.
  virtual bool Storage(std::function<void(store::Store&)> work, std::function<void()> then) = 0;
  // What the room list shows of this room changed (users, settings, topic, owner, type),
  // or the room is about to go. The host reads Info() later, once per batch of changes.
  virtual void RoomChanged(const std::string& room_id) {}
  // Something started sounding in the room (it had nothing held): from now on the host
  // calls TickHeldNotes about once a held_notes_snapshot_ms, until it returns false.
  virtual void RoomHoldsNotes(const std::string& room_id) {}
  // The engine that sequences and keeps the room's events (docs/ARCHITECTURE.md); it
  // outlives the room. Null: events go out unsequenced (unit tests of room rules).
  virtual Broker* broker() { return nullptr; }
  // Server-side recording (recording_service.h); null: recording is off.
  virtual RecordingService* recordings() { return nullptr; }
  // Runs `fn` on the room's shard later, from any thread (the recording writer's answers
  // come back this way); skipped if the room is gone by then.
  virtual void PostToRoom(const std::string& room_id, std::function<void(Room&)> fn) {}
  // Where the room counts the receivers of each relayed MIDI batch (its home shard's
  // histogram, written on this thread only). Null: not counted.
  virtual metrics::ShardHistogram* midi_fanout() { return nullptr; }
};

struct JoinRequest {
  SessionId session = 0;
  proto::UserInfo user;  // identity as established at the upgrade gate
  bool server_admin = false;
  bool server_moderator = false;
  std::string request_id;
  // Rooms across nodes: this join opened the room object here (a create), so its password
  // was not checked against the room as other nodes have it; `password` is what the user
  // typed and `create_only` whether it was a create rather than a create-or-join, kept for
  // RoomHost::RejoinExisting.
  bool opened_room = false;
  bool create_only = false;
  // Rooms across nodes: a join (not a create) of a room with no object here opened one
  // to learn whether another node has the room; when the opening reads find it nowhere
  // else, the join answers NOT_FOUND and the object closes (Room::Join).
  bool join_only = false;
  std::string password;
  // Rooms across nodes: the password hash the shard checked `password` against (set only
  // there). A room whose hash changed since (another node's change, read while the join
  // waited) hands the join back to be checked again (RoomHost::RejoinExisting).
  std::optional<std::string> checked_hash;
  // Rooms across nodes: how many times the seat claim found the kept settings changed
  // since the join was checked (SeatClaim::kStale), each time checked again; past
  // kMaxStaleRechecks the join is refused.
  int stale_rechecks = 0;
  static constexpr int kMaxStaleRechecks = 3;
};

// A moderation command's target as resolved outside the room, on shard 0: a user online
// anywhere (by id or name), else a stored profile whose user id was typed. An empty
// user_id means nobody outside the room answers to the name.
struct CommandTarget {
  std::string user_id;
  std::string username;
  bool is_guest = false;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_ROOM_HOST_H_
