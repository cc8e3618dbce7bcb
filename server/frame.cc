#include "server/frame.h"

#include <utility>

#include "server/deflate.h"

namespace tutti::server {
namespace {

// Writes the header for `n` payload bytes into `out` (kMaxHeaderBytes long); returns
// its length. `rsv1` marks a compressed message (RFC 7692 section 6).
size_t WriteBinaryHeader(size_t n, char* out, bool rsv1 = false) {
  out[0] = static_cast<char>(rsv1 ? 0xC2 : 0x82);  // FIN (+ RSV1) + binary opcode
  if (n < 126) {
    out[1] = static_cast<char>(n);
    return 2;
  }
  if (n <= 0xFFFF) {
    out[1] = static_cast<char>(126);
    out[2] = static_cast<char>((n >> 8) & 0xFF);
    out[3] = static_cast<char>(n & 0xFF);
    return 4;
  }
  out[1] = static_cast<char>(127);
  size_t i = 2;
  for (int shift = 56; shift >= 0; shift -= 8) {
    out[i++] = static_cast<char>((static_cast<uint64_t>(n) >> shift) & 0xFF);
  }
  return i;
}

}  // namespace

std::string BinaryFrameHeader(size_t n) {
  char h[PreparedFrame::kMaxHeaderBytes];
  return std::string(h, WriteBinaryHeader(n, h));
}

PreparedFrame::PreparedFrame(std::string payload, Kind kind, int message_kind)
    : kind_(kind),
      message_kind_(
          static_cast<uint8_t>(message_kind > 0 && message_kind < 256 ? message_kind : 0)),
      payload_(std::move(payload)) {
  header_size_ = static_cast<uint8_t>(
      WriteBinaryHeader(payload_.size(), header_.data(), kind_ == Kind::kDeflated));
}

const PreparedFrame* PreparedFrame::Deflated() const {
  if (kind_ != Kind::kCompressible) return nullptr;
  std::call_once(deflate_once_, [this] {
    std::string deflated = DeflateMessage(payload_);
    // Empty: zlib failed. Not smaller (already dense bytes): the plain frame is better
    // for everyone, and RFC 7692 lets a sender leave any message uncompressed.
    if (deflated.empty() || deflated.size() >= payload_.size()) return;
    deflated_ =
        std::make_unique<const PreparedFrame>(std::move(deflated), Kind::kDeflated, message_kind_);
  });
  return deflated_.get();
}

Frame FrameForDeflateReceiver(const Frame& frame, size_t threshold) {
  if (frame->kind() != PreparedFrame::Kind::kCompressible || frame->payload().size() < threshold) {
    return frame;
  }
  const PreparedFrame* twin = frame->Deflated();
  return twin == nullptr ? frame : Frame(frame, twin);
}

Frame MakeFrame(const proto::ClientMessage& msg) {
  std::string bytes;
  msg.SerializeToString(&bytes);
  // MIDI is latency-bound and small: never worth a deflate (docs/PROTOCOL.md).
  const bool midi = msg.message_case() == proto::ClientMessage::kMidiMessage ||
                    msg.message_case() == proto::ClientMessage::kHeldNotesSnapshot;
  return std::make_shared<const PreparedFrame>(
      std::move(bytes), midi ? PreparedFrame::Kind::kPlain : PreparedFrame::Kind::kCompressible,
      static_cast<int>(msg.message_case()));
}

Frame MakeFrameFromBytes(std::string bytes) {
  return std::make_shared<const PreparedFrame>(std::move(bytes));
}

}  // namespace tutti::server
