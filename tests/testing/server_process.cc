#include "tests/testing/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "tests/testing/die_with_parent.h"

namespace tutti::testing {

ServerProcess::ServerProcess(std::string binary, std::string dir, std::vector<std::string> extra)
    : binary_(std::move(binary)), dir_(std::move(dir)), extra_(std::move(extra)) {}

namespace {

// In a forked child, before exec: moves it into a new time namespace whose monotonic
// clock is `offsets` ("monotonic <s> 0") ahead. Only system calls (async-signal-safe).
bool EnterTimeNamespace(const std::string& offsets) {
  if (unshare(CLONE_NEWTIME) != 0) return false;
  const int fd = open("/proc/self/timens_offsets", O_WRONLY);
  if (fd < 0) return false;
  const bool wrote =
      write(fd, offsets.data(), offsets.size()) == static_cast<ssize_t>(offsets.size());
  close(fd);
  if (!wrote) return false;
  // unshare moved only the children to come; a single-threaded process may join it itself.
  const int ns = open("/proc/self/ns/time_for_children", O_RDONLY);
  if (ns < 0) return false;
  const bool joined = setns(ns, CLONE_NEWTIME) == 0;
  close(ns);
  return joined;
}

}  // namespace

bool ServerProcess::TimeNamespacesWork() {
  const std::string offsets = "monotonic 1 0\n";
  const pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) _exit(EnterTimeNamespace(offsets) ? 0 : 1);
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Stop(SIGKILL, 5000);
  if (out_fd_ >= 0) close(out_fd_);
}

bool ServerProcess::Start() {
  int fds[2];
  if (pipe(fds) != 0) return false;
  std::vector<std::string> args = {binary_,  "--port", "0",      "--shards", "2",
                                   "--keys", dir_,     "--data", dir_};
  // --dev: the test's fresh directory gets a key set on first start (the issuer secret too,
  // which the tests mint tokens with).
  if (dev_) args.push_back("--dev");
  // SIGTERM stops at once unless a test asks for a drain (a later --drain-grace-s wins).
  args.push_back("--drain-grace-s=0");
  args.insert(args.end(), extra_.begin(), extra_.end());
  const std::string offsets = "monotonic " + std::to_string(monotonic_offset_s_) + " 0\n";
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) return false;
  if (pid_ == 0) {
    DieWithParent(parent);
    for (const Limit& l : limits_) {
      rlimit r{static_cast<rlim_t>(l.soft), static_cast<rlim_t>(l.hard)};
      setrlimit(l.resource, &r);
    }
    signal(SIGXFSZ, SIG_IGN);
    if (monotonic_offset_s_ != 0 && !EnterTimeNamespace(offsets)) _exit(126);
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary_.c_str(), argv.data());
    _exit(127);
  }
  close(fds[1]);
  out_fd_ = fds[0];
  fcntl(out_fd_, F_SETFL, O_NONBLOCK);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  const std::string marker = "listening on ws://";
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{out_fd_, POLLIN, 0};
    poll(&p, 1, 100);
    char buf[4096];
    ssize_t n = read(out_fd_, buf, sizeof buf);
    if (n > 0) output_.append(buf, static_cast<size_t>(n));
    if (n == 0) return false;  // exited
    size_t at = output_.find(marker);
    if (at != std::string::npos) {
      size_t colon = output_.find(':', at + marker.size());
      size_t end = output_.find(' ', colon);
      if (colon != std::string::npos && end != std::string::npos) {
        port_ =
            static_cast<uint16_t>(std::atoi(output_.substr(colon + 1, end - colon - 1).c_str()));
        return port_ != 0;
      }
    }
  }
  return false;
}

bool ServerProcess::WaitForOutput(const std::string& text, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (output_.find(text) == std::string::npos) {
    if (out_fd_ < 0 || std::chrono::steady_clock::now() >= deadline) return false;
    pollfd p{out_fd_, POLLIN, 0};
    poll(&p, 1, 50);
    char buf[4096];
    ssize_t n = read(out_fd_, buf, sizeof buf);
    if (n > 0) output_.append(buf, static_cast<size_t>(n));
    if (n == 0) return output_.find(text) != std::string::npos;  // exited
  }
  return true;
}

size_t ServerProcess::CountInOutput(const std::string& text) {
  // Read what is waiting first: lines written since the last wait count too.
  for (;;) {
    if (out_fd_ < 0) break;
    char buf[4096];
    ssize_t n = read(out_fd_, buf, sizeof buf);
    if (n <= 0) break;
    output_.append(buf, static_cast<size_t>(n));
  }
  size_t count = 0;
  for (size_t at = output_.find(text); at != std::string::npos; at = output_.find(text, at + 1)) {
    ++count;
  }
  return count;
}

int ServerProcess::Stop(int sig, int timeout_ms) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

}  // namespace tutti::testing
