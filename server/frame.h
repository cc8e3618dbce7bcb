// Frame: one outbound message, serialized once and framed once, then shared read-only
// by every receiver on every shard (zero payload copies per receiver). A frame is
// Tutti's own buffer: the RFC 6455 header of an unmasked, final binary frame (at most
// 10 bytes, held inline) and the protobuf payload (one heap string). The endpoint's
// outbound queue (server/ws_outbound_connection.h) writes the two as they are with
// scatter I/O; nothing here knows websocketpp.
// Immutable after MakeFrame returns; safe to share across threads (a shared_ptr to
// const: whoever holds the last reference frees it).
#ifndef TUTTI_SERVER_FRAME_H_
#define TUTTI_SERVER_FRAME_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "protos/tutti.pb.h"

namespace tutti::server {

class PreparedFrame {
 public:
  // The longest header RFC 6455 has: 2 bytes plus a 64-bit length.
  static constexpr size_t kMaxHeaderBytes = 10;

  // Frames `payload` (already a serialized ClientMessage).
  explicit PreparedFrame(std::string payload);

  std::string_view header() const { return {header_.data(), header_size_}; }
  const std::string& payload() const { return payload_; }
  size_t wire_size() const { return header_size_ + payload_.size(); }

 private:
  std::array<char, kMaxHeaderBytes> header_{};
  uint8_t header_size_ = 0;
  std::string payload_;
};

using Frame = std::shared_ptr<const PreparedFrame>;

// Serializes `msg` (message_type must already be stamped) straight into the frame's
// payload and writes the WebSocket header for it.
Frame MakeFrame(const proto::ClientMessage& msg);
// Frames bytes that are already a serialized ClientMessage.
Frame MakeFrameFromBytes(std::string bytes);

// The RFC 6455 header of an unmasked, final binary frame of `payload_size` bytes.
std::string BinaryFrameHeader(size_t payload_size);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_FRAME_H_
