// ServerProcess: the real tutti-server binary run as a child process, for tests that
// must kill it (kill -9 durability) or signal it (graceful shutdown). Owned by one
// test; it ends only the process it started, by PID.
#ifndef TUTTI_TESTS_TESTING_SERVER_PROCESS_H_
#define TUTTI_TESTS_TESTING_SERVER_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tutti::testing {

class ServerProcess {
 public:
  // `dir` holds the key files and the store; extra flags are appended.
  ServerProcess(std::string binary, std::string dir, std::vector<std::string> extra = {});
  ~ServerProcess();

  // Resource limits set in the child before exec (RLIMIT_NOFILE, RLIMIT_FSIZE, ...);
  // call before Start. SIGXFSZ is ignored in the child either way.
  void SetLimit(int resource, uint64_t soft, uint64_t hard) {
    limits_.push_back({resource, soft, hard});
  }
  // Runs the server in a time namespace of its own whose monotonic clock is `seconds`
  // ahead of this machine's (the clock of a machine booted that much earlier); call
  // before Start. Needs CAP_SYS_ADMIN: see TimeNamespacesWork.
  void set_monotonic_offset_s(int64_t seconds) { monotonic_offset_s_ = seconds; }
  // Whether this process may make time namespaces (a child tries; false without the
  // privilege or the kernel's support).
  static bool TimeNamespacesWork();
  // Development mode (--dev, the default here): a fresh `dir` gets a key set on first start.
  // Tests of production start-up turn it off before Start.
  void set_dev(bool dev) { dev_ = dev; }
  // Starts the server and waits (bounded) for its "listening on" line.
  bool Start();
  // Reads what the server printed (stdout and stderr) until `text` shows up or the
  // deadline passes; true when it did.
  bool WaitForOutput(const std::string& text, int timeout_ms);
  // How many times `text` occurs in what the server printed up to now.
  size_t CountInOutput(const std::string& text);
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Sends `sig` and waits (bounded) for the exit; returns the exit status or -1.
  int Stop(int sig, int timeout_ms);
  const std::string& output() const { return output_; }

 private:
  std::string binary_;
  std::string dir_;
  std::vector<std::string> extra_;
  struct Limit {
    int resource;
    uint64_t soft, hard;
  };
  std::vector<Limit> limits_;
  bool dev_ = true;
  int64_t monotonic_offset_s_ = 0;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  uint16_t port_ = 0;
  std::string output_;
};

}  // namespace tutti::testing

#endif  // TUTTI_TESTS_TESTING_SERVER_PROCESS_H_
