// Fuzz target: MIDI 1.0 channel-message parsing (midi/midi_parse.h), as the server runs it
// on a MidiMessage's midi_data and on each event's data.
//
// Input: one byte for max_messages (0..63), then the MIDI bytes.
// Properties: a refusal leaves the output exactly as it was; every parsed message holds the
// ChannelMessage invariants; re-encoding the messages gives back the input bytes (there is
// no running status, so the wire form is unique); ParseOneChannelMessage agrees with
// ParseChannelMessages(max_messages = 1).
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "midi/midi_parse.h"
#include "tests/fuzz/fuzz_target.h"

namespace midi = tutti::midi;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tutti::fuzz::FuzzInput input(data, size);
  const size_t max_messages = input.TakeByte() % 64;
  const std::string_view bytes = input.Rest();

  // A sentinel already in the output must survive both outcomes.
  const midi::ChannelMessage sentinel = midi::MakeNoteOn(3, 60, 100);
  std::vector<midi::ChannelMessage> out = {sentinel};
  absl::Status status = midi::ParseChannelMessages(bytes, max_messages, &out);
  FUZZ_CHECK(!out.empty() && out.front() == sentinel);
  if (!status.ok()) {
    FUZZ_CHECK(out.size() == 1);
    FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  } else {
    FUZZ_CHECK(!bytes.empty());
    FUZZ_CHECK(out.size() - 1 <= max_messages);
    std::string wire;
    for (size_t i = 1; i < out.size(); ++i) {
      const midi::ChannelMessage& m = out[i];
      FUZZ_CHECK(m.status >= 0x80 && m.status <= 0xEF);
      FUZZ_CHECK(m.size == midi::ChannelMessageSize(m.status));
      FUZZ_CHECK(m.data1 <= 0x7F && m.data2 <= 0x7F);
      if (m.size == 2) FUZZ_CHECK(m.data2 == 0);
      FUZZ_CHECK(!(m.IsNoteOn() && m.IsNoteOff()));
      midi::AppendBytes(m, &wire);
    }
    FUZZ_CHECK(wire == bytes);
  }

  midi::ChannelMessage one;
  std::vector<midi::ChannelMessage> single;
  absl::Status one_status = midi::ParseOneChannelMessage(bytes, &one);
  FUZZ_CHECK(one_status.ok() == midi::ParseChannelMessages(bytes, 1, &single).ok());
  if (one_status.ok()) FUZZ_CHECK(single.size() == 1 && single.front() == one);
  return 0;
}
