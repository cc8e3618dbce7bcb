// Fuzz target: the Standard MIDI File reader (midi/smf_reader.h), which reads recordings a
// client downloaded or any file handed to it.
//
// Input: the file's bytes.
// Properties: a refusal is InvalidArgument; an accepted file has the track count its header
// promised, ticks that never decrease within a track, status bytes of
// channel messages and data bytes below 0x80; and writing the accepted tracks again with the
// project's writer (midi/smf_writer.h) gives a file the reader accepts with the same events.
#include <string>

#include "midi/smf_reader.h"
#include "midi/smf_writer.h"
#include "tests/fuzz/fuzz_target.h"

namespace midi = tutti::midi;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tutti::fuzz::FuzzInput input(data, size);
  const std::string_view bytes = input.Rest();
  auto smf = midi::ReadSmf(bytes);
  if (!smf.ok()) {
    FUZZ_CHECK(smf.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  FUZZ_CHECK(smf->format >= 0 && smf->format <= 2);
  const size_t promised =
      (static_cast<size_t>(static_cast<uint8_t>(bytes[10])) << 8) | static_cast<uint8_t>(bytes[11]);
  FUZZ_CHECK(smf->tracks.size() == promised);
  std::string again;
  midi::AppendSmfHeader(static_cast<uint16_t>(smf->tracks.size()), &again);
  for (const auto& t : smf->tracks) {
    int64_t last = 0;
    midi::SmfTrack track(t.name);
    for (const auto& e : t.events) {
      FUZZ_CHECK(e.tick >= last);
      last = e.tick;
      FUZZ_CHECK(e.status >= 0x80 && e.status <= 0xEF);
      FUZZ_CHECK(e.data1 < 0x80 && e.data2 < 0x80);
      const uint8_t kind = e.status & 0xF0;
      const uint8_t n = kind == 0xC0 || kind == 0xD0 ? 2 : 3;
      track.Add(e.tick, {e.status, e.data1, e.data2, n});
    }
    // Closed at the last event; the close may add note-offs, so compare the prefix.
    track.AppendChunk(last, &again);
  }
  auto back = midi::ReadSmf(again);
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(back->tracks.size() == smf->tracks.size());
  for (size_t i = 0; i < smf->tracks.size(); ++i) {
    const auto& a = smf->tracks[i].events;
    const auto& b = back->tracks[i].events;
    FUZZ_CHECK(b.size() >= a.size());
    for (size_t k = 0; k < a.size(); ++k) {
      FUZZ_CHECK(a[k].tick == b[k].tick && a[k].status == b[k].status && a[k].data1 == b[k].data1 &&
                 a[k].data2 == b[k].data2);
    }
    FUZZ_CHECK(back->tracks[i].ended);
    FUZZ_CHECK(back->tracks[i].name == smf->tracks[i].name.substr(0, 255));
  }
  return 0;
}
