// permessage-deflate on the wire (docs/PROTOCOL.md, "Compression"): a client that offers
// it gets large frames compressed (RSV1 set), a client that does not gets the same
// messages plain, MIDI is never compressed, and what a client sends compressed is read
// within the frame cap (a zip bomb is closed 1009, corrupt data 1007). The clients here
// are RawWs, to see RSV1 and to send what no library would; Node's ws and Chromium
// decode the same frames in tests/interop/compress_test.mjs.
#include <zlib.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/deflate.h"
#include "tests/testing/raw_ws.h"
#include "tests/testing/test_server.h"
#include "tools/client/client.h"

namespace tutti::testing {
namespace {

constexpr char kOffer[] =
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";

// What a browser does with a compressed message: append 00 00 ff ff, inflate raw with a
// fresh window (the server promised server_no_context_takeover).
std::string Inflate(const std::string& payload) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, -15), Z_OK);
  std::string in = payload + std::string("\x00\x00\xff\xff", 4);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int r = inflate(&z, Z_SYNC_FLUSH);
  EXPECT_TRUE(r == Z_OK || r == Z_STREAM_END) << r;
  out.resize(out.size() - z.avail_out);
  inflateEnd(&z);
  return out;
}

struct Received {
  proto::ClientMessage msg;
  bool compressed = false;
  size_t wire_payload = 0;  // payload bytes as they crossed the socket
};

// The next data frame of message case `which` (others are skipped), decoded.
// `zeros` zero bytes deflated at zlib's level 9, as an attacker would (8 MiB make ~8
// KiB; the server's own level 1 would make four times that): raw, sync flush, trailer
// removed, as a permessage-deflate message.
std::string ZipBomb(size_t zeros) {
  const std::string in(zeros, '\0');
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, static_cast<uLong>(in.size())) + 16, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_SYNC_FLUSH), Z_OK);
  out.resize(out.size() - z.avail_out - 4);  // without 00 00 ff ff
  deflateEnd(&z);
  return out;
}

std::optional<Received> ReadCase(RawWs& ws, proto::ClientMessage::MessageCase which) {
  for (int i = 0; i < 200; ++i) {
    std::optional<WsFrame> f = ws.ReadFrame(5s);
    if (!f) return std::nullopt;
    if (f->opcode != kOpBinary) continue;
    Received r;
    r.compressed = f->rsv1;
    r.wire_payload = f->payload.size();
    const std::string bytes = f->rsv1 ? Inflate(f->payload) : f->payload;
    if (!r.msg.ParseFromString(bytes)) {
      ADD_FAILURE() << "undecodable frame (rsv1=" << f->rsv1 << ")";
      return std::nullopt;
    }
    if (r.msg.message_case() == which) return r;
  }
  return std::nullopt;
}

bool SendMsg(RawWs& ws, proto::ServerMessage m) {
  client::StampServerMessageType(&m);
  return ws.SendBinary(m.SerializeAsString());
}

std::string LongLine(int i) {
  return "line " + std::to_string(i) +
         ": let us take the bridge slower, in D minor, and keep the left hand light";
}

void Tweak(server::ServerConfig& c) {
  c.chat_per_second = 1000;
  c.chat_burst = 1000;
  c.notes_per_second = 1e6;
  c.note_burst = 1e6;
  c.joins_per_second = 1000;
  c.join_burst = 1000;
  // Low enough that a 64-message MIDI batch is above it: MIDI stays plain all the same.
  c.compression_threshold = 256;
}

// A room with a long chat history: what a joiner's RoomJoinedResponse carries.
void FillRoom(TestServer& ts, client::Client& owner, const std::string& room, int lines) {
  ASSERT_TRUE(JoinRoom(owner, room));
  for (int i = 0; i < lines; ++i)
    ASSERT_TRUE(owner.Send(ChatMsg(LongLine(i), "c" + std::to_string(i))));
  // The owner's own lines come back to it once each is in the history.
  for (int i = 0; i < lines; ++i) {
    ASSERT_TRUE(
        WaitForReply(owner, proto::ClientMessage::kRoomChatMessage, "c" + std::to_string(i)))
        << "line " << i;
  }
  (void)ts;
}

