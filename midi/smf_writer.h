// Standard MIDI File (SMF 1.0) writing, format 1: a tempo track, then one track per source.
// The one SMF writer of the project: tutti-play's client-side /record and the server's room
// recordings both build their files with it.
//
// Owns: SmfTempoMap (time in microseconds -> ticks through the tempo changes) and SmfTrack
// (one track's encoded events, appended in time order). No I/O: callers write the bytes.
// Thread affinity: single-threaded; not synchronized.
// Who owns it: tools/play's Recorder; the server's recording writer thread (one per recording).
#ifndef TUTTI_MIDI_SMF_WRITER_H_
#define TUTTI_MIDI_SMF_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "midi/channel_message.h"
#include "midi/held_notes.h"

namespace tutti::midi {

// 960 ticks per quarter: at 120 BPM one tick is ~0.52 ms, finer than any stamping rule.
inline constexpr int kSmfTicksPerQuarter = 960;
inline constexpr uint32_t kSmfDefaultMicrosPerQuarter = 500000;  // 120 BPM

// Microseconds since the file's start -> ticks, piecewise linear through tempo changes.
class SmfTempoMap {
 public:
  struct Change {
    int64_t us = 0;    // since the file's start
    int64_t tick = 0;  // where it falls
    uint32_t us_per_quarter = kSmfDefaultMicrosPerQuarter;
  };
  explicit SmfTempoMap(uint32_t us_per_quarter = kSmfDefaultMicrosPerQuarter);
  // A tempo from `us` on. A change before the last one is moved to it (time never goes
  // back); a zero or over-long tempo (> 0xFFFFFF, the meta event's 24 bits) is clamped.
  void Set(int64_t us, uint32_t us_per_quarter);
  // The tick of `us` (rounded to the nearest; negative times are tick 0).
  int64_t TickAt(int64_t us) const;
  const std::vector<Change>& changes() const { return changes_; }

 private:
  std::vector<Change> changes_;
};

// One track's events, appended in time order (an earlier tick is written at the last one:
// deltas are never negative). Knows what it holds, so a file can be closed at any time.
class SmfTrack {
 public:
  explicit SmfTrack(std::string name = "");
  void set_name(std::string name) { name_ = std::move(name); }
  const std::string& name() const { return name_; }
  void Add(int64_t tick, const ChannelMessage& m);
  // The complete MTrk chunk: name, the events, then at `close_tick` (or the last event's
  // tick, if later) note-offs and pedals up for what is still held, and end of track. The
  // track itself is unchanged: it can go on and be closed again later.
  void AppendChunk(int64_t close_tick, std::string* out) const;
  // Adds the closing events for real (the recording stopped at `tick`).
  void CloseHeld(int64_t tick);
  size_t events() const { return events_; }
  size_t body_bytes() const { return body_.size(); }
  int64_t last_tick() const { return last_tick_; }

 private:
  std::string name_;
  std::string body_;  // delta-time + event, no running status
  int64_t last_tick_ = 0;
  size_t events_ = 0;
  HeldNotes held_;
};

// The 14-byte header chunk of a format 1 file of `tracks` tracks (the tempo track included).
void AppendSmfHeader(uint16_t tracks, std::string* out);
// The tempo track: a name (`title`), then a Set Tempo event at each change of `map`.
void AppendSmfTempoTrack(const std::string& title, const SmfTempoMap& map, std::string* out);

}  // namespace tutti::midi

#endif  // TUTTI_MIDI_SMF_WRITER_H_
