// Db::Open, the one place that knows both drivers (db.h declares it). Kept apart from
// db.cc so that the drivers, which include db.h, and the seam do not include each other.
#include "server/store/db.h"
#include "server/store/pg_db.h"
#include "server/store/sqlite_db.h"

namespace tutti::server::store {

absl::StatusOr<std::unique_ptr<Db>> Db::Open(const std::string& location) {
  if (IsPostgresUrl(location)) return PgDb::Open(location);
  return SqliteDb::Open(location);
}

}  // namespace tutti::server::store
