// Fuzz target: what one node reads of the others on the node bus (server/node_wire.h):
// NodeBusMessage bytes from the channel, NodeUser records from the presence hashes,
// BusServerBan records from the ban hash and RoomInfo records from the nodes' room hashes.
// Any process with access to Redis can put any bytes there.
//
// Input: a mode byte (modulo 4 — 0: a bus message, 1: a presence record, 2: a ban
// record, 3: a room record), then the bytes.
// Properties: an accepted message has a node id within bounds and exactly one kind; it
// serializes to bytes that are accepted again as the same message; a ban's target is
// canonical; a relayed client message is a friend event; an answer without an error
// carries a message; an accepted record has a user id within bounds; an accepted ban
// record has a canonical target; an accepted room record (and every room a BusRooms
// message lists with its info) names a canonical room id, is listed (public or a lobby),
// and names the room it reports; whatever is accepted has UTF-8 in every string field
// (checked before libprotobuf parses, which would log) and passes that check again.
#include <string>
#include <string_view>

#include "protos/tutti.pb.h"
#include "server/moderation/ban_list.h"
#include "server/node_wire.h"
#include "server/proto_utf8.h"
#include "tests/fuzz/fuzz_target.h"

namespace server = tutti::server;
namespace proto = tutti::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tutti::fuzz::FuzzInput in(data, size);
  const uint8_t mode = in.TakeByte();
  const std::string_view bytes = in.Rest();
  if (mode % 4 == 3) {
    proto::RoomInfo room;
    if (!server::ParseRoomRecord(bytes, &room)) return 0;
    FUZZ_CHECK(server::StringFieldsAreUtf8(bytes, *proto::RoomInfo::descriptor()));
    FUZZ_CHECK(!room.room_id().empty() && room.room_id().size() <= server::kMaxBusIdLength);
    FUZZ_CHECK(room.room_type() == proto::PUBLIC || room.room_type() == proto::LOBBY);
    FUZZ_CHECK(room.user_count() >= 0);
    proto::RoomInfo again;
    FUZZ_CHECK(server::ParseRoomRecord(room.SerializeAsString(), &again));
    FUZZ_CHECK(again.SerializeAsString() == room.SerializeAsString());
    return 0;
  }
  if (mode % 4 == 2) {
    proto::BusServerBan ban;
    if (!server::ParseBanRecord(bytes, &ban)) return 0;
    FUZZ_CHECK(server::StringFieldsAreUtf8(bytes, *proto::BusServerBan::descriptor()));
    auto canonical = tutti::server::moderation::CanonicalBanTarget(ban.target());
    FUZZ_CHECK(canonical.ok() && *canonical == ban.target());
    proto::BusServerBan again;
    FUZZ_CHECK(server::ParseBanRecord(ban.SerializeAsString(), &again));
    FUZZ_CHECK(again.SerializeAsString() == ban.SerializeAsString());
    return 0;
  }
  if (mode % 4 == 1) {
    proto::NodeUser user;
    if (!server::ParseNodeUser(bytes, &user)) return 0;
    FUZZ_CHECK(!user.user_id().empty());
    FUZZ_CHECK(user.user_id().size() <= server::kMaxBusIdLength);
    FUZZ_CHECK(server::ValidNodeUser(user));
    FUZZ_CHECK(server::StringFieldsAreUtf8(bytes, *proto::NodeUser::descriptor()));
    proto::NodeUser again;
    FUZZ_CHECK(server::ParseNodeUser(user.SerializeAsString(), &again));
    FUZZ_CHECK(again.SerializeAsString() == user.SerializeAsString());
    return 0;
  }
  proto::NodeBusMessage msg;
  if (!server::ParseBusMessage(bytes, &msg)) return 0;
  FUZZ_CHECK(!msg.from_node().empty());
  FUZZ_CHECK(msg.from_node().size() <= server::kMaxNodeIdLength);
  FUZZ_CHECK(msg.kind_case() != proto::NodeBusMessage::KIND_NOT_SET);
  FUZZ_CHECK(bytes.size() <= server::kMaxBusMessageBytes);
  FUZZ_CHECK(server::StringFieldsAreUtf8(bytes, *proto::NodeBusMessage::descriptor()));
  switch (msg.kind_case()) {
    case proto::NodeBusMessage::kBan: {
      auto canonical = tutti::server::moderation::CanonicalBanTarget(msg.ban().target());
      FUZZ_CHECK(canonical.ok() && *canonical == msg.ban().target());
      break;
    }
    case proto::NodeBusMessage::kToUser: {
      proto::ClientMessage m;
      FUZZ_CHECK(m.ParseFromString(msg.to_user().client_message()));
      FUZZ_CHECK(m.has_friend_event());
      break;
    }
    case proto::NodeBusMessage::kPmAnswer:
      FUZZ_CHECK(msg.pm_answer().error() != proto::ERROR_CODE_UNSPECIFIED ||
                 !msg.pm_answer().pm().message().empty());
      break;
    case proto::NodeBusMessage::kPm:
      FUZZ_CHECK(msg.pm().from_session() != 0);
      FUZZ_CHECK(!msg.pm().pm().to_user_id().empty());
      break;
    case proto::NodeBusMessage::kPresence:
      FUZZ_CHECK(!msg.presence().user().user_id().empty());
      break;
    case proto::NodeBusMessage::kRooms:
      FUZZ_CHECK(msg.rooms().rooms_size() > 0);
      FUZZ_CHECK(static_cast<size_t>(msg.rooms().rooms_size()) <= server::kMaxBusRoomsPerMessage);
      for (const proto::BusRoom& r : msg.rooms().rooms()) {
        FUZZ_CHECK(!r.room_id().empty());
        if (!r.has_info()) continue;
        FUZZ_CHECK(r.info().room_id() == r.room_id());
        FUZZ_CHECK(server::ValidRoomRecord(r.info()));
      }
      break;
    case proto::NodeBusMessage::kGone:
    case proto::NodeBusMessage::KIND_NOT_SET:
      break;
  }
  // What a node accepted, written again, is accepted again as the same message.
  const std::string written = msg.SerializeAsString();
  proto::NodeBusMessage again;
  FUZZ_CHECK(server::ParseBusMessage(written, &again));
  FUZZ_CHECK(again.SerializeAsString() == written);
  return 0;
}
