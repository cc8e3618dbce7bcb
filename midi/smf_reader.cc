#include "midi/smf_reader.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace tutti::midi {
namespace {

class Cursor {
 public:
  Cursor(std::string_view b, size_t end) : b_(b), end_(end) {}
  size_t at() const { return at_; }
  void set_at(size_t at) { at_ = at; }
  size_t end() const { return end_; }
  bool U8(uint8_t* v) {
    if (at_ >= end_) return false;
    *v = static_cast<uint8_t>(b_[at_++]);
    return true;
  }
  bool Be(int bytes, uint32_t* v) {
    *v = 0;
    for (int i = 0; i < bytes; ++i) {
      uint8_t c;
      if (!U8(&c)) return false;
      *v = (*v << 8) | c;
    }
    return true;
  }
  // At most four bytes (SMF's limit, 0x0FFFFFFF).
  bool Vlq(uint32_t* v) {
    *v = 0;
    for (int i = 0; i < 4; ++i) {
      uint8_t c;
      if (!U8(&c)) return false;
      *v = (*v << 7) | (c & 0x7F);
      if (!(c & 0x80)) return true;
    }
    return false;
  }
  bool Skip(uint32_t n) {
    if (n > end_ - at_) return false;
    at_ += n;
    return true;
  }
  std::string_view Take(uint32_t n) const { return b_.substr(at_, n); }

 private:
  std::string_view b_;
  size_t end_;
  size_t at_ = 0;
};

absl::Status Bad(const std::string& why, size_t at) {
  return absl::InvalidArgumentError(absl::StrCat("SMF: ", why, " at byte ", at));
}

absl::Status ReadTrack(Cursor& c, SmfTrackData* track) {
  int64_t tick = 0;
  uint8_t running = 0;
  bool named = false;
  while (c.at() < c.end()) {
    if (track->ended) return Bad("event after end of track", c.at());
    uint32_t delta;
    uint8_t status;
    if (!c.Vlq(&delta)) return Bad("bad delta time", c.at());
    if (!c.U8(&status)) return Bad("truncated event", c.at());
    tick += delta;
    if (status == 0xFF) {
      uint8_t type;
      uint32_t n;
      if (!c.U8(&type) || !c.Vlq(&n)) return Bad("truncated meta event", c.at());
      const std::string_view data = c.Take(n);
      if (!c.Skip(n)) return Bad("meta event past the track's end", c.at());
      if (type == 0x03 && !named) {
        track->name = std::string(data);
        named = true;
      } else if (type == 0x51) {
        if (n != 3) return Bad("tempo event of the wrong length", c.at());
        const uint32_t q = (static_cast<uint32_t>(static_cast<uint8_t>(data[0])) << 16) |
                           (static_cast<uint32_t>(static_cast<uint8_t>(data[1])) << 8) |
                           static_cast<uint8_t>(data[2]);
        if (q == 0) return Bad("tempo of zero", c.at());
        track->tempos.push_back({tick, q});
      } else if (type == 0x2F) {
        if (n != 0) return Bad("end of track with data", c.at());
        track->ended = true;
        track->end_tick = tick;
      }
      running = 0;  // meta and SysEx events cancel running status
      continue;
    }
    if (status == 0xF0 || status == 0xF7) {
      uint32_t n;
      if (!c.Vlq(&n) || !c.Skip(n)) return Bad("truncated SysEx event", c.at());
      running = 0;
      continue;
    }
    if (status > 0xF0) return Bad("system message inside a track", c.at());
    SmfEvent e;
    e.tick = tick;
    if (status < 0x80) {  // running status: this byte is the first data byte
      if (running == 0) return Bad("data byte without a status", c.at());
      c.set_at(c.at() - 1);
      status = running;
    }
    running = status;
    e.status = status;
    if (!c.U8(&e.data1) || e.data1 > 0x7F) return Bad("bad data byte", c.at());
    const uint8_t kind = status & 0xF0;
    if (kind != 0xC0 && kind != 0xD0 && (!c.U8(&e.data2) || e.data2 > 0x7F)) {
      return Bad("bad data byte", c.at());
    }
    track->events.push_back(e);
  }
  return absl::OkStatus();
}

}  // namespace

int64_t SmfFile::MicrosAt(int64_t tick) const {
  std::vector<SmfTempo> tempos;
  for (const auto& t : tracks) tempos.insert(tempos.end(), t.tempos.begin(), t.tempos.end());
  std::stable_sort(tempos.begin(), tempos.end(),
                   [](const SmfTempo& a, const SmfTempo& b) { return a.tick < b.tick; });
  const long double div = division > 0 && division < 0x8000 ? division : 1;
  // In long double and clamped: a hostile file's ticks times its tempos can pass int64.
  long double us = 0;
  int64_t at = 0;
  long double q = 500000;
  for (const SmfTempo& t : tempos) {
    if (t.tick >= tick) break;
    us += static_cast<long double>(t.tick - at) * q / div;
    at = t.tick;
    q = t.us_per_quarter;
  }
  us += static_cast<long double>(tick - at) * q / div;
  return static_cast<int64_t>(std::round(std::clamp<long double>(us, -9e18L, 9e18L)));
}

absl::StatusOr<SmfFile> ReadSmf(std::string_view bytes) {
  Cursor c(bytes, bytes.size());
  if (bytes.substr(0, 4) != "MThd") return Bad("no MThd header", 0);
  c.set_at(4);
  uint32_t len, format, ntracks, division;
  if (!c.Be(4, &len) || len < 6 || !c.Be(2, &format) || !c.Be(2, &ntracks) || !c.Be(2, &division) ||
      !c.Skip(len - 6)) {
    return Bad("truncated header", c.at());
  }
  if (format > 2) return Bad("unknown format", 8);
  if (format == 0 && ntracks != 1) return Bad("format 0 with other than one track", 10);
  if (division == 0) return Bad("division of zero", 12);
  SmfFile smf;
  smf.format = static_cast<int>(format);
  smf.division = static_cast<int>(division);
  // Chunks other than MTrk are skipped (the specification's rule for unknown chunks).
  while (smf.tracks.size() < ntracks) {
    const size_t start = c.at();
    if (bytes.size() - start < 8) return Bad("missing track", start);
    const std::string_view id = bytes.substr(start, 4);
    c.set_at(start + 4);
    uint32_t n;
    if (!c.Be(4, &n) || n > bytes.size() - c.at()) return Bad("chunk past the end", start);
    if (id != "MTrk") {
      c.set_at(c.at() + n);
      continue;
    }
    Cursor track_cursor(bytes, c.at() + n);
    track_cursor.set_at(c.at());
    SmfTrackData track;
    if (absl::Status s = ReadTrack(track_cursor, &track); !s.ok()) return s;
    smf.tracks.push_back(std::move(track));
    c.set_at(c.at() + n);
  }
  return smf;
}

}  // namespace tutti::midi
