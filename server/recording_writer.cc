#include "server/recording_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "midi/smf_writer.h"

namespace tutti::server {
namespace {

namespace fs = std::filesystem;

// At most four bytes of delta time and three of message: what one event can add to a track.
constexpr size_t kMaxEventBytes = 7;
// A type 1 file's header counts its tracks in 16 bits, the tempo track among them.
constexpr size_t kMaxTracks = 0xFFFE;

absl::Status WriteWhole(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("open: ", std::strerror(errno)));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      return absl::UnavailableError(absl::StrCat("write: ", std::strerror(e)));
    }
    done += static_cast<size_t>(n);
  }
  // On disk before it replaces the previous file: a crash (even of the machine) leaves
  // one whole file or the other, never a torn one.
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return absl::UnavailableError(absl::StrCat("sync: ", std::strerror(errno)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("rename: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

std::string WriteErrorReason(const absl::Status& st) {
  return absl::StrCat("write error: ", st.message());
}

int64_t StartedMsOf(const std::string& id) {
  int64_t ms = 0;
  for (char c : id) {
    if (c < '0' || c > '9') break;
    ms = ms * 10 + (c - '0');
  }
  return ms;
}

}  // namespace

struct RecordingWriter::Recording {
  std::string id;
  std::string path;
  std::string title;
  int64_t start_us = 0;
  midi::SmfTempoMap tempo;
  std::map<std::string, size_t> track_of;  // player -> index in tracks
  std::vector<midi::SmfTrack> tracks;
  EndFn ended;
  uint64_t events = 0;
  uint64_t dropped = 0;
  size_t body_bytes = 0;
  int64_t last_us = 0;  // the latest event, since start_us
  bool dirty = false;
  int64_t last_flush_us = 0;
  bool full = false;  // the size limit was reached
};

RecordingWriter::RecordingWriter(std::string dir, const ServerConfig& config, const Clock& clock)
    : dir_(std::move(dir)), config_(config), clock_(clock) {}

RecordingWriter::~RecordingWriter() { Stop(); }

void RecordingWriter::StartThread() {
  thread_ = std::thread([this] { Run(); });
}

void RecordingWriter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

bool RecordingWriter::ValidId(const std::string& id) {
  if (id.empty() || id.size() > 40) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return (c >= '0' && c <= '9') || c == '-'; });
}

std::string RecordingWriter::RoomDir(const std::string& room_id) const {
  // Room ids are any cleaned text: hex keeps them one safe path component.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name;
  for (unsigned char c : room_id) {
    name.push_back(kHex[c >> 4]);
    name.push_back(kHex[c & 0x0F]);
  }
  return dir_ + "/" + name;
}

void RecordingWriter::Post(Job job, size_t events) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(job));
    queued_events_ += events;
  }
  cv_.notify_one();
}

absl::StatusOr<std::string> RecordingWriter::Start(const RecordingStartParams& params,
                                                   EndFn ended) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("the server is stopping");
  }
  if (running_.fetch_add(1) >= config_.max_concurrent_recordings) {
    running_.fetch_sub(1);
    return absl::ResourceExhaustedError(absl::StrCat(
        "the server records at most ", config_.max_concurrent_recordings, " rooms at once"));
  }
  const std::string id = absl::StrCat(params.start_unix_ms, "-", ++next_id_);
  Post([this, id, params, ended = std::move(ended)]() mutable {
    auto r = std::make_unique<Recording>();
    r->id = id;
    r->title = params.title;
    r->start_us = params.start_us;
    r->tempo = midi::SmfTempoMap(params.us_per_quarter);
    r->ended = std::move(ended);
    const std::string room_dir = RoomDir(params.room_id);
    r->path = room_dir + "/" + id + ".mid";
    Recording& rec = *r;
    recordings_[id] = std::move(r);
    std::error_code ec;
    fs::create_directories(room_dir, ec);
    if (ec) {
      EndFn fn = rec.ended;
      std::fprintf(stderr, "tutti: recording %s (%s): %s\n", id.c_str(), room_dir.c_str(),
                   ec.message().c_str());
      return Finish(id, rec.start_us, "write error: " + ec.message(), fn);
    }
    Prune(room_dir, id);
    // The file exists from the start: an empty but valid recording.
    if (absl::Status st = Flush(rec, rec.start_us); !st.ok()) {
      EndFn fn = rec.ended;
      return Finish(id, rec.start_us, WriteErrorReason(st), fn);
    }
  });
  return id;
}

