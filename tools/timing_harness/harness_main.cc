// tutti-timing-harness: the layer-2 timing run on real sockets (tools/timing_harness/
// timing_harness.h). Starts tutti-server as a child on an ephemeral port, relays every leg
// through an in-process delay/jitter/stall relay, plays the simulation's material from a sender
// bot to a receiver bot and prints the simulation's figures. Bounded: it ends after the music,
// the kill and the drain. --smoke checks correctness only and sets the exit code.
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "tools/timing_harness/timing_harness.h"

namespace {

void Usage() {
  std::fprintf(
      stderr,
      "usage: tutti-timing-harness [--server PATH] [--delay-ms D] [--jitter-ms J]\n"
      "                            [--stall-prob P] [--stall-ms M] [--seed N] [--duration-s S]\n"
      "                            [--no-kill] [--quickack] [--realtime] [--trace]\n"
      "                            [--work-dir DIR]\n"
      "                            [--name NAME] [--smoke]\n"
      "  --server PATH   tutti-server binary (default: next to this build's tools)\n"
      "  --delay-ms D    mean one-way delay added on every leg (default 0: clean loopback)\n"
      "  --jitter-ms J   spread: each chunk held (D - J) + |N(0, 1.25 J)| ms (default 0)\n"
      "  --stall-prob P  per chunk, hold it M ms more and everything behind it (TCP stall)\n"
      "  --stall-ms M    stall length (default 250)\n"
      "  --seed N        relay randomness and the piece played (default 1)\n"
      "  --duration-s S  length of the piece (default 30); the run takes about S + 6 s\n"
      "  --no-kill       end the piece normally instead of killing the sender mid-chord\n"
      "  --quickack      ACK the server's segments at once (relay side), so a server socket\n"
      "                  without TCP_NODELAY cannot hold a frame for a delayed ACK: the\n"
      "                  figures the server would give with Nagle off\n"
      "  --realtime      run every thread and the server child SCHED_FIFO (needs the\n"
      "                  privilege): wake-up latency of a loaded machine stops counting\n"
      "  --trace         per-batch leg times (source->server, server->receiver) on stderr\n"
      "  --work-dir DIR  where the child server keeps keys and data (default: a new temp dir)\n"
      "  --smoke         check correctness only (no stuck notes, every note delivered, the\n"
      "                  killed sender released by the server); exit 1 if not\n"
      "Example: the reference path of docs/TIMING.md, 30 ms +- 10 ms each way:\n"
      "  tutti-timing-harness --delay-ms 30 --jitter-ms 10 --duration-s 120\n");
}

double Number(const std::string& flag, const char* v) {
  char* end = nullptr;
  const double d = std::strtod(v, &end);
  if (end == v || *end != '\0' || d < 0) {
    std::fprintf(stderr, "tutti-timing-harness: %s needs a non-negative number\n", flag.c_str());
    std::exit(2);
  }
  return d;
}

std::string DefaultServer(const char* argv0) {
  // build/tools/timing_harness/tutti-timing-harness -> build/server/tutti-server
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  std::string path = n > 0 ? std::string(self, static_cast<size_t>(n)) : std::string(argv0);
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  return dir + "/../../server/tutti-server";
}

}  // namespace

int main(int argc, char** argv) {
  // A closed stdout (e.g. piped into head) must not kill the run before it stops its children.
  signal(SIGPIPE, SIG_IGN);
  tutti::harness::HarnessOptions o;
  o.server_binary = DefaultServer(argv[0]);
  double delay = 0, jitter = 0, stall_prob = 0, stall_ms = 250;
  bool smoke = false, named = false, realtime = false;
  std::string work_dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      Usage();
      return 0;
    }
    if (a == "--smoke") {
      smoke = true;
      continue;
    }
    if (a == "--quickack") {
      o.quickack = true;
      continue;
    }
    if (a == "--realtime") {
      realtime = true;
      continue;
    }
    if (a == "--trace") {
      o.trace = true;
      continue;
    }
    if (a == "--no-kill") {
      o.kill_mid_chord = false;
      continue;
    }
    if (i + 1 >= argc) {
      Usage();
      return 2;
    }
    const char* v = argv[++i];
    if (a == "--server")
      o.server_binary = v;
    else if (a == "--delay-ms")
      delay = Number(a, v);
    else if (a == "--jitter-ms")
      jitter = Number(a, v);
    else if (a == "--stall-prob")
      stall_prob = Number(a, v);
    else if (a == "--stall-ms")
      stall_ms = Number(a, v);
    else if (a == "--seed")
      o.seed = static_cast<uint64_t>(Number(a, v));
    else if (a == "--duration-s")
      o.music_us = static_cast<int64_t>(Number(a, v) * 1e6);
    else if (a == "--work-dir")
      work_dir = v;
    else if (a == "--name") {
      o.name = v;
      named = true;
    } else {
      std::fprintf(stderr, "tutti-timing-harness: unknown argument %s\n", a.c_str());
      Usage();
      return 2;
    }
  }
  if (stall_prob > 1 || o.music_us < 1000000) {
    std::fprintf(stderr, "tutti-timing-harness: need --stall-prob <= 1 and --duration-s >= 1\n");
    return 2;
  }
  if (realtime) {
    // Before any thread or child exists, so every one of them inherits it: the bots, the relay
    // and the server then wake on time even on a loaded machine (as on dedicated hosts).
    sched_param p{};
    p.sched_priority = 20;
    if (sched_setscheduler(0, SCHED_FIFO, &p) != 0) {
      std::perror("tutti-timing-harness: --realtime (SCHED_FIFO) refused; running without it");
    }
  }
  o.path = {static_cast<int64_t>(delay * 1000), static_cast<int64_t>(jitter * 1000), stall_prob,
            static_cast<int64_t>(stall_ms * 1000)};
  if (!named) {
    char buf[160];
    if (delay == 0 && jitter == 0 && stall_prob == 0) {
      std::snprintf(buf, sizeof(buf), "layer 2, clean loopback, %.0f s", o.music_us / 1e6);
    } else {
      std::snprintf(buf, sizeof(buf), "layer 2, %.0f +- %.0f ms each way%s, %.0f s", delay, jitter,
                    stall_prob > 0 ? ", stalls" : "", o.music_us / 1e6);
    }
    o.name = buf;
  }
  bool made_dir = false;
  if (work_dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp != nullptr ? tmp : "/tmp") + "/tutti-harness-XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) {
      std::perror("tutti-timing-harness: mkdtemp");
      return 1;
    }
    work_dir = templ;
    made_dir = true;
  }
  o.work_dir = work_dir;

  auto report = tutti::harness::RunHarness(o);
  if (made_dir) {
    // Only the temp dir made above (the child server's keys and store).
    std::error_code ec;
    std::filesystem::remove_all(work_dir, ec);
  }
  if (!report.ok()) {
    std::fprintf(stderr, "tutti-timing-harness: %s\n",
                 std::string(report.status().message()).c_str());
    return 1;
  }
  std::fputs(tutti::harness::DescribeReport(*report).c_str(), stdout);
  const std::string problems = tutti::harness::CheckCorrectness(*report);
  if (!problems.empty()) {
    std::printf("correctness: FAILED: %s\n", problems.c_str());
    return smoke ? 1 : 0;
  }
  std::printf("correctness: ok\n");
  return 0;
}
