// StringFieldsAreUtf8: whether every string field in serialized protobuf bytes, at any
// depth, holds valid UTF-8, decided by walking the wire format against the message's
// descriptor before anything parses it. libprotobuf rejects a proto3 string that is not
// UTF-8 too, but prints an error to stderr each time; for bytes that anyone may write
// (the node bus) that would let a hostile writer flood the log. Checked first, such bytes
// are dropped silently and counted by the caller.
// Thread affinity: none (a pure function). Owner: none.
#ifndef TUTTI_SERVER_PROTO_UTF8_H_
#define TUTTI_SERVER_PROTO_UTF8_H_

#include <string_view>

#include <google/protobuf/descriptor.h>

namespace tutti::server {

// Nesting deeper than this is refused (libprotobuf's own limit is 100).
inline constexpr int kMaxProtoNesting = 32;

// True when `bytes` is well-formed wire data (varints, lengths within the bytes, no
// groups, no field number 0) whose string fields of `type` and of its nested messages
// are valid UTF-8 (strict: no overlong forms, surrogates or code points past U+10FFFF).
// Fields the descriptor does not know are skipped as libprotobuf skips them.
bool StringFieldsAreUtf8(std::string_view bytes, const google::protobuf::Descriptor& type);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_PROTO_UTF8_H_
