// ServerCommand START_DRAIN and SET_MAINTENANCE (docs/PROTOCOL.md §11, "Maintenance and
// drains"): checked here (server admins only, parameters in range) and handed to the
// server's Maintenance (maintenance.h), which tells the clients. Called by the Dispatcher on
// the asking session's shard; answers that session with a CommandResult or an ErrorMessage.
// Owner: none (free functions); thread affinity: the session's shard.
#ifndef TUTTI_SERVER_MAINTENANCE_COMMAND_H_
#define TUTTI_SERVER_MAINTENANCE_COMMAND_H_

#include <string>

#include "protos/tutti.pb.h"

namespace tutti::server {

class Session;
class Shard;

// A drain counts down this long when START_DRAIN gives no `seconds`.
inline constexpr int64_t kDefaultDrainSeconds = 60;

void HandleMaintenanceCommand(Shard& shard, Session& s, const proto::ServerCommand& cmd,
                              const std::string& request_id);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_MAINTENANCE_COMMAND_H_
