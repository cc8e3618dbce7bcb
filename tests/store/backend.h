// The store's two drivers as a test parameter: the store suite runs each test on a
// SQLite file and on a PostgreSQL schema (pg_env.h). Thread affinity: the test's thread.
// Ownership: each test owns its Location (and so its temporary directory).
#ifndef TUTTI_TESTS_STORE_BACKEND_H_
#define TUTTI_TESTS_STORE_BACKEND_H_

#include <ostream>
#include <string>

#include "gtest/gtest.h"
#include "tests/store/pg_env.h"
#include "tests/store/temp_dir.h"

namespace tutti::server::store {

enum class Backend { kSqlite, kPostgres };

// For test names and CTest's listing ("GetParam() = Postgres").
inline void PrintTo(Backend backend, std::ostream* os) {
  *os << (backend == Backend::kSqlite ? "Sqlite" : "Postgres");
}

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

// Where a test's store lives: a file in a fresh directory, or a fresh schema.
struct Location {
  TempDir dir;
  std::string location;
  std::string skip;   // PostgreSQL is not installed here: the test skips, saying why
  std::string error;  // the server should run and does not: the test fails

  explicit Location(Backend backend) {
    if (backend == Backend::kSqlite) {
      location = dir.File("tutti.db");
      return;
    }
    testing::PgTarget target = testing::FreshPgSchema();
    location = target.url;
    skip = target.skip;
    error = target.error;
  }
};

// In SetUp or a test body: skips or fails unless the location is usable.
#define TUTTI_REQUIRE_LOCATION(loc)                      \
  do {                                                   \
    if (!(loc).skip.empty()) GTEST_SKIP() << (loc).skip; \
    ASSERT_TRUE((loc).error.empty()) << (loc).error;     \
  } while (0)

}  // namespace tutti::server::store

#endif  // TUTTI_TESTS_STORE_BACKEND_H_
