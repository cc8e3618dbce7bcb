#include "midi/held_notes.h"

namespace tutti::midi {

namespace {

void SetBit(uint16_t* mask, uint8_t ch, bool on) {
  if (on) {
    *mask |= static_cast<uint16_t>(1u << ch);
  } else {
    *mask &= static_cast<uint16_t>(~(1u << ch));
  }
}

}  // namespace

HeldNotes::HeldNotes(const HeldNotes& other) { *this = other; }

HeldNotes& HeldNotes::operator=(const HeldNotes& other) {
  if (this == &other) return *this;
  if (other.velocity_) {
    velocity_ = std::make_unique<VelocityTable>(*other.velocity_);
  } else {
    velocity_.reset();
  }
  sustain_mask_ = other.sustain_mask_;
  sostenuto_mask_ = other.sostenuto_mask_;
  soft_mask_ = other.soft_mask_;
  program_ = other.program_;
  bend_ = other.bend_;
  mod_ = other.mod_;
  held_count_ = other.held_count_;
  return *this;
}

void HeldNotes::Apply(const ChannelMessage& m) {
  const uint8_t ch = m.channel();
  if (m.IsNoteOn()) {
    if (!velocity_) velocity_ = std::make_unique<VelocityTable>();  // zero-filled
    uint8_t& v = (*velocity_)[ch][m.data1 & 0x7F];
    if (v == 0) ++held_count_;
    v = m.data2;
  } else if (m.IsNoteOff()) {
    Release(ch, m.data1);
  } else if (m.IsControlChange()) {
    switch (m.data1) {
      case kCcSustain:
        SetBit(&sustain_mask_, ch, m.data2 >= 64);
        break;
      case kCcSostenuto:
        SetBit(&sostenuto_mask_, ch, m.data2 >= 64);
        break;
      case kCcSoft:
        SetBit(&soft_mask_, ch, m.data2 >= 64);
        break;
      case kCcModWheel:
        mod_[ch] = static_cast<uint8_t>(m.data2 & 0x7F);
        break;
      case kCcAllSoundOff:
      case kCcAllNotesOff:
        ReleaseChannel(ch);
        break;
      case kCcResetAllControllers:
        ResetControllers(ch);
        break;
      default:
        break;
    }
  } else if (m.kind() == kProgramChange) {
    program_[ch] = static_cast<int8_t>(m.data1 & 0x7F);
  } else if (m.kind() == kPitchBend) {
    bend_[ch] = static_cast<uint16_t>((m.data1 & 0x7F) | ((m.data2 & 0x7F) << 7));
  }
}

void HeldNotes::ResetControllers(uint8_t ch) {
  SetBit(&sustain_mask_, ch, false);
  SetBit(&sostenuto_mask_, ch, false);
  SetBit(&soft_mask_, ch, false);
  bend_[ch] = kPitchBendCenter;
  mod_[ch] = 0;
}

bool HeldNotes::AtRest() const {
  if (!Empty() || soft_mask_ != 0) return false;
  for (uint8_t ch = 0; ch < 16; ++ch) {
    if (bend_[ch] != kPitchBendCenter || mod_[ch] != 0) return false;
  }
  return true;
}

bool HeldNotes::HasState() const {
  if (!AtRest()) return true;
  for (int8_t p : program_) {
    if (p >= 0) return true;
  }
  return false;
}

void HeldNotes::Release(uint8_t channel, uint8_t note) {
  if (!velocity_) return;
  uint8_t& v = (*velocity_)[channel & 0x0F][note & 0x7F];
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
    if ((sostenuto_mask_ >> ch) & 1) out.push_back(MakeControlChange(ch, kCcSostenuto, 0));
    if ((soft_mask_ >> ch) & 1) out.push_back(MakeControlChange(ch, kCcSoft, 0));
    if (mod_[ch] != 0) out.push_back(MakeControlChange(ch, kCcModWheel, 0));
    if (bend_[ch] != kPitchBendCenter) out.push_back(MakePitchBend(ch, kPitchBendCenter));
  }
  const std::array<int8_t, 16> programs = program_;
  Clear();
  program_ = programs;
  return out;
}

void HeldNotes::ForEachHeld(
    const std::function<void(uint8_t channel, uint8_t note, uint8_t velocity)>& fn) const {
  if (held_count_ == 0) return;
  for (uint8_t ch = 0; ch < 16; ++ch) {
    for (uint8_t n = 0; n < 128; ++n) {
      const uint8_t v = (*velocity_)[ch][n];
      if (v != 0) fn(ch, n, v);
    }
  }
}

void HeldNotes::Clear() {
  if (velocity_) {
    for (auto& row : *velocity_) row.fill(0);
  }
  sustain_mask_ = 0;
  sostenuto_mask_ = 0;
  soft_mask_ = 0;
  program_ = MakePrograms();
  bend_ = MakeBends();
  mod_.fill(0);
  held_count_ = 0;
}

}  // namespace tutti::midi
