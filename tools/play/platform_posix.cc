// The POSIX (Linux, macOS) side of platform.h. A Windows build would add platform_win.cc with
// the same functions (%APPDATA%, SetConsoleCtrlHandler) and pick it in CMakeLists.txt.
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <thread>

#include "tools/common/termination_signals.h"
#include "tools/play/platform.h"

namespace tutti::play {

bool AlsaSequencerPresent() {
  struct stat st {};
  return stat("/dev/snd/seq", &st) == 0;
}

std::string ConfigDir() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && xdg[0] == '/') {
    return std::string(xdg) + "/tutti";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && home[0] != '\0') {
    return std::string(home) + "/.config/tutti";
  }
  return {};
}

bool MakeDirs(const std::string& dir) {
  if (dir.empty()) return false;
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      const std::string part = dir.substr(0, i);
      if (mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) return false;
    }
  }
  return true;
}

void NoJackAutostart() { setenv("JACK_NO_START_SERVER", "1", 1); }

void RedirectStderr(const std::string& log_path) {
  int fd = log_path.empty() ? -1 : open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0) fd = open("/dev/null", O_WRONLY);
  if (fd < 0) return;
  dup2(fd, 2);
  close(fd);
}

bool IsInteractiveTerminal() { return isatty(0) == 1 && isatty(1) == 1; }

// The shared watcher of every Tutti main (tools/common/termination_signals.h), with SIGHUP
// too: the terminal went away, so stop cleanly and release the notes.
struct StopSignals::Impl {
  explicit Impl(std::function<void()> on_stop) : watcher(std::move(on_stop), /*hangup_too=*/true) {}
  main_support::SignalWatcher watcher;
};

StopSignals::StopSignals(std::function<void()> on_stop)
    : impl_(std::make_unique<Impl>(std::move(on_stop))) {}

StopSignals::~StopSignals() = default;

struct StdinLines::Impl {
  std::atomic<bool> stop{false};
  std::thread thread;
};

StdinLines::StdinLines(std::function<void(std::string)> on_line) : impl_(std::make_unique<Impl>()) {
  impl_->thread = std::thread([impl = impl_.get(), on_line = std::move(on_line)] {
    std::string pending;
    char buf[1024];
    while (!impl->stop.load()) {
      pollfd p{0, POLLIN, 0};
      const int r = poll(&p, 1, 100);
      if (r < 0 && errno != EINTR) return;
      if (r <= 0) continue;
      const ssize_t n = read(0, buf, sizeof buf);
      if (n <= 0) return;  // end of input
      pending.append(buf, static_cast<size_t>(n));
      for (size_t nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
        on_line(pending.substr(0, nl));
        pending.erase(0, nl + 1);
      }
      if (pending.size() > 64 * 1024) pending.clear();  // not a line a person typed
    }
  });
}

StdinLines::~StdinLines() {
  impl_->stop.store(true);
  impl_->thread.join();
}

}  // namespace tutti::play