void RecordingWriter::Events(const std::string& recording_id, const std::string& player,
                             const std::string& name, std::vector<RecordedEvent> events) {
  const size_t n = events.size();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queued_events_ + n > config_.recording_queue_events) {
      // The writer is behind: dropping here keeps the shard from waiting and memory bounded.
      overflow_[recording_id] += n;
      return;
    }
  }
  Post(
      [this, recording_id, player, name, events = std::move(events)] {
        auto it = recordings_.find(recording_id);
        if (it == recordings_.end()) return;  // ended meanwhile
        Recording& r = *it->second;
        for (const RecordedEvent& e : events) {
          auto [t, fresh] = r.track_of.try_emplace(player, r.tracks.size());
          if (fresh) {
            if (r.tracks.size() >= kMaxTracks) {
              r.track_of.erase(t);
              ++r.dropped;
              continue;
            }
            r.tracks.emplace_back(name);
          }
          if (r.body_bytes + kMaxEventBytes > config_.max_recording_bytes) {
            r.full = true;
            ++r.dropped;
            continue;
          }
          midi::SmfTrack& track = r.tracks[t->second];
          const size_t before = track.body_bytes();
          const int64_t rel = std::max<int64_t>(0, e.server_us - r.start_us);
          track.Add(r.tempo.TickAt(rel), e.message);
          r.body_bytes += track.body_bytes() - before;
          r.last_us = std::max(r.last_us, rel);
          ++r.events;
          r.dirty = true;
        }
        if (r.full) {
          EndFn fn = r.ended;
          Finish(recording_id, r.start_us + r.last_us, "size limit", fn);
        }
      },
      n);
}

uint64_t RecordingWriter::QueueDropped(const std::string& recording_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = overflow_.find(recording_id);
  return it == overflow_.end() ? 0 : it->second;
}

void RecordingWriter::Tempo(const std::string& recording_id, int64_t server_us,
                            uint32_t us_per_quarter) {
  Post([this, recording_id, server_us, us_per_quarter] {
    auto it = recordings_.find(recording_id);
    if (it == recordings_.end()) return;
    Recording& r = *it->second;
    // Not before an event already placed: those got their ticks from the tempo before
    // the change (a batch may be stamped a little ahead of its relay), and a change
    // under them would move them. Every event keeps its server time; the Set Tempo may
    // come that little later than the room's change.
    r.tempo.Set(std::max<int64_t>({0, server_us - r.start_us, r.last_us}), us_per_quarter);
    r.dirty = true;
  });
}

void RecordingWriter::Stop(const std::string& recording_id, int64_t server_us, EndFn done) {
  Post([this, recording_id, server_us, done = std::move(done)] {
    if (recordings_.count(recording_id) == 0) return;  // a limit ended it first
    Finish(recording_id, server_us, "stopped", done);
  });
}

absl::Status RecordingWriter::Flush(Recording& r, int64_t close_us) {
  std::string bytes;
  midi::AppendSmfHeader(static_cast<uint16_t>(r.tracks.size() + 1), &bytes);
  midi::AppendSmfTempoTrack(r.title, r.tempo, &bytes);
  const int64_t close_tick = r.tempo.TickAt(std::max<int64_t>(0, close_us - r.start_us));
  for (const midi::SmfTrack& t : r.tracks) t.AppendChunk(close_tick, &bytes);
  r.last_flush_us = clock_.NowUs();
  r.dirty = false;
  absl::Status st = WriteWhole(r.path, bytes);
  if (!st.ok()) {
    // The path is for the operator's log only; members see the reason without it.
    std::fprintf(stderr, "tutti: recording %s (%s): %s\n", r.id.c_str(), r.path.c_str(),
                 std::string(st.message()).c_str());
  }
  return st;
}

void RecordingWriter::Finish(const std::string& id, int64_t end_us, const std::string& reason,
                             const EndFn& done) {
  auto it = recordings_.find(id);
  if (it == recordings_.end()) return;
  Recording& r = *it->second;
  const int64_t end = std::max(r.start_us + r.last_us, end_us);
  const int64_t end_tick = r.tempo.TickAt(end - r.start_us);
  for (midi::SmfTrack& t : r.tracks) {
    const uint64_t before = t.events();
    t.CloseHeld(end_tick);
    r.events += t.events() - before;
  }
  // A failed final write leaves the last flushed file, which is whole; it was logged.
  (void)Flush(r, end);
  RecordingEnd result;
  result.recording_id = id;
  result.reason = reason;
  result.events = r.events;
  result.dropped = r.dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto dropped = overflow_.find(id);
    if (dropped != overflow_.end()) {
      result.dropped += dropped->second;
      overflow_.erase(dropped);
    }
  }
  std::error_code ec;
  result.bytes = fs::file_size(r.path, ec);
  if (ec) result.bytes = 0;
  recordings_.erase(it);
  running_.fetch_sub(1);
  if (done) done(result);
}

