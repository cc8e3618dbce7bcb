// ClientText: what a client may be told about a store result. The store's own refusals
// ("already friends", "not banned") are written for people; failures that come from
// the database (SQLite or PostgreSQL) carry SQL text, file paths or server addresses,
// which are for the operator's log only, so they become one generic line. No state;
// callable from any thread.
#ifndef TUTTI_SERVER_STORE_CLIENT_TEXT_H_
#define TUTTI_SERVER_STORE_CLIENT_TEXT_H_

#include <string>

#include "absl/status/status.h"

namespace tutti::server::store {

// The payload key both database drivers put on every status they make.
inline constexpr char kDatabasePayload[] = "tutti.store/database";
inline constexpr char kStorageErrorText[] = "storage error, try again later";

inline bool FromDatabase(const absl::Status& status) {
  return status.GetPayload(kDatabasePayload).has_value();
}

inline std::string ClientText(const absl::Status& status) {
  if (FromDatabase(status)) return kStorageErrorText;
  return std::string(status.message());
}

}  // namespace tutti::server::store

#endif  // TUTTI_SERVER_STORE_CLIENT_TEXT_H_
