// tutti-play's terminal UI driven the way a person uses it, in tmux (send-keys to type,
// capture-pane to read the screen): two players join a room, chat and see each other, one
// moves to another room, the server restarts under them (the reconnecting line shows, then the
// room is rejoined), and /quit leaves. tmux runs on a private socket; the test ends only that
// tmux server. No MIDI hardware or audio device is needed (--midi_api none, --audio_driver none).
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "tests/play/play_process.h"
#include "tools/timing_harness/server_process.h"

namespace tutti::play {
namespace {

using testing::WaitFor;

// The loudest 50 ms window (RMS, 0..1) of s16le stereo audio at 48 kHz, from byte `from` on.
double LoudestWindow(const std::string& raw, size_t from) {
  const size_t window = 48000 / 20 * 4;
  double best = 0;
  for (size_t at = from; at + window <= raw.size(); at += window) {
    double sum = 0;
    for (size_t i = at; i < at + window; i += 2) {
      const int16_t v = static_cast<int16_t>(static_cast<uint8_t>(raw[i]) |
                                             (static_cast<uint8_t>(raw[i + 1]) << 8));
      sum += (v / 32768.0) * (v / 32768.0);
    }
    best = std::max(best, std::sqrt(sum / static_cast<double>(window / 2)));
  }
  return best;
}

// Runs a command and returns what it printed (stdout), bounded by what tmux prints.
std::string RunCommand(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  pclose(p);
  return out;
}

class TuiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(std::system("command -v tmux >/dev/null 2>&1"), 0)
        << "tmux is missing (tools/setup.sh installs it)";
    char templ[] = "/tmp/tutti-play-tui-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
    socket_ = "tutti-play-test-" + std::to_string(getpid());
    ASSERT_TRUE(server_.Start(TUTTI_SERVER_BINARY, dir_, 1).ok()) << server_.output();
  }
  void TearDown() override {
    Tmux("kill-server");  // our private tmux server and the players in it
    server_.Stop();
    std::error_code ec;
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_, ec);
  }

  std::string Tmux(const std::string& args) {
    return RunCommand("tmux -L " + socket_ + " -f /dev/null " + args + " 2>&1");
  }

  void StartPlayer(const std::string& name, const std::string& audio = "--audio_driver=none") {
    const std::string cmd = std::string(TUTTI_PLAY_BINARY) +
                            " --server=127.0.0.1:" + std::to_string(server_.port()) +
                            " --name=" + name + " --room=Jam --ui=tui --midi_api=none " + audio +
                            " --config_dir=" + dir_ + "/" + name + " --record_dir=" + dir_ +
                            "; echo tutti-play-exited=$?; sleep 600";
    Tmux("new-session -d -s " + name + " -x 100 -y 30 -e TERM=xterm-256color '" + cmd + "'");
  }

  std::string Screen(const std::string& name) { return Tmux("capture-pane -p -t " + name); }

  bool WaitScreen(const std::string& name, const std::string& text) {
    return WaitFor([&] { return Screen(name).find(text) != std::string::npos; });
  }

  void Type(const std::string& name, const std::string& text) {
    // -l: literal keys (no key-name lookup); Enter separately.
    Tmux("send-keys -t " + name + " -l '" + text + "'");
    Tmux("send-keys -t " + name + " Enter");
  }

  harness::ServerProcess server_;
  std::string dir_;
  std::string socket_;
};

TEST_F(TuiTest, JoinChatSeeTheOtherReconnectAndQuit) {
  StartPlayer("Alice");
  ASSERT_TRUE(WaitScreen("Alice", "room: Jam")) << Screen("Alice");
  StartPlayer("Bob");
  ASSERT_TRUE(WaitScreen("Bob", "room: Jam")) << Screen("Bob");
  // Each sees the other in the players panel and the status lines.
  ASSERT_TRUE(WaitScreen("Alice", "Bob joined")) << Screen("Alice");
  EXPECT_TRUE(WaitScreen("Bob", "|Alice")) << Screen("Bob");
  EXPECT_NE(Screen("Alice").find("MIDI:  no MIDI"), std::string::npos) << Screen("Alice");
  EXPECT_NE(Screen("Alice").find("sound: synth "), std::string::npos) << Screen("Alice");

  Type("Alice", "hello from Alice");
  EXPECT_TRUE(WaitScreen("Bob", "Alice: hello from Alice")) << Screen("Bob");
  Type("Bob", "/help");
  EXPECT_TRUE(WaitScreen("Bob", "/join NAME")) << Screen("Bob");
  Type("Bob", "/volume Alice 80");
  EXPECT_TRUE(WaitScreen("Bob", "Alice volume 80")) << Screen("Bob");
  Type("Bob", "/volume Nobody 80");
  EXPECT_TRUE(WaitScreen("Bob", "no player named Nobody")) << Screen("Bob");

  Type("Alice", "/record");
  EXPECT_TRUE(WaitScreen("Alice", "recording what the room plays")) << Screen("Alice");
  EXPECT_TRUE(WaitScreen("Alice", "[REC 0]")) << Screen("Alice");
  Type("Alice", "/record");
  EXPECT_TRUE(WaitScreen("Alice", "saved 0 events to")) << Screen("Alice");
  bool saved = false;
  for (const auto& f : std::filesystem::directory_iterator(dir_)) {
    saved = saved || f.path().filename().string().rfind("tutti-Jam-", 0) == 0;
  }
  EXPECT_TRUE(saved) << "no tutti-Jam-*.mid in " << dir_;

  Type("Bob", "/join Other");
  EXPECT_TRUE(WaitScreen("Bob", "room: Other")) << Screen("Bob");
  EXPECT_TRUE(WaitScreen("Alice", "Bob left")) << Screen("Alice");

  // The server goes away: a clear reconnecting line; it comes back: Alice is in Jam again.
  const uint16_t port = server_.port();
  server_.Stop();
  EXPECT_TRUE(WaitScreen("Alice", "RECONNECTING")) << Screen("Alice");
  ASSERT_TRUE(server_.Start(TUTTI_SERVER_BINARY, dir_, 1, port).ok()) << server_.output();
  EXPECT_TRUE(WaitFor([&] {
    const std::string s = Screen("Alice");
    return s.find("reconnected to") != std::string::npos &&
           s.find("room: Jam  connected") != std::string::npos;
  })) << Screen("Alice");

  Type("Alice", "/quit");
  EXPECT_TRUE(WaitScreen("Alice", "tutti-play-exited=0")) << Screen("Alice");
}

