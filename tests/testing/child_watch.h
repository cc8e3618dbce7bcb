// Child watch: what the tests of the fixtures themselves use to run a fixture in a process of
// its own (the test binary re-run with arguments that make it hold one fixture), read what
// that process reports, kill it, and see whether the servers it started went with it.
//
// Owns: nothing beyond the pids and pipe ends it hands back (the caller closes and reaps).
// Thread affinity: the test's thread. Header only, so any test folder can use it.
// Every wait is bounded by the caller's deadline; nothing here sleeps for a fixed time.
#ifndef TUTTI_TESTS_TESTING_CHILD_WATCH_H_
#define TUTTI_TESTS_TESTING_CHILD_WATCH_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace tutti::testing {

// A process running this test binary with other arguments.
struct SelfChild {
  pid_t pid = -1;
  int out = -1;  // its stdout
  int in = -1;   // its stdin: closing it asks a holder to finish (see HoldUntilStdinCloses)
};

// Starts /proc/self/exe with `args` (argv[1]...), its stdin and stdout piped to us.
inline SelfChild SpawnSelf(const std::vector<std::string>& args) {
  SelfChild c;
  int out[2];
  int in[2];
  if (pipe2(out, O_CLOEXEC) != 0) return c;
  if (pipe2(in, O_CLOEXEC) != 0) {
    close(out[0]);
    close(out[1]);
    return c;
  }
  std::vector<std::string> all = {"/proc/self/exe"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  c.pid = fork();
  if (c.pid == 0) {
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  close(in[0]);
  c.out = out[0];
  c.in = in[1];
  return c;
}

// The next line `fd` carries (without its newline), or nullopt at end of file or when none
// comes by `deadline`. Reads a byte at a time: these are a few short lines.
inline std::optional<std::string> ReadLine(int fd, std::chrono::steady_clock::time_point deadline) {
  std::string line;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char ch;
    const ssize_t n = read(fd, &ch, 1);
    if (n <= 0) return std::nullopt;
    if (ch == '\n') return line;
    line.push_back(ch);
  }
}

// Field 22 of /proc/PID/stat (the start time, in clock ticks since boot) and field 3 (the
// state): together they tell "this very process is still running" from "gone, a zombie, or
// the pid now belongs to another process". Empty when there is no such process.
inline std::pair<std::string, char> StartTimeAndState(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close_paren = text.rfind(')');
  if (close_paren == std::string::npos) return {"", '?'};
  std::istringstream rest(text.substr(close_paren + 2));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  // fields[0] is field 3 (state); field 22 is fields[19].
  if (fields.size() < 20) return {"", '?'};
  return {fields[19], fields[0].empty() ? '?' : fields[0][0]};
}

// True once the process that had `start_time` is no longer running (exited, a zombie
// waiting to be reaped, or its pid reused), false if it still runs at `deadline`.
inline bool WaitGone(pid_t pid, const std::string& start_time,
                     std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto [start, state] = StartTimeAndState(pid);
    if (start != start_time || state == 'Z' || state == 'X') return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// The holder's side: blocks until the parent closes our stdin (or dies), so the fixture's
// destructor runs when the parent asks and not before.
inline void HoldUntilStdinCloses() {
  char buf[64];
  while (read(STDIN_FILENO, buf, sizeof(buf)) > 0) {
  }
}

}  // namespace tutti::testing

#endif  // TUTTI_TESTS_TESTING_CHILD_WATCH_H_
