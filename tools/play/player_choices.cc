#include "tools/play/player_choices.h"

#include <cctype>

namespace tutti::play {
namespace {

std::string Fold(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

PlayerChoices::Chosen& PlayerChoices::Choose(const std::string& name, uint64_t session) {
  const std::string key = Fold(name);
  seen_[session] = key;
  Chosen& c = by_name_[key];
  c.chosen_at = ++choices_made_;
  if (by_name_.size() > kMaxRemembered) {
    auto oldest = by_name_.begin();
    for (auto it = by_name_.begin(); it != by_name_.end(); ++it) {
      if (it->second.chosen_at < oldest->second.chosen_at) oldest = it;
    }
    by_name_.erase(oldest);  // never `c`: it was chosen last
  }
  return c;
}

void PlayerChoices::SetProgram(const std::string& name, uint64_t session, uint8_t program,
                               Sound* sound) {
  Choose(name, session).program = program;
  sound->SetProgram(session, program);
}

void PlayerChoices::SetVolume(const std::string& name, uint64_t session, uint8_t volume,
                              Sound* sound) {
  Choose(name, session).volume = volume;
  sound->SetVolume(session, volume);
}

void PlayerChoices::HeardOwnProgram(uint64_t session, uint8_t program) {
  auto seen = seen_.find(session);
  if (seen == seen_.end()) return;  // not in the room as we know it: nobody to name
  const std::string name = seen->second;
  Choose(name, session).program = program;
}

void PlayerChoices::Apply(const RoomView& view, Sound* sound) {
  // Sessions that are gone are forgotten, so the map stays as small as the room.
  for (auto it = seen_.begin(); it != seen_.end();) {
    it = view.players().count(it->first) != 0 ? std::next(it) : seen_.erase(it);
  }
  for (const auto& [session, p] : view.players()) {
    if (p.you) continue;
    const std::string key = Fold(p.name);
    if (!seen_.emplace(session, key).second) continue;
    auto it = by_name_.find(key);
    if (it == by_name_.end()) continue;
    if (it->second.program) sound->SetProgram(session, *it->second.program);
    if (it->second.volume) sound->SetVolume(session, *it->second.volume);
  }
}

}  // namespace tutti::play
