#include "midi/midi_parse.h"

namespace tutti::midi {

absl::Status ParseChannelMessages(std::string_view data, size_t max_messages,
                                  std::vector<ChannelMessage>* out) {
  if (data.empty()) return absl::InvalidArgumentError("empty MIDI data");
  // Parse into a local vector so a refusal leaves *out untouched.
  std::vector<ChannelMessage> parsed;
  size_t i = 0;
  while (i < data.size()) {
    const uint8_t status = static_cast<uint8_t>(data[i]);
    if (status < 0x80) {
      return absl::InvalidArgumentError("data byte where a status byte is expected");
    }
    const int size = ChannelMessageSize(status);
    if (size == 0) return absl::InvalidArgumentError("system or SysEx message not allowed");
    if (data.size() - i < static_cast<size_t>(size)) {
      return absl::InvalidArgumentError("truncated MIDI message");
    }
    if (parsed.size() >= max_messages) {
      return absl::InvalidArgumentError("too many MIDI messages");
    }
    ChannelMessage m;
    m.status = status;
    m.size = static_cast<uint8_t>(size);
    m.data1 = static_cast<uint8_t>(data[i + 1]);
    if (size == 3) m.data2 = static_cast<uint8_t>(data[i + 2]);
    if (m.data1 > 0x7F || m.data2 > 0x7F) {
      return absl::InvalidArgumentError("MIDI data byte above 0x7F");
    }
    parsed.push_back(m);
    i += size;
  }
  out->insert(out->end(), parsed.begin(), parsed.end());
  return absl::OkStatus();
}

absl::Status ParseOneChannelMessage(std::string_view data, ChannelMessage* out) {
  std::vector<ChannelMessage> one;
  absl::Status s = ParseChannelMessages(data, 1, &one);
  if (!s.ok()) return s;
  *out = one.front();
  return absl::OkStatus();
}

void AppendBytes(const ChannelMessage& m, std::string* out) {
  out->push_back(static_cast<char>(m.status));
  out->push_back(static_cast<char>(m.data1));
  if (m.size == 3) out->push_back(static_cast<char>(m.data2));
}

}  // namespace tutti::midi
