// The terminal UI (ncurses). Layout, top to bottom:
//   status bar   who you are, the room, the connection (a clear "reconnecting" line)
//   chat | side  the chat (PageUp/PageDown scroll) and, at the right, the players with their
//                playout delay and late share, or the room list (Tab switches)
//   MIDI line    the keyboard and its state; sound line: synth/driver/soundfont or MIDI out;
//   tempo line   the room's tempo, where the beat is, and whether the metronome clicks
//   input        what you type; Enter sends (chat, or a /command)
#include <curses.h>

#include <algorithm>
#include <clocale>
#include <cstdio>

#include "tools/play/ui.h"

namespace tutti::play {
namespace {

constexpr int kSideWidth = 30;

// Splits `text` into pieces of at most `width` bytes, at spaces where it can.
std::vector<std::string> Wrap(const std::string& text, int width) {
  std::vector<std::string> out;
  if (width <= 0) return out;
  std::string rest = text;
  while (static_cast<int>(rest.size()) > width) {
    size_t cut = rest.rfind(' ', static_cast<size_t>(width));
    if (cut == std::string::npos || cut == 0) cut = static_cast<size_t>(width);
    // Never split a UTF-8 sequence: back up to a lead byte.
    while (cut > 0 && (static_cast<unsigned char>(rest[cut]) & 0xC0) == 0x80) --cut;
    if (cut == 0) cut = static_cast<size_t>(width);
    out.push_back(rest.substr(0, cut));
    rest = rest.substr(rest[cut] == ' ' ? cut + 1 : cut);
  }
  out.push_back(rest);
  return out;
}

void Put(int y, int x, const std::string& s, int width) {
  if (width <= 0 || y < 0 || y >= LINES) return;
  mvaddnstr(y, x, s.c_str(), std::min<int>(width, static_cast<int>(s.size())));
}

class CursesUi : public Ui {
 public:
  CursesUi() {
    std::setlocale(LC_ALL, "");
    initscr();
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    if (has_colors()) {
      start_color();
      use_default_colors();
      init_pair(1, COLOR_CYAN, -1);    // notices
      init_pair(2, COLOR_RED, -1);     // errors
      init_pair(3, COLOR_YELLOW, -1);  // reconnecting
    }
  }
  ~CursesUi() override { endwin(); }

  void Update(const RoomView& view) override {
    ReadKeys();
    if (view.version() == drawn_version_ && !dirty_) return;
    drawn_version_ = view.version();
    dirty_ = false;
    Draw(view);
  }

  std::vector<std::string> TakeLines() override {
    ReadKeys();
    std::vector<std::string> out;
    out.swap(lines_);
    return out;
  }

  int64_t poll_interval_us() const override { return 30000; }

 private:
  void ReadKeys() {
    for (int ch = getch(); ch != ERR; ch = getch()) {
      dirty_ = true;
      if (ch == '\r' || ch == '\n' || ch == KEY_ENTER) {
        if (!input_.empty()) lines_.push_back(input_);
        input_.clear();
        scroll_ = 0;
      } else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
        // Remove one UTF-8 character.
        while (!input_.empty() && (static_cast<unsigned char>(input_.back()) & 0xC0) == 0x80) {
          input_.pop_back();
        }
        if (!input_.empty()) input_.pop_back();
      } else if (ch == '\t') {
        show_rooms_ = !show_rooms_;
        if (show_rooms_) lines_.push_back("/rooms");
      } else if (ch == KEY_PPAGE) {
        scroll_ += std::max(1, LINES - 6);
      } else if (ch == KEY_NPAGE) {
        scroll_ = std::max(0, scroll_ - std::max(1, LINES - 6));
      } else if (ch == 21) {  // Ctrl-U
        input_.clear();
      } else if (ch >= 0x20 && ch < 0x100 && ch != 0x7F && input_.size() < 2000) {
        input_.push_back(static_cast<char>(ch));
      }
    }
  }

