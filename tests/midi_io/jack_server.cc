#include "tests/midi_io/jack_server.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "midi/rtmidi_port.h"

extern char** environ;

namespace tutti::testing {

namespace {

// JACK keeps a machine-wide registry of at most eight server names (MAX_SERVERS in its shm.c). A
// jackd that dies without unregistering (SIGKILL, a crash) leaves its entry behind, and jackd only
// reclaims a dead entry when a new server registers under the same name. Unique names per run
// therefore leak a slot for good on every such death, and after eight the machine refuses every
// JACK server ("Too many servers already active"). A small fixed pool of names reclaims them.
constexpr int kNameSlots = 6;

// Reaps the child if it has exited; true if it is gone.
bool Exited(pid_t pid, int* status) { return waitpid(pid, status, WNOHANG) == pid; }

}  // namespace

JackServer::JackServer() {
  // A client must never start a server of its own behind the test's back.
  setenv("JACK_NO_START_SERVER", "1", 1);
  const char* tmp = std::getenv("TMPDIR");
  std::string errors;
  for (int slot = 0; slot < kNameSlots && !ok_; ++slot) {
    name_ = "tutti-test-slot" + std::to_string(slot);
    setenv("JACK_DEFAULT_SERVER", name_.c_str(), 1);
    // A live server under this name belongs to another test process: leave it alone.
    if (midi::JackServerRunning()) {
      midi::ReleaseJackProbe();
      continue;
    }
    log_path_ = std::string(tmp != nullptr ? tmp : "/tmp") + "/" + name_ + "-" +
                std::to_string(getpid()) + ".log";
    if (Start()) return;
    // Another process may have taken the name between the probe and our start: try the next.
    errors += "[" + name_ + "] " + error_ + "\n";
    std::remove(log_path_.c_str());
    log_path_.clear();
    if (pid_ == 0 && error_.rfind("cannot run jackd", 0) == 0) return;  // not installed
  }
  if (!ok_) error_ = "no JACK server could start under any test name:\n" + errors;
}

bool JackServer::Start() {
  error_.clear();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<std::string> args = {"jackd", "-n",    name_, "--no-realtime", "--sync", "-t", "2000",
                                   "-d",    "dummy", "-r",  "48000",         "-p",     "256"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int rc = posix_spawnp(&pid_, "jackd", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = 0;
    error_ = "cannot run jackd (is jackd2 installed? tools/setup.sh installs it): errno " +
             std::to_string(rc);
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (Exited(pid_, &status)) {
      pid_ = 0;
      error_ = "jackd exited at start (status " + std::to_string(status) + "):\n" + ReadLog();
      return false;
    }
    if (midi::JackServerRunning()) {
      ok_ = true;
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  error_ = "jackd did not answer within 15 s:\n" + ReadLog();
  return false;
}

JackServer::~JackServer() {
  // Our probe client leaves before its server does (the next server gets a fresh one).
  midi::ReleaseJackProbe();
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
      gone = Exited(pid_, &status);
      if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!gone) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
  }
  if (!log_path_.empty()) std::remove(log_path_.c_str());
}

std::string JackServer::ReadLog() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace tutti::testing
