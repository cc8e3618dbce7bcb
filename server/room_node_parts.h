// The records a Room keeps about the other nodes of a room across nodes (docs/SCALE-OUT.md):
// another node's member in the roster, a chat event held while the kept lines are read,
// a resume from another node waiting for the opening reads, a join whose seat Redis is
// deciding, and an owner's hand-on deferred until the stream says who left last. Plain
// values; each is owned by the Room that holds it and used only on that room's home
// shard's thread. Split from room.h by role: the room's rules stay there.
#ifndef TUTTI_SERVER_ROOM_NODE_PARTS_H_
#define TUTTI_SERVER_ROOM_NODE_PARTS_H_

#include <cstdint>
#include <string>
#include <utility>

#include "midi/held_notes.h"
#include "protos/tutti.pb.h"
#include "server/broker.h"
#include "server/ids.h"
#include "server/room_host.h"

namespace tutti::server::room_nodes {

// A chat event delivered while the opening read of the kept chat lines is out, applied
// in offset order once the read is in.
struct HeldChat {
  uint64_t offset = 0;
  ChatMark mark = ChatMark::kNone;
  proto::ClientMessage msg;
};

// A member of another node resuming here, waiting for the opening reads (AdoptResumed).
struct WaitingAdopt {
  JoinRequest req;
  SessionId previous = 0;
  StreamPosition since;
};

// A join whose seat Redis is deciding (Room::ClaimSeat); `dropped`: its session ended
// meanwhile.
struct HeldSeat {
  JoinRequest req;
  bool dropped = false;
};

// Another node's member of the room, with the engine that announced it.
struct RemoteMember {
  RemoteMember() = default;
  RemoteMember(proto::UserInfo u, std::string o, uint64_t order = 0)
      : user(std::move(u)), origin(std::move(o)), join_order(order) {}
  proto::UserInfo user;
  std::string origin;
  // What it holds sounding, from its MIDI on the stream (ApplyRemoteMidi): this node's
  // joiners and snapshots show it as they show this node's senders'.
  midi::HeldNotes held;
  uint64_t last_sequence = 0;
  // How long it has been in the room as this object knows it, in the join_order
  // sequence of this node's members (an owner's successor, HandOwnership): the next
  // number when its join was delivered here, 0 when the opening presence read found it.
  uint64_t join_order = 0;
};

// An owner's session left here while the roster still showed another of the owner's
// sessions (Room::OwnerLeaving): whose, and where this node's leave was sequenced.
struct DeferredHandOn {
  std::string owner;
  StreamPosition left_at;
  uint64_t leave = 0;  // which of this node's leaves of the owner (Room::owner_leaves_)
};

}  // namespace tutti::server::room_nodes

#endif  // TUTTI_SERVER_ROOM_NODE_PARTS_H_
