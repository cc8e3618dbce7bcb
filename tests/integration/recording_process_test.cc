// A recording survives kill -9 of the real server process: the file on disk is always a
// whole Standard MIDI File (rewritten to a temporary file, synced and renamed at each flush),
// so what was flushed before the kill reads back, every track closed.
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "crypto/dev_connection.h"
#include "crypto/keys.h"
#include "midi/smf_reader.h"
#include "server/clock.h"
#include "tests/testing/keyed_process_test.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class RecordingProcessTest : public KeyedProcessTest {
 protected:
  RecordingProcessTest() : KeyedProcessTest("recording") {}
};

// Note-ons of `track` whose note-off follows in the track.
int ClosedNotes(const midi::SmfTrackData& track) {
  int closed = 0;
  std::vector<int> held(128, 0);
  for (const auto& e : track.events) {
    const uint8_t kind = e.status & 0xF0;
    if (kind == 0x90 && e.data2 > 0) {
      ++held[e.data1];
    } else if ((kind == 0x80 || kind == 0x90) && held[e.data1] > 0) {
      --held[e.data1];
      ++closed;
    }
  }
  for (int h : held) EXPECT_EQ(h, 0) << "a note left sounding";
  return closed;
}

TEST_F(RecordingProcessTest, KillNineLeavesAReadableFileOfWhatWasFlushed) {
  ServerProcess server(TUTTI_SERVER_BIN, dir_);
  ASSERT_TRUE(server.Start()) << server.output();
  auto olive = ConnectMember(server.port(), "olive");
  auto alice = ConnectMember(server.port(), "alice");
  ASSERT_TRUE(olive && alice);
  ASSERT_TRUE(JoinRoom(*olive, "Take"));
  ASSERT_TRUE(JoinRoom(*alice, "Take"));
  proto::ServerMessage start;
  start.mutable_recording_command()->set_action(proto::RECORDING_START);
  start.set_request_id("start");
  ASSERT_TRUE(olive->Send(start));
  auto st = WaitForReply(*olive, proto::ClientMessage::kRecordingStatus, "start");
  ASSERT_TRUE(st && st->recording_status().active());
  const std::string path =
      dir_ + "/recordings/74616b65/" + st->recording_status().recording_id() + ".mid";

  // Ten notes, each with its release; then one more held down when the kill comes.
  for (int i = 0; i < 10; ++i) {
    const char note = static_cast<char>(60 + i);
    ASSERT_TRUE(alice->Send(MidiMsg(std::string{'\x90', note, '\x64'})));
    ASSERT_TRUE(alice->Send(MidiMsg(std::string{'\x80', note, '\x00'})));
  }
  ASSERT_TRUE(alice->Send(MidiMsg(std::string("\x90\x48\x64", 3))));
  // A flush has put them all on disk (the file is rewritten at most once a second).
  auto track_events = [&]() -> size_t {
    auto smf = midi::ReadSmf(ReadAll(path));
    if (!smf.ok() || smf->tracks.size() < 2) return 0;
    return smf->tracks[1].events.size();
  };
  ASSERT_TRUE(WaitUntil([&] { return track_events() >= 21; }, 30s))
      << "the recording never reached the disk; " << track_events() << " events";

  const int status = server.Stop(SIGKILL, 10000);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << server.output();
  const std::string bytes = ReadAll(path);
  auto smf = midi::ReadSmf(bytes);
  ASSERT_TRUE(smf.ok()) << smf.status();
  ASSERT_EQ(smf->tracks.size(), 2u);
  EXPECT_EQ(smf->tracks[0].name, "Take");
  EXPECT_EQ(smf->tracks[1].name, "alice");
  for (const auto& t : smf->tracks) EXPECT_TRUE(t.ended);
  // The ten notes and the held one, which the flushed file closes where it was last heard.
  EXPECT_EQ(ClosedNotes(smf->tracks[1]), 11);
}

}  // namespace
}  // namespace tutti::testing
