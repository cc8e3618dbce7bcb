#include "server/deflate.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace tutti::server {
namespace {

// Level 1: on Tutti's large frames (protobuf with repeated names, ids and chat text) it
// takes a quarter to two fifths of level 6's CPU for 2% (a join with history) to 18% (a room
// list) more bytes, still a sixth of the plain frame or less (docs/PERFORMANCE.md,
// "Compression"). Most such frames (a join's answer, a list asked for) have one
// receiver, so their deflate is paid per request, not shared.
constexpr int kLevel = Z_BEST_SPEED;
constexpr int kMemLevel = 8;

// One deflate stream per thread, reset before each message: deflateInit2 allocates
// ~270 KiB, which a per-message init would allocate and free every time.
class ThreadDeflater {
 public:
  ThreadDeflater() {
    ok_ = deflateInit2(&z_, kLevel, Z_DEFLATED, -kDeflateWindowBits, kMemLevel,
                       Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~ThreadDeflater() {
    if (ok_) deflateEnd(&z_);
  }
  ThreadDeflater(const ThreadDeflater&) = delete;
  ThreadDeflater& operator=(const ThreadDeflater&) = delete;

  // Empty when zlib failed (out of memory): the caller sends the frame uncompressed.
  std::string Deflate(std::string_view in) {
    std::string out;
    if (!ok_ || deflateReset(&z_) != Z_OK) return out;
    // A sync flush adds at most a few bytes past deflateBound's figure for a finish.
    out.resize(deflateBound(&z_, static_cast<uLong>(in.size())) + 16);
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    size_t used = 0;
    for (;;) {
      z_.next_out = reinterpret_cast<Bytef*>(out.data() + used);
      z_.avail_out = static_cast<uInt>(out.size() - used);
      const int r = deflate(&z_, Z_SYNC_FLUSH);
      used = out.size() - z_.avail_out;
      if (r != Z_OK && r != Z_BUF_ERROR) return std::string();
      // Done once all input is taken and the flush fitted (output space left over).
      if (z_.avail_in == 0 && z_.avail_out > 0) break;
      out.resize(out.size() * 2);
    }
    // A sync flush ends with an empty stored block: 00 00 ff ff, which the receiver
    // puts back (RFC 7692 section 7.2.1).
    if (used < 4 || std::memcmp(out.data() + used - 4, "\x00\x00\xff\xff", 4) != 0) {
      return std::string();
    }
    out.resize(used - 4);
    return out;
  }

 private:
  z_stream z_{};
  bool ok_ = false;
};

bool IsTrailer(const uint8_t* in, size_t len) {
  return len == 4 && std::memcmp(in, "\x00\x00\xff\xff", 4) == 0;
}

}  // namespace

std::string DeflateMessage(std::string_view payload) {
  thread_local ThreadDeflater deflater;
  return deflater.Deflate(payload);
}

struct Inflater::Stream {
  z_stream z{};
  ~Stream() { inflateEnd(&z); }
};

Inflater::Inflater(int window_bits, size_t max_bytes)
    : window_bits_(std::clamp(window_bits, 9, 15)), max_bytes_(max_bytes) {}

Inflater::~Inflater() = default;

Inflater::Result Inflater::Inflate(const uint8_t* in, size_t len, std::string* out) {
  if (failed_) return Result::kCorrupt;
  if (len == 0) return Result::kOk;
  // After a final block the stream is over; the 00 00 ff ff the processor appends at the
  // message's end belongs to nothing and is dropped (RFC 7692 section 7.2.3.3).
  const bool trailer_after_final = after_final_ && IsTrailer(in, len);
  after_final_ = false;
  if (trailer_after_final) return Result::kOk;
  if (!stream_) {
    auto s = std::make_unique<Stream>();
    // The window is the largest the client may use: inflating data made with a smaller
    // one is fine, a smaller window here than the client's is not.
    if (inflateInit2(&s->z, -window_bits_) != Z_OK) {
      failed_ = true;
      return Result::kCorrupt;
    }
    stream_ = std::move(s);
  }
  z_stream& z = stream_->z;
  z.next_in = const_cast<Bytef*>(in);
  z.avail_in = static_cast<uInt>(len);
  // Output goes through a small buffer and is appended only while under the cap, so a
  // bomb costs at most the cap plus one chunk.
  unsigned char chunk[4096];
  for (;;) {
    z.next_out = chunk;
    z.avail_out = sizeof chunk;
    const int r = inflate(&z, Z_SYNC_FLUSH);
    if (r == Z_NEED_DICT || r == Z_DATA_ERROR || r == Z_MEM_ERROR || r == Z_STREAM_ERROR) {
      failed_ = true;
      return Result::kCorrupt;
    }
    const size_t produced = sizeof chunk - z.avail_out;
    if (produced > max_bytes_ - std::min(max_bytes_, out->size())) {
      failed_ = true;
      return Result::kTooBig;
    }
    out->append(reinterpret_cast<const char*>(chunk), produced);
    if (r == Z_STREAM_END) {
      // A block with BFINAL set ended the DEFLATE stream (RFC 7692 section 7.2.3.3
      // lets a sender end a message so); what follows (the trailer, the next
      // message) starts a new one.
      if (inflateReset(&z) != Z_OK) {
        failed_ = true;
        return Result::kCorrupt;
      }
      if (z.avail_in == 0) {
        after_final_ = true;
        return Result::kOk;
      }
      if (IsTrailer(z.next_in, z.avail_in)) return Result::kOk;
      continue;
    }
    // All input taken and the output not full: nothing more to come out of it now.
    if (z.avail_in == 0 && z.avail_out > 0) return Result::kOk;
    // Input left, room to write and still no progress: never loop on it.
    if (r == Z_BUF_ERROR && produced == 0) {
      failed_ = true;
      return Result::kCorrupt;
    }
  }
}

}  // namespace tutti::server
