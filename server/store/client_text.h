// ClientText: what a client may be told about a store result. The store's own refusals
// ("already friends", "not banned") are written for people; failures that come from
// SQLite carry SQL text and file paths, which are for the operator's log only, so they
// become one generic line. No state; callable from any thread.
#ifndef TUTTI_SERVER_STORE_CLIENT_TEXT_H_
#define TUTTI_SERVER_STORE_CLIENT_TEXT_H_

#include <string>

#include "absl/status/status.h"

namespace tutti::server::store {

// The payload key SqliteStatus puts on every status it makes.
inline constexpr char kSqlitePayload[] = "tutti.store/sqlite";
inline constexpr char kStorageErrorText[] = "storage error, try again later";

inline bool FromSqlite(const absl::Status& status) {
  return status.GetPayload(kSqlitePayload).has_value();
}

inline std::string ClientText(const absl::Status& status) {
  if (FromSqlite(status)) return kStorageErrorText;
  return std::string(status.message());
}

}  // namespace tutti::server::store

#endif  // TUTTI_SERVER_STORE_CLIENT_TEXT_H_
