// RedisProcess: a real redis-server run as a child process on a free loopback port,
// with its working directory in a fresh temp dir, no persistence, for the tests of the
// Redis engine (rooms across nodes). Owned by one test; it ends only the process it
// started, by PID, and removes its temp dir.
#ifndef TUTTI_TESTS_TESTING_REDIS_PROCESS_H_
#define TUTTI_TESTS_TESTING_REDIS_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace tutti::testing {

class RedisProcess {
 public:
  RedisProcess();
  ~RedisProcess();
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  // Starts redis-server (on the port of the last start when there was one, so a
  // restarted Redis is found where the nodes knew it) and waits, bounded, until it
  // answers PING. False when it does not come up.
  bool Start();
  // Sends `sig` and waits (bounded) for the exit; SIGKILL after the deadline.
  void Stop(int sig);
  bool running() const { return pid_ > 0; }
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }

 private:
  std::string dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// True when a redis-server binary can be run (tools/setup.sh installs it).
bool RedisServerAvailable();

}  // namespace tutti::testing

#endif  // TUTTI_TESTS_TESTING_REDIS_PROCESS_H_
