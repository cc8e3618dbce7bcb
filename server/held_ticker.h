// HeldTicker: the rooms of one shard in which someone holds notes (or a pedal), and the
// tick that re-announces them. A room reports itself when a member's keyboard goes from
// nothing sounding to something (Room keeps a flag, so that is once per stretch of
// playing); each is then given its held-notes snapshots once per held_notes_snapshot_ms,
// in one of kSlices slices so that many rooms do not all send at once, and is dropped the
// first tick it holds nothing. Rooms where nothing sounds are never visited, and with no
// room holding anything the timer is not armed at all. It knows rooms by id only: the shard
// hands it the call that ticks one (so this module does not depend on Shard or Room). Owned
// by one Shard; used on its thread only (the io_context it is given).
#ifndef TUTTI_SERVER_HELD_TICKER_H_
#define TUTTI_SERVER_HELD_TICKER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace tutti::server {

class HeldTicker {
 public:
  static constexpr size_t kSlices = 40;

  // Sends one listed room's held-notes snapshots; false when the room is gone or holds
  // nothing any more (it is then unlisted until it reports itself again).
  using TickRoom = std::function<bool(const std::string& room_id)>;

  // Every listed room is ticked once per `snapshot_period_ms` (held_notes_snapshot_ms).
  HeldTicker(boost::asio::io_context& io, int snapshot_period_ms, TickRoom tick_room);

  // `room_id` (homed on this shard) has started holding notes; listing it again is a no-op.
  void Add(const std::string& room_id);
  void Stop();

  size_t listed() const { return listed_.size(); }

 private:
  void Arm();
  void Tick();

  const int slice_period_ms_;
  const TickRoom tick_room_;
  std::vector<std::vector<std::string>> slices_;  // room ids by hash of the id
  std::unordered_set<std::string> listed_;
  size_t next_slice_ = 0;
  boost::asio::steady_timer timer_;
  bool armed_ = false;
  bool stopped_ = false;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_HELD_TICKER_H_
