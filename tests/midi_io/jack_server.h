// JackServer: a private JACK server (dummy driver, no realtime) for tests that need real MIDI
// ports. Starts `jackd -n tutti-test-slotN --no-realtime --sync -t 2000 -d dummy -r 48000 -p 256`,
// points this process's JACK clients at it (JACK_DEFAULT_SERVER, JACK_NO_START_SERVER), waits
// until it answers, and on destruction stops exactly the jackd it started, by PID.
//
// Why --sync: in jackd's default (asynchronous) mode a cycle does not wait for its clients, so a
// client thread that a saturated machine leaves unscheduled past its 5.3 ms period misses that
// cycle's MIDI; with both cores busy the tests lost messages that way (the bridge test failed
// 3 runs in 6, RtMidiPortTest's counts came up short) although our code never saw them.
// Synchronous mode makes each cycle wait for every client (up to -t 2000 ms), so starvation
// slows the graph down instead of losing MIDI, and what the tests count is what our code did.
// Waits in the tests are bounded well above that timeout.
//
// Why a pool of names (tutti-test-slot0..5): JACK's registry has eight slots machine-wide and
// reclaims a dead server's slot only for the same name, so unique names leak a slot whenever a
// jackd is killed and, after eight, no JACK test can run.
//
// How a name is taken without touching anyone else's server: a test process holds an flock on
// the slot's lock file ($TMPDIR/tutti-jack-test-slotN.lock) for as long as its jackd lives
// (jackd inherits the lock, so a jackd that outlived its test still holds it), and a name some
// other jackd listens on (a stale one of an older build, one started by hand) is passed over
// after a plain connect() to JACK's server socket. No libjack client is ever opened on a server
// this process did not start: such a probe waited forever on a stopped jackd, and a stale jackd
// under the name was reported to crash play_devices_test.
//
// Why jackd dies with its test: it is forked with DieWithParent (tests/testing), so a killed
// test (ctest's timeout, SIGKILL) takes its jackd along (SIGKILL: see Start) instead of leaving
// it running under a pool name.
//
// Owns: the jackd child process, its log file and the slot's lock.
// Thread affinity: construct and destroy on one thread (a test fixture), one that lives as long
// as the object (jackd is sent SIGTERM when the thread that forked it exits).
// Who owns it: tests/midi_io fixtures, one per test process.
//
// A machine where jackd cannot start makes ok() false with the reason and jackd's own output:
// tests assert on it and fail; they never skip.
#ifndef TUTTI_TESTS_MIDI_IO_JACK_SERVER_H_
#define TUTTI_TESTS_MIDI_IO_JACK_SERVER_H_

#include <sys/types.h>

#include <string>

namespace tutti::testing {

class JackServer {
 public:
  JackServer();
  ~JackServer();
  JackServer(const JackServer&) = delete;
  JackServer& operator=(const JackServer&) = delete;

  bool ok() const { return ok_; }
  // Why it is not ok, with jackd's output.
  const std::string& error() const { return error_; }
  const std::string& name() const { return name_; }
  // The jackd this object started (0 if it did not start one).
  pid_t pid() const { return pid_; }

  // The pool's names, in the order they are tried (for the fixture's own tests).
  static constexpr int kSlots = 6;
  static std::string SlotName(int slot);
  // True when a process listens on JACK's server socket for `name` (a live jackd, answering or
  // not); a plain connect, no libjack client.
  static bool NameListened(const std::string& name);

 private:
  // Spawns jackd under name_ and waits until it answers; false with error_ set otherwise.
  bool Start();
  std::string ReadLog() const;

  std::string name_;
  std::string log_path_;
  pid_t pid_ = 0;
  int lock_fd_ = -1;  // the slot's lock, held from before the start until jackd is reaped
  bool ok_ = false;
  std::string error_;
};

}  // namespace tutti::testing

#endif  // TUTTI_TESTS_MIDI_IO_JACK_SERVER_H_
