// Robustness over real sockets: bad frames, floods, slow and idle clients, heartbeats, shutdown.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <future>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/raw_ws.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

const std::string kNoteOn60("\x90\x3c\x64", 3);
const std::string kNoteOff60("\x80\x3c\x00", 3);

// Serialized exactly as given: message_type is not re-derived from the oneof.
std::string Bytes(const proto::ServerMessage& m) { return m.SerializeAsString(); }

// Expects a MALFORMED_MESSAGE error and returns true when one came.
bool ExpectMalformed(client::Client& c) {
  auto m = c.WaitFor(proto::ClientMessage::kErrorMessage, 3s);
  if (!m) {
    ADD_FAILURE() << "no error";
    return false;
  }
  EXPECT_EQ(m->error_message().code(), proto::MALFORMED_MESSAGE)
      << m->error_message().error_message();
  EXPECT_EQ(m->error_message().error_code(), "MALFORMED_MESSAGE");
  EXPECT_EQ(m->error_message().error_type(), proto::VALIDATION_ERROR);
  return m->error_message().code() == proto::MALFORMED_MESSAGE;
}

// The connection is alive and answering: a heartbeat comes back.
bool Answers(client::Client& c, const std::string& rid = "alive?") {
  if (!c.Send(HeartbeatMsg(7, rid))) return false;
  return WaitForReply(c, proto::ClientMessage::kHeartbeatMessage, rid, 3s).has_value();
}

// Opens a raw connection for `name` with a `receive_buffer`-byte window and asks to
// join `room` (the answer is left unread: these clients are the ones that stop reading).
bool OpenAndJoin(RawWs& raw, TestServer& ts, const std::string& name, const std::string& room,
                 int receive_buffer) {
  if (!raw.Open(ts.port(), ts.Resource(Named(name)), receive_buffer)) return false;
  proto::ServerMessage join = JoinMsg(room);
  client::StampServerMessageType(&join);
  return raw.SendBinary(join.SerializeAsString());
}

TEST(Robustness, OversizeFrameClosesWith1009) {
  TestServer ts(3, [](server::ServerConfig& c) { c.max_frame_bytes = 8 * 1024; });
  auto alice = ts.Connect("alice");
  auto bystander = ts.Connect("bystander");
  ASSERT_TRUE(alice && bystander);
  ASSERT_TRUE(alice->SendRaw(std::string(8 * 1024 + 1, 'x'), true));
  uint16_t code = 0;
  ASSERT_TRUE(alice->WaitClosed(5s, &code));
  EXPECT_EQ(code, 1009);
  // A header that announces a gigabyte is refused without waiting for the bytes.
  RawWs raw;
  ASSERT_TRUE(raw.Open(ts.port(), ts.Resource(Named("raw"))));
  ASSERT_TRUE(raw.SendBytes(EncodeClientFrame(kOpBinary, "", true, true, int64_t{1} << 30)));
  auto close = raw.ReadUntilClose(5s);
  ASSERT_TRUE(close) << "no close frame";
  EXPECT_EQ(close->close_code(), 1009);
  EXPECT_TRUE(Answers(*bystander));
  EXPECT_TRUE(ServerStillServes(ts));
}

TEST(Robustness, FrameAtTheLimitIsReadAndAnswered) {
  TestServer ts(2, [](server::ServerConfig& c) { c.max_frame_bytes = 8 * 1024; });
  auto alice = ts.Connect("alice");
  ASSERT_TRUE(alice);
  ASSERT_TRUE(JoinRoom(*alice, "big talk"));
  // A chat line of exactly max_frame_bytes on the wire: decoded, then refused as too long.
  proto::ServerMessage m = ChatMsg("", "long");
  client::StampServerMessageType(&m);
  m.mutable_room_chat_message()->set_message(std::string(8000, 'a'));
  const size_t text = 8000 + (8 * 1024 - m.ByteSizeLong());  // length fields keep their size
  m.mutable_room_chat_message()->set_message(std::string(text, 'a'));
  ASSERT_EQ(m.ByteSizeLong(), 8u * 1024u);
  ASSERT_TRUE(alice->SendRaw(Bytes(m), true));
  std::string rid;
  EXPECT_EQ(WaitError(*alice, 3s, &rid), proto::INVALID_PARAMETERS);
  EXPECT_EQ(rid, "long");
  EXPECT_TRUE(alice->is_open());
}

