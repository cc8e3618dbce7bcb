// What a receiver closed at the hard outbound limit sees (docs/PROTOCOL.md, close codes): its
// queued frames are dropped and the 4001 close frame comes right behind what the kernel
// already held, so a client that reads again within close_timeout_ms gets the close
// code, not a backlog it cannot take and then a dead socket (1006).
#include <string>

#include <gtest/gtest.h>

#include "tests/testing/raw_ws.h"
#include "tests/testing/test_server.h"
#include "tools/client/client.h"

namespace tutti::testing {
namespace {

// A batch of 32 note-on/note-off pairs: 64 channel messages, the batch limit.
std::string ChordBatch() {
  std::string bytes;
  for (int i = 0; i < 32; ++i) {
    const char note = static_cast<char>(40 + i);
    bytes += std::string{'\x90', note, '\x40'};
    bytes += std::string{'\x80', note, '\x00'};
  }
  return bytes;
}

// A player stops reading while the others keep playing. The server closes it at the
// hard limit; once it reads again it gets the few frames the kernel held and then the
// 4001 close frame, not the hard limit's worth of stale MIDI.
TEST(SlowConsumer, ClosedAtTheHardLimitReadsTheCloseCodeBehindTheKernelsBytes) {
  constexpr size_t kHardLimit = 512 * 1024;
  TestServer ts(3, [](server::ServerConfig& c) {
    c.socket_send_buffer = 4096;
    c.outbound_soft_limit = kHardLimit / 2;
    c.outbound_hard_limit = kHardLimit;
    c.notes_per_second = 1e6;
    c.note_burst = 1e6;
    // The client reads again only after the server counted the close; the close
    // handshake must still be waiting then, however slow the machine.
    c.close_timeout_ms = 120000;
  });
  const std::string room = "stage";
  auto player = ts.Connect("player");
  auto listener = ts.Connect("listener");
  ASSERT_TRUE(player && listener);
  ASSERT_TRUE(JoinRoom(*player, room));
  ASSERT_TRUE(JoinRoom(*listener, room));
  RawWs stalled;
  ASSERT_TRUE(stalled.Open(ts.port(), ts.Resource(Named("stalled")), /*receive_buffer=*/4096));
  proto::ServerMessage join = JoinMsg(room);
  client::StampServerMessageType(&join);
  ASSERT_TRUE(stalled.SendBinary(join.SerializeAsString()));
  auto joined = listener->WaitFor(proto::ClientMessage::kUserJoinedRoom, 5s);
  ASSERT_TRUE(joined);
  ASSERT_EQ(joined->user_joined_room().user_info().user_id(), "u-stalled");
  // From here on the stalled client reads nothing.

  const std::string batch = ChordBatch();
  constexpr int kWindow = 8;          // batches in flight: keeps the listener under its budget
  constexpr int kMaxBatches = 20000;  // ~5 MB of MIDI: far past any kernel buffering
  int sent = 0, received = 0;
  bool cut = false;
  while (received < sent || (!cut && sent < kMaxBatches)) {
    while (!cut && sent < kMaxBatches && sent - received < kWindow) {
      ASSERT_TRUE(player->Send(MidiMsg(batch)));
      ++sent;
    }
    auto m = listener->WaitFor(proto::ClientMessage::kMidiMessage, 5s);
    ASSERT_TRUE(m) << "the listener stalled after " << received << " of " << sent;
    ++received;
    if (received % 64 == 0) cut = ts.TotalCounters().slow_consumers_closed > 0;
  }
  ASSERT_TRUE(cut) << "the stalled client was never closed after " << sent << " batches";
  EXPECT_EQ(ts.TotalCounters().slow_consumers_closed, 1u);
  EXPECT_TRUE(listener->is_open());
  EXPECT_TRUE(player->is_open());

  // Now it reads again: what the kernel held (a few KB on both sides), then the close.
  size_t data_bytes = 0;
  int data_frames = 0;
  std::optional<WsFrame> close;
  while (!close) {
    std::optional<WsFrame> f = stalled.ReadFrame(30s);
    ASSERT_TRUE(f) << "no close frame after " << data_frames << " frames, " << data_bytes
                   << " bytes (eof=" << stalled.eof() << ")";
    if (f->opcode == kOpClose) {
      close = std::move(f);
    } else {
      data_bytes += f->payload.size();
      ++data_frames;
    }
  }
  EXPECT_EQ(close->close_code(), 4001);
  // Without the drop, everything queued up to the hard limit came first. The kernel's
  // buffers (4 KB asked on each side, doubled by Linux) hold far less than a quarter.
  EXPECT_LT(data_bytes, kHardLimit / 4) << data_frames << " frames";
  stalled.SendFrame(kOpClose, close->payload.substr(0, 2));  // complete the handshake
  auto gone = listener->WaitFor(proto::ClientMessage::kUserLeftRoom, 5s);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->user_left_room().user_id(), "u-stalled");
  EXPECT_TRUE(ServerStillServes(ts));
}

}  // namespace
}  // namespace tutti::testing
