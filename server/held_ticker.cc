#include "server/held_ticker.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <utility>

namespace tutti::server {

HeldTicker::HeldTicker(boost::asio::io_context& io, int snapshot_period_ms, TickRoom tick_room)
    : slice_period_ms_(std::max(1, snapshot_period_ms / static_cast<int>(kSlices))),
      tick_room_(std::move(tick_room)),
      slices_(kSlices),
      timer_(io) {}

void HeldTicker::Add(const std::string& room_id) {
  if (stopped_ || !listed_.insert(room_id).second) return;
  slices_[std::hash<std::string>{}(room_id) % kSlices].push_back(room_id);
  Arm();
}

void HeldTicker::Stop() {
  stopped_ = true;
  timer_.cancel();
}

void HeldTicker::Arm() {
  if (armed_ || stopped_ || listed_.empty()) return;
  armed_ = true;
  timer_.expires_after(std::chrono::milliseconds(slice_period_ms_));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    armed_ = false;
    if (!ec) Tick();
  });
}

// Held-notes snapshots go to every holding room once per held_notes_snapshot_ms, a slice
// of those rooms per tick. Done all at once, the tick was a burst of a few thousand frames
// every second with hundreds of rooms, which every message sent meanwhile waited behind
// (docs/PERFORMANCE.md).
void HeldTicker::Tick() {
  if (stopped_) return;
  std::vector<std::string>& slice = slices_[next_slice_];
  next_slice_ = (next_slice_ + 1) % kSlices;
  for (size_t i = 0; i < slice.size();) {
    if (tick_room_(slice[i])) {
      ++i;
      continue;
    }
    // Gone, or nothing sounds any more (the room has cleared its flag): unlisted until it
    // reports itself again.
    listed_.erase(slice[i]);
    slice[i] = std::move(slice.back());
    slice.pop_back();
  }
  Arm();
}

}  // namespace tutti::server