TEST(Robustness, GarbageIsMalformedAndRepeatedGarbageCloses1008) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  ASSERT_TRUE(alice);
  const std::string garbage("\xff\xff\xff\xff\x0f\x01", 6);
  ASSERT_TRUE(alice->SendRaw(garbage, true));
  ASSERT_TRUE(ExpectMalformed(*alice));
  // One mistake does not cost the connection.
  EXPECT_TRUE(Answers(*alice));
  // A stream of them does (config.malformed_strikes = 5 by default).
  for (int i = 0; i < 10 && alice->is_open(); ++i) alice->SendRaw(garbage, true);
  uint16_t code = 0;
  std::string reason;
  ASSERT_TRUE(alice->WaitClosed(5s, &code, &reason));
  EXPECT_EQ(code, 1008);
  EXPECT_FALSE(reason.empty());
  EXPECT_GE(ts.TotalCounters().malformed, 5u);
  EXPECT_TRUE(ServerStillServes(ts));
}

TEST(Robustness, TextFrameIsRefused) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  ASSERT_TRUE(alice);
  ASSERT_TRUE(JoinRoom(*alice, "words"));
  // A valid chat message whose bytes happen to be ASCII, sent as a text frame.
  proto::ServerMessage chat = ChatMsg("hello");
  client::StampServerMessageType(&chat);
  const std::string bytes = Bytes(chat);
  for (char ch : bytes) ASSERT_LT(static_cast<unsigned char>(ch), 0x80);
  ASSERT_TRUE(alice->SendRaw(bytes, false));
  ASSERT_TRUE(ExpectMalformed(*alice));
  // It was not relayed: the room's lines are the binary one and then the next, with
  // consecutive ids (ids start at a random base per room, so nothing else tells the first).
  ASSERT_TRUE(alice->SendRaw(bytes, true));
  ASSERT_TRUE(alice->Send(ChatMsg("next")));
  std::vector<proto::RoomChatMessage> lines;
  while (lines.empty() || lines.back().message() != "next") {
    auto line = alice->WaitFor(proto::ClientMessage::kRoomChatMessage, 3s);
    ASSERT_TRUE(line);
    lines.push_back(line->room_chat_message());
  }
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].message(), "hello");
  EXPECT_EQ(lines[1].message_id(), lines[0].message_id() + 1);
  EXPECT_TRUE(alice->is_open());
}

TEST(Robustness, MessageTypeThatDisagreesWithTheOneofIsMalformed) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  ASSERT_TRUE(alice);
  ASSERT_TRUE(JoinRoom(*alice, "types"));
  proto::ServerMessage m = ChatMsg("sneaky", "t1");
  m.set_message_type(proto::ServerMessage::JoinRoomByName);
  ASSERT_TRUE(alice->SendRaw(Bytes(m), true));
  ASSERT_TRUE(ExpectMalformed(*alice));
  // An enum value the schema does not know is no better.
  proto::ServerMessage hb = HeartbeatMsg(5, "t2");
  hb.set_message_type(static_cast<proto::ServerMessage::MessageType>(99));
  ASSERT_TRUE(alice->SendRaw(Bytes(hb), true));
  ASSERT_TRUE(ExpectMalformed(*alice));
  // A type with no message at all.
  proto::ServerMessage bare;
  bare.set_message_type(proto::ServerMessage::RoomChatMessage);
  ASSERT_TRUE(alice->SendRaw(Bytes(bare), true));
  ASSERT_TRUE(ExpectMalformed(*alice));
  // The refused chat was never relayed.
  EXPECT_FALSE(alice->WaitFor(proto::ClientMessage::kRoomChatMessage, 300ms));
  // Unspecified (0) means "derive it": accepted.
  proto::ServerMessage plain = ChatMsg("plain", "t3");
  plain.set_message_type(proto::ServerMessage::Unspecified);
  ASSERT_TRUE(alice->SendRaw(Bytes(plain), true));
  EXPECT_TRUE(WaitForReply(*alice, proto::ClientMessage::kRoomChatMessage, "t3", 3s));
}

