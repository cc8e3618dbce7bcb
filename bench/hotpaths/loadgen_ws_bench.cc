// The load generator's WebSocket layer per message: its own framing (tools/loadgen/wire.h)
// against websocketpp's client, the library the tools and tests use (tools/client). Both
// on in-memory bytes (websocketpp over its iostream transport, no sockets), so the figures
// are the client library's CPU per message, without the syscalls both would pay alike:
//   out  one MIDI ServerMessage framed and masked for the server;
//   in   a read of 64 relayed frames from the server split into messages.
// docs/PERFORMANCE.md ("The load generator's WebSocket client") records the choice.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include <websocketpp/base64/base64.hpp>
#include <websocketpp/client.hpp>
#include <websocketpp/config/core_client.hpp>
#include <websocketpp/sha1/sha1.hpp>

#include "tools/loadgen/wire.h"

namespace tutti {
namespace {

using WsClient = websocketpp::client<websocketpp::config::core_client>;

// A 3-note chord as the load generator sends it.
std::string MidiPayload() {
  const char chord[9] = {'\x90', 60, 96, '\x90', 64, 96, '\x90', 67, 96};
  uint8_t buf[64];
  const size_t n =
      loadgen::EncodeMidiMessage(std::string_view(chord, 9), 1234567890, buf, sizeof(buf));
  return std::string(reinterpret_cast<const char*>(buf), n);
}

// 64 unmasked binary frames, as a server's read delivers them.
std::string ServerFrames(const std::string& payload) {
  std::string out;
  for (int i = 0; i < 64; ++i) {
    out.push_back(static_cast<char>(0x82));
    out.push_back(static_cast<char>(payload.size()));
    out += payload;
  }
  return out;
}

// A websocketpp client connection, opened by answering its handshake by hand.
struct OpenClient {
  WsClient client;
  WsClient::connection_ptr con;
  std::string written;
  uint64_t received = 0;

  OpenClient() {
    client.clear_access_channels(websocketpp::log::alevel::all);
    client.clear_error_channels(websocketpp::log::elevel::all);
    client.set_write_handler([this](websocketpp::connection_hdl, char const* data, size_t n) {
      written.append(data, n);
      return websocketpp::lib::error_code();
    });
    client.set_message_handler([this](websocketpp::connection_hdl, WsClient::message_ptr m) {
      received += m->get_payload().size();
    });
    websocketpp::lib::error_code ec;
    con = client.get_connection("ws://127.0.0.1/api/websocket/x", ec);
    client.connect(con);
    const std::string marker = "Sec-WebSocket-Key: ";
    const size_t at = written.find(marker);
    const size_t end = written.find("\r\n", at);
    const std::string key = written.substr(at + marker.size(), end - at - marker.size()) +
                            "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char hash[20];
    websocketpp::sha1::calc(key.data(), key.size(), hash);
    std::string response =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        websocketpp::base64_encode(hash, sizeof(hash)) + "\r\n\r\n";
    con->read_some(response.data(), response.size());
    written.clear();
  }
  bool open() const { return con->get_state() == websocketpp::session::state::open; }
};

void BM_LoadgenWsOutHand(benchmark::State& state) {
  const std::string payload = MidiPayload();
  std::string pending;
  for (auto _ : state) {
    loadgen::AppendClientFrame(&pending, loadgen::kOpBinary, payload, 0x9E3779B9u);
    benchmark::DoNotOptimize(pending.data());
    pending.clear();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LoadgenWsOutHand);

void BM_LoadgenWsOutWebsocketpp(benchmark::State& state) {
  const std::string payload = MidiPayload();
  OpenClient c;
  if (!c.open()) {
    state.SkipWithError("websocketpp client did not open");
    return;
  }
  // One send first, checked: the loop below must measure frames that were really written.
  c.con->send(payload.data(), payload.size(), websocketpp::frame::opcode::binary);
  if (c.written.size() != 2 + 4 + payload.size()) {
    state.SkipWithError("websocketpp wrote no masked frame");
    return;
  }
  for (auto _ : state) {
    c.con->send(payload.data(), payload.size(), websocketpp::frame::opcode::binary);
    benchmark::DoNotOptimize(c.written.data());
    c.written.clear();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LoadgenWsOutWebsocketpp);

void BM_LoadgenWsInHand(benchmark::State& state) {
  std::string frames = ServerFrames(MidiPayload());
  const uint8_t* data = reinterpret_cast<const uint8_t*>(frames.data());
  uint64_t bytes = 0;
  for (auto _ : state) {
    bytes = 0;
    size_t off = 0;
    loadgen::FrameHeader h;
    while (loadgen::ParseServerFrameHeader(data + off, frames.size() - off, &h) > 0) {
      bytes += h.payload_length;
      off += h.header_length + h.payload_length;
    }
    benchmark::DoNotOptimize(bytes);
  }
  if (bytes != 64 * MidiPayload().size()) state.SkipWithError("frames not all parsed");
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_LoadgenWsInHand);

void BM_LoadgenWsInWebsocketpp(benchmark::State& state) {
  std::string frames = ServerFrames(MidiPayload());
  OpenClient c;
  if (!c.open()) {
    state.SkipWithError("websocketpp client did not open");
    return;
  }
  // One read first, checked: every frame must reach the message handler.
  c.con->read_some(frames.data(), frames.size());
  if (c.received != 64 * MidiPayload().size()) {
    state.SkipWithError("websocketpp delivered fewer messages than frames");
    return;
  }
  for (auto _ : state) {
    c.con->read_some(frames.data(), frames.size());
    benchmark::DoNotOptimize(c.received);
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_LoadgenWsInWebsocketpp);

}  // namespace
}  // namespace tutti
