// A private PostgreSQL server for tests: initdb into a fresh temporary directory and a
// postmaster on a free loopback port with its unix socket in that directory, stopped by
// PID. When the test runs as root, initdb and postgres run as the unprivileged user
// "nobody" (initdb refuses root), which then owns the directory.
//
// Thread affinity: the test's thread. Ownership: the test (or the fixture program,
// tutti_pg_fixture, which starts one for a whole test binary and stops it by PID from
// another process). The server process is a child of whoever called Start, in its own
// session, so it outlives a fixture program that exits.
#ifndef TUTTI_TESTS_TESTING_PG_SERVER_H_
#define TUTTI_TESTS_TESTING_PG_SERVER_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"

namespace tutti::server::store::testing {

class PgServer {
 public:
  // The directory with initdb and postgres: $TUTTI_PG_BIN, else Debian's
  // /usr/lib/postgresql/15/bin.
  static std::string BinDir();
  // Empty when the binaries are there; else why no server can run on this machine.
  static std::string Unavailable();

  PgServer() = default;
  ~PgServer();  // Stop(), then removes the directory
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  // initdb into a new directory under $TMPDIR (or /tmp), then Restart().
  absl::Status Start();
  // Starts the postmaster on the existing cluster (after Crash or Stop), on the same
  // port, and waits until it accepts connections. After a crash the old backends may
  // still hold the shared memory for a moment; the start is retried until a deadline.
  absl::Status Restart();
  // Fast shutdown (SIGINT) and a wait for the postmaster to exit.
  absl::Status Stop();
  // SIGKILL to the postmaster, as a crash of the database server looks.
  absl::Status Crash();

  // Adopts a server started by another process (the fixture program) to stop it.
  void Adopt(const std::string& dir, int port, pid_t pid);
  // Forgets the server without stopping it: the fixture program leaves it running for
  // the tests, and its stop step adopts it.
  void Release() {
    pid_ = -1;
    dir_.clear();
  }

  // postgres://tutti@127.0.0.1:<port>/postgres, with `query` appended after "?".
  std::string Url(const std::string& query = "") const;
  const std::string& dir() const { return dir_; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }

 private:
  absl::Status StartOnce(std::string* log_tail);
  bool WaitGone(int timeout_ms);

  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool own_child_ = false;  // waitpid works only in the process that started it
};

}  // namespace tutti::server::store::testing

#endif  // TUTTI_TESTS_TESTING_PG_SERVER_H_