TEST(Robustness, EmptyServerMessageIsMalformed) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  ASSERT_TRUE(alice);
  ASSERT_TRUE(alice->SendRaw("", true));
  ASSERT_TRUE(ExpectMalformed(*alice));
  proto::ServerMessage only_id;
  only_id.set_request_id("nothing");
  ASSERT_TRUE(alice->SendRaw(Bytes(only_id), true));
  ASSERT_TRUE(ExpectMalformed(*alice));
  EXPECT_TRUE(Answers(*alice));
}

TEST(Robustness, ChatFloodIsRateLimited) {
  // Defaults: 2 lines/s, burst 6. The clock stands still, so no line is refilled however long
  // a busy machine takes to read the flood: exactly the burst passes.
  auto clock = NowFakeClock();
  TestServer ts(3, nullptr, clock);
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(JoinRoom(*alice, "chatty"));
  ASSERT_TRUE(JoinRoom(*bob, "chatty"));
  constexpr int kLines = 20;
  for (int i = 0; i < kLines; ++i) {
    ASSERT_TRUE(alice->Send(ChatMsg("line " + std::to_string(i), "c" + std::to_string(i))));
  }
  int limited = 0, echoed = 0;
  while (limited + echoed < kLines) {
    auto m = alice->Next(3s);
    ASSERT_TRUE(m) << "limited=" << limited << " echoed=" << echoed;
    if (m->has_error_message()) {
      EXPECT_EQ(m->error_message().code(), proto::RATE_LIMITED);
      EXPECT_EQ(m->request_id().substr(0, 1), "c");
      ++limited;
    } else if (m->has_room_chat_message() && !m->request_id().empty()) {
      ++echoed;
    }
  }
  EXPECT_EQ(limited, kLines - 6);
  EXPECT_EQ(echoed, 6);
  // Bob hears exactly the lines that were not refused.
  int heard = 0;
  while (bob->WaitFor(proto::ClientMessage::kRoomChatMessage, 500ms)) ++heard;
  EXPECT_EQ(heard, echoed);
  EXPECT_TRUE(ServerStillServes(ts));
}

TEST(Robustness, NoteQuotaIsRateLimitedButReleasesGetThrough) {
  TestServer ts(3, [](server::ServerConfig& c) {
    c.notes_per_second = 0.01;  // no refill worth speaking of during the test
    c.note_burst = 10;
  });
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(JoinRoom(*alice, "keys"));
  ASSERT_TRUE(JoinRoom(*bob, "keys"));
  constexpr int kBatches = 30;
  for (int i = 0; i < kBatches; ++i) {
    ASSERT_TRUE(alice->Send(MidiMsg(kNoteOn60, 0, "n" + std::to_string(i))));
  }
  int limited = 0;
  while (auto e = alice->WaitFor(proto::ClientMessage::kErrorMessage, 500ms)) {
    EXPECT_EQ(e->error_message().code(), proto::RATE_LIMITED);
    ++limited;
  }
  EXPECT_EQ(limited, kBatches - 10);
  int heard = 0;
  while (bob->WaitFor(proto::ClientMessage::kMidiMessage, 500ms)) ++heard;
  EXPECT_EQ(heard, kBatches - limited);
  // With the note quota spent, a note-off is still relayed: refusing it would leave a
  // note stuck for everyone.
  ASSERT_TRUE(alice->Send(MidiMsg(kNoteOff60, 0, "off")));
  auto off = bob->WaitFor(proto::ClientMessage::kMidiMessage, 3s);
  ASSERT_TRUE(off);
  EXPECT_EQ(off->midi_message().midi_data(), kNoteOff60);
  EXPECT_FALSE(alice->WaitFor(proto::ClientMessage::kErrorMessage, 300ms));
  // And a new note-on right away is still refused.
  ASSERT_TRUE(alice->Send(MidiMsg(kNoteOn60, 0, "again")));
  std::string rid;
  EXPECT_EQ(WaitError(*alice, 3s, &rid), proto::RATE_LIMITED);
  EXPECT_EQ(rid, "again");
}

