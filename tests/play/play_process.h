// Helpers for the tutti-play end-to-end tests: a child process started and stopped by PID
// with its output in a log file, and bounded waits on conditions.
//
// Owns: the child (PlayProcess). Thread affinity: the test's thread. Who owns it: the tests in
// tests/play.
#ifndef TUTTI_TESTS_PLAY_PLAY_PROCESS_H_
#define TUTTI_TESTS_PLAY_PLAY_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace tutti::testing {

inline bool WaitFor(const std::function<bool()>& cond,
                    std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return cond();
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A child process this test started; stopped by PID only.
class PlayProcess {
 public:
  PlayProcess(const std::vector<std::string>& args, std::string log) : log_(std::move(log)) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, copy[0].c_str(), &actions, nullptr, argv.data(), environ) != 0) {
      pid_ = 0;
    }
    posix_spawn_file_actions_destroy(&actions);
  }
  // A child still running here is one a failed assertion left behind. SIGTERM first (Stop
  // falls back to SIGKILL after 10 s): a tutti-play killed outright leaves its JACK clients
  // behind, the private jackd then does not stop in time and is killed, and a killed jackd
  // keeps its slot in JACK's machine-wide server registry (eight slots; when they are all
  // taken, no jackd starts on the machine).
  ~PlayProcess() {
    if (pid_ > 0 && before_kill_) before_kill_();
    Stop(SIGTERM);
  }
  void set_before_kill(std::function<void()> f) { before_kill_ = std::move(f); }
  bool started() const { return pid_ > 0; }
  std::string Log() const { return ReadFile(log_); }
  bool WaitLog(const std::string& text) const {
    return WaitFor([&] { return Log().find(text) != std::string::npos; });
  }
  // The last line of the log that starts with `prefix` ("" if none).
  std::string LastLine(const std::string& prefix) const {
    std::istringstream in(Log());
    std::string line, last;
    while (std::getline(in, line)) {
      if (line.rfind(prefix, 0) == 0) last = line;
    }
    return last;
  }
  // Sends `sig` and reaps (bounded, then SIGKILL); the exit status, or -1.
  int Stop(int sig) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int status = 0;
    for (int i = 0; i < 500; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        return status;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = 0;
    return status;
  }

 private:
  std::string log_;
  pid_t pid_ = 0;
  std::function<void()> before_kill_;
};

}  // namespace tutti::testing

#endif  // TUTTI_TESTS_PLAY_PLAY_PROCESS_H_
