// tutti-netem-relay: relays TCP from 127.0.0.1:LISTEN to 127.0.0.1:TARGET with per-direction
// delay, jitter and stalls (tools/netem_relay/netem_relay.h has the model). Stops by itself after
// --duration-s, or on SIGINT/SIGTERM, then prints what it did.
#include <signal.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "midi/timing_metrics.h"
#include "tools/netem_relay/netem_relay.h"

namespace {

void Usage() {
  std::fprintf(
      stderr,
      "usage: tutti-netem-relay --target-port N [--listen-port N] [--delay-ms D] [--jitter-ms J]\n"
      "                         [--up-delay-ms D] [--up-jitter-ms J] [--down-delay-ms D]\n"
      "                         [--down-jitter-ms J] [--stall-prob P] [--stall-ms M]\n"
      "                         [--seed N] [--duration-s S]\n"
      "  Relays 127.0.0.1:LISTEN (0 = any free port, printed) to 127.0.0.1:TARGET.\n"
      "  Each chunk read is held (D - J) + |N(0, 1.25 J)| ms (mean D, mostly D +- J), in both\n"
      "  directions unless --up-*/--down-* override one (up = client to target). With\n"
      "  probability P a chunk is held M ms more and everything behind it waits (a TCP\n"
      "  retransmission stall). Bytes are never reordered. Default duration 600 s.\n");
}

double Number(const char* flag, const char* v) {
  char* end = nullptr;
  const double d = std::strtod(v, &end);
  if (end == v || *end != '\0' || d < 0) {
    std::fprintf(stderr, "tutti-netem-relay: %s needs a non-negative number\n", flag);
    std::exit(2);
  }
  return d;
}

int64_t Ms(double ms) { return static_cast<int64_t>(ms * 1000); }

}  // namespace

int main(int argc, char** argv) {
  tutti::netem::RelayOptions o;
  double delay = 0, jitter = 0;
  double up_delay = -1, up_jitter = -1, down_delay = -1, down_jitter = -1;
  double stall_prob = 0, stall_ms = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      Usage();
      return 0;
    }
    if (i + 1 >= argc) {
      Usage();
      return 2;
    }
    const char* v = argv[++i];
    if (a == "--target-port")
      o.target_port = static_cast<uint16_t>(Number(a.c_str(), v));
    else if (a == "--listen-port")
      o.listen_port = static_cast<uint16_t>(Number(a.c_str(), v));
    else if (a == "--delay-ms")
      delay = Number(a.c_str(), v);
    else if (a == "--jitter-ms")
      jitter = Number(a.c_str(), v);
    else if (a == "--up-delay-ms")
      up_delay = Number(a.c_str(), v);
    else if (a == "--up-jitter-ms")
      up_jitter = Number(a.c_str(), v);
    else if (a == "--down-delay-ms")
      down_delay = Number(a.c_str(), v);
    else if (a == "--down-jitter-ms")
      down_jitter = Number(a.c_str(), v);
    else if (a == "--stall-prob")
      stall_prob = Number(a.c_str(), v);
    else if (a == "--stall-ms")
      stall_ms = Number(a.c_str(), v);
    else if (a == "--seed")
      o.seed = static_cast<uint64_t>(Number(a.c_str(), v));
    else if (a == "--duration-s")
      o.duration_us = static_cast<int64_t>(Number(a.c_str(), v) * 1e6);
    else {
      std::fprintf(stderr, "tutti-netem-relay: unknown argument %s\n", a.c_str());
      Usage();
      return 2;
    }
  }
  if (o.target_port == 0 || stall_prob > 1) {
    Usage();
    return 2;
  }
  o.up = {Ms(up_delay >= 0 ? up_delay : delay), Ms(up_jitter >= 0 ? up_jitter : jitter), stall_prob,
          Ms(stall_ms)};
  o.down = {Ms(down_delay >= 0 ? down_delay : delay), Ms(down_jitter >= 0 ? down_jitter : jitter),
            stall_prob, Ms(stall_ms)};

  // Signals are taken by sigtimedwait on this thread; the relay thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  tutti::netem::NetemRelay relay(o);
  if (auto st = relay.Start(); !st.ok()) {
    std::fprintf(stderr, "tutti-netem-relay: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  std::printf("tutti-netem-relay: listening on 127.0.0.1:%u -> 127.0.0.1:%u\n", relay.port(),
              o.target_port);
  std::fflush(stdout);
  while (relay.running()) {
    timespec ts{0, 100 * 1000 * 1000};
    if (sigtimedwait(&signals, nullptr, &ts) > 0) break;
  }
  relay.Stop();
  relay.Wait();
  const tutti::netem::RelayStats st = relay.stats();
  auto line = [](const char* name, const tutti::netem::DirectionStats& d) {
    std::vector<double> ms(d.hold_us.begin(), d.hold_us.end());
    for (double& x : ms) x /= 1000;
    std::printf(
        "tutti-netem-relay: %s %llu chunks, %llu bytes, %llu stalls, held p50 %.1f p99 "
        "%.1f max %.1f ms\n",
        name, static_cast<unsigned long long>(d.chunks), static_cast<unsigned long long>(d.bytes),
        static_cast<unsigned long long>(d.stalls), tutti::midi::timing::Percentile(ms, 0.5),
        tutti::midi::timing::Percentile(ms, 0.99), tutti::midi::timing::Percentile(ms, 1.0));
  };
  std::printf("tutti-netem-relay: %llu connections\n",
              static_cast<unsigned long long>(st.connections));
  line("up", st.up);
  line("down", st.down);
  return 0;
}
