// The line UI: every new chat line, each change of the room's players and each status change
// is printed once, as a line; typed lines come from a reader thread.
#include <algorithm>
#include <cstdio>
#include <deque>
#include <mutex>

#include "tools/play/platform.h"
#include "tools/play/ui.h"

namespace tutti::play {
namespace {

class LineUi : public Ui {
 public:
  explicit LineUi(std::function<void()> wake)
      : reader_([this, wake = std::move(wake)](std::string line) {
          {
            std::lock_guard<std::mutex> lock(mu_);
            if (lines_.size() < 1000) lines_.push_back(std::move(line));
          }
          if (wake) wake();
        }) {}

  void Update(const RoomView& view) override {
    if (view.version() == shown_version_) return;
    shown_version_ = view.version();
    const uint64_t total = view.chat_total();
    const uint64_t first = total - view.chat().size();
    for (uint64_t i = std::max(printed_, first); i < total; ++i) {
      const ChatLine& l = view.chat()[i - first];
      switch (l.kind) {
        case ChatLine::Kind::kChat:
          std::printf("%s: %s\n", l.who.c_str(), l.text.c_str());
          break;
        case ChatLine::Kind::kHistory:
          std::printf("[history] %s: %s\n", l.who.c_str(), l.text.c_str());
          break;
        case ChatLine::Kind::kNotice:
          std::printf("* %s\n", l.text.c_str());
          break;
        case ChatLine::Kind::kError:
          std::printf("! %s\n", l.text.c_str());
          break;
      }
    }
    printed_ = total;
    std::string players;
    for (const auto& [sid, p] : view.players()) {
      const std::string grade = GradeName(p.quality.grade());
      players += (players.empty() ? "" : ", ") + p.name + (p.you ? " (you)" : "") +
                 (grade.empty() ? "" : " [" + grade + "]");
    }
    const std::string who = view.room().empty() ? "" : "players in " + view.room() + ": " + players;
    PrintIfChanged(&players_, who, "* ");
    PrintIfChanged(&connection_, view.connection(), "connection: ");
    PrintIfChanged(&device_, view.device(), "MIDI: ");
    PrintIfChanged(&sound_, view.sound(), "sound: ");
    PrintIfChanged(&tempo_, view.tempo(), "tempo: ");
    std::string rooms;
    for (const auto& r : view.rooms()) {
      rooms += "\n  " + r.name + " (" + std::to_string(r.users) + "/" +
               std::to_string(r.max_users) + ")" + (r.password ? " [password]" : "");
    }
    PrintIfChanged(&rooms_, rooms.empty() ? "" : "rooms:" + rooms, "");
    std::fflush(stdout);
  }

  std::vector<std::string> TakeLines() override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out(lines_.begin(), lines_.end());
    lines_.clear();
    return out;
  }

  int64_t poll_interval_us() const override { return 3600LL * 1000000; }

 private:
  static void PrintIfChanged(std::string* shown, const std::string& now, const char* prefix) {
    if (*shown == now) return;
    *shown = now;
    if (!now.empty()) std::printf("%s%s\n", prefix, now.c_str());
  }

  std::mutex mu_;
  std::deque<std::string> lines_;
  uint64_t shown_version_ = ~0ULL;
  uint64_t printed_ = 0;
  std::string players_, connection_, device_, sound_, tempo_, rooms_;
  StdinLines reader_;  // last: its thread stops before the rest goes
};

}  // namespace

std::unique_ptr<Ui> MakeLineUi(std::function<void()> wake) {
  return std::make_unique<LineUi>(std::move(wake));
}

}  // namespace tutti::play
