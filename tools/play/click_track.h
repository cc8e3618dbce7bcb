// ClickTrack: tutti-play's metronome. It turns the room's shared tempo (TempoState, the beat
// grid anchored to server time: docs/PROTOCOL.md, "Shared tempo") into clicks on the General
// MIDI percussion channel (channel 10): a high wood block on the first beat of each bar (the
// accent), a low wood block on the other beats. Each click carries its local play time, the
// grid's server time mapped through the clock sync, so an output that plays at a given time
// sounds it on the beat whatever the loop's wake-up.
//
// Owns: the grid (midi::Metronome), whether the clicks are on, and the note-offs still due.
// Thread affinity: single-threaded; not synchronized. Times are passed in (local monotonic
// microseconds) with the ClockSync that maps them; nothing here reads a clock.
// Who owns it: tutti-play's App; its tests.
#ifndef TUTTI_TOOLS_PLAY_CLICK_TRACK_H_
#define TUTTI_TOOLS_PLAY_CLICK_TRACK_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "midi/channel_message.h"
#include "midi/clock_sync.h"
#include "midi/metronome.h"
#include "protos/tutti.pb.h"

namespace tutti::play {

struct ClickEvent {
  int64_t local_us = 0;  // when it should sound (local monotonic time)
  midi::ChannelMessage message;
  int64_t beat = 0;  // the grid's beat it belongs to
};

struct ClickTrackOptions {
  // GM percussion keys (channel 10): 76 Hi Wood Block, 77 Low Wood Block.
  uint8_t accent_note = 76;
  uint8_t beat_note = 77;
  uint8_t accent_velocity = 127;
  uint8_t beat_velocity = 90;
  // A drum sound ignores its note-off, but a synth that does not is not left holding it.
  int64_t click_length_us = 50000;
  // Clicks are handed out this long before they are due (with their play times).
  int64_t lookahead_us = 0;
  // A click found more than this past its time (the loop slept, the clock just synced) is
  // skipped: a click off the beat is worse than none.
  int64_t max_late_us = 30000;
};

midi::TempoGrid GridOf(const proto::TempoState& t);

class ClickTrack {
 public:
  explicit ClickTrack(ClickTrackOptions o = {}) : o_(o) {}

  // The room's tempo (join, broadcast, snapshot). `now` maps through `clock`.
  void SetTempo(const proto::TempoState& t, const midi::ClockSync& clock, int64_t local_now);
  // Out of the room or offline: no grid until the next tempo.
  void Clear();
  void set_enabled(bool on) { enabled_ = on; }
  bool enabled() const { return enabled_; }
  bool has_grid() const { return have_grid_; }
  const midi::TempoGrid& grid() const { return metronome_.grid(); }

  // Appends the clicks (note-ons and their note-offs) due by local_now + lookahead, in time
  // order. Nothing before the clock is locked: an unsynced grid would click off the beat.
  void Poll(const midi::ClockSync& clock, int64_t local_now, std::vector<ClickEvent>* out);
  // When Poll next has something to hand out (local time), if anything.
  std::optional<int64_t> NextWake(const midi::ClockSync& clock, int64_t local_now) const;
  // Clicks sounded and skipped (too late) so far.
  uint64_t clicks() const { return clicks_; }
  uint64_t skipped() const { return skipped_; }

  // The tempo for the status bar: "120 BPM 4/4, running  [click on]" (or stopped), "" before
  // any tempo is known.
  std::string Describe() const;
  // Where the beat is: "bar 3 beat 2", "count-in", or "" when stopped or unknown.
  std::string Beat(const midi::ClockSync& clock, int64_t local_now) const;

 private:
  ClickTrackOptions o_;
  midi::Metronome metronome_;
  bool have_grid_ = false;
  bool enabled_ = false;
  uint64_t grid_epoch_ = 0;      // the clock's epoch when the next click was seated
  std::deque<ClickEvent> offs_;  // note-offs not handed out yet, by time
  uint64_t clicks_ = 0;
  uint64_t skipped_ = 0;
};

}  // namespace tutti::play

#endif  // TUTTI_TOOLS_PLAY_CLICK_TRACK_H_