// The room's tempo and the metronome in the terminal UI: the owner starts the transport, both
// see the tempo line move through the bars; with /metronome on, Alice's built-in synth renders
// the clicks (to a file) although nobody plays. Alice owns the room, so she also sees Bob's
// link grade, which Bob's heartbeats report.
TEST_F(TuiTest, TempoLineMetronomeClicksAndTheMembersLinkGrade) {
  const std::string raw = dir_ + "/alice.raw";
  StartPlayer("Alice", "--audio_driver=file --audio_file=" + raw);
  ASSERT_TRUE(WaitScreen("Alice", "room: Jam")) << Screen("Alice");
  StartPlayer("Bob");
  ASSERT_TRUE(WaitScreen("Bob", "room: Jam")) << Screen("Bob");
  ASSERT_TRUE(WaitScreen("Alice", "Bob joined")) << Screen("Alice");
  EXPECT_TRUE(WaitScreen("Alice", "tempo: 120 BPM 4/4, stopped  (/metronome: click)"))
      << Screen("Alice");

  // Nobody plays and the metronome is off: the synth renders silence.
  ASSERT_TRUE(WaitFor([&] { return testing::ReadFile(raw).size() > 48000 * 4; }));
  EXPECT_LT(LoudestWindow(testing::ReadFile(raw), 0), 0.002);

  Type("Alice", "/tempo 100 3/4 start");
  EXPECT_TRUE(WaitScreen("Bob", "Alice set the tempo: 100 BPM 3/4, running")) << Screen("Bob");
  EXPECT_TRUE(WaitScreen("Bob", "tempo: 100 BPM 3/4, running")) << Screen("Bob");
  EXPECT_TRUE(WaitScreen("Alice", "tempo: 100 BPM 3/4, running")) << Screen("Alice");
  // The beat moves: bar 2 comes (and a beat past 1 of some bar), whenever the test looks.
  EXPECT_TRUE(WaitScreen("Bob", "bar 2 beat")) << Screen("Bob");
  EXPECT_TRUE(WaitScreen("Bob", "beat 3")) << Screen("Bob");

  const size_t before = testing::ReadFile(raw).size();
  Type("Alice", "/metronome on");
  EXPECT_TRUE(WaitScreen("Alice", "metronome on")) << Screen("Alice");
  EXPECT_TRUE(WaitScreen("Alice", "[click on]")) << Screen("Alice");
  double loud = 0;
  EXPECT_TRUE(WaitFor([&] {
    loud = LoudestWindow(testing::ReadFile(raw), before);
    return loud > 0.01;
  })) << "no click rendered (loudest "
      << loud << ")";
  Type("Alice", "/metronome");
  EXPECT_TRUE(WaitScreen("Alice", "metronome off")) << Screen("Alice");

  // Bob's reports (good on loopback) reach Alice, the room's owner, as a grade on his row.
  EXPECT_TRUE(WaitFor([&] {
    const std::string s = Screen("Alice");
    const size_t row = s.find("|Bob ");
    return row != std::string::npos && s.find("good", row) < s.find('\n', row);
  })) << Screen("Alice");
  EXPECT_TRUE(WaitScreen("Alice", " you rtt ")) << Screen("Alice");
  // Bob is not staff: nobody's grade is shown to him.
  const std::string bob = Screen("Bob");
  const size_t alice_row = bob.find("|Alice ");
  ASSERT_NE(alice_row, std::string::npos) << bob;
  EXPECT_EQ(bob.substr(alice_row, bob.find('\n', alice_row) - alice_row).find("good"),
            std::string::npos)
      << bob;

  Type("Alice", "/quit");
  EXPECT_TRUE(WaitScreen("Alice", "tutti-play-exited=0")) << Screen("Alice");
}

}  // namespace
}  // namespace tutti::play
