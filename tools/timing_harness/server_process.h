// ServerProcess: a tutti-server child process on 127.0.0.1 and an ephemeral port, for harness
// runs on real sockets (or, for the real-loss run, on an address in a network namespace of its
// own: set_listen_host, set_netns).
//
// Owns: the child (started with --port 0 in a private key/data directory) and the thread that
// keeps reading its stdout so it never blocks on a full pipe.
// Thread affinity: Start and destruction on one owner thread, which must outlive the child (the
// child gets SIGTERM when the thread that started it ends: PR_SET_PDEATHSIG).
// Who owns it: tutti-timing-harness. The destructor stops exactly the child it started, by PID
// (SIGTERM, then SIGKILL after 5 s).
#ifndef TUTTI_TOOLS_TIMING_HARNESS_SERVER_PROCESS_H_
#define TUTTI_TOOLS_TIMING_HARNESS_SERVER_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/status.h"

namespace tutti::harness {

class ServerProcess {
 public:
  ServerProcess() = default;
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Runs `binary --listen 127.0.0.1 --port P --keys <dir>/keys --data <dir> --shards N` and
  // waits (up to 15 s) for its "listening on ws://127.0.0.1:PORT" line. Port 0 (the
  // default) lets the kernel pick; a server restarted with Stop() and Start(..., port())
  // comes back where its clients expect it.
  absl::Status Start(const std::string& binary, const std::string& dir, int shards,
                     uint16_t port = 0);
  // SIGTERM (the server's graceful shutdown, 1001 to every client), then SIGKILL after 5 s;
  // reaps the child. Nothing to do when it is not running.
  void Stop();
  // Before Start: the address the server listens on (default 127.0.0.1) and a named network
  // namespace (/run/netns/NAME, as `ip netns add` makes) the child enters before exec.
  void set_listen_host(std::string host) { listen_host_ = std::move(host); }
  void set_netns(std::string name) { netns_ = std::move(name); }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string key_dir() const { return dir_ + "/keys"; }
  // Everything the server printed so far (for failure reports).
  std::string output() const;
  // True if the child has exited (it should not, before the harness stops it).
  bool Exited();

 private:
  std::string dir_;
  std::string listen_host_ = "127.0.0.1";
  std::string netns_;
  pid_t pid_ = 0;
  int out_fd_ = -1;
  uint16_t port_ = 0;
  std::thread reader_;
  mutable std::mutex mu_;
  std::string output_;
};

}  // namespace tutti::harness

#endif  // TUTTI_TOOLS_TIMING_HARNESS_SERVER_PROCESS_H_