TEST(Compression, TheSameJoinAndRoomListDecodeAlikeCompressedOrNot) {
  TestServer ts(2, Tweak);
  auto owner = ts.Connect("owner");
  ASSERT_TRUE(owner);
  FillRoom(ts, *owner, "history", 50);
  // A room stays listed while someone is in it: one host each.
  std::vector<std::unique_ptr<client::Client>> hosts;
  for (int i = 0; i < 4; ++i) {
    hosts.push_back(ts.Connect("host" + std::to_string(i)));
    ASSERT_TRUE(hosts.back());
    ASSERT_TRUE(JoinRoom(*hosts.back(), "side room for the evening session " + std::to_string(i)));
  }

  RawWs deflating;
  deflating.set_extra_headers(kOffer);
  ASSERT_TRUE(deflating.ConnectTcp(ts.port()));
  HttpResponse up = deflating.Upgrade(ts.Resource(Named("zip")));
  ASSERT_EQ(up.status, 101);
  EXPECT_EQ(up.headers["sec-websocket-extensions"],
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=10");
  RawWs plain;
  ASSERT_TRUE(plain.ConnectTcp(ts.port()));
  HttpResponse up2 = plain.Upgrade(ts.Resource(Named("flat")));
  ASSERT_EQ(up2.status, 101);
  EXPECT_EQ(up2.headers.count("sec-websocket-extensions"), 0u);

  // The Welcome is small: plain for both.
  auto w1 = ReadCase(deflating, proto::ClientMessage::kWelcome);
  auto w2 = ReadCase(plain, proto::ClientMessage::kWelcome);
  ASSERT_TRUE(w1 && w2);
  EXPECT_FALSE(w1->compressed);

  ASSERT_TRUE(SendMsg(deflating, JoinMsg("history")));
  auto j1 = ReadCase(deflating, proto::ClientMessage::kRoomJoinedResponse);
  ASSERT_TRUE(SendMsg(plain, JoinMsg("history")));
  auto j2 = ReadCase(plain, proto::ClientMessage::kRoomJoinedResponse);
  ASSERT_TRUE(j1 && j2);
  EXPECT_TRUE(j1->compressed);
  EXPECT_FALSE(j2->compressed);
  const auto& r1 = j1->msg.room_joined_response();
  const auto& r2 = j2->msg.room_joined_response();
  ASSERT_TRUE(r1.success() && r2.success());
  ASSERT_EQ(r1.chat_history_size(), 50);
  ASSERT_EQ(r2.chat_history_size(), 50);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(r1.chat_history(i).SerializeAsString(), r2.chat_history(i).SerializeAsString());
  }
  EXPECT_EQ(r1.chat_history(49).message(), LongLine(49));
  EXPECT_EQ(r1.room_info().room_id(), r2.room_info().room_id());
  // Fifty similar lines deflate to well under half.
  EXPECT_LT(j1->wire_payload * 2, j2->wire_payload)
      << j1->wire_payload << " compressed vs " << j2->wire_payload;

  ASSERT_TRUE(SendMsg(deflating, RoomListMsg("list")));
  ASSERT_TRUE(SendMsg(plain, RoomListMsg("list")));
  auto l1 = ReadCase(deflating, proto::ClientMessage::kRoomList);
  auto l2 = ReadCase(plain, proto::ClientMessage::kRoomList);
  ASSERT_TRUE(l1 && l2);
  EXPECT_TRUE(l1->compressed);
  EXPECT_FALSE(l2->compressed);
  EXPECT_GE(l1->msg.room_list().rooms_size(), 5);
  EXPECT_EQ(l1->msg.room_list().SerializeAsString(), l2->msg.room_list().SerializeAsString());
  EXPECT_LT(l1->wire_payload, l2->wire_payload);

  // MIDI is never compressed, even above the threshold.
  std::string batch;
  for (int i = 0; i < 32; ++i) {
    batch += std::string{'\x90', static_cast<char>(40 + i), '\x40'};
    batch += std::string{'\x80', static_cast<char>(40 + i), '\x00'};
  }
  ASSERT_TRUE(owner->Send(MidiMsg(batch)));
  auto m1 = ReadCase(deflating, proto::ClientMessage::kMidiMessage);
  auto m2 = ReadCase(plain, proto::ClientMessage::kMidiMessage);
  ASSERT_TRUE(m1 && m2);
  ASSERT_GT(m1->wire_payload, 256u) << "the batch must be above the threshold to mean anything";
  EXPECT_FALSE(m1->compressed);
  EXPECT_EQ(m1->msg.midi_message().SerializeAsString(), m2->msg.midi_message().SerializeAsString());
}

