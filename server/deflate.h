// permessage-deflate (RFC 7692) payload coding, with zlib and nothing else: DeflateMessage
// compresses one message the way a server that negotiated server_no_context_takeover
// sends it (a fresh window, so the result is valid for every receiver that negotiated
// the extension), and Inflater decompresses what one client sends, bounded by a cap so
// that a small frame cannot expand into a large allocation (a zip bomb).
// DeflateMessage is a free function using one zlib stream per calling thread (kept for
// the thread's life); an Inflater belongs to one connection and is used only on that
// connection's shard thread. Nothing here knows websocketpp: server/ws_deflate.h plugs
// the Inflater into it, server/frame.h keeps the compressed copy of a frame.
#ifndef TUTTI_SERVER_DEFLATE_H_
#define TUTTI_SERVER_DEFLATE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace tutti::server {

// The compressed form of one message payload: raw DEFLATE from an empty window, ended
// with a sync flush whose trailing 00 00 ff ff is removed (RFC 7692 section 7.2.1).
// Decoded by appending 00 00 ff ff and inflating with any window of 2^15 bytes (the
// LZ77 window used here), which is what a receiver that did not restrict
// server_max_window_bits has.
std::string DeflateMessage(std::string_view payload);

// The LZ77 window DeflateMessage uses, as window bits.
inline constexpr int kDeflateWindowBits = 15;

// Decompresses one connection's compressed messages, bounded. Keeps the LZ77 window
// between messages (a client may use context takeover unless it agreed otherwise), so
// one Inflater serves one connection for its whole life. zlib's state (~7 KiB, plus
// the window once data arrives) is allocated at the first compressed byte, not before:
// a client that negotiates the extension and never compresses costs nothing here.
class Inflater {
 public:
  enum class Result {
    kOk,
    kTooBig,   // the message would exceed the cap: the connection must be failed
    kCorrupt,  // not valid DEFLATE data: the connection must be failed
  };

  // `window_bits` is what the client may use (9..15); messages over `max_bytes`
  // decompressed are refused.
  Inflater(int window_bits, size_t max_bytes);
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Appends what `in` decompresses to `*out`, which holds the message decompressed so
  // far (its size counts against the cap). Feed the payload in any pieces, then the
  // trailer 00 00 ff ff once the message is complete.
  Result Inflate(const uint8_t* in, size_t len, std::string* out);

  // Whether zlib's state has been allocated (tests: nothing before the first byte).
  bool started() const { return stream_ != nullptr; }

 private:
  struct Stream;
  std::unique_ptr<Stream> stream_;
  int window_bits_;
  size_t max_bytes_;
  bool failed_ = false;
  bool after_final_ = false;  // the last input ended a DEFLATE stream (BFINAL)
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_DEFLATE_H_