  void Draw(const RoomView& v) {
    erase();
    const int w = COLS;
    const int h = LINES;
    if (h < 8 || w < 40) {
      Put(0, 0, "tutti-play: make the terminal larger (40x8 at least)", w);
      refresh();
      return;
    }
    // Status bar.
    const bool trouble = v.connection().rfind("connected", 0) != 0;
    std::string bar = " Tutti  " + (v.me().empty() ? std::string("-") : v.me()) + "  room: " +
                      (v.room().empty() ? std::string("(none, /join NAME)") : v.room()) + "  " +
                      v.connection();
    attron(A_REVERSE);
    if (trouble && has_colors()) attron(COLOR_PAIR(3));
    Put(0, 0,
        bar + std::string(static_cast<size_t>(std::max(0, w - static_cast<int>(bar.size()))), ' '),
        w);
    if (trouble && has_colors()) attroff(COLOR_PAIR(3));
    attroff(A_REVERSE);

    const int chat_top = 1;
    const int chat_bottom = h - 5;  // exclusive: the MIDI, sound, tempo and input lines follow
    const int side_x = w - kSideWidth;
    const int chat_w = side_x - 1;
    // Chat, newest at the bottom.
    std::vector<std::pair<std::string, int>> rows;  // text, colour pair
    for (const auto& l : v.chat()) {
      std::string text;
      int colour = 0;
      switch (l.kind) {
        case ChatLine::Kind::kChat:
          text = l.who + ": " + l.text;
          break;
        case ChatLine::Kind::kHistory:
          text = l.who + ": " + l.text;
          colour = 1;
          break;
        case ChatLine::Kind::kNotice:
          text = "* " + l.text;
          colour = 1;
          break;
        case ChatLine::Kind::kError:
          text = "! " + l.text;
          colour = 2;
          break;
      }
      for (auto& piece : Wrap(text, chat_w)) rows.emplace_back(std::move(piece), colour);
    }
    const int visible = chat_bottom - chat_top;
    const int max_scroll = std::max(0, static_cast<int>(rows.size()) - visible);
    scroll_ = std::min(scroll_, max_scroll);
    const int end = static_cast<int>(rows.size()) - scroll_;
    const int begin = std::max(0, end - visible);
    for (int i = begin; i < end; ++i) {
      const auto& [text, colour] = rows[static_cast<size_t>(i)];
      if (colour != 0 && has_colors()) attron(COLOR_PAIR(colour));
      Put(chat_top + (i - begin), 0, text, chat_w);
      if (colour != 0 && has_colors()) attroff(COLOR_PAIR(colour));
    }
    // Side panel.
    for (int y = chat_top; y < chat_bottom; ++y) mvaddch(y, side_x - 1, '|');
    int y = chat_top;
    if (!show_rooms_) {
      attron(A_BOLD);
      Put(y++, side_x, "players       delay late link", kSideWidth);
      attroff(A_BOLD);
      for (const auto& [sid, p] : v.players()) {
        if (y >= chat_bottom) break;
        char figures[48] = "";
        // The grade is the server's (room staff see everyone's); ours is our round trip.
        const std::string grade = GradeName(p.quality.grade());
        if (p.you) {
          if (p.own_rtt_us >= 0) {
            std::snprintf(figures, sizeof figures, " you rtt %.*fms", p.own_rtt_us < 10000 ? 1 : 0,
                          static_cast<double>(p.own_rtt_us) / 1000.0);
          } else {
            std::snprintf(figures, sizeof figures, " you");
          }
        } else {
          const double late = p.note_ons == 0 ? 0.0 : 100.0 * p.late_note_ons / p.note_ons;
          std::snprintf(figures, sizeof figures, " %3lldms %3.0f%% %s",
                        static_cast<long long>(p.delay_us / 1000), late, grade.c_str());
        }
        std::string name = p.name.substr(0, 14);
        name += std::string(14 - std::min<size_t>(14, name.size()), ' ');
        Put(y++, side_x, name + figures, kSideWidth);
      }
    } else {
      attron(A_BOLD);
      Put(y++, side_x, "rooms (Tab: players)", kSideWidth);
      attroff(A_BOLD);
      for (const auto& r : v.rooms()) {
        if (y >= chat_bottom) break;
        Put(y++, side_x,
            r.name.substr(0, 18) + " " + std::to_string(r.users) + "/" +
                std::to_string(r.max_users) + (r.password ? " *" : ""),
            kSideWidth);
      }
    }
    // Device, sound, input.
    mvhline(h - 5, 0, '-', w);
    Put(h - 4, 0, "MIDI:  " + v.device(), w);
    Put(h - 3, 0, "sound: " + v.sound(), w);
    Put(h - 2, 0,
        "tempo: " + (v.tempo().empty() ? std::string("(join a room)")
                                       : v.tempo() + (v.beat().empty() ? "" : "  " + v.beat())),
        w);
    const std::string prompt = "> ";
    const int room_for = w - static_cast<int>(prompt.size()) - 1;
    const std::string shown = static_cast<int>(input_.size()) > room_for
                                  ? input_.substr(input_.size() - static_cast<size_t>(room_for))
                                  : input_;
    Put(h - 1, 0, prompt + shown, w);
    move(h - 1, static_cast<int>(prompt.size() + shown.size()));
    refresh();
  }

  std::string input_;
  std::vector<std::string> lines_;
  uint64_t drawn_version_ = ~0ULL;
  bool dirty_ = true;
  bool show_rooms_ = false;
  int scroll_ = 0;
};

}  // namespace

std::unique_ptr<Ui> MakeCursesUi() { return std::make_unique<CursesUi>(); }

}  // namespace tutti::play
