#include "tools/common/termination_signals.h"

#include <pthread.h>
#include <time.h>

#include <cerrno>

namespace tutti::main_support {

TerminationSignals::TerminationSignals(bool hangup_too) {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  if (hangup_too) sigaddset(&set_, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

int TerminationSignals::Wait() {
  int sig = 0;
  while (sigwait(&set_, &sig) != 0) {
  }
  return sig;
}

int TerminationSignals::WaitFor(int64_t timeout_ms) {
  timespec ts{static_cast<time_t>(timeout_ms / 1000),
              static_cast<long>(timeout_ms % 1000) * 1000000};
  const int sig = sigtimedwait(&set_, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

SignalWatcher::SignalWatcher(std::function<void()> on_stop, bool hangup_too) {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  if (hangup_too) sigaddset(&set_, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  signal(SIGPIPE, SIG_IGN);
  thread_ = std::thread([this, on_stop = std::move(on_stop)] {
    int sig = 0;
    while (sigwait(&set_, &sig) != 0) {
    }
    fired_.store(true);
    on_stop();
  });
}

SignalWatcher::~SignalWatcher() {
  // The thread waits for a signal; if none came, send it one only it can receive.
  if (!fired_.load()) pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
}

const char* TerminationSignals::Name(int sig) {
  return sig == SIGINT ? "SIGINT" : sig == SIGHUP ? "SIGHUP" : "SIGTERM";
}

}  // namespace tutti::main_support
