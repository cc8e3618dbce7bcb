#include "tests/testing/raw_ws.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <random>

#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/write.hpp>

namespace tutti::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

}  // namespace

uint16_t WsFrame::close_code() const {
  if (opcode != kOpClose || payload.size() < 2) return 0;
  return static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                               static_cast<uint8_t>(payload[1]));
}

std::string WsFrame::close_reason() const {
  return opcode == kOpClose && payload.size() > 2 ? payload.substr(2) : std::string();
}

std::string EncodeClientFrame(uint8_t opcode, std::string_view payload, bool fin, bool mask,
                              int64_t declared_length, bool rsv1) {
  const uint64_t len =
      declared_length >= 0 ? static_cast<uint64_t>(declared_length) : payload.size();
  std::string out;
  out.push_back(static_cast<char>((fin ? 0x80 : 0x00) | (rsv1 ? 0x40 : 0x00) | (opcode & 0x0F)));
  const uint8_t mask_bit = mask ? 0x80 : 0x00;
  if (len < 126) {
    out.push_back(static_cast<char>(mask_bit | len));
  } else if (len <= 0xFFFF) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>((len >> 8) & 0xFF));
    out.push_back(static_cast<char>(len & 0xFF));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((len >> shift) & 0xFF));
    }
  }
  if (!mask) {
    out.append(payload);
    return out;
  }
  static thread_local std::mt19937 rng{std::random_device{}()};
  uint8_t key[4];
  for (uint8_t& k : key) k = static_cast<uint8_t>(rng());
  out.append(reinterpret_cast<const char*>(key), 4);
  for (size_t i = 0; i < payload.size(); ++i) {
    out.push_back(static_cast<char>(static_cast<uint8_t>(payload[i]) ^ key[i % 4]));
  }
  return out;
}

RawWs::RawWs() : socket_(io_) {}

RawWs::~RawWs() { CloseSocket(); }

bool RawWs::ConnectTcp(uint16_t port, int receive_buffer) {
  boost::system::error_code ec;
  socket_.open(boost::asio::ip::tcp::v4(), ec);
  if (ec) return false;
  if (receive_buffer > 0) {
    socket_.set_option(boost::asio::socket_base::receive_buffer_size(receive_buffer), ec);
    if (ec) return false;
  }
  if (!source_address_.empty()) {
    socket_.bind(
        boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address(source_address_, ec), 0), ec);
    if (ec) return false;
  }
  boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), port);
  socket_.connect(ep, ec);
  if (ec) return false;
  port_ = port;
  return true;
}

HttpResponse RawWs::Upgrade(const std::string& resource, std::chrono::milliseconds timeout) {
  HttpResponse r;
  const auto deadline = Clock::now() + timeout;
  std::string request = "GET " + resource +
                        " HTTP/1.1\r\n"
                        "Host: 127.0.0.1:" +
                        std::to_string(port_) +
                        "\r\n"
                        "Upgrade: websocket\r\n"
                        "Connection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n" +
                        extra_headers_ + "\r\n";
  if (!SendBytes(request)) return r;
  size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill(deadline)) return r;
  }
  std::string head = buffer_.substr(0, end);
  buffer_.erase(0, end + 4);
  size_t line_end = head.find("\r\n");
  r.status_line = head.substr(0, line_end);
  // "HTTP/1.1 400 Bad Request"
  size_t sp = r.status_line.find(' ');
  if (sp != std::string::npos) r.status = std::atoi(r.status_line.c_str() + sp + 1);
  size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t next = head.find("\r\n", pos);
    if (next == std::string::npos) next = head.size();
    std::string line = head.substr(pos, next - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      r.headers[Lower(Trim(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
    }
    pos = next + 2;
  }
  if (r.status == 101) return r;  // what follows is WebSocket frames
  auto cl = r.headers.find("content-length");
  if (cl != r.headers.end()) {
    const size_t want = static_cast<size_t>(std::atoll(cl->second.c_str()));
    while (buffer_.size() < want && Fill(deadline)) {
    }
    r.body = buffer_.substr(0, std::min(want, buffer_.size()));
    buffer_.erase(0, r.body.size());
  } else {
    while (Fill(deadline)) {
    }
    r.body = std::move(buffer_);
    buffer_.clear();
  }
  return r;
}

bool RawWs::Open(uint16_t port, const std::string& resource, int receive_buffer) {
  if (!ConnectTcp(port, receive_buffer)) return false;
  return Upgrade(resource).status == 101;
}

bool RawWs::SendBytes(std::string_view bytes) {
  boost::system::error_code ec;
  boost::asio::write(socket_, boost::asio::buffer(bytes.data(), bytes.size()), ec);
  return !ec;
}

bool RawWs::Fill(Clock::time_point deadline) {
  if (eof_ || !socket_.is_open()) return false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{};
    pfd.fd = socket_.native_handle();
    pfd.events = POLLIN;
    int n = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) continue;
    char tmp[16384];
    boost::system::error_code ec;
    size_t got = socket_.read_some(boost::asio::buffer(tmp), ec);
    if (ec) {
      eof_ = true;  // EOF or reset: either way the peer is gone
      return false;
    }
    buffer_.append(tmp, got);
    return true;
  }
}

std::optional<WsFrame> RawWs::ReadFrame(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (buffer_.size() >= 2) {
      const auto* b = reinterpret_cast<const uint8_t*>(buffer_.data());
      size_t header = 2;
      uint64_t len = b[1] & 0x7F;
      const bool masked = (b[1] & 0x80) != 0;
      bool have_header = true;
      if (len == 126) {
        header = 4;
        if (buffer_.size() < header) {
          have_header = false;
        } else {
          len = (static_cast<uint64_t>(b[2]) << 8) | b[3];
        }
      } else if (len == 127) {
        header = 10;
        if (buffer_.size() < header) {
          have_header = false;
        } else {
          len = 0;
          for (int i = 0; i < 8; ++i) len = (len << 8) | b[2 + i];
        }
      }
      if (have_header) {
        const size_t mask_len = masked ? 4 : 0;
        if (buffer_.size() >= header + mask_len + len) {
          WsFrame f;
          f.fin = (b[0] & 0x80) != 0;
          f.rsv1 = (b[0] & 0x40) != 0;
          f.opcode = b[0] & 0x0F;
          f.payload = buffer_.substr(header + mask_len, len);
          if (masked) {
            for (size_t i = 0; i < f.payload.size(); ++i) {
              f.payload[i] = static_cast<char>(f.payload[i] ^ b[header + (i % 4)]);
            }
          }
          buffer_.erase(0, header + mask_len + len);
          return f;
        }
      }
    }
    if (!Fill(deadline)) return std::nullopt;
  }
}

std::optional<WsFrame> RawWs::ReadUntilClose(std::chrono::milliseconds timeout, int* data_frames) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto f = ReadFrame(left);
    if (!f) return std::nullopt;
    if (f->opcode == kOpClose) return f;
    if (data_frames && (f->opcode == kOpBinary || f->opcode == kOpText)) ++*data_frames;
  }
}

bool RawWs::WaitEof(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!eof_) {
    if (!Fill(deadline) && !eof_) return false;
    buffer_.clear();
  }
  return true;
}

void RawWs::ShutdownWrite() {
  boost::system::error_code ec;
  if (socket_.is_open()) socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
}

void RawWs::CloseSocket() {
  boost::system::error_code ec;
  if (socket_.is_open()) socket_.close(ec);
}

}  // namespace tutti::testing
