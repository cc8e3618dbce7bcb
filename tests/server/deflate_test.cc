// permessage-deflate's parts without sockets: DeflateMessage against zlib's own inflate,
// the bounded Inflater (caps, corrupt data, pieces, context takeover), the answers to
// extension offers, and frames' compressed twins (made once, shared, never for MIDI).
#include <zlib.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <websocketpp/http/request.hpp>

#include "server/deflate.h"
#include "server/frame.h"
#include "server/ws_deflate.h"

namespace tutti::server {
namespace {

constexpr char kTrailer[] = "\x00\x00\xff\xff";

// What a browser does with a compressed message: append the trailer, inflate raw.
std::string ZlibInflate(const std::string& deflated) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, -15), Z_OK);
  std::string in = deflated + std::string(kTrailer, 4);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int r = inflate(&z, Z_SYNC_FLUSH);
  EXPECT_TRUE(r == Z_OK || r == Z_STREAM_END) << r;
  EXPECT_EQ(z.avail_in, 0u);
  out.resize(out.size() - z.avail_out);
  inflateEnd(&z);
  return out;
}

// A client's compressor: raw deflate, sync flush, trailer removed. `z` is kept between
// messages when the client takes its context over.
std::string ClientDeflate(z_stream* z, const std::string& msg) {
  std::string out(msg.size() + 64, '\0');
  z->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(msg.data()));
  z->avail_in = static_cast<uInt>(msg.size());
  z->next_out = reinterpret_cast<Bytef*>(out.data());
  z->avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(z, Z_SYNC_FLUSH), Z_OK);
  out.resize(out.size() - z->avail_out);
  EXPECT_EQ(out.substr(out.size() - 4), std::string(kTrailer, 4));
  out.resize(out.size() - 4);
  return out;
}

std::string ChatHistory(int lines) {
  std::string s;
  for (int i = 0; i < lines; ++i) {
    s += "player" + std::to_string(i % 7) + ": shall we try the chorus in D minor? line " +
         std::to_string(i) + "\n";
  }
  return s;
}

Inflater::Result InflateAll(Inflater& inf, const std::string& data, std::string* out) {
  Inflater::Result r = inf.Inflate(reinterpret_cast<const uint8_t*>(data.data()), data.size(), out);
  if (r != Inflater::Result::kOk) return r;
  return inf.Inflate(reinterpret_cast<const uint8_t*>(kTrailer), 4, out);
}

TEST(DeflateMessage, ZlibDecodesItAndItIsSmallerForText) {
  const std::string text = ChatHistory(50);
  const std::string d = DeflateMessage(text);
  EXPECT_LT(d.size(), text.size() / 3);
  EXPECT_NE(d.substr(d.size() - 4), std::string(kTrailer, 4));
  EXPECT_EQ(ZlibInflate(d), text);
}

TEST(DeflateMessage, EveryMessageStartsFromAnEmptyWindow) {
  // The same input gives the same bytes whatever was compressed before on this thread:
  // no context is carried over, so any receiver can decode any message on its own.
  const std::string a = ChatHistory(30);
  const std::string first = DeflateMessage(a);
  DeflateMessage(ChatHistory(40));
  EXPECT_EQ(DeflateMessage(a), first);
}

TEST(Inflater, DecodesInPiecesWithContextTakeover) {
  z_stream z{};
  ASSERT_EQ(deflateInit2(&z, 6, Z_DEFLATED, -10, 8, Z_DEFAULT_STRATEGY), Z_OK);
  const std::string m1 = ChatHistory(10);
  const std::string m2 = ChatHistory(12);  // refers back into m1's window
  const std::string c1 = ClientDeflate(&z, m1);
  const std::string c2 = ClientDeflate(&z, m2);
  deflateEnd(&z);
  Inflater inf(10, 64 * 1024);
  EXPECT_FALSE(inf.started());
  std::string out;
  for (char c : c1) {
    ASSERT_EQ(inf.Inflate(reinterpret_cast<const uint8_t*>(&c), 1, &out), Inflater::Result::kOk);
  }
  ASSERT_EQ(inf.Inflate(reinterpret_cast<const uint8_t*>(kTrailer), 4, &out),
            Inflater::Result::kOk);
  EXPECT_TRUE(inf.started());
  EXPECT_EQ(out, m1);
  std::string out2;
  ASSERT_EQ(InflateAll(inf, c2, &out2), Inflater::Result::kOk);
  EXPECT_EQ(out2, m2);
}

