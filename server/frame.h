// Frame: one outbound message, serialized once and framed once, then shared read-only
// by every receiver on every shard (zero payload copies per receiver). The bytes are a
// complete server-to-client WebSocket binary frame (unmasked header + protobuf), held
// in a websocketpp message marked "prepared" so the connection writes it as is.
// Immutable after MakeFrame returns; safe to share across threads.
#ifndef TUTTI_SERVER_FRAME_H_
#define TUTTI_SERVER_FRAME_H_

#include <cstddef>
#include <memory>
#include <string>

#include <websocketpp/message_buffer/alloc.hpp>
#include <websocketpp/message_buffer/message.hpp>

#include "protos/tutti.pb.h"

namespace tutti::server {

using WsMessage =
    websocketpp::message_buffer::message<websocketpp::message_buffer::alloc::con_msg_manager>;

class PreparedFrame {
 public:
  explicit PreparedFrame(WsMessage::ptr message) : message_(std::move(message)) {}
  // The connection API takes a non-const pointer; the frame is never modified after
  // MakeFrame, and websocketpp only reads a prepared message.
  const WsMessage::ptr& message() const { return message_; }
  const std::string& header() const { return message_->get_header(); }
  const std::string& payload() const { return message_->get_payload(); }
  size_t wire_size() const { return message_->get_header().size() + payload().size(); }

 private:
  WsMessage::ptr message_;
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
