// ChildProcess: a program a test runs as its child (tutti-play, tutti-midi-bridge, a JACK
// client, a jackd playing "someone else's"), its stdin from /dev/null and its stdout and
// stderr into a log file ("/dev/null" to drop them), stopped by PID only.
//
// Why it is forked with DieWithParent (die_with_parent.h), as the server fixtures are: a test
// process that ctest's timeout or a SIGKILL ends runs no destructor, and its clients then
// kept running, connected to a server that was gone or holding JACK clients (and, for a
// foreign jackd, a JACK server name) that the next run collided with.
//
// Owns: the child process. Thread affinity: the test's thread, which must live as long as the
// child (Linux sends the death signal when the thread that forked exits). Header only, for
// every test folder. Who owns it: one test (tests/play, tests/midi_io), or a fixture of one.
#ifndef TUTTI_TESTS_TESTING_CHILD_PROCESS_H_
#define TUTTI_TESTS_TESTING_CHILD_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/testing/die_with_parent.h"

namespace tutti::testing {

class ChildProcess {
 public:
  // Starts `args`: args[0] is a path, or a name looked up on PATH here (the child only execs).
  // `end_signal` is what the destructor sends a child that is still running (a failed
  // assertion left it behind); Stop falls back to SIGKILL after its bound either way.
  ChildProcess(const std::vector<std::string>& args, const std::string& log,
               int end_signal = SIGKILL)
      : end_signal_(end_signal) {
    const std::string program = args.empty() ? "" : FindProgram(args[0]);
    if (program.empty()) return;
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      // Only async-signal-safe calls until exec.
      DieWithParent(parent);
      const int in = open("/dev/null", O_RDONLY);
      const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (in < 0 || out < 0) _exit(127);
      dup2(in, 0);
      dup2(out, 1);
      dup2(out, 2);
      execv(program.c_str(), argv.data());
      _exit(127);
    }
    pid_ = pid > 0 ? pid : 0;
  }
  ~ChildProcess() {
    if (pid_ > 0 && before_kill_) before_kill_();
    Stop(end_signal_);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Runs before the destructor stops a child that is still running.
  void set_before_kill(std::function<void()> f) { before_kill_ = std::move(f); }
  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // True (and reaped) once the child has exited; false while it runs.
  bool Exited() {
    int status = 0;
    if (pid_ > 0 && waitpid(pid_, &status, WNOHANG) != pid_) return false;
    pid_ = 0;
    return true;
  }

  // Sends `sig` (and SIGCONT: a stopped child acts on it only once it runs again) and reaps,
  // SIGKILL once `bound` has passed; the exit status, or -1 when there was no child.
  int Stop(int sig, std::chrono::milliseconds bound = std::chrono::seconds(10)) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    kill(pid_, SIGCONT);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (waitpid(pid_, &status, WNOHANG) != pid_) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = 0;
    return status;
  }

  // `name` itself when it holds a '/', else the first executable `name` on PATH ("" if none).
  static std::string FindProgram(const std::string& name) {
    if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
    for (std::string dir; std::getline(dirs, dir, ':');) {
      const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return "";
  }

 private:
  int end_signal_;
  pid_t pid_ = 0;
  std::function<void()> before_kill_;
};

}  // namespace tutti::testing

#endif  // TUTTI_TESTS_TESTING_CHILD_PROCESS_H_