// A receiver that stops reading is cut off; the room, the sender and the other
// receivers do not notice: every line reaches the reader that keeps up.
TEST(Robustness, SlowConsumerIsClosedAndOthersReceiveEverything) {
  TestServer ts(3, [](server::ServerConfig& c) {
    c.socket_send_buffer = 4096;
    c.outbound_soft_limit = 16 * 1024;
    c.outbound_hard_limit = 32 * 1024;
    c.chat_per_second = 1e6;
    c.chat_burst = 1e6;
    c.close_timeout_ms = 5000;  // long enough for the test to drain and see the code
  });
  const std::string room = "firehose";
  auto sender = ts.Connect("sender");
  auto reader = ts.Connect("reader");
  ASSERT_TRUE(sender && reader);
  ASSERT_TRUE(JoinRoom(*sender, room));
  ASSERT_TRUE(JoinRoom(*reader, room));
  RawWs slow;
  ASSERT_TRUE(OpenAndJoin(slow, ts, "slow", room, /*receive_buffer=*/4096));
  auto joined = reader->WaitFor(proto::ClientMessage::kUserJoinedRoom, 5s);
  ASSERT_TRUE(joined);
  ASSERT_EQ(joined->user_joined_room().user_info().user_id(), "u-slow");
  // From here on the slow client reads nothing.

  constexpr int kLines = 400;
  constexpr int kWindow = 16;  // lines in flight: keeps the reader under its own budget
  const std::string filler(400, 'z');
  int sent = 0, received = 0;
  uint64_t last_id = 0;
  while (received < kLines) {
    while (sent < kLines && sent - received < kWindow) {
      ASSERT_TRUE(sender->Send(ChatMsg(std::to_string(sent) + " " + filler)));
      ++sent;
    }
    auto m = reader->WaitFor(proto::ClientMessage::kRoomChatMessage, 5s);
    ASSERT_TRUE(m) << "the reader stalled after " << received << " of " << kLines
                   << " lines; slow consumers closed: " << ts.TotalCounters().slow_consumers_closed;
    const auto& line = m->room_chat_message();
    ASSERT_EQ(line.user_id(), "u-sender");
    EXPECT_EQ(line.message(), std::to_string(received) + " " + filler);
    if (last_id != 0) {
      EXPECT_EQ(line.message_id(), last_id + 1);
    }
    last_id = line.message_id();
    ++received;
  }
  EXPECT_EQ(received, kLines);
  EXPECT_TRUE(reader->is_open());
  EXPECT_TRUE(sender->is_open());
  ASSERT_TRUE(WaitUntil([&] { return ts.TotalCounters().slow_consumers_closed >= 1; }, 5s))
      << "the client that stopped reading was never closed";
  EXPECT_EQ(ts.TotalCounters().slow_consumers_closed, 1u);
  // Now it reads: what was queued before the cut, then the close frame with 4001.
  int frames = 0;
  auto close = slow.ReadUntilClose(10s, &frames);
  ASSERT_TRUE(close) << "no close frame after " << frames << " frames (eof=" << slow.eof() << ")";
  EXPECT_EQ(close->close_code(), 4001);
  EXPECT_LT(frames, kLines + 5);
  slow.SendFrame(kOpClose, close->payload.substr(0, 2));  // complete the close handshake
  // The room goes on without it.
  auto gone = reader->WaitFor(proto::ClientMessage::kUserLeftRoom, 5s);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->user_left_room().user_id(), "u-slow");
  ASSERT_TRUE(sender->Send(ChatMsg("after")));
  auto after = reader->WaitFor(proto::ClientMessage::kRoomChatMessage, 3s);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->room_chat_message().message(), "after");
  EXPECT_TRUE(ServerStillServes(ts));
}

