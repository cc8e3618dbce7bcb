#include "tests/store/pg_env.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "tests/testing/pg_server.h"

namespace tutti::server::store::testing {
namespace {

// The process-local server; its destructor (at exit) stops it by PID.
std::unique_ptr<PgServer>& LocalServer() {
  static auto* server = new std::unique_ptr<PgServer>;
  return *server;
}

struct StopAtExit {
  ~StopAtExit() { LocalServer().reset(); }
} stop_at_exit;

PgTarget Resolve() {
  PgTarget target;
  const char* state = std::getenv("TUTTI_TEST_PG_STATE");
  if (state != nullptr && *state != '\0') {
    std::ifstream in(state);
    std::string word;
    if (!(in >> word)) {
      target.error = absl::StrCat("no PostgreSQL fixture state in ", state,
                                  " (did store.PgFixtureStart run?)");
    } else if (word == "unavailable") {
      std::getline(in, target.skip);
    } else {
      std::string dir;
      int port = 0;
      in >> dir >> port;
      target.url = absl::StrCat("postgres://tutti@127.0.0.1:", port, "/postgres");
    }
    return target;
  }
  if (std::string why = PgServer::Unavailable(); !why.empty()) {
    target.skip = why;
    return target;
  }
  LocalServer() = std::make_unique<PgServer>();
  if (absl::Status s = LocalServer()->Start(); !s.ok()) {
    target.error = std::string(s.message());
    return target;
  }
  target.url = LocalServer()->Url();
  return target;
}

}  // namespace

PgTarget SharedPg() {
  static const PgTarget target = Resolve();
  return target;
}

PgTarget FreshPgSchema() {
  PgTarget target = SharedPg();
  if (target.url.empty()) return target;
  static int counter = 0;
  const std::string schema = absl::StrCat("t_", getpid(), "_", ++counter);
  PGconn* conn = PQconnectdb(target.url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    target.error = absl::StrCat("cannot connect to the test server: ", PQerrorMessage(conn));
  } else {
    PGresult* result = PQexec(conn, absl::StrCat("CREATE SCHEMA ", schema).c_str());
    if (PQresultStatus(result) != PGRES_COMMAND_OK) {
      target.error = absl::StrCat("CREATE SCHEMA: ", PQresultErrorMessage(result));
    }
    PQclear(result);
  }
  PQfinish(conn);
  // options=-c search_path=<schema>, percent-encoded in the URL's query.
  target.url = absl::StrCat(target.url, "?options=-c%20search_path%3D", schema);
  return target;
}

}  // namespace tutti::server::store::testing
