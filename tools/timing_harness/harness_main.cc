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

#include "absl/flags/flag.h"
#include "tools/common/main_flags.h"
#include "tools/timing_harness/timing_harness.h"

ABSL_FLAG(std::string, server, "", "tutti-server binary (default: next to this build's tools)");
ABSL_FLAG(double, delay_ms, 0, "mean one-way delay added on every leg, ms (0: clean loopback)");
ABSL_FLAG(double, jitter_ms, 0, "spread: each chunk held (D - J) + |N(0, 1.25 J)| ms");
ABSL_FLAG(double, stall_prob, 0,
          "per chunk, probability of holding it --stall-ms more and everything behind it");
ABSL_FLAG(double, stall_ms, 250, "stall length, ms");
ABSL_FLAG(uint64_t, seed, 1, "relay randomness and the piece played");
ABSL_FLAG(double, duration_s, 30, "length of the piece, s; the run takes about S + 6 s");
ABSL_FLAG(bool, no_kill, false, "end the piece normally instead of killing the sender mid-chord");
ABSL_FLAG(bool, quickack, false,
          "ACK the server's segments at once (relay side), so a server socket without "
          "TCP_NODELAY cannot hold a frame for a delayed ACK: the figures the server would "
          "give with Nagle off");
ABSL_FLAG(bool, realtime, false,
          "run every thread and the server child SCHED_FIFO (needs the privilege): wake-up "
          "latency of a loaded machine stops counting");
ABSL_FLAG(bool, external_loss, false,
          "the path drops packets outside the harness (real_loss.sh sets it): note-ons the "
          "stall policy drops are reported, not counted as a correctness failure");
ABSL_FLAG(int, links, 1,
          "connections per bot: 2 adds a linked connection (docs/PROTOCOL.md §16) through a "
          "relay of its own, independent stalls; MIDI goes on both, the first copy plays");
ABSL_FLAG(bool, trace, false, "per-batch leg times (source->server, server->receiver) on stderr");
ABSL_FLAG(std::string, server_host, "127.0.0.1",
          "IPv4 address the server child listens on and the relays connect to");
ABSL_FLAG(std::string, server_netns, "",
          "named network namespace (ip netns) to run the server child in; for real_loss.sh");
ABSL_FLAG(std::string, work_dir, "",
          "where the child server keeps keys and data (default: a new temp dir)");
ABSL_FLAG(std::string, name, "", "the run's name in the report (default: made from the path)");
ABSL_FLAG(bool, smoke, false,
          "check correctness only (no stuck notes, every note delivered, the killed sender "
          "released by the server); exit 1 if not");

namespace {

constexpr char kUsage[] =
    "the layer-2 timing run on real sockets (docs/TIMING.md).\n"
    "Example: the reference path of docs/TIMING.md, 30 ms +- 10 ms each way:\n"
    "  tutti-timing-harness --delay-ms 30 --jitter-ms 10 --duration-s 120";

std::string DefaultServer(const char* argv0) {
  // build/tools/timing_harness/tutti-timing-harness -> build/server/tutti-server
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  std::string path = n > 0 ? std::string(self, static_cast<size_t>(n)) : std::string(argv0);
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  return dir + "/../../server/tutti-server";
}

// The one place the flags become HarnessOptions.
tutti::harness::HarnessOptions OptionsFromFlags(const char* argv0) {
  using tutti::main_support::UsageError;
  tutti::harness::HarnessOptions o;
  o.server_binary = absl::GetFlag(FLAGS_server);
  if (o.server_binary.empty()) o.server_binary = DefaultServer(argv0);
  const double delay = absl::GetFlag(FLAGS_delay_ms), jitter = absl::GetFlag(FLAGS_jitter_ms);
  const double stall_prob = absl::GetFlag(FLAGS_stall_prob);
  const double stall_ms = absl::GetFlag(FLAGS_stall_ms);
  const double duration_s = absl::GetFlag(FLAGS_duration_s);
  if (!(delay >= 0 && jitter >= 0 && stall_ms >= 0)) {
    UsageError("--delay-ms, --jitter-ms and --stall-ms must be non-negative");
  }
  if (!(stall_prob >= 0 && stall_prob <= 1)) UsageError("--stall-prob must be from 0 to 1");
  if (!(duration_s >= 1 && duration_s <= 86400)) UsageError("--duration-s must be 1 s to a day");
  o.seed = absl::GetFlag(FLAGS_seed);
  o.links = absl::GetFlag(FLAGS_links);
  if (o.links != 1 && o.links != 2) UsageError("--links must be 1 or 2");
  o.music_us = static_cast<int64_t>(duration_s * 1e6);
  o.kill_mid_chord = !absl::GetFlag(FLAGS_no_kill);
  o.quickack = absl::GetFlag(FLAGS_quickack);
  o.trace = absl::GetFlag(FLAGS_trace);
  o.external_loss = absl::GetFlag(FLAGS_external_loss);
  o.work_dir = absl::GetFlag(FLAGS_work_dir);
  o.server_host = absl::GetFlag(FLAGS_server_host);
  o.server_netns = absl::GetFlag(FLAGS_server_netns);
  o.path = {static_cast<int64_t>(delay * 1000), static_cast<int64_t>(jitter * 1000), stall_prob,
            static_cast<int64_t>(stall_ms * 1000)};
  o.name = absl::GetFlag(FLAGS_name);
  if (o.name.empty()) {
    char buf[160];
    if (delay == 0 && jitter == 0 && stall_prob == 0) {
      std::snprintf(buf, sizeof(buf), "layer 2, clean loopback, %.0f s", o.music_us / 1e6);
    } else {
      std::snprintf(buf, sizeof(buf), "layer 2, %.0f +- %.0f ms each way%s%s, %.0f s", delay,
                    jitter, stall_prob > 0 ? ", stalls" : "", o.links > 1 ? ", 2 links" : "",
                    o.music_us / 1e6);
    }
    o.name = buf;
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  tutti::main_support::ParseFlags(argc, argv, kUsage);
  // A closed stdout (e.g. piped into head) must not kill the run before it stops its children.
  signal(SIGPIPE, SIG_IGN);
  tutti::harness::HarnessOptions o = OptionsFromFlags(argv[0]);
  const bool smoke = absl::GetFlag(FLAGS_smoke);
  if (absl::GetFlag(FLAGS_realtime)) {
    // Before any thread or child exists, so every one of them inherits it: the bots, the relay
    // and the server then wake on time even on a loaded machine (as on dedicated hosts).
    sched_param p{};
    p.sched_priority = 20;
    if (sched_setscheduler(0, SCHED_FIFO, &p) != 0) {
      std::perror("tutti-timing-harness: --realtime (SCHED_FIFO) refused; running without it");
    }
  }
  std::string work_dir = o.work_dir;
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
