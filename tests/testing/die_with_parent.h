// DieWithParent: what a test fixture's child process (jackd, redis-server, tutti-server) calls
// between fork and exec so that it does not outlive the test. A test process that is killed
// (ctest's timeout, ^C, SIGKILL) runs no destructor, so "stopped by PID" never happens; without
// this its servers kept running, holding ports, Redis data and, for jackd, a JACK server name
// that the next run then collided with.
//
// Owns nothing; header only (no library to link), for every fixture that forks.
// Thread affinity: the forked child, before exec; only async-signal-safe calls.
// Caveat: Linux sends the signal when the *thread* that forked exits, not the process, so a
// fixture must fork on a thread that lives as long as the child (the test's own thread).
#ifndef TUTTI_TESTS_TESTING_DIE_WITH_PARENT_H_
#define TUTTI_TESTS_TESTING_DIE_WITH_PARENT_H_

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace tutti::testing {

// Asks for `sig` when the parent goes (SIGTERM: redis-server and tutti-server stop cleanly on
// it), and exits at once if the parent (`parent`, its pid taken before the fork) is already
// gone: then no signal would ever come.
inline void DieWithParent(pid_t parent, int sig = SIGTERM) {
  prctl(PR_SET_PDEATHSIG, sig);
  if (getppid() != parent) _exit(127);
}

}  // namespace tutti::testing

#endif  // TUTTI_TESTS_TESTING_DIE_WITH_PARENT_H_
