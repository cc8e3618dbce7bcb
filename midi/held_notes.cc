#include "midi/held_notes.h"

namespace tutti::midi {

void HeldNotes::Apply(const ChannelMessage& m) {
  const uint8_t ch = m.channel();
  if (m.IsNoteOn()) {
    uint8_t& v = velocity_[ch][m.data1 & 0x7F];
    if (v == 0) ++held_count_;
    v = m.data2;
  } else if (m.IsNoteOff()) {
    Release(ch, m.data1);
  } else if (m.IsControlChange()) {
    switch (m.data1) {
      case kCcSustain:
        if (m.data2 >= 64) {
          sustain_mask_ |= static_cast<uint16_t>(1u << ch);
        } else {
          sustain_mask_ &= static_cast<uint16_t>(~(1u << ch));
        }
        break;
      case kCcAllSoundOff:
      case kCcAllNotesOff:
        ReleaseChannel(ch);
        break;
      case kCcResetAllControllers:
        sustain_mask_ &= static_cast<uint16_t>(~(1u << ch));
        break;
      default:
        break;
    }
  }
}

void HeldNotes::Release(uint8_t channel, uint8_t note) {
  uint8_t& v = velocity_[channel & 0x0F][note & 0x7F];
  if (v != 0) {
    v = 0;
    --held_count_;
  }
}

void HeldNotes::ReleaseChannel(uint8_t channel) {
  if (held_count_ == 0) return;
  for (int n = 0; n < 128; ++n) Release(channel, static_cast<uint8_t>(n));
}

std::vector<ChannelMessage> HeldNotes::ReleaseAll() {
  std::vector<ChannelMessage> out;
  out.reserve(held_count_ + 16);
  ForEachHeld([&out](uint8_t ch, uint8_t note, uint8_t) { out.push_back(MakeNoteOff(ch, note)); });
  for (uint8_t ch = 0; ch < 16; ++ch) {
    if (SustainDown(ch)) out.push_back(MakeControlChange(ch, kCcSustain, 0));
  }
  Clear();
  return out;
}

void HeldNotes::ForEachHeld(
    const std::function<void(uint8_t channel, uint8_t note, uint8_t velocity)>& fn) const {
  if (held_count_ == 0) return;
  for (uint8_t ch = 0; ch < 16; ++ch) {
    for (uint8_t n = 0; n < 128; ++n) {
      if (velocity_[ch][n] != 0) fn(ch, n, velocity_[ch][n]);
    }
  }
}

void HeldNotes::Clear() {
  for (auto& row : velocity_) row.fill(0);
  sustain_mask_ = 0;
  held_count_ = 0;
}

}  // namespace tutti::midi
