#include "midi/smf_writer.h"

#include <algorithm>
#include <utility>

namespace tutti::midi {
namespace {

void Be32(uint32_t v, std::string* out) {
  for (int s = 24; s >= 0; s -= 8) out->push_back(static_cast<char>((v >> s) & 0xFF));
}

void Be16(uint16_t v, std::string* out) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v & 0xFF));
}

// Variable-length quantity: 7 bits per byte, most significant first. SMF allows at most
// four bytes (0x0FFFFFFF); larger values are cut to that.
void Vlq(int64_t value, std::string* out) {
  uint32_t v = static_cast<uint32_t>(std::clamp<int64_t>(value, 0, 0x0FFFFFFF));
  char buf[4];
  int n = 0;
  buf[n++] = static_cast<char>(v & 0x7F);
  while ((v >>= 7) != 0) buf[n++] = static_cast<char>(0x80 | (v & 0x7F));
  while (n > 0) out->push_back(buf[--n]);
}

void Meta(int64_t delta, uint8_t type, const std::string& data, std::string* out) {
  Vlq(delta, out);
  out->push_back(static_cast<char>(0xFF));
  out->push_back(static_cast<char>(type));
  Vlq(static_cast<int64_t>(data.size()), out);
  out->append(data);
}

void Event(int64_t delta, const ChannelMessage& m, std::string* out) {
  Vlq(delta, out);
  out->push_back(static_cast<char>(m.status));
  out->push_back(static_cast<char>(m.data1 & 0x7F));
  if (m.size != 2) out->push_back(static_cast<char>(m.data2 & 0x7F));
}

void ChunkHeader(const char* id, size_t length, std::string* out) {
  out->append(id, 4);
  Be32(static_cast<uint32_t>(length), out);
}

// A track name is a text meta event; 255 bytes is plenty and keeps the length one byte.
std::string TrackName(const std::string& name) { return name.substr(0, 255); }

}  // namespace

SmfTempoMap::SmfTempoMap(uint32_t us_per_quarter) { Set(0, us_per_quarter); }

void SmfTempoMap::Set(int64_t us, uint32_t us_per_quarter) {
  us_per_quarter = std::clamp<uint32_t>(us_per_quarter, 1, 0xFFFFFF);
  us = std::max<int64_t>(us, changes_.empty() ? 0 : changes_.back().us);
  if (!changes_.empty() && changes_.back().us == us) {
    // Two changes at one time: the later one wins (the earlier never sounded).
    changes_.back().us_per_quarter = us_per_quarter;
    return;
  }
  const int64_t tick = changes_.empty() ? 0 : TickAt(us);
  changes_.push_back({us, tick, us_per_quarter});
}

int64_t SmfTempoMap::TickAt(int64_t us) const {
  if (us <= 0) return 0;
  auto it = std::upper_bound(changes_.begin(), changes_.end(), us,
                             [](int64_t t, const Change& c) { return t < c.us; });
  const Change& c = *std::prev(it);  // changes_[0].us == 0 <= us
  const int64_t q = c.us_per_quarter;
  return c.tick + ((us - c.us) * kSmfTicksPerQuarter + q / 2) / q;
}

SmfTrack::SmfTrack(std::string name) : name_(std::move(name)) {}

void SmfTrack::Add(int64_t tick, const ChannelMessage& m) {
  tick = std::max(tick, last_tick_);
  Event(tick - last_tick_, m, &body_);
  last_tick_ = tick;
  held_.Apply(m);
  ++events_;
}

void SmfTrack::AppendChunk(int64_t close_tick, std::string* out) const {
  std::string head;
  Meta(0, 0x03, TrackName(name_), &head);
  std::string tail;
  HeldNotes held = held_;
  int64_t delta = std::max<int64_t>(0, close_tick - last_tick_);
  for (const ChannelMessage& m : held.ReleaseAll()) {
    Event(delta, m, &tail);
    delta = 0;
  }
  Meta(delta, 0x2F, "", &tail);
  ChunkHeader("MTrk", head.size() + body_.size() + tail.size(), out);
  out->append(head);
  out->append(body_);
  out->append(tail);
}

void SmfTrack::CloseHeld(int64_t tick) {
  for (const ChannelMessage& m : held_.ReleaseAll()) Add(tick, m);
}

void AppendSmfHeader(uint16_t tracks, std::string* out) {
  ChunkHeader("MThd", 6, out);
  Be16(1, out);  // format 1: simultaneous tracks
  Be16(tracks, out);
  Be16(kSmfTicksPerQuarter, out);
}

void AppendSmfTempoTrack(const std::string& title, const SmfTempoMap& map, std::string* out) {
  std::string body;
  Meta(0, 0x03, TrackName(title), &body);
  int64_t last = 0;
  for (const SmfTempoMap::Change& c : map.changes()) {
    const uint32_t q = c.us_per_quarter;
    Meta(c.tick - last, 0x51,
         std::string{static_cast<char>((q >> 16) & 0xFF), static_cast<char>((q >> 8) & 0xFF),
                     static_cast<char>(q & 0xFF)},
         &body);
    last = c.tick;
  }
  Meta(0, 0x2F, "", &body);
  ChunkHeader("MTrk", body.size(), out);
  out->append(body);
}

}  // namespace tutti::midi
