// The node bus's bytes (protos/node_bus.proto), checked: what one node reads of another's
// messages and presence records before Social acts on them. Any process that can write to
// Redis can put any bytes there, so every field is bounded and a message that does not
// hold together is dropped whole (counted by the caller), never half applied. Invalid
// UTF-8 in a string field is refused before libprotobuf sees it (server/proto_utf8.h):
// a drop never writes to the log.
// Thread affinity: none (pure functions). Owner: none.
#ifndef TUTTI_SERVER_NODE_WIRE_H_
#define TUTTI_SERVER_NODE_WIRE_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "protos/node_bus.pb.h"

namespace tutti::server {

// Bounds of what a node accepts from the bus.
inline constexpr size_t kMaxBusMessageBytes = 64 * 1024;
inline constexpr size_t kMaxNodeIdLength = 64;
inline constexpr size_t kMaxBusIdLength = 128;         // user ids, usernames, request ids
inline constexpr size_t kMaxBusTextBytes = 16 * 1024;  // a PM's text, a ban's reason
inline constexpr size_t kMaxBusFrameBytes = 8 * 1024;  // a relayed friend event
inline constexpr size_t kMaxBusRoomsPerMessage = 500;  // rooms in one BusRooms
inline constexpr size_t kMaxBusPerformers = 1024;      // a RoomInfo's performer ids

// True, with *out filled, when `bytes` is one well-formed message: a node id, exactly one
// kind, every string within its bound, ids non-empty where they must be, a ban's target
// in canonical form, a relayed client message that parses and is a friend event, a
// room's report naming the room its RoomInfo (when it has one) is about.
bool ParseBusMessage(std::string_view bytes, proto::NodeBusMessage* out);
// The same for one server ban (or lifted ban) kept in the deployment's ban hash.
bool ParseBanRecord(std::string_view bytes, proto::BusServerBan* out);
// The same for one user's presence record.
bool ParseNodeUser(std::string_view bytes, proto::NodeUser* out);
// Whether a record (already parsed) is within the bounds above.
bool ValidNodeUser(const proto::NodeUser& user);
// The same for one listed room's record (a RoomInfo) kept under a node's expiring keys:
// a room id in canonical form (lower-case, trimmed, as CanonicalRoomId gives it), a listed
// type (public or a lobby: a node never shares a private room), counts not negative,
// every string and list within its bound.
bool ParseRoomRecord(std::string_view bytes, proto::RoomInfo* out);
bool ValidRoomRecord(const proto::RoomInfo& info);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_NODE_WIRE_H_
