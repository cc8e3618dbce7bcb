// SIGINT/SIGTERM for the long-running mains (server, netem relay, MIDI bridge, tutti-play),
// taken synchronously instead of in a handler, and SIGPIPE ignored (a peer that goes away
// must be an error on the socket, not the end of the process). TerminationSignals is for a
// main that waits for them itself; SignalWatcher turns them into a call on its own thread,
// for a main whose thread runs an event loop.
//
// Owns: the process's signal mask for SIGINT and SIGTERM (and SIGHUP when a SignalWatcher is
// asked to), and a SignalWatcher its thread. Thread affinity: construct on the main thread
// before any other thread starts, so every thread inherits the blocked mask and only a
// Wait* call or the watcher's thread ever takes the signals. Owner: the main.
#ifndef TUTTI_TOOLS_COMMON_TERMINATION_SIGNALS_H_
#define TUTTI_TOOLS_COMMON_TERMINATION_SIGNALS_H_

#include <signal.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>

namespace tutti::main_support {

class TerminationSignals {
 public:
  // Blocks SIGINT and SIGTERM (and SIGHUP with `hangup_too`, for a main that reloads on it)
  // for this thread and the threads it starts later, and ignores SIGPIPE.
  explicit TerminationSignals(bool hangup_too = false);
  TerminationSignals(const TerminationSignals&) = delete;
  TerminationSignals& operator=(const TerminationSignals&) = delete;

  // Waits for SIGINT or SIGTERM (or SIGHUP, when taken) and returns it.
  int Wait();

  // Waits at most timeout_ms; returns the signal, or 0 when none came.
  int WaitFor(int64_t timeout_ms);

  // "SIGINT", "SIGTERM" or "SIGHUP", for the line a main prints.
  static const char* Name(int sig);

 private:
  sigset_t set_;
};

// SIGINT and SIGTERM (and SIGHUP with `hangup_too`: the terminal went away) become one call
// of `on_stop` on the watcher's thread, which must only post (set a flag, wake a loop). The
// destructor wakes that thread if no signal came, and joins it.
class SignalWatcher {
 public:
  explicit SignalWatcher(std::function<void()> on_stop, bool hangup_too = false);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  bool fired() const { return fired_.load(); }

 private:
  sigset_t set_;
  std::atomic<bool> fired_{false};
  std::thread thread_;
};

}  // namespace tutti::main_support

#endif  // TUTTI_TOOLS_COMMON_TERMINATION_SIGNALS_H_
