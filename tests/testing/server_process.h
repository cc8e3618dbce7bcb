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
  pid_t pid_ = -1;
  int out_fd_ = -1;
  uint16_t port_ = 0;
  std::string output_;
};

}  // namespace tutti::testing

#endif  // TUTTI_TESTS_TESTING_SERVER_PROCESS_H_
