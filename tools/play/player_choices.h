// PlayerChoices: the instrument and volume this player chose for the others (/program WHO N,
// /volume WHO N), kept by the other player's name, so that they survive what gives that player
// a new server session: their reconnect or resume under a new session id, our own reconnect
// to a restarted server, a leave and rejoin. Sound keeps settings by session; this puts the
// remembered ones back on a session seen for the first time. The instrument kept is the one
// the player had last: our /program, or their own program change if it came later (heard
// through Sound::set_on_program), so neither a resume nor our reconnect puts back an
// instrument they have since changed, nor loses the one they picked (they do not send it
// again). At most kMaxRemembered names are kept; the one changed longest ago goes first.
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
  // Enough for every player of a busy evening; a bound so a long-running client's memory
  // does not grow with everyone it ever heard.
  static constexpr size_t kMaxRemembered = 256;

  // A choice for the player `name`, applied now to `session` (and remembered).
  void SetProgram(const std::string& name, uint64_t session, uint8_t program, Sound* sound);
  void SetVolume(const std::string& name, uint64_t session, uint8_t volume, Sound* sound);
  // Puts the remembered choices on the room's sessions not seen before (the others only).
  void Apply(const RoomView& view, Sound* sound);
  // `session` (a player in the room) sent a program change of its own: it replaces what
  // is kept for them and goes onto their next sessions.
  void HeardOwnProgram(uint64_t session, uint8_t program);
  size_t remembered() const { return by_name_.size(); }

 private:
  struct Chosen {
    std::optional<uint8_t> program;
    std::optional<uint8_t> volume;
    uint64_t chosen_at = 0;  // order of the last change, for the bound
  };
  Chosen& Choose(const std::string& name, uint64_t session);

  std::map<std::string, Chosen> by_name_;
  std::map<uint64_t, std::string> seen_;  // sessions in the room seen -> folded name
  uint64_t choices_made_ = 0;
};

}  // namespace tutti::play

#endif  // TUTTI_TOOLS_PLAY_PLAYER_CHOICES_H_
