// Helpers for the tutti-play end-to-end tests: a child process started and stopped by PID
// with its output in a log file (a ChildProcess, tests/testing), and bounded waits on
// conditions.
//
// Owns: the child (PlayProcess). Thread affinity: the test's thread. Who owns it: the tests in
// tests/play.
#ifndef TUTTI_TESTS_PLAY_PLAY_PROCESS_H_
#define TUTTI_TESTS_PLAY_PLAY_PROCESS_H_

#include <signal.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/testing/child_process.h"

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

// A tutti-play (or other) child process this test started, with its log; stopped by PID only
// and gone with the test process if that is killed (ChildProcess).
class PlayProcess : public ChildProcess {
 public:
  // A child still running at destruction is one a failed assertion left behind. SIGTERM first
  // (Stop falls back to SIGKILL after 10 s): a tutti-play killed outright leaves its JACK
  // clients behind, the private jackd then does not stop in time and is killed, and a killed
  // jackd keeps its slot in JACK's machine-wide server registry (eight slots; when they are all
  // taken, no jackd starts on the machine).
  PlayProcess(const std::vector<std::string>& args, std::string log)
      : ChildProcess(args, log, SIGTERM), log_(std::move(log)) {}
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

 private:
  std::string log_;
};

}  // namespace tutti::testing

#endif  // TUTTI_TESTS_PLAY_PLAY_PROCESS_H_
