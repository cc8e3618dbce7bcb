// The per-message protobuf work of the relay path: decoding a client's ServerMessage the
// way the dispatcher does (stack-backed arena), and building and framing the relayed
// ClientMessage once (MakeFrame), which every receiver then shares.
#include <benchmark/benchmark.h>

#include <google/protobuf/arena.h>

#include <string>

#include "protos/tutti.pb.h"
#include "server/frame.h"

namespace tutti {
namespace {

std::string MidiServerMessage(int notes) {
  proto::ServerMessage m;
  m.set_message_type(proto::ServerMessage::MidiMessage);
  std::string data;
  for (int i = 0; i < notes; ++i) data += std::string("\x90\x3c\x60", 3);
  m.mutable_midi_message()->set_midi_data(data);
  m.mutable_midi_message()->set_timestamp(1'234'567'890'123);
  return m.SerializeAsString();
}

void BM_DecodeServerMessageMidi(benchmark::State& state) {
  const std::string bytes = MidiServerMessage(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    alignas(16) char block[4096];
    google::protobuf::ArenaOptions options;
    options.initial_block = block;
    options.initial_block_size = sizeof(block);
    google::protobuf::Arena arena(options);
    auto* msg = google::protobuf::Arena::CreateMessage<proto::ServerMessage>(&arena);
    benchmark::DoNotOptimize(msg->ParseFromString(bytes));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeServerMessageMidi)->Arg(1)->Arg(3);

void BM_DecodeServerMessageChat(benchmark::State& state) {
  proto::ServerMessage m;
  m.set_message_type(proto::ServerMessage::RoomChatMessage);
  m.mutable_room_chat_message()->set_message(std::string(80, 'a'));
  m.set_request_id("r-12");
  const std::string bytes = m.SerializeAsString();
  for (auto _ : state) {
    alignas(16) char block[4096];
    google::protobuf::ArenaOptions options;
    options.initial_block = block;
    options.initial_block_size = sizeof(block);
    google::protobuf::Arena arena(options);
    auto* msg = google::protobuf::Arena::CreateMessage<proto::ServerMessage>(&arena);
    benchmark::DoNotOptimize(msg->ParseFromString(bytes));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeServerMessageChat);

// What Room::Midi builds for one relayed batch, framed once.
void BM_MakeFrameMidi(benchmark::State& state) {
  const std::string data(std::string("\x90\x3c\x60\x90\x40\x60\x90\x43\x60", 9));
  for (auto _ : state) {
    proto::ClientMessage out;
    out.set_message_type(proto::ClientMessage::MidiMessage);
    auto* midi = out.mutable_midi_message();
    midi->set_midi_data(data);
    midi->set_timestamp(1'234'567'890'123);
    midi->set_server_arrival_time(1'234'567'890'456);
    midi->set_room_time(1'234'567'890'457);
    midi->set_user_id("user-1234567890");
    midi->set_session_id(0x1234501);
    midi->set_sequence(12345);
    server::Frame f = server::MakeFrame(out);
    benchmark::DoNotOptimize(f);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MakeFrameMidi);

}  // namespace
}  // namespace tutti
