// Resolving a room moderation command's target outside the room: who is online anywhere
// (Social, on shard 0) and, failing that, whose stored profile has the typed user id.
// Pure orchestration: called on shard 0, its callback runs on shard 0.
#ifndef TUTTI_SERVER_COMMAND_TARGET_H_
#define TUTTI_SERVER_COMMAND_TARGET_H_

#include <functional>
#include <string>

#include "server/moderation/command_parser.h"
#include "server/room.h"

namespace tutti::server {

class Cluster;

// Whether a room command names a user (kick, ban, unban, mute, unmute, mod, unmod, owner).
bool CommandNamesUser(moderation::CommandKind kind);

// On shard 0: resolves `who` as a user online anywhere (by id or name), else as the user
// id of a stored profile, and calls `then` on shard 0 with the result (empty user_id
// when neither). When the store is busy the profile step is skipped.
void ResolveCommandTarget(Cluster& server, const std::string& who,
                          std::function<void(CommandTarget)> then);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_COMMAND_TARGET_H_