TEST(Inflater, ABombStopsAtTheCap) {
  // 4 MiB of zeros deflate to ~4 KiB at zlib's level 9 (what an attacker would use; the
  // server's own level 1 makes ~18 KiB); the cap is 64 KiB.
  const std::string zeros(4 << 20, '\0');
  z_stream z{};
  ASSERT_EQ(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  const std::string bomb = ClientDeflate(&z, zeros);
  deflateEnd(&z);
  ASSERT_LT(bomb.size(), 8u * 1024);
  Inflater inf(15, 64 * 1024);
  std::string out;
  EXPECT_EQ(InflateAll(inf, bomb, &out), Inflater::Result::kTooBig);
  EXPECT_LE(out.size(), 64u * 1024);
  // Refused for good: the connection is being failed.
  EXPECT_EQ(InflateAll(inf, DeflateMessage("hi"), &out), Inflater::Result::kCorrupt);
}

TEST(Inflater, ExactlyTheCapPasses) {
  const std::string msg(1000, 'x');
  Inflater inf(15, 1000);
  std::string out;
  EXPECT_EQ(InflateAll(inf, DeflateMessage(msg), &out), Inflater::Result::kOk);
  EXPECT_EQ(out, msg);
  Inflater small(15, 999);
  std::string out2;
  EXPECT_EQ(InflateAll(small, DeflateMessage(msg), &out2), Inflater::Result::kTooBig);
}

TEST(Inflater, CorruptDataIsRefused) {
  Inflater inf(15, 64 * 1024);
  std::string out;
  // Block type 3 is reserved (RFC 1951).
  EXPECT_EQ(InflateAll(inf, std::string("\xff\xff\xff\xff", 4), &out), Inflater::Result::kCorrupt);
}

TEST(Inflater, AFinalBlockEndsOneMessageAndTheNextStartsAfresh) {
  // A sender may end a message with BFINAL set (RFC 7692 section 7.2.3.3).
  auto finished = [](const std::string& msg) {
    z_stream z{};
    EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::string out(msg.size() + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(msg.data()));
    z.avail_in = static_cast<uInt>(msg.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
    out.resize(out.size() - z.avail_out);
    deflateEnd(&z);
    return out;
  };
  Inflater inf(15, 64 * 1024);
  std::string a, b;
  ASSERT_EQ(InflateAll(inf, finished("first message"), &a), Inflater::Result::kOk);
  ASSERT_EQ(InflateAll(inf, finished("second message"), &b), Inflater::Result::kOk);
  EXPECT_EQ(a, "first message");
  EXPECT_EQ(b, "second message");
}

// Parses a header value the way websocketpp does during the handshake and answers its
// first permessage-deflate offer that can be accepted.
std::string Answer(const std::string& header, int* bits) {
  websocketpp::http::parser::request req;
  req.replace_header("Sec-WebSocket-Extensions", header);
  websocketpp::http::parameter_list offers;
  EXPECT_FALSE(req.get_header_as_plist("Sec-WebSocket-Extensions", offers));
  for (const auto& [name, params] : offers) {
    if (name != "permessage-deflate") continue;
    std::string a = ws::AnswerDeflateOffer(params, bits);
    if (!a.empty()) return a;
  }
  return std::string();
}

TEST(DeflateOffer, WhatBrowsersAndNodeOffer) {
  int bits = 0;
  // Chromium's and ws's default offer.
  EXPECT_EQ(Answer("permessage-deflate; client_max_window_bits", &bits),
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=10");
  EXPECT_EQ(bits, 10);
  // Firefox's.
  EXPECT_EQ(Answer("permessage-deflate", &bits), "permessage-deflate; server_no_context_takeover");
  EXPECT_EQ(bits, 15);
}

TEST(DeflateOffer, WindowsAndContextTakeover) {
  int bits = 0;
  EXPECT_EQ(
      Answer("permessage-deflate; client_max_window_bits=9; client_no_context_takeover", &bits),
      "permessage-deflate; server_no_context_takeover; client_max_window_bits=9");
  EXPECT_EQ(bits, 9);
  EXPECT_EQ(
      Answer("permessage-deflate; server_no_context_takeover; server_max_window_bits=15", &bits),
      "permessage-deflate; server_no_context_takeover; server_max_window_bits=15");
  // A smaller server window cannot read the shared twin: that offer is declined, the
  // next one taken.
  EXPECT_EQ(Answer("permessage-deflate; server_max_window_bits=10", &bits), "");
  EXPECT_EQ(Answer("permessage-deflate; server_max_window_bits=10, permessage-deflate", &bits),
            "permessage-deflate; server_no_context_takeover");
}

TEST(DeflateOffer, MalformedOffersAreDeclined) {
  int bits = 0;
  EXPECT_EQ(Answer("permessage-deflate; client_max_window_bits=16", &bits), "");
  EXPECT_EQ(Answer("permessage-deflate; client_max_window_bits=7", &bits), "");
  EXPECT_EQ(Answer("permessage-deflate; client_max_window_bits=abc", &bits), "");
  EXPECT_EQ(Answer("permessage-deflate; server_no_context_takeover=1", &bits), "");
  EXPECT_EQ(Answer("permessage-deflate; mystery", &bits), "");
  EXPECT_EQ(Answer("x-webkit-deflate-frame", &bits), "");
}

proto::ClientMessage Chat(const std::string& text) {
  proto::ClientMessage m;
  m.set_message_type(proto::ClientMessage::RoomChatMessage);
  m.mutable_room_chat_message()->set_message(text);
  return m;
}

TEST(FrameTwin, LargeFramesGetOneCompressedTwinWithRsv1) {
  const Frame f = MakeFrame(Chat(ChatHistory(40)));
  const Frame a = FrameForDeflateReceiver(f, 1024);
  const Frame b = FrameForDeflateReceiver(f, 1024);
  ASSERT_NE(a.get(), f.get());
  EXPECT_EQ(a.get(), b.get());  // made once, shared
  EXPECT_EQ(a->kind(), PreparedFrame::Kind::kDeflated);
  EXPECT_EQ(static_cast<uint8_t>(a->header()[0]), 0xC2);  // FIN, RSV1, binary
  EXPECT_EQ(static_cast<uint8_t>(f->header()[0]), 0x82);
  EXPECT_LT(a->payload().size(), f->payload().size() / 3);
  EXPECT_EQ(ZlibInflate(a->payload()), f->payload());
  // The twin shares the frame's life: it outlives the caller's own reference.
  std::weak_ptr<const PreparedFrame> weak = f;
  const Frame kept = a;
  EXPECT_EQ(weak.use_count(), 4);
}

TEST(FrameTwin, SmallMidiAndIncompressibleFramesStayPlain) {
  const Frame small = MakeFrame(Chat("hello"));
  EXPECT_EQ(FrameForDeflateReceiver(small, 1024).get(), small.get());
  // Under the threshold: not even deflated.
  const Frame mid = MakeFrame(Chat(ChatHistory(5)));
  EXPECT_EQ(FrameForDeflateReceiver(mid, 64 * 1024).get(), mid.get());

  proto::ClientMessage midi;
  midi.set_message_type(proto::ClientMessage::MidiMessage);
  for (int i = 0; i < 400; ++i) midi.mutable_midi_message()->add_events()->set_data("\x90\x3c\x64");
  const Frame m = MakeFrame(midi);
  ASSERT_GT(m->payload().size(), 1024u);
  EXPECT_EQ(m->kind(), PreparedFrame::Kind::kPlain);
  EXPECT_EQ(FrameForDeflateReceiver(m, 1024).get(), m.get());
  EXPECT_EQ(m->Deflated(), nullptr);

  std::mt19937 rng(7);
  std::string noise(4096, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  proto::ClientMessage chunk;
  chunk.set_message_type(proto::ClientMessage::RecordingChunk);
  chunk.mutable_recording_chunk()->set_data(noise);
  const Frame n = MakeFrame(chunk);
  EXPECT_EQ(n->kind(), PreparedFrame::Kind::kCompressible);
  EXPECT_EQ(FrameForDeflateReceiver(n, 1024).get(), n.get());  // deflate did not pay
}

TEST(FrameTwin, ShardsAskingAtOnceGetTheSameTwin) {
  const Frame f = MakeFrame(Chat(ChatHistory(60)));
  std::vector<const PreparedFrame*> seen(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { seen[i] = FrameForDeflateReceiver(f, 1024).get(); });
  }
  for (auto& t : threads) t.join();
  for (const PreparedFrame* p : seen) EXPECT_EQ(p, seen[0]);
  EXPECT_NE(seen[0], f.get());
}

}  // namespace
}  // namespace tutti::server
