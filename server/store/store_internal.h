// Store-private helpers shared by the files that implement Store (store.cc for people,
// friends, blocks, server bans and the audit log; store_rooms.cc for rooms and room bans).
// Not part of the store's interface: include it only from server/store/*.cc.
// Pure helpers; they run on whatever thread runs the Store (its storage thread).
#ifndef TUTTI_SERVER_STORE_STORE_INTERNAL_H_
#define TUTTI_SERVER_STORE_STORE_INTERNAL_H_

#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "server/moderation/ban_list.h"
#include "server/moderation/string_view_compat.h"

namespace tutti::server::store::internal {

using moderation::ToAbsl;

// abseil 20220623 has no status_macros.h; this one is local to the store's files.
#define TUTTI_STORE_RETURN_IF_ERROR(expr) \
  do {                                    \
    absl::Status status_ = (expr);        \
    if (!status_.ok()) return status_;    \
  } while (0)

inline absl::Status RequireId(std::string_view id, std::string_view what) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat("empty ", ToAbsl(what)));
  return absl::OkStatus();
}

// friendships keeps each pair once with user_a < user_b.
inline std::pair<std::string_view, std::string_view> Ordered(std::string_view a,
                                                             std::string_view b) {
  return a < b ? std::make_pair(a, b) : std::make_pair(b, a);
}

inline absl::StatusOr<std::string> Canonical(std::string_view target) {
  return moderation::CanonicalBanTarget(target);
}

constexpr char kActiveBan[] = "(until_unix_ms = 0 OR until_unix_ms > ?1)";

}  // namespace tutti::server::store::internal

#endif  // TUTTI_SERVER_STORE_STORE_INTERNAL_H_
