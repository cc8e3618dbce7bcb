// tutti_pg_fixture: starts or stops the PostgreSQL server that a test binary's tests
// share (CTest fixture steps store.PgFixtureStart / store.PgFixtureStop).
//
//   tutti_pg_fixture start <state file>   initdb + start; writes "ok <dir> <port> <pid>",
//                                         or "unavailable <reason>" when PostgreSQL is
//                                         not installed (the tests then skip, saying so)
//   tutti_pg_fixture stop <state file>    stops that server by its PID, removes its dir
//
// Exit 1 when the server should start and does not.
#include <sys/types.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "tests/testing/pg_server.h"

namespace {

using tutti::server::store::testing::PgServer;

int StopRecorded(const std::string& state) {
  std::ifstream in(state);
  std::string word, dir;
  int port = 0;
  long pid = 0;
  if (!(in >> word) || word != "ok" || !(in >> dir >> port >> pid) || pid <= 0) return 0;
  PgServer server;
  server.Adopt(dir, port, static_cast<pid_t>(pid));
  absl::Status stopped = server.Stop();  // the destructor removes the directory
  std::remove(state.c_str());
  if (!stopped.ok()) {
    std::fprintf(stderr, "tutti_pg_fixture: %s\n", std::string(stopped.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[1], "start") != 0 && std::strcmp(argv[1], "stop") != 0)) {
    std::fprintf(stderr, "usage: %s start|stop <state file>\n", argv[0]);
    return 2;
  }
  const std::string state = argv[2];
  if (std::strcmp(argv[1], "stop") == 0) return StopRecorded(state);

  (void)StopRecorded(state);  // a server left by an interrupted run
  std::ofstream out(state, std::ios::trunc);
  if (std::string why = PgServer::Unavailable(); !why.empty()) {
    out << "unavailable " << why << "\n";
    std::printf("PostgreSQL tests will be skipped: %s\n", why.c_str());
    return 0;
  }
  PgServer server;
  absl::Status started = server.Start();
  if (!started.ok()) {
    std::fprintf(stderr, "tutti_pg_fixture: %s\n", std::string(started.message()).c_str());
    return 1;
  }
  out << "ok " << server.dir() << " " << server.port() << " " << server.pid() << "\n";
  out.close();
  std::printf("PostgreSQL for the store tests: %s (pid %d)\n", server.Url().c_str(),
              static_cast<int>(server.pid()));
  server.Release();
  return 0;
}
