// AdminQuery: the query string of a request on the admin listener ("offset=50&limit=20",
// "target=192.0.2.0%2F24"), parsed strictly: name=value pairs joined by '&', names of
// lower-case letters, digits and '_', values percent-decoded ('+' is a space), no name
// twice, no control characters once decoded, at most kMaxAdminQueryBytes. Also the
// paging parameters every listing shares. Pure functions; a fuzz target
// (tests/fuzz/fuzz_admin_query.cc) drives them. Thread affinity: none. Owner: callers.
#ifndef TUTTI_SERVER_ADMIN_QUERY_H_
#define TUTTI_SERVER_ADMIN_QUERY_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tutti::server {

inline constexpr size_t kMaxAdminQueryBytes = 2048;

using AdminQuery = std::map<std::string, std::string>;

// "" is an empty query. INVALID_ARGUMENT names what is wrong.
absl::StatusOr<AdminQuery> ParseAdminQuery(std::string_view query);

// offset (default 0) and limit (1..max_limit, default `default_limit`), as the protocol's
// LIST_BANS takes them.
struct AdminPage {
  uint32_t offset = 0;
  uint32_t limit = 0;
};
absl::StatusOr<AdminPage> ParseAdminPage(const AdminQuery& query, uint32_t default_limit,
                                         uint32_t max_limit);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_ADMIN_QUERY_H_
