// RawWs: a hand-made WebSocket client over a blocking Boost.Asio socket, for tests that
// need what a well-behaved client library will not do. Every other test talks to the server
// through tools/client (websocketpp's client, a library other people wrote, the same one the
// tools use). The documented raw cases, and the tests that have them:
//   - the HTTP answer to an upgrade byte by byte: status, headers, body of a refusal
//     (auth_gate_test, door_limits_test);
//   - frames a library refuses to build: oversize declared lengths, text, unmasked,
//     reserved opcodes, garbage, bad close payloads (robustness_test, door_held_test);
//   - control frames by hand: ping floods, pings among room traffic, a close queued
//     behind data (robustness_test, door_limits_test);
//   - a client that shrinks its receive buffer and stops reading (robustness_test);
//   - a drop in the middle of a request, with no close handshake (rooms_test's ghost-member
//     cases);
//   - counting the process's descriptors around thousands of connections, which a library
//     client's own per-connection descriptors (an io_context's epoll and eventfd) would
//     blur (door_held_test);
//   - connections from a chosen loopback source address (door_limits_test's per-address
//     caps);
//   - permessage-deflate seen on the wire: which frames arrive with RSV1 set, and
//     compressed frames no library would send, such as a zip bomb (compression_test).
// One owner thread; every read has a timeout so a test can never block forever.
#ifndef TUTTI_TESTS_TESTING_RAW_WS_H_
#define TUTTI_TESTS_TESTING_RAW_WS_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace tutti::testing {

// WebSocket opcodes (RFC 6455 section 5.2).
enum WsOpcode : uint8_t {
  kOpContinuation = 0x0,
  kOpText = 0x1,
  kOpBinary = 0x2,
  kOpClose = 0x8,
  kOpPing = 0x9,
  kOpPong = 0xA,
};

struct HttpResponse {
  int status = 0;  // 0 when no status line arrived
  std::string status_line;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

struct WsFrame {
  uint8_t opcode = 0;
  bool fin = true;
  bool rsv1 = false;  // permessage-deflate: the payload is compressed
  std::string payload;
  // For close frames: the status code (0 when the frame has none) and reason.
  uint16_t close_code() const;
  std::string close_reason() const;
};

// A client-to-server frame: masked (as RFC 6455 requires of clients) unless told not to.
// `declared_length` overrides the length written in the header (for oversize-frame
// tests that send only the header); -1 means the payload's real length. `rsv1` marks a
// compressed payload (permessage-deflate).
std::string EncodeClientFrame(uint8_t opcode, std::string_view payload, bool fin = true,
                              bool mask = true, int64_t declared_length = -1, bool rsv1 = false);

class RawWs {
 public:
  RawWs();
  ~RawWs();
  RawWs(const RawWs&) = delete;
  RawWs& operator=(const RawWs&) = delete;

  // Opens a TCP connection to 127.0.0.1:port. A positive `receive_buffer` sets SO_RCVBUF
  // before connecting, so the TCP window stays that small.
  bool ConnectTcp(uint16_t port, int receive_buffer = 0);
  // The loopback address the next ConnectTcp binds to (e.g. "127.0.0.2"), so that a test
  // can be two clients at two addresses; empty = the kernel's choice (127.0.0.1).
  void set_source_address(std::string address) { source_address_ = std::move(address); }
  // Header lines ("Name: value\r\n" each) the next Upgrade adds to its request, as a
  // reverse proxy would (trusted_proxy_test).
  void set_extra_headers(std::string lines) { extra_headers_ = std::move(lines); }
  // Sends a hand-made upgrade request for `resource` and reads the HTTP answer (and,
  // for non-101 answers, its body as given by Content-Length or until EOF).
  HttpResponse Upgrade(const std::string& resource,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // ConnectTcp + Upgrade; true when the answer was 101.
  bool Open(uint16_t port, const std::string& resource, int receive_buffer = 0);

  bool SendBytes(std::string_view bytes);
  bool SendFrame(uint8_t opcode, std::string_view payload) {
    return SendBytes(EncodeClientFrame(opcode, payload));
  }
  bool SendBinary(std::string_view payload) { return SendFrame(kOpBinary, payload); }

  // The next complete frame, or nullopt on timeout, EOF or error (see eof()).
  std::optional<WsFrame> ReadFrame(std::chrono::milliseconds timeout);
  // Reads frames until a close frame arrives (returned) or EOF/timeout (nullopt).
  // Data frames met on the way are counted in *data_frames when given.
  std::optional<WsFrame> ReadUntilClose(std::chrono::milliseconds timeout,
                                        int* data_frames = nullptr);
  // True once the peer has closed the TCP connection (read returned EOF or reset).
  bool eof() const { return eof_; }
  // Waits until the peer closes the TCP connection; false on timeout.
  bool WaitEof(std::chrono::milliseconds timeout);
  // Half-closes: the server reads everything sent so far, then EOF (a FIN, not a reset).
  void ShutdownWrite();
  void CloseSocket();

 private:
  // Reads more bytes into buffer_; false on timeout, EOF or error.
  bool Fill(std::chrono::steady_clock::time_point deadline);

  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  uint16_t port_ = 0;
  std::string source_address_;
  std::string extra_headers_;
  std::string buffer_;
  bool eof_ = false;
};

}  // namespace tutti::testing

#endif  // TUTTI_TESTS_TESTING_RAW_WS_H_
