// SIGINT/SIGTERM for the long-running mains (server, netem relay, MIDI bridge), taken
// synchronously instead of in a handler, and SIGPIPE ignored (a peer that goes away must be
// an error on the socket, not the end of the process).
//
// Owns: the process's signal mask for SIGINT and SIGTERM. Thread affinity: construct on the
// main thread before any other thread starts, so every thread inherits the blocked mask and
// only a Wait* call ever takes the signals. Owner: the main.
#ifndef TUTTI_TOOLS_COMMON_TERMINATION_SIGNALS_H_
#define TUTTI_TOOLS_COMMON_TERMINATION_SIGNALS_H_

#include <signal.h>

#include <cstdint>

namespace tutti::main_support {

class TerminationSignals {
 public:
  // Blocks SIGINT and SIGTERM for this thread and the threads it starts later, and ignores
  // SIGPIPE.
  TerminationSignals();
  TerminationSignals(const TerminationSignals&) = delete;
  TerminationSignals& operator=(const TerminationSignals&) = delete;

  // Waits for SIGINT or SIGTERM and returns it.
  int Wait();

  // Waits at most timeout_ms; returns the signal, or 0 when none came.
  int WaitFor(int64_t timeout_ms);

  // "SIGINT" or "SIGTERM", for the line a main prints when it stops.
  static const char* Name(int sig);

 private:
  sigset_t set_;
};

}  // namespace tutti::main_support

#endif  // TUTTI_TOOLS_COMMON_TERMINATION_SIGNALS_H_