// The same with the kernel's default socket buffers (several MB on loopback): the
// outbound budget still cuts the client off once the kernel stops taking bytes.
TEST(Robustness, SlowConsumerIsClosedWithDefaultSocketBuffers) {
  TestServer ts(3, [](server::ServerConfig& c) {
    c.outbound_soft_limit = 128 * 1024;
    c.outbound_hard_limit = 256 * 1024;
    c.max_chat_length = 16 * 1024;
    c.chat_per_second = 1e6;
    c.chat_burst = 1e6;
    c.close_timeout_ms = 5000;
  });
  const std::string room = "big pipe";
  auto sender = ts.Connect("sender");
  auto reader = ts.Connect("reader");
  ASSERT_TRUE(sender && reader);
  ASSERT_TRUE(JoinRoom(*sender, room));
  ASSERT_TRUE(JoinRoom(*reader, room));
  RawWs slow;
  ASSERT_TRUE(OpenAndJoin(slow, ts, "slow", room, /*receive_buffer=*/4096));
  ASSERT_TRUE(reader->WaitFor(proto::ClientMessage::kUserJoinedRoom, 5s));

  constexpr int kMaxLines = 1024;  // 16 MB: far beyond any kernel buffering
  constexpr int kWindow = 4;
  const std::string filler(16 * 1024 - 16, 'q');
  int sent = 0, received = 0;
  bool cut = false;
  while (received < sent || (!cut && sent < kMaxLines)) {
    while (!cut && sent < kMaxLines && sent - received < kWindow) {
      ASSERT_TRUE(sender->Send(ChatMsg(std::to_string(sent) + " " + filler)));
      ++sent;
    }
    auto m = reader->WaitFor(proto::ClientMessage::kRoomChatMessage, 5s);
    ASSERT_TRUE(m) << "the reader stalled after " << received << " of " << sent << " lines";
    ASSERT_EQ(m->room_chat_message().message(), std::to_string(received) + " " + filler);
    ++received;
    if (received % 32 == 0) cut = ts.TotalCounters().slow_consumers_closed > 0;
  }
  EXPECT_TRUE(cut) << "the client that stopped reading was never closed after " << sent
                   << " lines of 16 KB";
  EXPECT_EQ(ts.TotalCounters().slow_consumers_closed, 1u);
  EXPECT_TRUE(reader->is_open());
  auto close = slow.ReadUntilClose(20s);
  ASSERT_TRUE(close) << "no close frame (eof=" << slow.eof() << ")";
  EXPECT_EQ(close->close_code(), 4001);
  EXPECT_TRUE(ServerStillServes(ts));
}

// Socket options must reach the accepted sockets: TCP_NODELAY (MIDI is many tiny frames)
// and config.socket_send_buffer. The test shares the server's process, so it can look
// at the server's own sockets.
TEST(Robustness, AcceptedSocketsGetTheConfiguredOptions) {
  constexpr int kSendBuffer = 16 * 1024;
  TestServer ts(2, [](server::ServerConfig& c) { c.socket_send_buffer = kSendBuffer; });
  auto alice = ts.Connect("alice");
  ASSERT_TRUE(alice);
  int checked = 0;
  for (int fd = 0; fd < 4096; ++fd) {
    sockaddr_in local{}, peer{};
    socklen_t len = sizeof(local);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) continue;
    if (local.sin_family != AF_INET || ntohs(local.sin_port) != ts.port()) continue;
    len = sizeof(peer);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;  // listener
    int nodelay = 0, sndbuf = 0;
    len = sizeof(nodelay);
    ASSERT_EQ(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
    len = sizeof(sndbuf);
    ASSERT_EQ(getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len), 0);
    EXPECT_NE(nodelay, 0) << "TCP_NODELAY is not set on an accepted socket";
    // Linux doubles the requested size for its own bookkeeping.
    EXPECT_LE(sndbuf, 2 * kSendBuffer) << "socket_send_buffer was not applied";
    ++checked;
  }
  EXPECT_EQ(checked, 1);
}

TEST(Robustness, IdleConnectionIsClosedWhileAHeartbeatingOneStays) {
  // Server time is a FakeClock moved by the test, so "idle" means idle in server time and a
  // busy machine cannot make the heartbeating client look idle.
  auto clock = NowFakeClock();
  TestServer ts(
      3, [](server::ServerConfig& c) { c.idle_timeout_ms = 800; }, clock);
  auto busy = ts.Connect("busy");
  ASSERT_TRUE(busy);
  auto idle = ts.Connect("idle");
  ASSERT_TRUE(idle);
  // Three steps of 500 ms: the busy client heartbeats (and hears the answer) after each step,
  // the idle one says nothing. After the second step the idle one is 1000 ms idle: closed.
  bool idle_closed = false;
  for (int step = 0; step < 3; ++step) {
    clock->AdvanceUs(500 * 1000);
    const std::string rid = "hb" + std::to_string(step);
    ASSERT_TRUE(busy->Send(HeartbeatMsg(step + 1, rid)));
    ASSERT_TRUE(WaitForReply(*busy, proto::ClientMessage::kHeartbeatMessage, rid, 5s))
        << "the heartbeating client lost its connection at step " << step;
    if (step == 0) {
      EXPECT_FALSE(idle->WaitClosed(300ms)) << "closed after 500 ms of an 800 ms timeout";
    }
    if (step == 1) {
      uint16_t code = 0;
      std::string reason;
      ASSERT_TRUE(idle->WaitClosed(10s, &code, &reason)) << "the idle client was never closed";
      idle_closed = true;
      EXPECT_EQ(code, 4000);
      EXPECT_FALSE(reason.empty());
    }
  }
  EXPECT_TRUE(idle_closed);
  EXPECT_TRUE(busy->is_open());
  EXPECT_TRUE(Answers(*busy));
}

