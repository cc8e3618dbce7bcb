// Settings: what tutti-play remembers between runs (the chosen MIDI input and output, name,
// server, soundfont), as "key=value" lines in <config dir>/play.conf.
//
// Owns: the values read or to be written. Thread affinity: the owner's thread.
// Who owns it: tutti-play's main.
#ifndef TUTTI_TOOLS_PLAY_SETTINGS_H_
#define TUTTI_TOOLS_PLAY_SETTINGS_H_

#include <map>
#include <string>

namespace tutti::play {

class Settings {
 public:
  // `dir` empty: nothing is read or written.
  explicit Settings(std::string dir);
  std::string Get(const std::string& key) const;
  // Sets and writes the file at once (a crash later keeps the choice). Values are one line.
  void Set(const std::string& key, const std::string& value);
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
  std::map<std::string, std::string> values_;
};

}  // namespace tutti::play

#endif  // TUTTI_TOOLS_PLAY_SETTINGS_H_
