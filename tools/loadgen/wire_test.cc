// Checks the load generator's hand-rolled wire code against libprotobuf and RFC 6455, and
// its histogram's bucket edges: a wrong byte here would make every figure meaningless.
#include "tools/loadgen/wire.h"

#include <gtest/gtest.h>

#include <string>

#include "protos/tutti.pb.h"
#include "server/clock.h"
#include "tools/loadgen/histogram.h"
#include "tools/loadgen/run_state.h"

namespace tutti::loadgen {
namespace {

TEST(LoadgenWire, MidiEncodingParsesAsServerMessage) {
  const std::string midi("\x90\x3c\x60\x90\x40\x60", 6);
  uint8_t buf[64];
  const size_t n = EncodeMidiMessage(midi, 1234567890123, buf, sizeof(buf));
  ASSERT_GT(n, 0u);
  proto::ServerMessage msg;
  ASSERT_TRUE(msg.ParseFromArray(buf, static_cast<int>(n)));
  EXPECT_EQ(msg.message_type(), proto::ServerMessage::MidiMessage);
  ASSERT_TRUE(msg.has_midi_message());
  EXPECT_EQ(msg.midi_message().midi_data(), midi);
  EXPECT_EQ(msg.midi_message().timestamp(), 1234567890123);
  EXPECT_EQ(EncodeMidiMessage(midi, 1, buf, 8), 0u);
}

TEST(LoadgenWire, ChatEncodingParsesAsServerMessage) {
  uint8_t buf[96];
  const size_t n = EncodeChatMessage("lg 42", "c", buf, sizeof(buf));
  proto::ServerMessage msg;
  ASSERT_TRUE(msg.ParseFromArray(buf, static_cast<int>(n)));
  EXPECT_EQ(msg.message_type(), proto::ServerMessage::RoomChatMessage);
  EXPECT_EQ(msg.room_chat_message().message(), "lg 42");
  EXPECT_EQ(msg.request_id(), "c");
}

TEST(LoadgenWire, ScanReadsMidiChatAndJoin) {
  proto::ClientMessage m;
  m.set_message_type(proto::ClientMessage::MidiMessage);
  m.mutable_midi_message()->set_midi_data("\x90\x3c\x60");
  m.mutable_midi_message()->set_timestamp(987654321);
  m.mutable_midi_message()->set_user_id("lg-3");
  m.mutable_midi_message()->set_flags(proto::MIDI_FLAG_CLAMPED);
  m.mutable_midi_message()->add_events()->set_data("\x80\x3c\x40");
  m.mutable_midi_message()->set_room_time(5);
  std::string bytes = m.SerializeAsString();
  ScanResult s;
  ASSERT_TRUE(ScanClientMessage(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &s));
  EXPECT_EQ(s.message_case, kCaseMidi);
  EXPECT_EQ(s.midi_timestamp, 987654321);
  EXPECT_EQ(s.midi_flags, static_cast<uint32_t>(proto::MIDI_FLAG_CLAMPED));

  proto::ClientMessage c;
  c.mutable_room_chat_message()->set_message("lg 77");
  c.set_request_id("c");
  bytes = c.SerializeAsString();
  ASSERT_TRUE(ScanClientMessage(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &s));
  EXPECT_EQ(s.message_case, kCaseChat);
  EXPECT_EQ(s.chat_text, "lg 77");
  EXPECT_EQ(s.request_id, "c");

  proto::ClientMessage j;
  j.mutable_room_joined_response()->set_success(true);
  j.mutable_room_joined_response()->add_current_users()->set_user_id("x");
  bytes = j.SerializeAsString();
  ASSERT_TRUE(ScanClientMessage(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &s));
  EXPECT_EQ(s.message_case, kCaseRoomJoined);
  EXPECT_TRUE(s.joined_success);

  const uint8_t junk[] = {0x62, 0x10, 0x01};  // length beyond the end
  EXPECT_FALSE(ScanClientMessage(junk, sizeof(junk), &s));
}

TEST(LoadgenWire, ClientFramesAreMaskedAndServerHeadersParse) {
  std::string out;
  const std::string payload(300, 'x');
  AppendClientFrame(&out, kOpBinary, payload, 0x01020304);
  ASSERT_EQ(out.size(), 4 + 4 + payload.size());
  EXPECT_EQ(static_cast<uint8_t>(out[0]), 0x82);
  EXPECT_EQ(static_cast<uint8_t>(out[1]), 0x80 | 126);
  const uint8_t* mask = reinterpret_cast<const uint8_t*>(out.data()) + 4;
  for (size_t i = 0; i < payload.size(); ++i) {
    ASSERT_EQ(static_cast<char>(out[8 + i] ^ mask[i & 3]), 'x');
  }

  const uint8_t small[] = {0x82, 0x05, 1, 2, 3, 4, 5};
  FrameHeader h;
  EXPECT_EQ(ParseServerFrameHeader(small, 1, &h), 0);
  ASSERT_EQ(ParseServerFrameHeader(small, sizeof(small), &h), 1);
  EXPECT_EQ(h.opcode, kOpBinary);
  EXPECT_EQ(h.header_length, 2u);
  EXPECT_EQ(h.payload_length, 5u);
  const uint8_t medium[] = {0x82, 126, 0x01, 0x00};
  ASSERT_EQ(ParseServerFrameHeader(medium, sizeof(medium), &h), 1);
  EXPECT_EQ(h.payload_length, 256u);
  const uint8_t masked[] = {0x82, 0x85};
  EXPECT_EQ(ParseServerFrameHeader(masked, sizeof(masked), &h), -1);
}

TEST(LoadgenWire, HandshakeResponse) {
  size_t head = 0;
  EXPECT_EQ(ParseHandshakeResponse("HTTP/1.1 101 Switching", &head), 0);
  const std::string ok = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x82";
  EXPECT_EQ(ParseHandshakeResponse(ok, &head), 101);
  EXPECT_EQ(head, ok.size() - 1);
  EXPECT_EQ(ParseHandshakeResponse("HTTP/1.1 409 Conflict\r\n\r\n", &head), 409);
}

TEST(LoadgenHistogram, BucketsAreContiguousAndPercentilesNeverUnderstate) {
  for (uint64_t v = 0; v < 100000; ++v) {
    const int i = LatencyHistogram::Index(v);
    ASSERT_GE(LatencyHistogram::UpperEdge(i), v);
    if (i > 0) {
      ASSERT_LT(LatencyHistogram::UpperEdge(i - 1), v);
    }
  }
  LatencyHistogram h;
  for (int v = 1; v <= 1000; ++v) h.Record(v);
  EXPECT_GE(h.Percentile(0.5), 500u);
  EXPECT_LE(h.Percentile(0.5), 516u);
  EXPECT_GE(h.Percentile(0.99), 990u);
  EXPECT_EQ(h.Percentile(1.0), 1000u);
  EXPECT_EQ(h.max(), 1000u);
}

// The offset the load generator declares: one node's server time is this machine's
// steady clock (0); a node with --redis put it on the wall clock at its start, which on
// this machine is the wall anchor (exact); another machine's, the Welcome's own reading.
TEST(TimelineTest, TheOffsetIsZeroTheWallAnchorOrTheWelcomesReading) {
  const int64_t now = NowUs();
  EXPECT_EQ(ServerTimelineOffsetUs(now + 300, now), 0);
  const int64_t anchor = server::WallAnchorUs();
  // The anchor read again inside the call differs by the microseconds between the reads.
  EXPECT_NEAR(static_cast<double>(ServerTimelineOffsetUs(now + anchor + 300, now)),
              static_cast<double>(anchor), 1000.0);
  const int64_t far = 5LL * 86'400 * 1'000'000;  // a server booted five days before this one
  EXPECT_EQ(ServerTimelineOffsetUs(now + far, now), far);
}

}  // namespace
}  // namespace tutti::loadgen
