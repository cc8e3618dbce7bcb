#include "tools/play/recorder.h"

#include <algorithm>
#include <fstream>

namespace tutti::play {
namespace {

void Be32(std::string* out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out->push_back(static_cast<char>((v >> s) & 0xFF));
}

void Be16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v & 0xFF));
}

// Variable-length quantity: 7 bits per byte, most significant first.
void Vlq(std::string* out, uint32_t v) {
  char buf[5];
  int n = 0;
  buf[n++] = static_cast<char>(v & 0x7F);
  while ((v >>= 7) != 0) buf[n++] = static_cast<char>(0x80 | (v & 0x7F));
  while (n > 0) out->push_back(buf[--n]);
}

void Chunk(std::string* out, const char* id, const std::string& body) {
  out->append(id, 4);
  Be32(out, static_cast<uint32_t>(body.size()));
  out->append(body);
}

void Meta(std::string* track, uint8_t type, const std::string& data) {
  Vlq(track, 0);
  track->push_back(static_cast<char>(0xFF));
  track->push_back(static_cast<char>(type));
  Vlq(track, static_cast<uint32_t>(data.size()));
  track->append(data);
}

}  // namespace

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
  it->second.events.push_back({us * kTicksPerQuarter / kMicrosPerQuarter, m});
  ++events_;
}

std::string Recorder::Smf() const {
  std::string file;
  std::string header;
  Be16(&header, 1);  // format 1: simultaneous tracks
  Be16(&header, static_cast<uint16_t>(std::min<size_t>(order_.size() + 1, 0xFFFF)));
  Be16(&header, kTicksPerQuarter);
  Chunk(&file, "MThd", header);
  std::string tempo;
  Meta(&tempo, 0x03, "Tutti");
  Meta(&tempo, 0x51,
       std::string{static_cast<char>((kMicrosPerQuarter >> 16) & 0xFF),
                   static_cast<char>((kMicrosPerQuarter >> 8) & 0xFF),
                   static_cast<char>(kMicrosPerQuarter & 0xFF)});
  Meta(&tempo, 0x2F, "");
  Chunk(&file, "MTrk", tempo);
  for (size_t i = 0; i < order_.size() && i < 0xFFFE; ++i) {
    const Track& t = tracks_.at(order_[i]);
    std::string body;
    Meta(&body, 0x03, t.name.substr(0, 255));
    // Play times of one sender never go backwards, but local echo and a jitter buffer's
    // release can interleave: keep the order stable and the deltas non-negative.
    std::vector<Event> events = t.events;
    std::stable_sort(events.begin(), events.end(),
                     [](const Event& a, const Event& b) { return a.tick < b.tick; });
    int64_t last = 0;
    for (const Event& e : events) {
      Vlq(&body, static_cast<uint32_t>(std::min<int64_t>(e.tick - last, 0x0FFFFFFF)));
      last = e.tick;
      body.push_back(static_cast<char>(e.message.status));
      body.push_back(static_cast<char>(e.message.data1));
      if (e.message.size != 2) body.push_back(static_cast<char>(e.message.data2));
    }
    Vlq(&body, 0);
    body.append("\xFF\x2F\x00", 3);
    Chunk(&file, "MTrk", body);
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
