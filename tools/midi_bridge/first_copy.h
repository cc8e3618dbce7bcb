// FirstCopyFilter: which copy of a room event to keep when a session's events arrive on two
// connections (the primary and its link, docs/PROTOCOL.md §16). Each connection carries the
// events with the same stream position (epoch, offset); the first copy to arrive is kept,
// the other dropped.
//
// Owns: the offsets taken per epoch, for the few most recent epochs (a room change starts a
// new epoch while the other connection may still deliver the old one's last events).
// Thread affinity: single-threaded (the client's owner loop); not synchronized.
// Who owns it: LinkedConnection (linked_connection.h), one per logical session.
//
// Why a set and not a high-water mark: the link may skip events (past its soft outbound
// limit the server sends them on the primary only), so the link can be ahead while the
// primary still owes an older event; that event is new when it comes and must be kept.
// Memory is bounded: per epoch only the newest kWindow offsets are remembered; anything at
// or below the oldest one forgotten counts as taken (a copy that late is a copy).
#ifndef TUTTI_TOOLS_MIDI_BRIDGE_FIRST_COPY_H_
#define TUTTI_TOOLS_MIDI_BRIDGE_FIRST_COPY_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <set>
#include <string>

#include "protos/tutti.pb.h"

namespace tutti::bridge {

class FirstCopyFilter {
 public:
  static constexpr size_t kWindow = 4096;
  static constexpr size_t kEpochs = 4;

  // True the first time `p` is seen (keep the event), false for a copy.
  bool Take(const proto::StreamPosition& p);
  // Records `p` as taken whatever was seen before (a resume's replay is delivered as it
  // comes; see LinkedConnection).
  void Mark(const proto::StreamPosition& p) { (void)Take(p); }
  void Reset() { epochs_.clear(); }

  uint64_t kept() const { return kept_; }
  uint64_t duplicates() const { return duplicates_; }

 private:
  struct Epoch {
    std::string epoch;
    bool forgot = false;  // offsets <= floor were dropped from `taken`
    uint64_t floor = 0;
    std::set<uint64_t> taken;
  };
  std::deque<Epoch> epochs_;  // the most recently started last
  uint64_t kept_ = 0;
  uint64_t duplicates_ = 0;
};

}  // namespace tutti::bridge

#endif  // TUTTI_TOOLS_MIDI_BRIDGE_FIRST_COPY_H_
