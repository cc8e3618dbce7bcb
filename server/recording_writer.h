// RecordingWriter: the server's recordings on disk (docs/PROTOCOL.md §14). Rooms hand it
// values (RecordingService); its own thread encodes them with the shared SMF writer
// (midi/smf_writer.h) and writes <recordings_dir>/<hex of room id>/<recording id>.mid.
//
// Crash safety: a running recording's file is rewritten whole, at most every
// recording_flush_ms and only when it changed, as a complete SMF (every track closed with
// note-offs for what it holds, end-of-track, true chunk lengths) written to a temporary file,
// fsynced and renamed over the previous one. A kill -9 at any moment leaves the last flushed
// file, which is always valid. What a crash loses is at most one flush interval.
//
// Owns: the writer thread, its queue (bounded in events: past recording_queue_events they
// are dropped and counted, so a shard never blocks and memory never grows), and each
// running recording's tracks in memory (bounded by max_recording_bytes).
// Thread affinity: the RecordingService methods may be called from any thread; everything
// else runs on the writer thread. Who owns it: the Server, which stops it (ending every
// running recording as "server stopped") before the shards go.
#ifndef TUTTI_SERVER_RECORDING_WRITER_H_
#define TUTTI_SERVER_RECORDING_WRITER_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/clock.h"
#include "server/config.h"
#include "server/recording_service.h"

namespace tutti::server {

class RecordingWriter final : public RecordingService {
 public:
  // `dir` is where the files go (created on demand). The config and clock outlive it.
  RecordingWriter(std::string dir, const ServerConfig& config, const Clock& clock);
  ~RecordingWriter() override;  // Stop()
  RecordingWriter(const RecordingWriter&) = delete;
  RecordingWriter& operator=(const RecordingWriter&) = delete;

  void StartThread();
  // Ends every running recording ("server stopped"), writes the files, joins the thread.
  void Stop();

  absl::StatusOr<std::string> Start(const RecordingStartParams& params, EndFn ended) override;
  void Events(const std::string& recording_id, const std::string& player, const std::string& name,
              std::vector<RecordedEvent> events) override;
  uint64_t QueueDropped(const std::string& recording_id) override;
  void Tempo(const std::string& recording_id, int64_t server_us, uint32_t us_per_quarter) override;
  void Stop(const std::string& recording_id, int64_t server_us, EndFn done) override;
  void List(const std::string& room_id,
            std::function<void(std::vector<RecordingFile>)> done) override;
  void Read(const std::string& room_id, const std::string& recording_id, uint64_t offset,
            uint32_t max_bytes, std::function<void(RecordingChunkRead)> done) override;

  // A recording id as Start makes them (digits and '-'): anything else never names a file.
  static bool ValidId(const std::string& id);
  std::string RoomDir(const std::string& room_id) const;

 private:
  struct Recording;
  using Job = std::function<void()>;
  void Post(Job job, size_t events = 0);
  void Run();
  // Writer thread only.
  // Writes the whole file; an error is logged (with the path) and returned.
  absl::Status Flush(Recording& r, int64_t close_us);
  void Finish(const std::string& id, int64_t end_us, const std::string& reason, const EndFn& done);
  void Prune(const std::string& room_dir, const std::string& keep) const;

  const std::string dir_;
  const ServerConfig& config_;
  const Clock& clock_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  size_t queued_events_ = 0;  // events inside queue_
  // Recording id -> events dropped at the queue; kept until the recording finishes.
  std::map<std::string, uint64_t> overflow_;
  bool stopping_ = false;

  std::atomic<int> running_{0};
  std::atomic<uint64_t> next_id_{0};
  std::thread thread_;
  // Writer thread only.
  std::map<std::string, std::unique_ptr<Recording>> recordings_;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_RECORDING_WRITER_H_
