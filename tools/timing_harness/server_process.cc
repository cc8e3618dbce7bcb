#include "tools/timing_harness/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <vector>

namespace tutti::harness {

namespace {

std::string ListeningLine(const std::string& host) { return "listening on ws://" + host + ":"; }

}  // namespace

absl::Status ServerProcess::Start(const std::string& binary, const std::string& dir, int shards,
                                  uint16_t port) {
  if (!Exited()) return absl::FailedPreconditionError("already running; Stop() it first");
  Stop();  // after a child that exited on its own: join its reader, close its pipe
  dir_ = dir;
  {
    std::lock_guard<std::mutex> lock(mu_);
    output_.clear();
  }
  if (access(binary.c_str(), X_OK) != 0) return absl::NotFoundError("cannot run " + binary);
  int netns_fd = -1;
  if (!netns_.empty()) {
    // Opened here, entered in the child: setns is a plain system call, safe after fork.
    const std::string path = "/run/netns/" + netns_;
    netns_fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (netns_fd < 0) return absl::NotFoundError("no network namespace " + path);
  }
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    if (netns_fd >= 0) close(netns_fd);
    return absl::InternalError("pipe");
  }
  std::vector<std::string> args = {binary,
                                   "--dev",
                                   "--drain-grace-s=0",
                                   "--listen",
                                   listen_host_,
                                   "--port",
                                   std::to_string(port),
                                   "--keys",
                                   dir + "/keys",
                                   "--data",
                                   dir,
                                   "--shards",
                                   std::to_string(shards)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_ = fork();
  if (pid_ == 0) {
    // Only async-signal-safe calls until exec. If the harness dies without running its
    // destructors (SIGKILL, SIGPIPE), the server goes with it instead of lingering.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    dup2(null_fd, 0);
    dup2(pipe_fds[1], 1);
    dup2(pipe_fds[1], 2);
    if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) != 0) _exit(126);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  if (null_fd >= 0) close(null_fd);
  if (netns_fd >= 0) close(netns_fd);
  if (pid_ < 0) {
    close(pipe_fds[0]);
    pid_ = 0;
    return absl::InternalError("fork failed");
  }
  out_fd_ = pipe_fds[0];
  reader_ = std::thread([this] {
    char buf[4096];
    for (;;) {
      const ssize_t n = read(out_fd_, buf, sizeof(buf));
      if (n <= 0) return;
      std::lock_guard<std::mutex> lock(mu_);
      if (output_.size() < (1 << 20)) output_.append(buf, static_cast<size_t>(n));
    }
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      const std::string listening = ListeningLine(listen_host_);
      const size_t at = output_.find(listening);
      if (at != std::string::npos) {
        const size_t p = at + listening.size();
        const size_t end = output_.find_first_not_of("0123456789", p);
        if (end != std::string::npos) {
          port_ = static_cast<uint16_t>(std::atoi(output_.substr(p, end - p).c_str()));
          return port_ != 0 ? absl::OkStatus()
                            : absl::InternalError("bad listening line:\n" + output_);
        }
      }
    }
    if (Exited()) return absl::InternalError("tutti-server exited at start:\n" + output());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::DeadlineExceededError("tutti-server did not report its port:\n" + output());
}

std::string ServerProcess::output() const {
  std::lock_guard<std::mutex> lock(mu_);
  return output_;
}

bool ServerProcess::Exited() {
  if (pid_ <= 0) return true;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = 0;
    return true;
  }
  return false;
}

ServerProcess::~ServerProcess() { Stop(); }

void ServerProcess::Stop() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    bool gone = false;
    for (int i = 0; i < 250 && !gone; ++i) {
      gone = waitpid(pid_, &status, WNOHANG) == pid_;
      if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!gone) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
  }
  pid_ = 0;
  if (reader_.joinable()) reader_.join();  // the pipe closes with the child
  if (out_fd_ >= 0) close(out_fd_);
  out_fd_ = -1;
}

}  // namespace tutti::harness
