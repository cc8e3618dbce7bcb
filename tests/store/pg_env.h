// The PostgreSQL server the store tests share, and a fresh schema on it per test.
//
// Under CTest one server serves the whole test binary: the fixture tests
// store.PgFixtureStart/Stop run tutti_pg_fixture, which starts it and records it in the
// file named by $TUTTI_TEST_PG_STATE. Run by hand without that variable, the binary
// starts its own server at first use and stops it at exit.
//
// Thread affinity: the test's thread. Ownership: the server is process-wide state
// owned by this file (a static object stops it at exit).
#ifndef TUTTI_TESTS_STORE_PG_ENV_H_
#define TUTTI_TESTS_STORE_PG_ENV_H_

#include <string>

namespace tutti::server::store::testing {

struct PgTarget {
  std::string url;    // set when the server is there
  std::string skip;   // why no server can run on this machine (binaries absent)
  std::string error;  // the server should run but did not: a test failure
};

// A new, empty schema on the shared server: its URL selects it through search_path,
// so the store's tables land there and each test starts from nothing.
PgTarget FreshPgSchema();

// The shared server's URL (its default schema).
PgTarget SharedPg();

}  // namespace tutti::server::store::testing

#endif  // TUTTI_TESTS_STORE_PG_ENV_H_
