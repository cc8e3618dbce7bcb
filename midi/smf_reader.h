// Standard MIDI File (SMF 1.0) reading: the header, each track's name, channel events with
// absolute ticks (running status accepted), tempo changes and end-of-track. A strict parser
// of untrusted bytes (a downloaded recording, a file a test or a user hands in): anything
// malformed is an InvalidArgument with the reason, never a crash; fuzzed by
// tests/fuzz/fuzz_smf_reader.cc. Written from the SMF 1.0 specification.
//
// Owns: nothing (a pure function and the plain structs it returns).
// Thread affinity: none. Who owns it: the tests of the recordings, tools that check them.
#ifndef TUTTI_MIDI_SMF_READER_H_
#define TUTTI_MIDI_SMF_READER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tutti::midi {

struct SmfEvent {
  int64_t tick = 0;
  uint8_t status = 0, data1 = 0, data2 = 0;  // data2 is 0 for two-byte messages
};
struct SmfTempo {
  int64_t tick = 0;
  uint32_t us_per_quarter = 0;
};
struct SmfTrackData {
  std::string name;  // the first track name meta event
  std::vector<SmfEvent> events;
  std::vector<SmfTempo> tempos;
  bool ended = false;  // had its end-of-track meta event, as the last event
  int64_t end_tick = 0;
};
struct SmfFile {
  int format = 0;
  int division = 0;  // ticks per quarter (bit 15 clear) or the raw SMPTE form
  std::vector<SmfTrackData> tracks;
  // Microseconds from the start at `tick`, through every track's tempo changes (120 BPM
  // until the first). Only for ticks-per-quarter division.
  int64_t MicrosAt(int64_t tick) const;
};

absl::StatusOr<SmfFile> ReadSmf(std::string_view bytes);

}  // namespace tutti::midi

#endif  // TUTTI_MIDI_SMF_READER_H_
