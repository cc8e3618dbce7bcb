// permessage-deflate's cost and gain (docs/PERFORMANCE.md, "Compression"): the frames the
// issue names (a RoomJoinedResponse with a full chat history, a RoomList of many rooms,
// a BanList) serialized once, then handed to 64 receivers that negotiated the extension.
//   BM_DeflateShared:      what the server does: one DeflateMessage per frame (the first
//                          receiver's FrameForDeflateReceiver), the other 63 share it.
//   BM_DeflatePerReceiver: what a per-connection compressor (websocketpp's own extension)
//                          would do: one deflate per receiver.
//   BM_PlainOnly:          the same 64 hand-offs with compression off (the baseline).
//   BM_DeflateLevel:       one message deflated the way DeflateMessage does it (a reset
//                          raw stream, 2^15 window, memLevel 8, sync flush) at zlib level
//                          1 (what the server uses) and 6 (zlib's default), to price the
//                          choice in server/deflate.cc.
// Counters: plain and compressed payload bytes per frame.
#include <benchmark/benchmark.h>
#include <zlib.h>

#include <memory>
#include <string>
#include <vector>

#include "server/deflate.h"
#include "server/frame.h"

namespace tutti {
namespace {

constexpr int kReceivers = 64;

proto::ClientMessage JoinWithHistory() {
  proto::ClientMessage m;
  m.set_message_type(proto::ClientMessage::RoomJoinedResponse);
  auto* r = m.mutable_room_joined_response();
  r->set_success(true);
  r->mutable_room_info()->set_room_id("jazz-night");
  r->mutable_room_info()->set_room_name("Jazz Night");
  for (int i = 0; i < 32; ++i) {
    auto* u = r->add_current_users();
    u->set_user_id("u-player-" + std::to_string(i));
    u->set_username("Player " + std::to_string(i));
    u->set_session_id(1000 + static_cast<uint64_t>(i));
  }
  for (int i = 0; i < 50; ++i) {
    auto* c = r->add_chat_history();
    c->set_user_id("u-player-" + std::to_string(i % 7));
    c->set_username("Player " + std::to_string(i % 7));
    c->set_message("line " + std::to_string(i) +
                   ": shall we take the bridge slower this time, in D minor?");
    c->set_server_time(1'700'000'000'000 + i * 1'500'000);
  }
  return m;
}

proto::ClientMessage BigRoomList() {
  proto::ClientMessage m;
  m.set_message_type(proto::ClientMessage::RoomList);
  for (int i = 0; i < 200; ++i) {
    auto* r = m.mutable_room_list()->add_rooms();
    r->set_room_id("room-" + std::to_string(i));
    r->set_room_name("Room " + std::to_string(i));
    r->set_owner_id("u-owner-" + std::to_string(i));
    r->set_user_count(i % 16);
    r->mutable_settings()->set_max_users(16);
    r->mutable_settings()->set_allow_chat(true);
    r->set_topic("a topic of a usual length for room " + std::to_string(i));
  }
  return m;
}

proto::ClientMessage BigBanList() {
  proto::ClientMessage m;
  m.set_message_type(proto::ClientMessage::BanList);
  for (int i = 0; i < 300; ++i) {
    auto* b = m.mutable_ban_list()->add_bans();
    b->set_target("u-spammer-" + std::to_string(i));
    b->set_reason("spam in the lobby");
    b->set_actor_user_id("u-moderator-" + std::to_string(i % 5));
    b->set_created_unix_ms(1'700'000'000'000 + i * 60'000);
  }
  return m;
}

proto::ClientMessage Pick(int64_t kind) {
  switch (kind) {
    case 0:
      return JoinWithHistory();
    case 1:
      return BigRoomList();
    default:
      return BigBanList();
  }
}

void Label(benchmark::State& state, const std::string& bytes) {
  static const char* kNames[] = {"join+50 lines", "room list 200", "ban list 300"};
  state.SetLabel(kNames[state.range(0)]);
  state.counters["plain_B"] = static_cast<double>(bytes.size());
  state.counters["deflated_B"] = static_cast<double>(server::DeflateMessage(bytes).size());
}

void BM_DeflateShared(benchmark::State& state) {
  const std::string bytes = Pick(state.range(0)).SerializeAsString();
  size_t out = 0;
  for (auto _ : state) {
    // A fresh frame each time: its twin is made once, by the first receiver.
    const server::Frame f = std::make_shared<const server::PreparedFrame>(
        bytes, server::PreparedFrame::Kind::kCompressible);
    for (int r = 0; r < kReceivers; ++r)
      out += server::FrameForDeflateReceiver(f, 1024)->wire_size();
  }
  benchmark::DoNotOptimize(out);
  Label(state, bytes);
}
BENCHMARK(BM_DeflateShared)->DenseRange(0, 2)->Unit(benchmark::kMicrosecond);

void BM_DeflatePerReceiver(benchmark::State& state) {
  const std::string bytes = Pick(state.range(0)).SerializeAsString();
  size_t out = 0;
  for (auto _ : state) {
    for (int r = 0; r < kReceivers; ++r) out += server::DeflateMessage(bytes).size();
  }
  benchmark::DoNotOptimize(out);
  Label(state, bytes);
}
BENCHMARK(BM_DeflatePerReceiver)->DenseRange(0, 2)->Unit(benchmark::kMicrosecond);

void BM_PlainOnly(benchmark::State& state) {
  const std::string bytes = Pick(state.range(0)).SerializeAsString();
  size_t out = 0;
  for (auto _ : state) {
    const server::Frame f = std::make_shared<const server::PreparedFrame>(
        bytes, server::PreparedFrame::Kind::kCompressible);
    for (int r = 0; r < kReceivers; ++r) out += f->wire_size();
  }
  benchmark::DoNotOptimize(out);
  Label(state, bytes);
}
BENCHMARK(BM_PlainOnly)->DenseRange(0, 2)->Unit(benchmark::kMicrosecond);

void BM_DeflateLevel(benchmark::State& state) {
  const std::string bytes = Pick(state.range(0)).SerializeAsString();
  const int level = static_cast<int>(state.range(1));
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, -server::kDeflateWindowBits, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    state.SkipWithError("deflateInit2 failed");
    return;
  }
  std::string out(deflateBound(&z, static_cast<uLong>(bytes.size())) + 16, '\0');
  size_t used = 0;
  for (auto _ : state) {
    deflateReset(&z);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    z.avail_in = static_cast<uInt>(bytes.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_SYNC_FLUSH);
    used = out.size() - z.avail_out;
    benchmark::DoNotOptimize(out.data());
  }
  deflateEnd(&z);
  static const char* kNames[] = {"join+50 lines", "room list 200", "ban list 300"};
  state.SetLabel(std::string(kNames[state.range(0)]) + ", level " + std::to_string(level));
  state.counters["plain_B"] = static_cast<double>(bytes.size());
  state.counters["deflated_B"] = static_cast<double>(used - 4);  // without 00 00 ff ff
}
BENCHMARK(BM_DeflateLevel)->ArgsProduct({{0, 1, 2}, {1, 6}})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tutti
