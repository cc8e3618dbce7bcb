#include "midi/channel_message.h"

namespace tutti::midi {

int ChannelMessageSize(uint8_t status) {
  if (status < 0x80 || status >= 0xF0) return 0;
  const uint8_t kind = status & 0xF0;
  return (kind == kProgramChange || kind == kChannelPressure) ? 2 : 3;
}

ChannelMessage MakeNoteOn(uint8_t channel, uint8_t note, uint8_t velocity) {
  return ChannelMessage{static_cast<uint8_t>(kNoteOn | (channel & 0x0F)),
                        static_cast<uint8_t>(note & 0x7F), static_cast<uint8_t>(velocity & 0x7F),
                        3};
}

ChannelMessage MakeNoteOff(uint8_t channel, uint8_t note, uint8_t velocity) {
  return ChannelMessage{static_cast<uint8_t>(kNoteOff | (channel & 0x0F)),
                        static_cast<uint8_t>(note & 0x7F), static_cast<uint8_t>(velocity & 0x7F),
                        3};
}

ChannelMessage MakeControlChange(uint8_t channel, uint8_t controller, uint8_t value) {
  return ChannelMessage{static_cast<uint8_t>(kControlChange | (channel & 0x0F)),
                        static_cast<uint8_t>(controller & 0x7F), static_cast<uint8_t>(value & 0x7F),
                        3};
}

ChannelMessage MakeProgramChange(uint8_t channel, uint8_t program) {
  return ChannelMessage{static_cast<uint8_t>(kProgramChange | (channel & 0x0F)),
                        static_cast<uint8_t>(program & 0x7F), 0, 2};
}

ChannelMessage MakePitchBend(uint8_t channel, uint16_t value) {
  value = static_cast<uint16_t>(value & 0x3FFF);
  return ChannelMessage{static_cast<uint8_t>(kPitchBend | (channel & 0x0F)),
                        static_cast<uint8_t>(value & 0x7F), static_cast<uint8_t>(value >> 7), 3};
}

}  // namespace tutti::midi
