#include "server/proto_utf8.h"

#include <cstdint>

#include "crypto/utf8.h"

namespace tutti::server {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

bool ReadVarint(std::string_view bytes, size_t* pos, uint64_t* out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= bytes.size()) return false;
    const uint8_t b = static_cast<uint8_t>(bytes[(*pos)++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *out = v;
      return true;
    }
  }
  return false;  // more than ten bytes
}

bool Walk(std::string_view bytes, const Descriptor& type, int depth) {
  if (depth > kMaxProtoNesting) return false;
  size_t pos = 0;
  while (pos < bytes.size()) {
    uint64_t tag = 0;
    if (!ReadVarint(bytes, &pos, &tag)) return false;
    const uint64_t number = tag >> 3;
    if (number == 0 || number > FieldDescriptor::kMaxNumber) return false;
    uint64_t skip = 0;
    switch (tag & 7) {
      case 0:  // varint
        if (!ReadVarint(bytes, &pos, &skip)) return false;
        continue;
      case 1:  // fixed64
        skip = 8;
        break;
      case 5:  // fixed32
        skip = 4;
        break;
      case 2: {  // length-delimited
        if (!ReadVarint(bytes, &pos, &skip) || skip > bytes.size() - pos) return false;
        const std::string_view value = bytes.substr(pos, skip);
        const FieldDescriptor* field = type.FindFieldByNumber(static_cast<int>(number));
        if (field != nullptr && field->type() == FieldDescriptor::TYPE_STRING &&
            !crypto::IsValidUtf8(value)) {
          return false;
        }
        if (field != nullptr && field->type() == FieldDescriptor::TYPE_MESSAGE &&
            !Walk(value, *field->message_type(), depth + 1)) {
          return false;
        }
        break;
      }
      default:  // groups (3, 4) and the unused 6, 7
        return false;
    }
    if (skip > bytes.size() - pos) return false;
    pos += skip;
  }
  return true;
}

}  // namespace

bool StringFieldsAreUtf8(std::string_view bytes, const Descriptor& type) {
  return Walk(bytes, type, 0);
}

}  // namespace tutti::server
