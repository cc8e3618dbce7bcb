#include "server/frame.h"

#include <utility>

namespace tutti::server {
namespace {

// Writes the header for `n` payload bytes into `out` (kMaxHeaderBytes long); returns
// its length.
size_t WriteBinaryHeader(size_t n, char* out) {
  out[0] = static_cast<char>(0x82);  // FIN + binary opcode
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

PreparedFrame::PreparedFrame(std::string payload) : payload_(std::move(payload)) {
  header_size_ = static_cast<uint8_t>(WriteBinaryHeader(payload_.size(), header_.data()));
}

Frame MakeFrame(const proto::ClientMessage& msg) {
  std::string bytes;
  msg.SerializeToString(&bytes);
  return std::make_shared<const PreparedFrame>(std::move(bytes));
}

Frame MakeFrameFromBytes(std::string bytes) {
  return std::make_shared<const PreparedFrame>(std::move(bytes));
}

}  // namespace tutti::server
