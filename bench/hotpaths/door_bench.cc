// What the door's accounting adds to one connection's life: accept (count it), the
// upgrade check (ceiling, address cap, attempt bucket) and the release, for an address
// seen before and for a fresh one each time. Compare with BM_AuthenticateGuest and
// BM_AuthenticateMember in auth_bench.cc, the crypto the same upgrade runs next.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "server/moderation/connection_limits.h"

namespace tutti {
namespace {

using server::moderation::ConnectionLimits;

ConnectionLimits::Options DefaultDoor() {
  ConnectionLimits::Options o;  // the defaults of ServerConfig
  o.max_connections = 19'936;
  o.max_per_address = 256;
  o.max_guests_per_address = 64;
  o.attempts_per_second = 5;
  o.attempt_burst = 60;
  return o;
}

void BM_DoorOneConnectionSameAddress(benchmark::State& state) {
  ConnectionLimits limits(DefaultDoor());
  int64_t now_ms = 0;
  for (auto _ : state) {
    now_ms += 1000;  // keep the bucket full: this measures the path, not a refusal
    ConnectionLimits::Ticket t = limits.Accepted("192.0.2.7", now_ms);
    benchmark::DoNotOptimize(limits.CheckUpgrade(t, now_ms));
    benchmark::DoNotOptimize(limits.ClaimGuest(t));
    limits.Released(t, now_ms);
  }
}
BENCHMARK(BM_DoorOneConnectionSameAddress);

void BM_DoorOneConnectionFreshAddress(benchmark::State& state) {
  ConnectionLimits limits(DefaultDoor());
  std::vector<std::string> ips;
  for (int i = 0; i < 65536; ++i) {
    ips.push_back("10." + std::to_string(i >> 8) + "." + std::to_string(i & 255) + ".1");
  }
  size_t i = 0;
  int64_t now_ms = 0;
  for (auto _ : state) {
    now_ms += 1000;
    ConnectionLimits::Ticket t = limits.Accepted(ips[i++ & 65535], now_ms);
    benchmark::DoNotOptimize(limits.CheckUpgrade(t, now_ms));
    limits.Released(t, now_ms);
  }
}
BENCHMARK(BM_DoorOneConnectionFreshAddress);

}  // namespace
}  // namespace tutti