TEST(Robustness, HeartbeatEchoesClientTimeAndOrdersServerTimes) {
  TestServer ts;
  auto alice = ts.Connect("alice");
  ASSERT_TRUE(alice);
  for (int64_t t1 : {int64_t{123456789}, int64_t{0}, int64_t{-5}, int64_t{1} << 60}) {
    ASSERT_TRUE(alice->Send(HeartbeatMsg(t1, "hb")));
    auto r = WaitForReply(*alice, proto::ClientMessage::kHeartbeatMessage, "hb", 3s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->message_type(), proto::ClientMessage::HeartbeatMessage);
    const auto& hb = r->heartbeat_message();
    EXPECT_EQ(hb.timestamp(), t1);
    EXPECT_GT(hb.server_receive_time(), 0);
    EXPECT_LE(hb.server_receive_time(), hb.server_send_time());
  }
  // Server times do not go backwards between heartbeats.
  int64_t last = 0;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(alice->Send(HeartbeatMsg(i)));
    auto r = alice->WaitFor(proto::ClientMessage::kHeartbeatMessage, 3s);
    ASSERT_TRUE(r);
    EXPECT_GE(r->heartbeat_message().server_receive_time(), last);
    last = r->heartbeat_message().server_send_time();
  }
  // The seed's ServerCommand HEARTBEAT is answered the same way.
  proto::ServerMessage cmd;
  cmd.mutable_server_command()->set_commandtype(proto::HEARTBEAT);
  cmd.set_request_id("seed");
  ASSERT_TRUE(alice->Send(cmd));
  auto r = WaitForReply(*alice, proto::ClientMessage::kHeartbeatMessage, "seed", 3s);
  ASSERT_TRUE(r);
  EXPECT_LE(r->heartbeat_message().server_receive_time(),
            r->heartbeat_message().server_send_time());
}

TEST(Robustness, ShutdownClosesClientsWith1001AndReturns) {
  TestServer ts(3);
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(alice && bob && carol);
  ASSERT_TRUE(JoinRoom(*alice, "last call"));
  ASSERT_TRUE(JoinRoom(*bob, "last call"));
  ts.server().Shutdown();
  for (client::Client* c : {alice.get(), bob.get(), carol.get()}) {
    uint16_t code = 0;
    ASSERT_TRUE(c->WaitClosed(5s, &code));
    EXPECT_EQ(code, 1001);
  }
  auto waited = std::async(std::launch::async, [&ts] { ts.server().Wait(); });
  EXPECT_EQ(waited.wait_for(10s), std::future_status::ready) << "Wait() did not return";
  // Nobody is listening any more.
  client::Client late;
  client::ConnectResult r = late.Connect("127.0.0.1", ts.port(), ts.Resource(Named("late")), 2s);
  EXPECT_FALSE(r.ok);
  waited.wait();
}

TEST(Robustness, ShutdownAlsoClosesAClientThatStoppedReading) {
  TestServer ts(2, [](server::ServerConfig& c) { c.socket_send_buffer = 4096; });
  RawWs raw;
  ASSERT_TRUE(raw.Open(ts.port(), ts.Resource(Named("deaf")), 4096));
  auto alice = ts.Connect("alice");
  ASSERT_TRUE(alice);
  ts.server().Shutdown();
  uint16_t code = 0;
  ASSERT_TRUE(alice->WaitClosed(5s, &code));
  EXPECT_EQ(code, 1001);
  auto waited = std::async(std::launch::async, [&ts] { ts.server().Wait(); });
  EXPECT_EQ(waited.wait_for(15s), std::future_status::ready) << "Wait() did not return";
  waited.wait();
}

