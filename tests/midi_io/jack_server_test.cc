// JackServer, the JACK tests' own fixture (jack_server.h): a name some other jackd holds is
// passed over without touching that jackd, answering or not; and the jackd a test started goes
// when that test process is killed. Each fixture runs in a process of its own: this binary
// re-run as `jack_server_test --hold`, which holds one JackServer, reports it on stdout and
// keeps it until its stdin closes. Waits are bounded; every process is stopped by PID.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "midi/rtmidi_port.h"
#include "tests/midi_io/jack_server.h"
#include "tests/testing/child_process.h"
#include "tests/testing/child_watch.h"

namespace tutti::testing {

using namespace std::chrono_literals;

// `--hold`: one JackServer; prints "ok <name> <jackd pid> <ports|noports>" (ports: a MIDI port
// opened on it shows in its list, so the server is ours and works) or "fail <why>".
int Hold() {
  JackServer jack;
  if (!jack.ok()) {
    std::string why = jack.error();
    for (char& c : why) c = c == '\n' ? ' ' : c;
    std::printf("fail %s\n", why.c_str());
    std::fflush(stdout);
    return 1;
  }
  auto out = midi::MidiOutput::OpenVirtual("tutti-hold", "out");
  bool seen = false;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (out.ok() && !seen && std::chrono::steady_clock::now() < deadline) {
    auto sources = midi::ListMidiSources();
    for (const auto& s : sources.ok() ? *sources : std::vector<std::string>{}) {
      seen = seen || s == "tutti-hold:out";
    }
    if (!seen) std::this_thread::sleep_for(20ms);
  }
  std::printf("ok %s %d %s\n", jack.name().c_str(), static_cast<int>(jack.pid()),
              seen ? "ports" : "noports");
  std::fflush(stdout);
  HoldUntilStdinCloses();
  if (out.ok()) out->reset();
  return 0;
}

namespace {

struct Held {
  std::string status, name, ports;
  pid_t jackd = 0;
};

// Runs a holder and reads its report (status "none" when it gives none within 60 s: it hangs).
Held StartHolder(SelfChild* child) {
  *child = SpawnSelf({"--hold"});
  Held h;
  auto line = ReadLine(child->out, std::chrono::steady_clock::now() + 60s);
  if (!line) {
    h.status = "none";
    return h;
  }
  std::istringstream in(*line);
  int pid = 0;
  in >> h.status;
  if (h.status == "ok") {
    in >> h.name >> pid >> h.ports;
    h.jackd = pid;
  } else {
    h.name = *line;
  }
  return h;
}

// Closes the holder's stdin (its fixture stops its jackd) and reaps it; SIGKILL after 30 s.
void StopHolder(SelfChild& child) {
  if (child.in >= 0) close(child.in);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  int status = 0;
  while (waitpid(child.pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(child.pid, SIGKILL);
      waitpid(child.pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  if (child.out >= 0) close(child.out);
}

// A jackd of "someone else" (as a stale one of an older build, or one started by hand) under
// the first pool name nobody listens on: the name a fixture would try first.
class ForeignJackd {
 public:
  ForeignJackd() {
    for (int slot = 0; slot < JackServer::kSlots && !ok(); ++slot) {
      if (JackServer::NameListened(JackServer::SlotName(slot))) continue;
      name_ = JackServer::SlotName(slot);
      // SIGTERM when it is stopped (Stop adds SIGCONT, for the test that stops it with SIGSTOP).
      jackd_ = std::make_unique<ChildProcess>(
          std::vector<std::string>{"jackd", "-n", name_, "--no-realtime", "-d", "dummy", "-r",
                                   "48000", "-p", "256"},
          "/dev/null", SIGTERM);
      const auto deadline = std::chrono::steady_clock::now() + 15s;
      while (jackd_->started() && !JackServer::NameListened(name_)) {
        if (jackd_->Exited() || std::chrono::steady_clock::now() > deadline) {
          jackd_.reset();
          break;
        }
        std::this_thread::sleep_for(20ms);
      }
    }
  }

  bool ok() const { return jackd_ != nullptr && jackd_->started(); }
  const std::string& name() const { return name_; }
  pid_t pid() const { return jackd_ != nullptr ? jackd_->pid() : 0; }

 private:
  std::string name_;
  std::unique_ptr<ChildProcess> jackd_;
};

TEST(JackServerTest, PassesOverANameAnotherJackdHolds) {
  ForeignJackd foreign;
  ASSERT_TRUE(foreign.ok()) << "no jackd could be started under a free pool name";
  SelfChild child;
  const Held h = StartHolder(&child);
  EXPECT_EQ(h.status, "ok") << h.name;
  EXPECT_NE(h.name, foreign.name());
  EXPECT_EQ(h.ports, "ports");
  StopHolder(child);
  EXPECT_TRUE(JackServer::NameListened(foreign.name())) << "the other jackd was disturbed";
}

// A jackd that holds the name and no longer answers (stopped here with SIGSTOP; a stale one in
// a bad state looks the same): a libjack client on it waits forever, so the fixture must not
// open one.
TEST(JackServerTest, PassesOverANameHeldByAJackdThatDoesNotAnswer) {
  ForeignJackd foreign;
  ASSERT_TRUE(foreign.ok()) << "no jackd could be started under a free pool name";
  ASSERT_EQ(kill(foreign.pid(), SIGSTOP), 0);
  SelfChild child;
  const Held h = StartHolder(&child);
  EXPECT_EQ(h.status, "ok") << (h.status == "none" ? "the fixture hung on the other jackd"
                                                   : h.name);
  EXPECT_NE(h.name, foreign.name());
  EXPECT_EQ(h.ports, "ports");
  if (h.status == "none") {
    kill(child.pid, SIGKILL);  // it hangs in the constructor: its stdin would not reach it
  }
  StopHolder(child);
}

// ctest's timeout or a SIGKILL ends a test without its destructors: its jackd must go too.
TEST(JackServerTest, JackdDiesWithTheProcessThatStartedIt) {
  SelfChild child;
  const Held h = StartHolder(&child);
  ASSERT_EQ(h.status, "ok") << h.name;
  ASSERT_GT(h.jackd, 0);
  const std::string started = StartTimeAndState(h.jackd).first;
  ASSERT_FALSE(started.empty());
  ASSERT_EQ(kill(child.pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child.pid, &status, 0), child.pid);
  const bool gone = WaitGone(h.jackd, started, std::chrono::steady_clock::now() + 20s);
  EXPECT_TRUE(gone) << "jackd " << h.jackd << " outlived the test process that started it (state "
                    << StartTimeAndState(h.jackd).second << ")";
  if (!gone) kill(h.jackd, SIGKILL);
  close(child.in);
  close(child.out);
  // Its name is free again: the next test takes it. (The state seen above is the main
  // thread's; the socket closes when the last of jackd's threads is gone, a moment later.)
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (JackServer::NameListened(h.name) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_FALSE(JackServer::NameListened(h.name));
  // The jackd log the killed holder could not remove (jack_server.cc names it so).
  const char* tmp = std::getenv("TMPDIR");
  std::remove((std::string(tmp != nullptr ? tmp : "/tmp") + "/" + h.name + "-" +
               std::to_string(child.pid) + ".log")
                  .c_str());
}

}  // namespace
}  // namespace tutti::testing

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--hold") == 0) return tutti::testing::Hold();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
