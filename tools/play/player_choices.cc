#include "tools/play/player_choices.h"

#include <cctype>

namespace tutti::play {
namespace {

std::string Fold(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

void PlayerChoices::SetProgram(const std::string& name, uint64_t session, uint8_t program,
                               Sound* sound) {
  by_name_[Fold(name)].program = program;
  seen_.insert(session);
  sound->SetProgram(session, program);
}

void PlayerChoices::SetVolume(const std::string& name, uint64_t session, uint8_t volume,
                              Sound* sound) {
  by_name_[Fold(name)].volume = volume;
  seen_.insert(session);
  sound->SetVolume(session, volume);
}

void PlayerChoices::Apply(const RoomView& view, Sound* sound) {
  // Sessions that are gone are forgotten, so the set stays as small as the room.
  for (auto it = seen_.begin(); it != seen_.end();) {
    it = view.players().count(*it) != 0 ? std::next(it) : seen_.erase(it);
  }
  for (const auto& [session, p] : view.players()) {
    if (p.you || !seen_.insert(session).second) continue;
    auto it = by_name_.find(Fold(p.name));
    if (it == by_name_.end()) continue;
    if (it->second.program) sound->SetProgram(session, *it->second.program);
    if (it->second.volume) sound->SetVolume(session, *it->second.volume);
  }
}

}  // namespace tutti::play