void RecordingWriter::Prune(const std::string& room_dir, const std::string& keep) const {
  if (config_.max_recordings_per_room <= 0) return;
  std::vector<std::pair<int64_t, std::string>> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(room_dir, ec)) {
    const std::string stem = entry.path().stem().string();
    if (entry.path().extension() != ".mid" || stem == keep || !ValidId(stem)) continue;
    if (recordings_.count(stem) != 0) continue;  // still running
    files.emplace_back(StartedMsOf(stem), entry.path().string());
  }
  // The new one counts: keep max - 1 of the others, the newest.
  const size_t keep_others = static_cast<size_t>(config_.max_recordings_per_room) - 1;
  if (files.size() <= keep_others) return;
  std::sort(files.begin(), files.end());
  for (size_t i = 0; i + keep_others < files.size(); ++i) fs::remove(files[i].second, ec);
}

void RecordingWriter::List(const std::string& room_id,
                           std::function<void(std::vector<RecordingFile>)> done) {
  Post([this, room_id, done = std::move(done)] {
    std::vector<RecordingFile> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(RoomDir(room_id), ec)) {
      const std::string stem = entry.path().stem().string();
      if (entry.path().extension() != ".mid" || !ValidId(stem)) continue;
      RecordingFile f;
      f.recording_id = stem;
      f.started_unix_ms = StartedMsOf(stem);
      std::error_code size_ec;
      f.bytes = fs::file_size(entry.path(), size_ec);
      f.active = recordings_.count(stem) != 0;
      out.push_back(std::move(f));
    }
    std::sort(out.begin(), out.end(), [](const RecordingFile& a, const RecordingFile& b) {
      return a.started_unix_ms != b.started_unix_ms ? a.started_unix_ms > b.started_unix_ms
                                                    : a.recording_id > b.recording_id;
    });
    done(std::move(out));
  });
}

void RecordingWriter::Read(const std::string& room_id, const std::string& recording_id,
                           uint64_t offset, uint32_t max_bytes,
                           std::function<void(RecordingChunkRead)> done) {
  Post([this, room_id, recording_id, offset, max_bytes, done = std::move(done)] {
    RecordingChunkRead out;
    out.offset = offset;
    if (!ValidId(recording_id)) {
      out.status = absl::NotFoundError("no such recording in this room");
      return done(std::move(out));
    }
    const std::string path = RoomDir(room_id) + "/" + recording_id + ".mid";
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      out.status = absl::NotFoundError("no such recording in this room");
      return done(std::move(out));
    }
    const off_t size = ::lseek(fd, 0, SEEK_END);
    out.total = size < 0 ? 0 : static_cast<uint64_t>(size);
    if (offset > out.total) {
      ::close(fd);
      out.status = absl::InvalidArgumentError("offset is past the end of the recording");
      return done(std::move(out));
    }
    const uint32_t chunk = config_.recording_chunk_bytes;
    const size_t want = static_cast<size_t>(std::min<uint64_t>(
        max_bytes == 0 || max_bytes > chunk ? chunk : max_bytes, out.total - offset));
    out.data.resize(want);
    size_t got = 0;
    while (got < want) {
      const ssize_t n =
          ::pread(fd, out.data.data() + got, want - got, static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    ::close(fd);
    out.data.resize(got);
    done(std::move(out));
  });
}

void RecordingWriter::Run() {
  const auto interval = std::chrono::milliseconds(std::max(1, config_.recording_flush_ms));
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait_for(lock, interval, [this] { return stopping_ || !queue_.empty(); });
    std::deque<Job> jobs;
    jobs.swap(queue_);
    queued_events_ = 0;
    const bool stop = stopping_;
    lock.unlock();
    for (Job& job : jobs) job();
    const int64_t now = clock_.NowUs();
    const int64_t max_us = config_.max_recording_duration_ms * 1000;
    std::vector<std::string> over;
    std::vector<std::pair<std::string, std::string>> failed;  // id, reason
    for (auto& [id, r] : recordings_) {
      if (now - r->start_us >= max_us) {
        over.push_back(id);
      } else if (r->dirty && now - r->last_flush_us >= config_.recording_flush_ms * 1000LL) {
        // A file that cannot be written (disk full, permissions) ends the recording now
        // rather than holding its events in memory for flushes that keep failing.
        if (absl::Status st = Flush(*r, r->start_us + r->last_us); !st.ok()) {
          failed.emplace_back(id, WriteErrorReason(st));
        }
      }
    }
    for (const std::string& id : over) {
      EndFn fn = recordings_[id]->ended;
      Finish(id, recordings_[id]->start_us + max_us, "duration limit", fn);
    }
    for (const auto& [id, reason] : failed) {
      EndFn fn = recordings_[id]->ended;
      Finish(id, recordings_[id]->start_us + recordings_[id]->last_us, reason, fn);
    }
    if (stop) {
      std::vector<std::string> ids;
      for (const auto& [id, r] : recordings_) ids.push_back(id);
      for (const std::string& id : ids) {
        EndFn fn = recordings_[id]->ended;
        Finish(id, now, "server stopped", fn);
      }
      return;
    }
    lock.lock();
  }
}

}  // namespace tutti::server
