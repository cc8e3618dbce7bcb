// AdminBans: /bans on the admin listener. GET (or HEAD) /bans?offset=&limit= lists the
// active server bans (user ids, addresses, networks) as JSON, ordered by target, in
// pages as the protocol's LIST_BANS; DELETE /bans?target=X lifts one, as /sunban does
// (store, audit record with actor "admin-listener", republished to every shard before
// the answer). Reads the Server's published ban snapshot (no store round trip for a
// list); a lift waits on the storage thread, bounded.
// Thread affinity: called on the admin listener's thread only; never on a shard's, since
// a lift blocks. Owner: AdminListener, which registers it as a route of its AdminSite.
#ifndef TUTTI_SERVER_ADMIN_BANS_H_
#define TUTTI_SERVER_ADMIN_BANS_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "server/admin_query.h"
#include "server/admin_site.h"
#include "server/moderation/ban_list.h"

namespace tutti::server {

class Server;

inline constexpr uint32_t kAdminBanPage = 50;
inline constexpr uint32_t kAdminMaxBanPage = 200;
inline constexpr char kAdminListenerActor[] = "admin-listener";

// One page of `bans` (sorted here by target) as the JSON /bans answers:
// {"total":N,"offset":O,"next_offset":M,"bans":[{"target","kind","reason","actor",
// "created_unix_ms","until_unix_ms"},...]}; next_offset is 0 on the last page.
std::string BanPageJson(std::vector<moderation::ServerBan> bans, const AdminPage& page);

class AdminBans {
 public:
  explicit AdminBans(Server* server,
                     std::chrono::milliseconds lift_timeout = std::chrono::seconds(5))
      : server_(server), lift_timeout_(lift_timeout) {}

  AdminResponse Handle(const AdminRequest& req);

 private:
  AdminResponse List(const AdminQuery& query);
  AdminResponse Lift(const AdminQuery& query);

  Server* const server_;
  const std::chrono::milliseconds lift_timeout_;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_ADMIN_BANS_H_
