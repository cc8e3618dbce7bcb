#include "tools/play/commands.h"

#include <cctype>

namespace tutti::play {
namespace {

std::string Trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  const size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

// "NAME N" with N in 0..127; NAME may hold spaces (the number is the last word).
bool PlayerAndValue(const std::string& rest, std::string* name, int* value) {
  const size_t space = rest.find_last_of(' ');
  if (space == std::string::npos) return false;
  const std::string number = rest.substr(space + 1);
  if (number.empty() || number.size() > 3) return false;
  for (char c : number) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  *value = std::stoi(number);
  *name = Trim(rest.substr(0, space));
  return *value <= 127 && !name->empty();
}

Command Invalid(const std::string& usage) { return {Command::Kind::kInvalid, usage, "", 0}; }

}  // namespace

const std::vector<std::string>& HelpLines() {
  static const std::vector<std::string> lines = {
      "text              chat to the room",
      "/rooms            list the rooms (Tab switches the side panel in the terminal UI)",
      "/join NAME        join (or create) room NAME",
      "/lobby            join the next lobby with room",
      "/devices          list MIDI inputs and outputs, numbered",
      "/device N|NAME    play from input N or the one named NAME (none: no keyboard)",
      "/output N|NAME    play the room to MIDI output N or NAME; /output synth: built-in synth",
      "/program WHO N    instrument 0..127 (General MIDI) for player WHO (me: yourself)",
      "/volume WHO N     volume 0..127 for player WHO (me: yourself)",
      "/record           record what the room plays; /record again saves a .mid file",
      "/metronome [on|off]  click the room's tempo on the drum channel (/tempo sets it)",
      "/quit             leave (all notes are released)",
      "/kick, /ban, ...  other slash commands go to the server (docs/MODERATION.md)",
  };
  return lines;
}

Command ParseCommand(const std::string& raw) {
  const std::string line = Trim(raw);
  if (line.empty()) return {};
  if (line[0] != '/') return {Command::Kind::kChat, line, "", 0};
  const size_t space = line.find(' ');
  const std::string name =
      line.substr(1, space == std::string::npos ? std::string::npos : space - 1);
  const std::string rest = space == std::string::npos ? "" : Trim(line.substr(space + 1));
  Command c;
  if (name == "help" || name == "?") {
    c.kind = Command::Kind::kHelp;
  } else if (name == "rooms") {
    c.kind = Command::Kind::kRooms;
  } else if (name == "join") {
    if (rest.empty()) return Invalid("usage: /join NAME");
    c.kind = Command::Kind::kJoin;
    c.arg = rest;
  } else if (name == "lobby") {
    c.kind = Command::Kind::kLobby;
  } else if (name == "devices") {
    c.kind = Command::Kind::kDevices;
  } else if (name == "device") {
    if (rest.empty()) return Invalid("usage: /device N|NAME|none (see /devices)");
    c.kind = Command::Kind::kDevice;
    c.arg = rest;
  } else if (name == "output") {
    if (rest.empty()) return Invalid("usage: /output N|NAME|synth (see /devices)");
    c.kind = Command::Kind::kOutput;
    c.arg = rest;
  } else if (name == "program" || name == "instrument") {
    if (!PlayerAndValue(rest, &c.arg, &c.value)) return Invalid("usage: /program WHO 0..127");
    c.kind = Command::Kind::kProgram;
  } else if (name == "volume") {
    if (!PlayerAndValue(rest, &c.arg, &c.value)) return Invalid("usage: /volume WHO 0..127");
    c.kind = Command::Kind::kVolume;
  } else if (name == "record") {
    c.kind = Command::Kind::kRecord;
  } else if (name == "metronome" || name == "click") {
    if (!rest.empty() && rest != "on" && rest != "off")
      return Invalid("usage: /metronome [on|off]");
    c.kind = Command::Kind::kMetronome;
    c.arg = rest;
  } else if (name == "quit" || name == "exit") {
    c.kind = Command::Kind::kQuit;
  } else {
    c.kind = Command::Kind::kChat;  // the server's own slash commands
    c.text = line;
  }
  return c;
}

}  // namespace tutti::play
