// Prints the timing figures of every simulation scenario (docs/TIMING.md quotes them).
// Deterministic: the same build prints the same numbers.
// Usage: midi_timing_report [name-part] [--seeds N]
//   name-part  keeps the scenarios whose name contains it
//   --seeds N  runs each scenario with Scenario::seed 1..N (the network's draws; the piece
//              stays the same) and prints every run
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/midi/timing_sim.h"

int main(int argc, char** argv) {
  const char* filter = nullptr;
  int seeds = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--seeds") == 0 && i + 1 < argc) {
      seeds = std::atoi(argv[++i]);
      if (seeds < 1 || seeds > 1000) {
        std::fputs("midi_timing_report: --seeds takes 1 to 1000\n", stderr);
        return 2;
      }
    } else {
      filter = argv[i];
    }
  }
  for (auto sc : tutti::midi::sim::scenarios::All()) {
    if (filter != nullptr && std::strstr(sc.name.c_str(), filter) == nullptr) continue;
    for (int seed = seeds > 0 ? 1 : 0; seed <= seeds; ++seed) {
      if (seeds > 0) {
        sc.seed = static_cast<uint64_t>(seed);
        std::printf("seed %d: ", seed);
      }
      const auto result = tutti::midi::sim::Run(sc);
      std::fputs(tutti::midi::sim::Describe(sc, result).c_str(), stdout);
    }
  }
  return 0;
}
