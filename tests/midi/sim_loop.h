// The timing simulation's event loop: a virtual clock and a queue of callbacks ordered by time,
// then by insertion (so events at one instant run in the order they were scheduled).
//
// Owns: the queued callbacks. Thread affinity: single-threaded. Owner: the Simulation of
// tests/midi/timing_sim.cc, shared with the links it drives (tests/midi/sim_link.h).
#ifndef TUTTI_TESTS_MIDI_SIM_LOOP_H_
#define TUTTI_TESTS_MIDI_SIM_LOOP_H_

#include <cstdint>
#include <functional>
#include <queue>
#include <utility>
#include <vector>

namespace tutti::midi::sim {

class Loop {
 public:
  void At(int64_t t, std::function<void()> fn) { q_.push(Item{t, next_++, std::move(fn)}); }
  int64_t now() const { return now_; }
  void Run(int64_t until) {
    while (!q_.empty() && q_.top().t <= until) {
      Item it = q_.top();
      q_.pop();
      now_ = it.t;
      it.fn();
    }
  }

 private:
  struct Item {
    int64_t t;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Item& o) const { return t != o.t ? t > o.t : seq > o.seq; }
  };
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> q_;
  uint64_t next_ = 0;
  int64_t now_ = 0;
};

}  // namespace tutti::midi::sim

#endif  // TUTTI_TESTS_MIDI_SIM_LOOP_H_
