// RecordingService: what a Room sees of server-side recording (docs/PROTOCOL.md §14) — start,
// the room's MIDI as timed channel messages, stop, and the listing and reading of a room's
// files. The room hands values over and never waits: the implementation (RecordingWriter,
// recording_writer.h) queues them for its own thread, which encodes and writes the files.
//
// Owns: nothing; an interface and the values that cross it.
// Thread affinity: every method may be called from any shard thread; the callbacks run on
// the writer's thread and must only post (Room wraps them to come back to its shard).
// Who owns it: the Server (its RecordingWriter); rooms reach it through RoomHost.
#ifndef TUTTI_SERVER_RECORDING_SERVICE_H_
#define TUTTI_SERVER_RECORDING_SERVICE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "midi/channel_message.h"

namespace tutti::server {

struct RecordingStartParams {
  std::string room_id;
  std::string title;                 // the tempo track's name: the room's name
  int64_t start_us = 0;              // server time of tick 0
  int64_t start_unix_ms = 0;         // for the listing
  uint32_t us_per_quarter = 500000;  // the room's tempo at the start (120 BPM without one)
};

struct RecordingEnd {
  std::string recording_id;
  std::string reason;    // "stopped", "size limit", "duration limit", "write error: ...", ...
  uint64_t events = 0;   // channel events in the file
  uint64_t dropped = 0;  // not written: the queue was full or the size limit was reached
  uint64_t bytes = 0;    // the final file's size
};

struct RecordingFile {
  std::string recording_id;
  int64_t started_unix_ms = 0;
  uint64_t bytes = 0;
  bool active = false;
};

struct RecordingChunkRead {
  absl::Status status;  // NotFound: no such recording in the room; InvalidArgument: offset
  uint64_t offset = 0;
  uint64_t total = 0;
  std::string data;
};

// One channel message of a player at a server time.
struct RecordedEvent {
  int64_t server_us = 0;
  midi::ChannelMessage message;
};

class RecordingService {
 public:
  using EndFn = std::function<void(const RecordingEnd&)>;
  virtual ~RecordingService() = default;
  // Begins a recording and returns its id, or ResourceExhausted (max_concurrent_recordings
  // running) / Unavailable (recording is off). `ended` runs once, on the writer's thread,
  // if the writer ends the recording by itself (a limit, a write error, shutdown) — not
  // after Stop.
  virtual absl::StatusOr<std::string> Start(const RecordingStartParams& params, EndFn ended) = 0;
  // A player's messages (one MIDI batch), in time order. `player` keys the track
  // (the user id), `name` names it. Never blocks: past the queue bound they are dropped
  // and counted.
  virtual void Events(const std::string& recording_id, const std::string& player,
                      const std::string& name, std::vector<RecordedEvent> events) = 0;
  // Events of the recording dropped so far because the writer's queue was full (counted
  // at once on the caller's thread, so a stop notice can say how many).
  virtual uint64_t QueueDropped(const std::string& recording_id) = 0;
  // The room's tempo from `server_us` on.
  virtual void Tempo(const std::string& recording_id, int64_t server_us,
                     uint32_t us_per_quarter) = 0;
  // Ends the recording at `server_us`: held notes are closed there and the file is final.
  // `done` runs on the writer's thread once the file is written.
  virtual void Stop(const std::string& recording_id, int64_t server_us, EndFn done) = 0;
  // The room's recordings, newest first (on the writer's thread).
  virtual void List(const std::string& room_id,
                    std::function<void(std::vector<RecordingFile>)> done) = 0;
  // Up to `max_bytes` (0 or more than recording_chunk_bytes: that) of a recording of the
  // room from `offset`, as the file is on disk now (a running recording can be read).
  virtual void Read(const std::string& room_id, const std::string& recording_id, uint64_t offset,
                    uint32_t max_bytes, std::function<void(RecordingChunkRead)> done) = 0;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_RECORDING_SERVICE_H_
