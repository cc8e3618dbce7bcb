// Frame: one outbound message, serialized once and framed once, then shared read-only
// by every receiver on every shard (zero payload copies per receiver). A frame is
// Tutti's own buffer: the RFC 6455 header of an unmasked, final binary frame (at most
// 10 bytes, held inline) and the protobuf payload (one heap string). The endpoint's
// outbound queue (server/ws_outbound_connection.h) writes the two as they are with
// scatter I/O; nothing here knows websocketpp.
// A frame that may be compressed (anything but MIDI) also owns, once a receiver that
// negotiated permessage-deflate asks for it, its compressed twin: the same message
// deflated once (server/deflate.h) behind a header with RSV1 set, shared by every such
// receiver (docs/ARCHITECTURE.md, "Compression").
// Immutable after MakeFrame returns, but for that twin, made at most once under a
// std::once_flag; safe to share across threads (a shared_ptr to const: whoever holds
// the last reference frees it, twin included).
#ifndef TUTTI_SERVER_FRAME_H_
#define TUTTI_SERVER_FRAME_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "protos/tutti.pb.h"

namespace tutti::server {

class PreparedFrame {
 public:
  // The longest header RFC 6455 has: 2 bytes plus a 64-bit length.
  static constexpr size_t kMaxHeaderBytes = 10;

  enum class Kind : uint8_t {
    kPlain,         // never compressed (MIDI, and bytes of unknown type)
    kCompressible,  // may be sent compressed to receivers that negotiated it
    kDeflated,      // a compressed twin: payload is DEFLATE data, RSV1 set
  };

  // Frames `payload` (already a serialized ClientMessage, or its DEFLATE form for
  // kDeflated); `message_kind` is the message's oneof field number (0: unknown), for the
  // per-kind metrics.
  explicit PreparedFrame(std::string payload, Kind kind = Kind::kPlain, int message_kind = 0);
  PreparedFrame(const PreparedFrame&) = delete;
  PreparedFrame& operator=(const PreparedFrame&) = delete;

  std::string_view header() const { return {header_.data(), header_size_}; }
  const std::string& payload() const { return payload_; }
  size_t wire_size() const { return header_size_ + payload_.size(); }
  Kind kind() const { return kind_; }

  // The compressed twin of a kCompressible frame, made on the first call (by whichever
  // thread gets there first; the others wait for it) and kept as long as this frame.
  // Null for other kinds, and when deflating did not make the frame smaller. Callers
  // ask only for frames at or above the configured threshold
  // (ServerConfig::compression_threshold): below it a frame never pays for deflate.
  const PreparedFrame* Deflated() const;
  int message_kind() const { return message_kind_; }

 private:
  std::array<char, kMaxHeaderBytes> header_{};
  uint8_t header_size_ = 0;
  Kind kind_;
  uint8_t message_kind_ = 0;
  std::string payload_;
  mutable std::once_flag deflate_once_;
  mutable std::unique_ptr<const PreparedFrame> deflated_;
};

using Frame = std::shared_ptr<const PreparedFrame>;

// Serializes `msg` (message_type must already be stamped) straight into the frame's
// payload and writes the WebSocket header for it. MIDI (midi_message and
// held_notes_snapshot) is kPlain, everything else kCompressible.
Frame MakeFrame(const proto::ClientMessage& msg);
// Frames bytes that are already a serialized ClientMessage (a Redis stream event: its
// type is not looked at, so it is kPlain; stream events are single events, small).
Frame MakeFrameFromBytes(std::string bytes);

// The frame a receiver that negotiated permessage-deflate gets for `frame`: its
// compressed twin when `frame` may be compressed, its payload is at least `threshold`
// bytes and deflate made it smaller; otherwise `frame` itself. The twin shares the
// frame's ownership (an aliasing shared_ptr): no allocation per receiver.
Frame FrameForDeflateReceiver(const Frame& frame, size_t threshold);

// The RFC 6455 header of an unmasked, final binary frame of `payload_size` bytes.
std::string BinaryFrameHeader(size_t payload_size);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_FRAME_H_
