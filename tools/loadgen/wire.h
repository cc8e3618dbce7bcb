// Wire helpers for the load generator: the client side of RFC 6455 framing (handshake
// request, masked frames out, unmasked server frames in), hand-rolled encoders for the
// two ServerMessages sent at rate (MIDI and chat), and a minimal field scan of incoming
// ClientMessages that reads only what a measurement needs. Everything here is a pure
// function over caller-owned buffers: no allocation on the hot paths, any thread.
// Owner: tools/loadgen (conn.cc) and its unit test. Why hand framing rather than
// websocketpp's client, measured per message: docs/PERFORMANCE.md, "How the load generator
// measures" (bench/hotpaths/loadgen_ws_bench.cc).
#ifndef TUTTI_TOOLS_LOADGEN_WIRE_H_
#define TUTTI_TOOLS_LOADGEN_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tutti::loadgen {

// --- WebSocket ----------------------------------------------------------------------

std::string HandshakeRequest(std::string_view host, uint16_t port, std::string_view resource);

// Looks for a complete HTTP response head in `data`. Returns 0 while incomplete;
// otherwise the status code (or -1 when unparsable) and the head's length.
int ParseHandshakeResponse(std::string_view data, size_t* head_length);

enum : uint8_t {
  kOpText = 0x1,
  kOpBinary = 0x2,
  kOpClose = 0x8,
  kOpPing = 0x9,
  kOpPong = 0xA,
};

// Appends one final, masked client frame. A client must mask (the server closes the
// connection otherwise); the key is fixed per connection, which the server cannot tell
// from a fresh one and which keeps this a single pass over a few dozen bytes.
void AppendClientFrame(std::string* out, uint8_t opcode, std::string_view payload,
                       uint32_t mask_key);

struct FrameHeader {
  uint8_t opcode = 0;
  bool fin = false;
  size_t header_length = 0;
  uint64_t payload_length = 0;
};

// 1: a complete header was read; 0: need more bytes; -1: a frame no server may send
// (masked, reserved bits, oversize control frame).
int ParseServerFrameHeader(const uint8_t* data, size_t size, FrameHeader* header);

// --- ServerMessage encoders (hot path) -------------------------------------------------

// ServerMessage{message_type: MidiMessage, midi_message{midi_data, timestamp}} into `out`
// Returns the encoded length, or 0 when `out_capacity` is too small.
size_t EncodeMidiMessage(std::string_view midi_data, int64_t timestamp_us, uint8_t* out,
                         size_t out_capacity);
// ServerMessage{message_type: RoomChatMessage, room_chat_message{message}, request_id}.
size_t EncodeChatMessage(std::string_view text, std::string_view request_id, uint8_t* out,
                         size_t out_capacity);

// --- ClientMessage scan ------------------------------------------------------------------

// ClientMessage oneof field numbers the generator reacts to.
enum ClientCase : int {
  kCaseNone = 0,
  kCaseWelcome = 2,
  kCaseError = 3,
  kCaseRoomJoined = 4,
  kCaseRoomLeft = 5,
  kCaseChat = 10,
  kCaseMidi = 12,
  kCaseHeartbeat = 20,
};

struct ScanResult {
  int message_case = kCaseNone;  // the oneof field number, whatever it is
  std::string_view body;         // the oneof submessage's bytes
  // For kCaseMidi:
  int64_t midi_timestamp = 0;
  uint32_t midi_flags = 0;
  // For kCaseChat:
  std::string_view chat_text;
  // For kCaseRoomJoined:
  bool joined_success = false;
  std::string_view request_id;
};

// Reads the top level and, for MIDI, chat and join responses, the few inner fields
// above. False on malformed protobuf.
bool ScanClientMessage(const uint8_t* data, size_t size, ScanResult* result);

}  // namespace tutti::loadgen

#endif  // TUTTI_TOOLS_LOADGEN_WIRE_H_
