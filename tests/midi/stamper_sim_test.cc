// A seeded simulation of batches through the server's Stamper on a virtual clock: a player
// sends batches spanning up to the documented 500 ms (docs/PROTOCOL.md, MIDI), one after
// another in true time, over a path whose delay makes them arrive early (the delay falls),
// late (a stall holds one, and everything behind it) or back to back (a stall releases many at
// once). Synced and unsynced senders. What must hold on every path: the events of one batch
// keep their spacing exactly, batches stay in order, and no batch ends beyond arrival plus
// the lead limit.
#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "midi/stamper.h"

namespace tutti::midi {
namespace {

constexpr int64_t kMs = 1000;
constexpr int64_t kDocumentedSpanUs = 500 * kMs;  // server default max_midi_span_us

struct Batch {
  int64_t start_us = 0;         // true time of the first event
  std::vector<int64_t> delays;  // of each event after start; the last is the span
  int64_t span_us() const { return delays.back(); }
};

enum class Path { kEarly, kLate, kBackToBack };

// Delay of batch k on the path (before head-of-line blocking).
int64_t DelayFor(Path path, int k, std::mt19937_64& rng) {
  const int64_t noise = static_cast<int64_t>(rng() % (5 * kMs));
  switch (path) {
    case Path::kEarly:  // the path speeds up: each batch overtakes the last one's delay
      return std::max<int64_t>(5 * kMs, 400 * kMs - 8 * kMs * k) + noise;
    case Path::kLate:  // every 7th batch is held 300 ms (a retransmission)
      return 20 * kMs + noise + (k % 7 == 3 ? 300 * kMs : 0);
    case Path::kBackToBack:  // an 800 ms stall every 10 batches releases several at once
      return 20 * kMs + noise + (k % 10 == 0 ? 800 * kMs : 0);
  }
  return 0;
}

std::vector<Batch> Piece(uint64_t seed, int count) {
  std::mt19937_64 rng(seed);
  std::vector<Batch> out;
  int64_t t = 10'000'000;
  for (int k = 0; k < count; ++k) {
    Batch b;
    b.start_us = t;
    const int64_t span = static_cast<int64_t>(rng() % (kDocumentedSpanUs + 1));
    const int events = 1 + static_cast<int>(rng() % 8);
    b.delays.push_back(0);
    for (int i = 1; i < events; ++i) b.delays.push_back(static_cast<int64_t>(rng() % (span + 1)));
    b.delays.push_back(span);
    std::sort(b.delays.begin(), b.delays.end());
    out.push_back(b);
    t += span + static_cast<int64_t>(rng() % (60 * kMs));  // the next starts after this ends
  }
  return out;
}

void RunPath(Path path, bool synced, uint64_t seed) {
  SCOPED_TRACE(std::string(path == Path::kEarly  ? "early"
                           : path == Path::kLate ? "late"
                                                 : "back to back") +
               (synced ? ", synced" : ", unsynced") + ", seed " + std::to_string(seed));
  StamperOptions options;
  options.max_span_us = kDocumentedSpanUs;
  Stamper stamper(options);
  std::mt19937_64 rng(seed * 31 + 1);
  const std::vector<Batch> piece = Piece(seed, 120);
  int64_t last_arrival = 0;
  int64_t prev_end = INT64_MIN;
  int pushed = 0;
  for (int k = 0; k < static_cast<int>(piece.size()); ++k) {
    const Batch& b = piece[static_cast<size_t>(k)];
    const int64_t sent = b.start_us + b.span_us();  // sent when its last event happened
    // In order, as on one TCP connection: never before the batch ahead of it.
    const int64_t arrival = std::max(sent + DelayFor(path, k, rng), last_arrival);
    last_arrival = arrival;
    StampInput in;
    in.arrival_us = arrival;
    in.span_us = b.span_us();
    in.synced = synced;
    in.client_time_us = synced ? b.start_us : 0;  // server time: the sim's true time
    in.error_bound_us = 2 * kMs;
    const StampOutput out = stamper.Stamp(in);
    SCOPED_TRACE("batch " + std::to_string(k));
    // Spacing inside the batch, exactly, whatever the path did.
    ASSERT_EQ(out.max_delay_us, b.span_us());
    for (int64_t d : b.delays) ASSERT_EQ(out.ClampDelay(d), d);
    // In order: the batch starts at or after the previous one's end.
    if (prev_end != INT64_MIN) {
      ASSERT_GE(out.stamped_us, prev_end);
    }
    // Bounded lead.
    ASSERT_LE(out.stamped_us + out.max_delay_us, arrival + options.max_lead_us);
    if (synced) {
      // An honest synced sender keeps its own source times: nothing to correct.
      ASSERT_EQ(out.stamped_us, b.start_us);
      ASSERT_EQ(out.flags, 0u);
    } else {
      // The anchor rule: the last event lands on arrival, unless the floor pushed it later.
      ASSERT_GE(out.stamped_us + out.max_delay_us, arrival);
      if (out.stamped_us != arrival - b.span_us()) {
        ++pushed;
        ASSERT_EQ(out.stamped_us, prev_end);
      }
    }
    prev_end = out.stamped_us + out.max_delay_us;
  }
  if (!synced && path != Path::kLate) {
    EXPECT_GT(pushed, 0) << "the path never bunched two batches: the test proves nothing";
  }
}

TEST(StamperSimTest, BatchesArrivingEarlyKeepTheirSpacing) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    RunPath(Path::kEarly, false, seed);
    RunPath(Path::kEarly, true, seed);
  }
}

TEST(StamperSimTest, BatchesArrivingLateKeepTheirSpacing) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    RunPath(Path::kLate, false, seed);
    RunPath(Path::kLate, true, seed);
  }
}

TEST(StamperSimTest, BatchesArrivingBackToBackKeepTheirSpacing) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    RunPath(Path::kBackToBack, false, seed);
    RunPath(Path::kBackToBack, true, seed);
  }
}

}  // namespace
}  // namespace tutti::midi
