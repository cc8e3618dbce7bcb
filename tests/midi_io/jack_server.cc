#include "tests/midi_io/jack_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "midi/rtmidi_port.h"
#include "tests/testing/child_process.h"
#include "tests/testing/die_with_parent.h"

namespace tutti::testing {

namespace {

// JACK keeps a machine-wide registry of at most eight server names (MAX_SERVERS in its shm.c). A
// jackd that dies without unregistering (SIGKILL, a crash) leaves its entry behind, and jackd only
// reclaims a dead entry when a new server registers under the same name. Unique names per run
// therefore leak a slot for good on every such death, and after eight the machine refuses every
// JACK server ("Too many servers already active"). A small fixed pool of names reclaims them.

// Where jackd 1.9 puts its server socket: "<tmpdir>/jack_<name>_<uid>_0", tmpdir being the one
// `jackd --version` prints (/dev/shm on Debian's jackd2).
std::string ServerSocketPath(const std::string& name) {
  return "/dev/shm/jack_" + name + "_" + std::to_string(getuid()) + "_0";
}

std::string TmpDir() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr ? tmp : "/tmp";
}

// The slot's lock, or -1 when another process holds it (its test, or a jackd it left).
int LockSlot(int slot) {
  const std::string path = TmpDir() + "/tutti-jack-test-slot" + std::to_string(slot) + ".lock";
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return -1;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reaps the child if it has exited; true if it is gone.
bool Exited(pid_t pid, int* status) { return waitpid(pid, status, WNOHANG) == pid; }

}  // namespace

std::string JackServer::SlotName(int slot) { return "tutti-test-slot" + std::to_string(slot); }

bool JackServer::NameListened(const std::string& name) {
  const std::string path = ServerSocketPath(name);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  // Non-blocking: a stopped jackd's full backlog must not make us wait (EAGAIN: listening).
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const int rc = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  const bool listened = rc == 0 || errno == EAGAIN || errno == EINPROGRESS;
  close(fd);
  return listened;
}

JackServer::JackServer() {
  // A client must never start a server of its own behind the test's back.
  setenv("JACK_NO_START_SERVER", "1", 1);
  std::string errors;
  for (int slot = 0; slot < kSlots && !ok_; ++slot) {
    name_ = SlotName(slot);
    lock_fd_ = LockSlot(slot);
    if (lock_fd_ < 0) {
      errors += "[" + name_ + "] held by another test process (or the jackd it left)\n";
      continue;
    }
    // Someone else's jackd under this name (a stale one, one started by hand): leave it alone.
    if (NameListened(name_)) {
      errors += "[" + name_ + "] a jackd this process did not start listens on it\n";
      close(lock_fd_);
      lock_fd_ = -1;
      continue;
    }
    setenv("JACK_DEFAULT_SERVER", name_.c_str(), 1);
    log_path_ = TmpDir() + "/" + name_ + "-" + std::to_string(getpid()) + ".log";
    if (Start()) return;
    errors += "[" + name_ + "] " + error_ + "\n";
    std::remove(log_path_.c_str());
    log_path_.clear();
    close(lock_fd_);
    lock_fd_ = -1;
    if (pid_ == 0 && error_.rfind("cannot run jackd", 0) == 0) return;  // not installed
  }
  if (!ok_) error_ = "no JACK server could start under any test name:\n" + errors;
}

bool JackServer::Start() {
  error_.clear();
  pid_ = 0;
  // Found before the fork (the child only execs).
  const std::string jackd = ChildProcess::FindProgram("jackd");
  if (jackd.empty()) {
    error_ = "cannot run jackd (is jackd2 installed? tools/setup.sh installs it): not on PATH";
    return false;
  }
  std::vector<std::string> args = {jackd, "-n",    name_, "--no-realtime", "--sync", "-t", "2000",
                                   "-d",  "dummy", "-r",  "48000",         "-p",     "256"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = getpid();
  // fork and exec rather than posix_spawn: the child must ask to die with this process first.
  const pid_t pid = fork();
  if (pid == 0) {
    // Only async-signal-safe calls until exec. SIGKILL, not SIGTERM: jackd's clean shutdown
    // waits 20 s on each client the dead test left behind (seen: "LockedTimedWait error"),
    // and the registry entry a killed jackd leaves is reclaimed by the next one of its name.
    DieWithParent(parent, SIGKILL);
    if (lock_fd_ >= 0) fcntl(lock_fd_, F_SETFD, 0);  // jackd holds the slot while it lives
    if (null_fd >= 0) dup2(null_fd, 0);
    if (log_fd >= 0) {
      dup2(log_fd, 1);
      dup2(log_fd, 2);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  if (log_fd >= 0) close(log_fd);
  if (null_fd >= 0) close(null_fd);
  if (pid < 0) {
    error_ = "cannot run jackd: fork failed, errno " + std::to_string(errno);
    return false;
  }
  pid_ = pid;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (Exited(pid_, &status)) {
      pid_ = 0;
      error_ = "jackd exited at start (status " + std::to_string(status) + "):\n" + ReadLog();
      return false;
    }
    // The name was free and its lock is ours, so what listens on it now is our jackd; only
    // then does a libjack client go near it.
    if (NameListened(name_) && midi::JackServerRunning()) {
      ok_ = true;
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  error_ = "jackd did not answer within 15 s:\n" + ReadLog();
  // Not left running while the next name is tried.
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = 0;
  return false;
}

JackServer::~JackServer() {
  // Our probe client leaves before its server does (the next server gets a fresh one).
  midi::ReleaseJackProbe();
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
      gone = Exited(pid_, &status);
      if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!gone) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
  }
  if (lock_fd_ >= 0) close(lock_fd_);
  if (!log_path_.empty()) std::remove(log_path_.c_str());
}

std::string JackServer::ReadLog() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace tutti::testing