// A client may compress what it sends (Chromium compresses every message): the server
// reads it, and the room gets the line like any other.
TEST(Compression, ACompressedMessageFromAClientIsRead) {
  TestServer ts(2, Tweak);
  auto listener = ts.Connect("listener");
  ASSERT_TRUE(listener);
  ASSERT_TRUE(JoinRoom(*listener, "lounge"));
  RawWs zip;
  zip.set_extra_headers(kOffer);
  ASSERT_TRUE(zip.Open(ts.port(), ts.Resource(Named("zip"))));
  ASSERT_TRUE(ReadCase(zip, proto::ClientMessage::kWelcome));
  auto send_compressed = [&](proto::ServerMessage m) {
    client::StampServerMessageType(&m);
    return zip.SendBytes(EncodeClientFrame(kOpBinary, server::DeflateMessage(m.SerializeAsString()),
                                           true, true, -1, /*rsv1=*/true));
  };
  ASSERT_TRUE(send_compressed(JoinMsg("lounge")));
  auto joined = ReadCase(zip, proto::ClientMessage::kRoomJoinedResponse);
  ASSERT_TRUE(joined);
  EXPECT_TRUE(joined->msg.room_joined_response().success());
  ASSERT_TRUE(send_compressed(ChatMsg("squeezed hello")));
  auto line = listener->WaitFor(proto::ClientMessage::kRoomChatMessage, 5s);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->room_chat_message().message(), "squeezed hello");
}

// A small compressed frame that would inflate past max_frame_bytes is refused as soon as
// the cap is passed, with 1009; corrupt DEFLATE data with 1007. The server serves on.
TEST(Compression, AZipBombIsClosed1009AndCorruptData1007) {
  TestServer ts(2, Tweak);
  const std::string bomb = ZipBomb(8 << 20);
  ASSERT_LT(bomb.size(), 16u * 1024);  // well inside the 64 KiB frame cap as sent
  RawWs zip;
  zip.set_extra_headers(kOffer);
  ASSERT_TRUE(zip.Open(ts.port(), ts.Resource(Named("bomber"))));
  ASSERT_TRUE(zip.SendBytes(EncodeClientFrame(kOpBinary, bomb, true, true, -1, true)));
  auto close = zip.ReadUntilClose(5s);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->close_code(), 1009);

  RawWs bad;
  bad.set_extra_headers(kOffer);
  ASSERT_TRUE(bad.Open(ts.port(), ts.Resource(Named("garbler"))));
  ASSERT_TRUE(bad.SendBytes(
      EncodeClientFrame(kOpBinary, std::string("\xff\xff\xff\xff", 4), true, true, -1, true)));
  auto close2 = bad.ReadUntilClose(5s);
  ASSERT_TRUE(close2);
  EXPECT_EQ(close2->close_code(), 1007);
  EXPECT_TRUE(ServerStillServes(ts));
}

// With compression off, an offer gets no answer, and a frame with RSV1 set is a protocol
// error (1002), as for any server that did not negotiate the extension.
TEST(Compression, OffMeansNotNegotiatedAndRsv1IsAProtocolError) {
  TestServer ts(2, [](server::ServerConfig& c) { c.compression = false; });
  RawWs zip;
  zip.set_extra_headers(kOffer);
  ASSERT_TRUE(zip.ConnectTcp(ts.port()));
  HttpResponse up = zip.Upgrade(ts.Resource(Named("zip")));
  ASSERT_EQ(up.status, 101);
  EXPECT_EQ(up.headers.count("sec-websocket-extensions"), 0u);
  ASSERT_TRUE(zip.SendBytes(EncodeClientFrame(
      kOpBinary, server::DeflateMessage(ChatMsg("x").SerializeAsString()), true, true, -1, true)));
  auto close = zip.ReadUntilClose(5s);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->close_code(), 1002);
}

}  // namespace
}  // namespace tutti::testing
