// Ui: the two faces of tutti-play. The terminal UI (curses) is the default on a terminal: a
// status bar, the chat, a side panel with the players (and their delay and late share) or the
// room list, the device and sound lines and an input line. The line UI prints what happens as
// plain lines and reads commands line by line: for pipes, scripts, screen readers and tests.
//
// Owns: the terminal (curses mode, from creation to destruction) or the stdin reader.
// Thread affinity: the owner's thread (tutti-play's main loop), except that the line UI's
// reader thread calls `wake`. Who owns it: tutti-play's main.
#ifndef TUTTI_TOOLS_PLAY_UI_H_
#define TUTTI_TOOLS_PLAY_UI_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tools/play/room_view.h"

namespace tutti::play {

class Ui {
 public:
  virtual ~Ui() = default;
  // Shows what changed in `view`.
  virtual void Update(const RoomView& view) = 0;
  // Lines the person entered since the last call.
  virtual std::vector<std::string> TakeLines() = 0;
  // How long the owner may sleep before calling TakeLines again: the curses UI polls the
  // keyboard; the line UI wakes the owner itself (a large value).
  virtual int64_t poll_interval_us() const = 0;
};

// Fails (nullptr) when the terminal cannot be put in curses mode.
std::unique_ptr<Ui> MakeCursesUi();
std::unique_ptr<Ui> MakeLineUi(std::function<void()> wake);

}  // namespace tutti::play

#endif  // TUTTI_TOOLS_PLAY_UI_H_
