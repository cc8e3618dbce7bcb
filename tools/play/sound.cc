#include "tools/play/sound.h"

#include <algorithm>

namespace tutti::play {
namespace {

constexpr uint8_t kDrums = 9;
// Remote players' channels in the order handed out (index 0 is the local player's).
constexpr uint8_t kRemote[] = {1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15};

}  // namespace

uint8_t Sound::Assign(uint64_t player) {
  if (auto it = channels_.find(player); it != channels_.end()) return it->second;
  uint8_t ch = kRemote[sizeof kRemote - 1];
  if (player == kLocal) {
    ch = 0;
  } else {
    for (uint8_t c : kRemote) {
      bool taken = false;
      for (const auto& [p, used] : channels_) taken = taken || used == c;
      if (!taken) {
        ch = c;
        break;
      }
    }
  }
  channels_[player] = ch;
  // A fresh channel starts from the player's chosen sound.
  const Settings s = SettingsOf(player);
  Send(static_cast<uint8_t>(0xC0 | ch), s.program, 0, 2);
  Send(static_cast<uint8_t>(0xB0 | ch), 7, s.volume);
  return ch;
}

void Sound::Send(uint8_t status, uint8_t a, uint8_t b, uint8_t size) {
  if (sink_) sink_(midi::ChannelMessage{status, a, b, size});
}

void Sound::Play(uint64_t player, const midi::ChannelMessage& m) {
  const midi::ChannelMessage out = Map(player, m);
  if (sink_) sink_(out);
}

void Sound::PlayAt(uint64_t player, const midi::ChannelMessage& m, int64_t at_us) {
  const midi::ChannelMessage out = Map(player, m);
  if (timed_sink_) {
    timed_sink_(out, at_us);
  } else if (sink_) {
    sink_(out);
  }
}

midi::ChannelMessage Sound::Map(uint64_t player, const midi::ChannelMessage& m) {
  midi::ChannelMessage out = m;
  if (m.channel() != kDrums) {
    out.status = static_cast<uint8_t>(m.kind() | Assign(player));
    // The player's own program change becomes their instrument (until /program changes it).
    if (m.kind() == 0xC0) {
      settings_[player].program = m.data1;
      if (on_program_) on_program_(player, m.data1);
    }
    if (m.kind() == 0xB0 && m.data1 == 7) {
      // Their volume pedal is scaled by the volume chosen here.
      out.data2 = static_cast<uint8_t>(m.data2 * SettingsOf(player).volume / 127);
    }
  }
  return out;
}

void Sound::SetProgram(uint64_t player, uint8_t program) {
  settings_[player].program = program & 0x7F;
  if (auto ch = ChannelOf(player)) Send(static_cast<uint8_t>(0xC0 | *ch), program & 0x7F, 0, 2);
}

void Sound::SetVolume(uint64_t player, uint8_t volume) {
  settings_[player].volume = volume & 0x7F;
  if (auto ch = ChannelOf(player)) Send(static_cast<uint8_t>(0xB0 | *ch), 7, volume & 0x7F);
}

void Sound::Forget(uint64_t player) {
  settings_.erase(player);
  auto it = channels_.find(player);
  if (it == channels_.end()) return;
  const uint8_t ch = it->second;
  channels_.erase(it);
  bool shared = false;
  for (const auto& [p, c] : channels_) shared = shared || c == ch;
  if (shared) return;  // the sixteenth player's channel: the others on it still sound
  Send(static_cast<uint8_t>(0xB0 | ch), 64, 0);   // pedal up
  Send(static_cast<uint8_t>(0xB0 | ch), 123, 0);  // all notes off
}

void Sound::ReleaseAll() {
  for (uint8_t ch = 0; ch < 16; ++ch) {
    Send(static_cast<uint8_t>(0xB0 | ch), 64, 0);
    Send(static_cast<uint8_t>(0xB0 | ch), 123, 0);
  }
}

std::optional<uint8_t> Sound::ChannelOf(uint64_t player) const {
  auto it = channels_.find(player);
  if (it == channels_.end()) return std::nullopt;
  return it->second;
}

std::vector<uint64_t> Sound::Players() const {
  std::vector<uint64_t> out;
  for (const auto& [player, ch] : channels_) out.push_back(player);
  for (const auto& [player, settings] : settings_) {
    if (channels_.count(player) == 0) out.push_back(player);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Sound::Settings Sound::SettingsOf(uint64_t player) const {
  auto it = settings_.find(player);
  return it == settings_.end() ? Settings{} : it->second;
}

}  // namespace tutti::play