// Pongs are written by websocketpp while Tutti's own frames for the same connection are
// queued: both must leave in order, whole, through the one outbound queue, even when a
// small receive window forces partial writes.
TEST(Robustness, PingsAreAnsweredInOrderAmongRoomTraffic) {
  TestServer ts(2, [](server::ServerConfig& c) {
    c.socket_send_buffer = 4096;
    c.chat_per_second = 1e6;
    c.chat_burst = 1e6;
  });
  const std::string room = "pingpong";
  auto sender = ts.Connect("sender");
  ASSERT_TRUE(sender);
  ASSERT_TRUE(JoinRoom(*sender, room));
  RawWs raw;
  ASSERT_TRUE(OpenAndJoin(raw, ts, "pinger", room, /*receive_buffer=*/4096));
  ASSERT_TRUE(sender->WaitFor(proto::ClientMessage::kUserJoinedRoom, 5s));

  constexpr int kLines = 60;
  constexpr int kPings = 20;
  const std::string filler(300, 'p');
  for (int i = 0; i < kLines; ++i) {
    ASSERT_TRUE(sender->Send(ChatMsg(std::to_string(i) + " " + filler)));
    if (i % 3 == 0 && i / 3 < kPings) {
      ASSERT_TRUE(raw.SendFrame(kOpPing, "ping-" + std::to_string(i / 3)));
    }
  }
  int lines = 0, pongs = 0;
  while (lines < kLines || pongs < kPings) {
    auto f = raw.ReadFrame(5s);
    ASSERT_TRUE(f) << "stalled after " << lines << " lines and " << pongs << " pongs";
    if (f->opcode == kOpPong) {
      EXPECT_EQ(f->payload, "ping-" + std::to_string(pongs));
      ++pongs;
      continue;
    }
    ASSERT_EQ(f->opcode, kOpBinary);
    proto::ClientMessage m;
    ASSERT_TRUE(m.ParseFromString(f->payload)) << "a frame arrived damaged";
    if (m.has_room_chat_message()) {
      EXPECT_EQ(m.room_chat_message().message(), std::to_string(lines) + " " + filler);
      ++lines;
    }
  }
  EXPECT_EQ(lines, kLines);
  EXPECT_EQ(pongs, kPings);
  EXPECT_TRUE(ServerStillServes(ts));
}

// A client that sent its close frame while frames were still queued for it is in
// websocketpp's "closing" state until the queue drains. Closing its session from the
// server side then (shutdown here; a slow-consumer cut works the same way) must leave
// the close to websocketpp, not end the session inside the loop over sessions.
TEST(Robustness, ShutdownWhileAPeersCloseIsQueuedBehindItsFrames) {
  TestServer ts(1, [](server::ServerConfig& c) {
    c.socket_send_buffer = 4096;
    c.chat_per_second = 1e6;
    c.chat_burst = 1e6;
    c.close_timeout_ms = 1000;
  });
  const std::string room = "backlog";
  auto sender = ts.Connect("sender");
  ASSERT_TRUE(sender);
  ASSERT_TRUE(JoinRoom(*sender, room));
  RawWs raw;
  ASSERT_TRUE(OpenAndJoin(raw, ts, "leaving", room, /*receive_buffer=*/4096));
  ASSERT_TRUE(sender->WaitFor(proto::ClientMessage::kUserJoinedRoom, 5s));
  // Fill the kernel's buffers and the server's queue for `raw`, which reads nothing.
  const std::string filler(400, 'q');
  constexpr int kLines = 60;
  for (int i = 0; i < kLines; ++i) ASSERT_TRUE(sender->Send(ChatMsg(std::to_string(i) + filler)));
  for (int i = 0; i < kLines; ++i) {
    ASSERT_TRUE(sender->WaitFor(proto::ClientMessage::kRoomChatMessage, 5s)) << i;
  }
  // The peer says goodbye; the server's answer is queued behind the backlog.
  ASSERT_TRUE(raw.SendFrame(kOpClose, std::string("\x03\xe8", 2)));
  std::this_thread::sleep_for(200ms);  // let the server read it (ordering, not timing)
  ts.server().Shutdown();
  uint16_t code = 0;
  ASSERT_TRUE(sender->WaitClosed(5s, &code));
  EXPECT_EQ(code, 1001);
  auto waited = std::async(std::launch::async, [&ts] { ts.server().Wait(); });
  EXPECT_EQ(waited.wait_for(15s), std::future_status::ready) << "Wait() did not return";
  waited.wait();
}

}  // namespace
}  // namespace tutti::testing
