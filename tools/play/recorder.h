// Recorder: what the room played, locally, as a Standard MIDI File (format 1, written by
// midi/smf_writer.h, the writer the server's recordings use too): a tempo track,
// then one track per player named after them, events at the times they sounded here (your own
// at the key press, the others' at their play time out of the jitter buffer).
//
// Owns: the recorded events (bounded: kMaxEvents, then further events are counted, not kept).
// Thread affinity: the owner's thread (tutti-play's main loop). Who owns it: tutti-play's App
// (/record); its tests.
#ifndef TUTTI_TOOLS_PLAY_RECORDER_H_
#define TUTTI_TOOLS_PLAY_RECORDER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "midi/channel_message.h"
#include "midi/smf_writer.h"

namespace tutti::play {

class Recorder {
 public:
  static constexpr size_t kMaxEvents = 2000000;
  static constexpr int kTicksPerQuarter = midi::kSmfTicksPerQuarter;
  static constexpr uint32_t kMicrosPerQuarter = midi::kSmfDefaultMicrosPerQuarter;  // 120 bpm

  // Starts a recording at local time `start_us` (forgets any earlier one).
  void Start(int64_t start_us);
  bool recording() const { return recording_; }
  // Records `m` from `player` (any stable key; tracks are in first-heard order) named `name`.
  void Add(uint64_t player, const std::string& name, int64_t local_us,
           const midi::ChannelMessage& m);
  // The file's bytes so far (a recording can be saved while it goes on).
  std::string Smf() const;
  // Stops and writes the file.
  absl::Status StopAndSave(const std::string& path);
  size_t events() const { return events_; }
  uint64_t dropped() const { return dropped_; }

 private:
  struct Event {
    int64_t tick = 0;
    midi::ChannelMessage message;
  };
  struct Track {
    std::string name;
    std::vector<Event> events;
  };
  midi::SmfTempoMap tempo_{kMicrosPerQuarter};
  bool recording_ = false;
  int64_t start_us_ = 0;
  std::vector<uint64_t> order_;
  std::map<uint64_t, Track> tracks_;
  size_t events_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace tutti::play

#endif  // TUTTI_TOOLS_PLAY_RECORDER_H_
