// PlayerChoices: the instrument and volume this player chose for the others (/program WHO N,
// /volume WHO N), kept by the other player's name, so that they survive what gives that player
// a new server session: their reconnect or resume under a new session id, our own reconnect
// to a restarted server, a leave and rejoin. Sound keeps settings by session; this puts the
// remembered ones back on a session seen for the first time.
//
// Owns: the choices by (case-folded) name and the sessions they were applied to.
// Thread affinity: tutti-play's main loop; not synchronized. Who owns it: App; its tests.
#ifndef TUTTI_TOOLS_PLAY_PLAYER_CHOICES_H_
#define TUTTI_TOOLS_PLAY_PLAYER_CHOICES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "tools/play/room_view.h"
#include "tools/play/sound.h"

namespace tutti::play {

class PlayerChoices {
 public:
  // A choice for the player `name`, applied now to `session` (and remembered).
  void SetProgram(const std::string& name, uint64_t session, uint8_t program, Sound* sound);
  void SetVolume(const std::string& name, uint64_t session, uint8_t volume, Sound* sound);
  // Puts the remembered choices on the room's sessions not seen before (the others only; a
  // player's own program changes later override the choice, as on first hearing).
  void Apply(const RoomView& view, Sound* sound);
  size_t remembered() const { return by_name_.size(); }

 private:
  struct Chosen {
    std::optional<uint8_t> program;
    std::optional<uint8_t> volume;
  };
  std::map<std::string, Chosen> by_name_;
  std::set<uint64_t> seen_;  // sessions already given their choices
};

}  // namespace tutti::play

#endif  // TUTTI_TOOLS_PLAY_PLAYER_CHOICES_H_
