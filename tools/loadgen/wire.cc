#include "tools/loadgen/wire.h"

#include <cstring>

namespace tutti::loadgen {
namespace {

// --- protobuf varints -------------------------------------------------------------

inline bool ReadVarint(const uint8_t*& p, const uint8_t* end, uint64_t* out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    const uint8_t b = *p++;
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) {
      *out = v;
      return true;
    }
  }
  return false;
}

inline uint8_t* WriteVarint(uint64_t v, uint8_t* p) {
  while (v >= 0x80) {
    *p++ = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<uint8_t>(v);
  return p;
}

inline size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Skips a field whose tag has been read. False on malformed input or groups.
inline bool SkipField(uint32_t wire_type, const uint8_t*& p, const uint8_t* end) {
  uint64_t v;
  switch (wire_type) {
    case 0:
      return ReadVarint(p, end, &v);
    case 1:
      if (end - p < 8) return false;
      p += 8;
      return true;
    case 2:
      if (!ReadVarint(p, end, &v) || v > static_cast<uint64_t>(end - p)) return false;
      p += v;
      return true;
    case 5:
      if (end - p < 4) return false;
      p += 4;
      return true;
    default:
      return false;
  }
}

// Calls fn(field, wire_type, varint_value, bytes) for every field of a message.
template <typename Fn>
bool ForEachField(const uint8_t* p, const uint8_t* end, Fn fn) {
  while (p < end) {
    uint64_t tag;
    if (!ReadVarint(p, end, &tag)) return false;
    const uint32_t field = static_cast<uint32_t>(tag >> 3);
    const uint32_t wire = static_cast<uint32_t>(tag & 7);
    if (wire == 0) {
      uint64_t v;
      if (!ReadVarint(p, end, &v)) return false;
      fn(field, wire, v, std::string_view());
    } else if (wire == 2) {
      uint64_t n;
      if (!ReadVarint(p, end, &n) || n > static_cast<uint64_t>(end - p)) return false;
      fn(field, wire, 0, std::string_view(reinterpret_cast<const char*>(p), n));
      p += n;
    } else if (!SkipField(wire, p, end)) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string HandshakeRequest(std::string_view host, uint16_t port, std::string_view resource) {
  std::string r;
  r.reserve(resource.size() + 256);
  r.append("GET ").append(resource).append(" HTTP/1.1\r\nHost: ");
  r.append(host).append(":").append(std::to_string(port));
  // The key only proves to the client that the server speaks WebSocket; the generator
  // checks the status line instead, so a constant key is enough.
  r.append(
      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dHV0dGktbG9hZGdlbi0xMg==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  return r;
}

int ParseHandshakeResponse(std::string_view data, size_t* head_length) {
  const size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) return 0;
  *head_length = end + 4;
  // "HTTP/1.1 101 Switching Protocols"
  if (data.size() < 12 || data.compare(0, 5, "HTTP/") != 0) return -1;
  const size_t sp = data.find(' ');
  if (sp == std::string_view::npos || sp + 4 > end) return -1;
  int status = 0;
  for (size_t i = sp + 1; i < sp + 4; ++i) {
    if (data[i] < '0' || data[i] > '9') return -1;
    status = status * 10 + (data[i] - '0');
  }
  return status;
}

void AppendClientFrame(std::string* out, uint8_t opcode, std::string_view payload,
                       uint32_t mask_key) {
  uint8_t head[14];
  size_t h = 0;
  head[h++] = static_cast<uint8_t>(0x80 | opcode);
  const size_t n = payload.size();
  if (n < 126) {
    head[h++] = static_cast<uint8_t>(0x80 | n);
  } else if (n <= 0xFFFF) {
    head[h++] = 0x80 | 126;
    head[h++] = static_cast<uint8_t>(n >> 8);
    head[h++] = static_cast<uint8_t>(n);
  } else {
    head[h++] = 0x80 | 127;
    for (int shift = 56; shift >= 0; shift -= 8) {
      head[h++] = static_cast<uint8_t>(static_cast<uint64_t>(n) >> shift);
    }
  }
  uint8_t mask[4];
  std::memcpy(mask, &mask_key, 4);
  std::memcpy(head + h, mask, 4);
  h += 4;
  const size_t at = out->size();
  out->resize(at + h + n);
  char* dst = out->data() + at;
  std::memcpy(dst, head, h);
  dst += h;
  for (size_t i = 0; i < n; ++i) dst[i] = static_cast<char>(payload[i] ^ mask[i & 3]);
}

int ParseServerFrameHeader(const uint8_t* d, size_t size, FrameHeader* header) {
  if (size < 2) return 0;
  if ((d[0] & 0x70) != 0 || (d[1] & 0x80) != 0) return -1;  // RSV bits or a mask
  header->fin = (d[0] & 0x80) != 0;
  header->opcode = d[0] & 0x0F;
  uint64_t len = d[1] & 0x7F;
  size_t h = 2;
  if (len == 126) {
    if (size < 4) return 0;
    len = (static_cast<uint64_t>(d[2]) << 8) | d[3];
    h = 4;
  } else if (len == 127) {
    if (size < 10) return 0;
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | d[2 + i];
    h = 10;
  }
  if ((header->opcode & 0x8) != 0 && (len > 125 || !header->fin)) return -1;
  header->header_length = h;
  header->payload_length = len;
  return 1;
}

size_t EncodeMidiMessage(std::string_view midi_data, int64_t timestamp_us, uint8_t* out,
                         size_t out_capacity) {
  // MidiMessage body: 1: midi_data (bytes), 2: timestamp (int64 varint).
  const uint64_t ts = static_cast<uint64_t>(timestamp_us);
  const size_t body = 1 + VarintSize(midi_data.size()) + midi_data.size() + 1 + VarintSize(ts);
  const size_t total = 2 + 1 + VarintSize(body) + body;
  if (total > out_capacity) return 0;
  uint8_t* p = out;
  *p++ = 0x08;  // message_type
  *p++ = 5;     // MidiMessage
  *p++ = 0x32;  // field 6, length-delimited: midi_message
  p = WriteVarint(body, p);
  *p++ = 0x0A;
  p = WriteVarint(midi_data.size(), p);
  std::memcpy(p, midi_data.data(), midi_data.size());
  p += midi_data.size();
  *p++ = 0x10;
  p = WriteVarint(ts, p);
  return static_cast<size_t>(p - out);
}

size_t EncodeChatMessage(std::string_view text, std::string_view request_id, uint8_t* out,
                         size_t out_capacity) {
  const size_t body = 1 + VarintSize(text.size()) + text.size();
  size_t total = 2 + 1 + VarintSize(body) + body;
  if (!request_id.empty()) total += 2 + VarintSize(request_id.size()) + request_id.size();
  if (total > out_capacity) return 0;
  uint8_t* p = out;
  *p++ = 0x08;  // message_type
  *p++ = 4;     // RoomChatMessage
  *p++ = 0x2A;  // field 5: room_chat_message
  p = WriteVarint(body, p);
  *p++ = 0x0A;  // message
  p = WriteVarint(text.size(), p);
  std::memcpy(p, text.data(), text.size());
  p += text.size();
  if (!request_id.empty()) {
    *p++ = 0xA2;  // field 100, length-delimited: two-byte tag
    *p++ = 0x06;
    p = WriteVarint(request_id.size(), p);
    std::memcpy(p, request_id.data(), request_id.size());
    p += request_id.size();
  }
  return static_cast<size_t>(p - out);
}

bool ScanClientMessage(const uint8_t* data, size_t size, ScanResult* r) {
  *r = ScanResult();
  bool ok = ForEachField(data, data + size,
                         [r](uint32_t field, uint32_t wire, uint64_t, std::string_view bytes) {
                           if (wire != 2) return;
                           if (field == 100) {
                             r->request_id = bytes;
                           } else if (field >= 2 && field < 100) {
                             r->message_case = static_cast<int>(field);
                             r->body = bytes;
                           }
                         });
  if (!ok) return false;
  const auto* b = reinterpret_cast<const uint8_t*>(r->body.data());
  const auto* e = b + r->body.size();
  switch (r->message_case) {
    case kCaseMidi:
      return ForEachField(b, e, [r](uint32_t field, uint32_t wire, uint64_t v, std::string_view) {
        if (wire != 0) return;
        if (field == 2) r->midi_timestamp = static_cast<int64_t>(v);
        if (field == 5) r->midi_flags = static_cast<uint32_t>(v);
      });
    case kCaseChat:
      return ForEachField(b, e, [r](uint32_t field, uint32_t wire, uint64_t, std::string_view s) {
        if (field == 1 && wire == 2) r->chat_text = s;
      });
    case kCaseRoomJoined:
      return ForEachField(b, e, [r](uint32_t field, uint32_t wire, uint64_t v, std::string_view) {
        if (field == 1 && wire == 0) r->joined_success = v != 0;
      });
    default:
      return true;
  }
}

}  // namespace tutti::loadgen
