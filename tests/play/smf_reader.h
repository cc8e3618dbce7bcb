// A small Standard MIDI File reader for the tests: enough to check what tutti-play's /record
// wrote (header, track names, channel events with absolute ticks; running status accepted).
// Written from the SMF 1.0 specification. Owns nothing; any thread; tests/play only.
#ifndef TUTTI_TESTS_PLAY_SMF_READER_H_
#define TUTTI_TESTS_PLAY_SMF_READER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tutti::testing {

struct SmfEvent {
  int64_t tick = 0;
  uint8_t status = 0, data1 = 0, data2 = 0;
};
struct SmfTrack {
  std::string name;
  std::vector<SmfEvent> events;
  bool ended = false;  // had its end-of-track meta event
};
struct Smf {
  int format = 0;
  int division = 0;
  std::vector<SmfTrack> tracks;
};

inline std::optional<Smf> ReadSmf(const std::string& b) {
  size_t at = 0;
  auto u8 = [&](uint8_t* v) {
    if (at >= b.size()) return false;
    *v = static_cast<uint8_t>(b[at++]);
    return true;
  };
  auto be = [&](int bytes, uint32_t* v) {
    *v = 0;
    for (int i = 0; i < bytes; ++i) {
      uint8_t c;
      if (!u8(&c)) return false;
      *v = (*v << 8) | c;
    }
    return true;
  };
  auto vlq = [&](uint32_t* v) {
    *v = 0;
    for (int i = 0; i < 4; ++i) {
      uint8_t c;
      if (!u8(&c)) return false;
      *v = (*v << 7) | (c & 0x7F);
      if (!(c & 0x80)) return true;
    }
    return false;
  };
  Smf smf;
  uint32_t len, format, ntracks, division;
  if (b.compare(0, 4, "MThd") != 0) return std::nullopt;
  at = 4;
  if (!be(4, &len) || len != 6 || !be(2, &format) || !be(2, &ntracks) || !be(2, &division)) {
    return std::nullopt;
  }
  smf.format = static_cast<int>(format);
  smf.division = static_cast<int>(division);
  for (uint32_t t = 0; t < ntracks; ++t) {
    if (b.compare(at, 4, "MTrk") != 0) return std::nullopt;
    at += 4;
    if (!be(4, &len) || at + len > b.size()) return std::nullopt;
    const size_t end = at + len;
    SmfTrack track;
    int64_t tick = 0;
    uint8_t running = 0;
    while (at < end) {
      uint32_t delta;
      uint8_t status;
      if (!vlq(&delta) || !u8(&status)) return std::nullopt;
      tick += delta;
      if (status == 0xFF) {
        uint8_t type;
        uint32_t n;
        if (!u8(&type) || !vlq(&n) || at + n > end) return std::nullopt;
        if (type == 0x03) track.name = b.substr(at, n);
        if (type == 0x2F) track.ended = true;
        at += n;
        continue;
      }
      if (status == 0xF0 || status == 0xF7) {
        uint32_t n;
        if (!vlq(&n) || at + n > end) return std::nullopt;
        at += n;
        continue;
      }
      SmfEvent e;
      e.tick = tick;
      if (status < 0x80) {  // running status: this byte is data
        if (running == 0) return std::nullopt;
        --at;
        status = running;
      }
      running = status;
      e.status = status;
      if (!u8(&e.data1)) return std::nullopt;
      const uint8_t kind = status & 0xF0;
      if (kind != 0xC0 && kind != 0xD0 && !u8(&e.data2)) return std::nullopt;
      track.events.push_back(e);
    }
    smf.tracks.push_back(std::move(track));
  }
  return smf;
}

}  // namespace tutti::testing

#endif  // TUTTI_TESTS_PLAY_SMF_READER_H_
