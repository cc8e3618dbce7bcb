#include "server/frame.h"

#include <websocketpp/frame.hpp>

namespace tutti::server {

std::string BinaryFrameHeader(size_t n) {
  std::string h;
  h.push_back(static_cast<char>(0x82));  // FIN + binary opcode
  if (n < 126) {
    h.push_back(static_cast<char>(n));
  } else if (n <= 0xFFFF) {
    h.push_back(static_cast<char>(126));
    h.push_back(static_cast<char>((n >> 8) & 0xFF));
    h.push_back(static_cast<char>(n & 0xFF));
  } else {
    h.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      h.push_back(static_cast<char>((static_cast<uint64_t>(n) >> shift) & 0xFF));
    }
  }
  return h;
}

namespace {

Frame Finish(WsMessage::ptr m) {
  m->set_header(BinaryFrameHeader(m->get_payload().size()));
  m->set_prepared(true);
  return std::make_shared<const PreparedFrame>(std::move(m));
}

}  // namespace

Frame MakeFrame(const proto::ClientMessage& msg) {
  auto m = std::make_shared<WsMessage>(nullptr, websocketpp::frame::opcode::binary, 0);
  msg.SerializeToString(&m->get_raw_payload());
  return Finish(std::move(m));
}

Frame MakeFrameFromBytes(std::string bytes) {
  auto m = std::make_shared<WsMessage>(nullptr, websocketpp::frame::opcode::binary, 0);
  m->get_raw_payload() = std::move(bytes);
  return Finish(std::move(m));
}

}  // namespace tutti::server
