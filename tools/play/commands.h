// Commands: what a line typed into tutti-play means. Plain text is chat; "/name args" is one of
// the client's own commands (help, rooms, join, lobby, devices, device, output, program,
// volume, record, metronome, quit); any other "/..." line goes to the server as chat, which runs
// the room's moderation commands (docs/MODERATION.md).
//
// Owns: nothing (a pure parser). Thread affinity: any thread. Who owns it: tutti-play's main
// loop; its tests.
#ifndef TUTTI_TOOLS_PLAY_COMMANDS_H_
#define TUTTI_TOOLS_PLAY_COMMANDS_H_

#include <string>
#include <vector>

namespace tutti::play {

struct Command {
  enum class Kind {
    kNothing,  // an empty line
    kChat,     // text: send as room chat (also unknown slash commands, for the server)
    kHelp,
    kRooms,      // refresh the room list
    kJoin,       // arg: room name
    kLobby,      // the next lobby with room
    kDevices,    // list MIDI inputs and outputs
    kDevice,     // arg: input number or name ("none" to close)
    kOutput,     // arg: output number or name, or "synth" for the built-in synth
    kProgram,    // arg: player name ("me" for yourself), value: 0..127
    kVolume,     // the same for volume
    kRecord,     // start recording, or stop and save (a Standard MIDI File)
    kMetronome,  // arg: "on", "off" or "" (toggle): click the room's tempo
    kQuit,
    kInvalid,  // text: what is wrong (usage)
  };
  Kind kind = Kind::kNothing;
  std::string text;
  std::string arg;
  int value = 0;
};

Command ParseCommand(const std::string& line);
// One line per command, for /help.
const std::vector<std::string>& HelpLines();

}  // namespace tutti::play

#endif  // TUTTI_TOOLS_PLAY_COMMANDS_H_
