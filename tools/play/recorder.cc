#include "tools/play/recorder.h"

#include <algorithm>
#include <fstream>

namespace tutti::play {

void Recorder::Start(int64_t start_us) {
  recording_ = true;
  start_us_ = start_us;
  order_.clear();
  tracks_.clear();
  events_ = 0;
  dropped_ = 0;
}

void Recorder::Add(uint64_t player, const std::string& name, int64_t local_us,
                   const midi::ChannelMessage& m) {
  if (!recording_) return;
  if (events_ >= kMaxEvents) {
    ++dropped_;
    return;
  }
  auto [it, fresh] = tracks_.try_emplace(player);
  if (fresh) order_.push_back(player);
  if (!name.empty()) it->second.name = name;
  const int64_t us = std::max<int64_t>(0, local_us - start_us_);
  it->second.events.push_back({tempo_.TickAt(us), m});
  ++events_;
}

std::string Recorder::Smf() const {
  std::string file;
  const size_t tracks = std::min<size_t>(order_.size(), 0xFFFE);
  midi::AppendSmfHeader(static_cast<uint16_t>(tracks + 1), &file);
  midi::AppendSmfTempoTrack("Tutti", midi::SmfTempoMap(kMicrosPerQuarter), &file);
  for (size_t i = 0; i < tracks; ++i) {
    const Track& t = tracks_.at(order_[i]);
    // Play times of one sender never go backwards, but local echo and a jitter buffer's
    // release can interleave: keep the order stable and the deltas non-negative.
    std::vector<Event> events = t.events;
    std::stable_sort(events.begin(), events.end(),
                     [](const Event& a, const Event& b) { return a.tick < b.tick; });
    midi::SmfTrack track(t.name);
    for (const Event& e : events) track.Add(e.tick, e.message);
    // Closed where the last event is: what was still held when the recording was saved
    // ends there rather than ringing on in the file.
    track.AppendChunk(track.last_tick(), &file);
  }
  return file;
}

absl::Status Recorder::StopAndSave(const std::string& path) {
  recording_ = false;
  const std::string bytes = Smf();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return absl::UnavailableError("cannot write " + path);
  return absl::OkStatus();
}

}  // namespace tutti::play
