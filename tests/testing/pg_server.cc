#include "tests/testing/pg_server.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace tutti::server::store::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Bounds on waiting for the server; generous, because the suite must pass with both
// cores busy. They only end a wait that would otherwise hang.
constexpr auto kStartDeadline = std::chrono::seconds(90);
constexpr auto kPoll = std::chrono::milliseconds(20);

// Who to run as: "nobody" when we are root (initdb and postgres refuse to run as
// root). Looked up before fork: getpwnam is not safe in the child of a threaded process.
struct RunAs {
  bool drop = false;
  bool known = true;
  uid_t uid = 0;
  gid_t gid = 0;
};

RunAs Unprivileged() {
  RunAs who;
  if (geteuid() != 0) return who;
  who.drop = true;
  const passwd* pw = getpwnam("nobody");
  if (pw == nullptr) {
    who.known = false;
    return who;
  }
  who.uid = pw->pw_uid;
  who.gid = pw->pw_gid;
  return who;
}

// Forks and execs argv with stdout and stderr appended to `log`; returns the pid.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log, bool new_session) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const RunAs who = Unprivileged();
  const pid_t pid = fork();
  if (pid != 0) return pid;
  if (new_session) setsid();  // a terminal's ^C to the test does not reach it directly
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
  const int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
  if (who.drop &&
      (!who.known || setgroups(0, nullptr) != 0 || setgid(who.gid) != 0 || setuid(who.uid) != 0)) {
    std::fprintf(stderr, "cannot switch to the user nobody\n");
    _exit(126);
  }
  execv(args[0], args.data());
  std::fprintf(stderr, "exec %s failed\n", args[0]);
  _exit(127);
}

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = 0;
  socklen_t len = sizeof(addr);
  if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) close(fd);
  return port;
}

}  // namespace

std::string PgServer::BinDir() {
  const char* env = std::getenv("TUTTI_PG_BIN");
  return env != nullptr && *env != '\0' ? env : "/usr/lib/postgresql/15/bin";
}

std::string PgServer::Unavailable() {
  for (const char* tool : {"initdb", "postgres"}) {
    const std::string path = BinDir() + "/" + tool;
    if (access(path.c_str(), X_OK) != 0) {
      return absl::StrCat(path, " is not installed (Debian: postgresql-15; tools/setup.sh)");
    }
  }
  if (geteuid() == 0 && getpwnam("nobody") == nullptr) {
    return "running as root and there is no user \"nobody\" to run PostgreSQL as";
  }
  return "";
}

PgServer::~PgServer() {
  (void)Stop();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

void PgServer::Adopt(const std::string& dir, int port, pid_t pid) {
  dir_ = dir;
  port_ = port;
  pid_ = pid;
  own_child_ = false;
}

absl::Status PgServer::Start() {
  if (std::string why = Unavailable(); !why.empty()) return absl::UnavailableError(why);
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/tutti_pg_XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  dir_ = pattern;
  if (geteuid() == 0) {
    const passwd* pw = getpwnam("nobody");
    if (pw == nullptr || chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return absl::InternalError("cannot give " + dir_ + " to the user nobody");
    }
  }
  const std::string log = dir_ + "/initdb.log";
  // --no-sync: initdb's own files need no fsync for a test cluster; the server itself
  // runs with fsync on (the store refuses it otherwise).
  const pid_t pid =
      Spawn({BinDir() + "/initdb", "-D", dir_ + "/data", "-U", "tutti", "--auth=trust",
             "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"},
            log, false);
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat("initdb failed: ", Tail(log)));
  }
  port_ = 0;
  return Restart();
}

absl::Status PgServer::StartOnce(std::string* log_tail) {
  const std::string log = dir_ + "/postgres.log";
  const std::string port = std::to_string(port_);
  pid_ =
      Spawn({BinDir() + "/postgres", "-D", dir_ + "/data", "-p", port, "-k", dir_, "-c",
             "listen_addresses=127.0.0.1", "-c", "fsync=on", "-c", "synchronous_commit=on", "-c",
             "shared_buffers=16MB", "-c", "max_connections=60", "-c", "log_min_messages=warning"},
            log, true);
  if (pid_ < 0) return absl::InternalError("fork failed");
  own_child_ = true;
  const std::string conninfo =
      absl::StrCat("host=127.0.0.1 port=", port, " user=tutti dbname=postgres connect_timeout=5");
  const auto deadline = Clock::now() + kStartDeadline;
  while (Clock::now() < deadline) {
    if (PQping(conninfo.c_str()) == PQPING_OK) return absl::OkStatus();
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      *log_tail = Tail(log);
      return absl::UnavailableError("postgres exited at start: " + *log_tail);
    }
    std::this_thread::sleep_for(kPoll);
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return absl::DeadlineExceededError("postgres did not accept connections in time: " + Tail(log));
}

absl::Status PgServer::Restart() {
  const bool fixed_port = port_ != 0;
  const auto deadline = Clock::now() + kStartDeadline;
  absl::Status last;
  while (Clock::now() < deadline) {
    if (!fixed_port) port_ = FreePort();
    std::string tail;
    last = StartOnce(&tail);
    if (last.ok()) return last;
    const bool port_taken = absl::StrContains(tail, "could not bind") ||
                            absl::StrContains(tail, "could not create any TCP/IP sockets");
    // After a crash: backends of the killed postmaster still attached to its shared
    // memory, or its lock file not yet judged stale.
    const bool leftovers =
        absl::StrContains(tail, "shared memory block") || absl::StrContains(tail, "lock file");
    if (!port_taken && !leftovers) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return last;
}

bool PgServer::WaitGone(int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  const std::string pid_file = dir_ + "/data/postmaster.pid";
  while (Clock::now() < deadline) {
    if (own_child_) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return true;
    } else if (access(pid_file.c_str(), F_OK) != 0 || kill(pid_, 0) != 0) {
      return true;  // the postmaster removes its pid file as it exits
    }
    std::this_thread::sleep_for(kPoll);
  }
  return false;
}

absl::Status PgServer::Stop() {
  if (pid_ <= 0) return absl::OkStatus();
  kill(pid_, SIGINT);  // fast shutdown: roll back sessions, checkpoint, exit
  if (!WaitGone(60000)) {
    kill(pid_, SIGKILL);
    if (own_child_) waitpid(pid_, nullptr, 0);
    pid_ = -1;
    return absl::DeadlineExceededError("postgres did not stop; killed");
  }
  pid_ = -1;
  return absl::OkStatus();
}

absl::Status PgServer::Crash() {
  if (pid_ <= 0 || !own_child_) return absl::FailedPreconditionError("no server of ours runs");
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return absl::OkStatus();
}

std::string PgServer::Url(const std::string& query) const {
  std::string url = absl::StrCat("postgres://tutti@127.0.0.1:", port_, "/postgres");
  if (!query.empty()) absl::StrAppend(&url, "?", query);
  return url;
}

}  // namespace tutti::server::store::testing
