// tutti-netem-relay: relays TCP from 127.0.0.1:LISTEN to 127.0.0.1:TARGET with per-direction
// delay, jitter and stalls (tools/netem_relay/netem_relay.h has the model). Stops by itself after
// --duration-s, or on SIGINT/SIGTERM, then prints what it did.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/types/optional.h"

#include "midi/timing_metrics.h"
#include "tools/common/main_flags.h"
#include "tools/common/termination_signals.h"
#include "tools/netem_relay/netem_relay.h"

ABSL_FLAG(uint16_t, target_port, 0, "port on 127.0.0.1 to relay to (required)");
ABSL_FLAG(uint16_t, listen_port, 0, "port on 127.0.0.1 to listen on; 0 = any free port (printed)");
ABSL_FLAG(double, delay_ms, 0, "mean delay added to each chunk, both directions, ms");
ABSL_FLAG(double, jitter_ms, 0, "spread of the delay, both directions, ms");
ABSL_FLAG(absl::optional<double>, up_delay_ms, absl::nullopt,
          "delay client -> target, ms (default --delay-ms)");
ABSL_FLAG(absl::optional<double>, up_jitter_ms, absl::nullopt,
          "jitter client -> target, ms (default --jitter-ms)");
ABSL_FLAG(absl::optional<double>, down_delay_ms, absl::nullopt,
          "delay target -> client, ms (default --delay-ms)");
ABSL_FLAG(absl::optional<double>, down_jitter_ms, absl::nullopt,
          "jitter target -> client, ms (default --jitter-ms)");
ABSL_FLAG(double, stall_prob, 0, "per chunk, probability of a stall (0 to 1)");
ABSL_FLAG(double, stall_ms, 0, "length of a stall, ms");
ABSL_FLAG(uint64_t, seed, 1, "randomness of delays and stalls");
ABSL_FLAG(double, duration_s, 600, "the relay stops by itself after this many seconds");

namespace {

constexpr char kUsage[] =
    "relays 127.0.0.1:LISTEN to 127.0.0.1:TARGET with delay, jitter and stalls.\n"
    "  Usage: tutti-netem-relay --target-port N [--listen-port N] [--delay-ms D]\n"
    "           [--jitter-ms J] [--up-delay-ms D] [--up-jitter-ms J] [--down-delay-ms D]\n"
    "           [--down-jitter-ms J] [--stall-prob P] [--stall-ms M] [--seed N] [--duration-s S]\n"
    "  Each chunk read is held (D - J) + |N(0, 1.25 J)| ms (mean D, mostly D +- J), in both\n"
    "  directions unless --up-*/--down-* override one (up = client to target). With\n"
    "  probability P a chunk is held M ms more and everything behind it waits (a TCP\n"
    "  retransmission stall). Bytes are never reordered.";

int64_t Us(double ms) { return static_cast<int64_t>(ms * 1000); }

// The one place the flags become RelayOptions.
tutti::netem::RelayOptions OptionsFromFlags() {
  using tutti::main_support::UsageError;
  tutti::netem::RelayOptions o;
  o.target_port = absl::GetFlag(FLAGS_target_port);
  o.listen_port = absl::GetFlag(FLAGS_listen_port);
  o.seed = absl::GetFlag(FLAGS_seed);
  const double delay = absl::GetFlag(FLAGS_delay_ms), jitter = absl::GetFlag(FLAGS_jitter_ms);
  const double up_delay = absl::GetFlag(FLAGS_up_delay_ms).value_or(delay);
  const double up_jitter = absl::GetFlag(FLAGS_up_jitter_ms).value_or(jitter);
  const double down_delay = absl::GetFlag(FLAGS_down_delay_ms).value_or(delay);
  const double down_jitter = absl::GetFlag(FLAGS_down_jitter_ms).value_or(jitter);
  const double stall_prob = absl::GetFlag(FLAGS_stall_prob);
  const double stall_ms = absl::GetFlag(FLAGS_stall_ms);
  const double duration_s = absl::GetFlag(FLAGS_duration_s);
  if (o.target_port == 0) UsageError("--target-port is required");
  for (double v : {up_delay, up_jitter, down_delay, down_jitter, stall_ms}) {
    if (!(v >= 0)) UsageError("delays, jitters and --stall-ms must be non-negative");
  }
  if (!(stall_prob >= 0 && stall_prob <= 1)) UsageError("--stall-prob must be from 0 to 1");
  if (!(duration_s > 0 && duration_s <= 86400)) {
    UsageError("--duration-s must be more than 0 and at most a day");
  }
  o.duration_us = static_cast<int64_t>(duration_s * 1e6);
  o.up = {Us(up_delay), Us(up_jitter), stall_prob, Us(stall_ms)};
  o.down = {Us(down_delay), Us(down_jitter), stall_prob, Us(stall_ms)};
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  tutti::main_support::ParseFlags(argc, argv, kUsage);
  const tutti::netem::RelayOptions o = OptionsFromFlags();
  // Signals are taken on this thread; the relay thread inherits the mask.
  tutti::main_support::TerminationSignals signals;

  tutti::netem::NetemRelay relay(o);
  if (auto st = relay.Start(); !st.ok()) {
    std::fprintf(stderr, "tutti-netem-relay: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  std::printf("tutti-netem-relay: listening on 127.0.0.1:%u -> 127.0.0.1:%u\n", relay.port(),
              o.target_port);
  std::fflush(stdout);
  while (relay.running()) {
    if (signals.WaitFor(100) != 0) break;
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
