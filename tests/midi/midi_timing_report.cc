// Prints the timing figures of every simulation scenario (docs/TIMING.md quotes them).
// Deterministic: the same build prints the same numbers. Usage: midi_timing_report [name-part]
#include <cstdio>
#include <cstring>

#include "tests/midi/timing_sim.h"

int main(int argc, char** argv) {
  for (const auto& sc : tutti::midi::sim::scenarios::All()) {
    if (argc > 1 && std::strstr(sc.name.c_str(), argv[1]) == nullptr) continue;
    const auto result = tutti::midi::sim::Run(sc);
    std::fputs(tutti::midi::sim::Describe(sc, result).c_str(), stdout);
  }
  return 0;
}
