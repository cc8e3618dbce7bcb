#include "server/command_target.h"

#include <memory>
#include <utility>

#include "server/shard.h"
#include "server/store/store.h"

namespace tutti::server {

bool CommandNamesUser(moderation::CommandKind kind) {
  using moderation::CommandKind;
  switch (kind) {
    case CommandKind::kKick:
    case CommandKind::kBan:
    case CommandKind::kUnban:
    case CommandKind::kMute:
    case CommandKind::kUnmute:
    case CommandKind::kMod:
    case CommandKind::kUnmod:
    case CommandKind::kOwner:
    case CommandKind::kPerform:
    case CommandKind::kAudience:
      return true;
    default:
      return false;
  }
}

void ResolveCommandTarget(Cluster& server, const std::string& who,
                          std::function<void(CommandTarget)> then) {
  CommandTarget online;
  if (server.social().Lookup(who, &online.user_id, &online.username, &online.is_guest)) {
    return then(std::move(online));
  }
  // Someone offline is named by user id only: names are not unique across time, ids are.
  auto found = std::make_shared<CommandTarget>();
  auto done = std::make_shared<std::function<void(CommandTarget)>>(std::move(then));
  bool queued = server.RunStorage(
      server.shard(0),
      [found, who](store::Store& st) {
        auto profile = st.GetProfile(who);
        if (!profile.ok()) return;
        found->user_id = profile->user_id;
        found->username = profile->username;
      },
      [found, done] { (*done)(std::move(*found)); });
  if (!queued) (*done)(CommandTarget());
}

}  // namespace tutti::server
