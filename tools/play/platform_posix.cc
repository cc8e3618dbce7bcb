// The POSIX (Linux, macOS) side of platform.h. A Windows build would add platform_win.cc with
// the same functions (%APPDATA%, SetConsoleCtrlHandler) and pick it in CMakeLists.txt.
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <thread>

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

bool IsInteractiveTerminal() { return isatty(0) == 1 && isatty(1) == 1; }

struct StopSignals::Impl {
  sigset_t set;
  std::atomic<bool> fired{false};
  std::thread thread;
};

StopSignals::StopSignals(std::function<void()> on_stop) : impl_(std::make_unique<Impl>()) {
  sigemptyset(&impl_->set);
  sigaddset(&impl_->set, SIGINT);
  sigaddset(&impl_->set, SIGTERM);
  sigaddset(&impl_->set, SIGHUP);  // the terminal went away: stop cleanly, release notes
  pthread_sigmask(SIG_BLOCK, &impl_->set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  impl_->thread = std::thread([impl = impl_.get(), on_stop = std::move(on_stop)] {
    int sig = 0;
    sigwait(&impl->set, &sig);
    impl->fired.store(true);
    on_stop();
  });
}

StopSignals::~StopSignals() {
  // The thread waits for a signal; if none came, send it one only it can receive.
  if (!impl_->fired.load()) pthread_kill(impl_->thread.native_handle(), SIGTERM);
  impl_->thread.join();
}

}  // namespace tutti::play
