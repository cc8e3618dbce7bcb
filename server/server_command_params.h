// The seed's generic ServerCommand carries its arguments as a string map; this turns
// the map of an UPDATE_SETTINGS command into the UpdateRoomCommand it stands for, so
// both take the same path (Dispatcher::OnUpdate). Strict: an unknown key or a value
// that does not parse is refused, nothing is guessed.
// Pure functions, any thread. Owner: the dispatcher.
#ifndef TUTTI_SERVER_SERVER_COMMAND_PARAMS_H_
#define TUTTI_SERVER_SERVER_COMMAND_PARAMS_H_

#include <string>

#include <google/protobuf/map.h>

#include "absl/status/statusor.h"
#include "protos/tutti.pb.h"

namespace tutti::server {

// Keys: max_users (integer >= 0), allow_chat, allow_guests, auto_moderation,
// require_pro, persistent ("true"/"false"/"1"/"0"), welcome_message — any of these
// makes `settings`, which replaces the room's settings as UpdateRoomCommand's does
// (keys left out take their defaults); password (set_password; "" clears it);
// room_type ("PUBLIC" or "PRIVATE"). InvalidArgument for an unknown key, a bad value
// or an empty map.
absl::StatusOr<proto::UpdateRoomCommand> UpdateRoomFromParameters(
    const google::protobuf::Map<std::string, std::string>& parameters);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_SERVER_COMMAND_PARAMS_H_
