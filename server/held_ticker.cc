#include "server/held_ticker.h"

#include <algorithm>
#include <chrono>
#include <functional>

#include "server/room.h"
#include "server/shard.h"

namespace tutti::server {

HeldTicker::HeldTicker(Shard* shard) : shard_(shard), slices_(kSlices), timer_(shard->io()) {}

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
  const int period_ms =
      std::max(1, shard_->cluster().config().held_notes_snapshot_ms / static_cast<int>(kSlices));
  timer_.expires_after(std::chrono::milliseconds(period_ms));
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
    Room* room = shard_->FindRoom(slice[i]);
    ++shard_->mutable_counters().held_rooms_ticked;
    if (room && room->TickHeldNotes()) {
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
