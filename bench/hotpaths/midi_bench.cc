// MIDI validation on the sender's shard: every relayed batch is parsed into channel
// messages before the quota is charged.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "midi/midi_parse.h"

namespace tutti {
namespace {

void BM_ParseChannelMessages(benchmark::State& state) {
  std::string data;
  for (int i = 0; i < state.range(0); ++i) data += std::string("\x90\x3c\x60", 3);
  std::vector<midi::ChannelMessage> out;
  out.reserve(64);
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(midi::ParseChannelMessages(data, 64, &out));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ParseChannelMessages)->Arg(1)->Arg(3)->Arg(64);

}  // namespace
}  // namespace tutti
