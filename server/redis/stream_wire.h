// The wire form of one room event inside Redis — the PUBLISH payload and the stream
// entry, which are the same bytes:
//   "<epoch>:<offset>:<server_time_us>:<origin>:<exclude>:<flags>:" + body
// The publishing node writes "<origin>:<exclude>:<flags>:" + body (the ClientMessage
// serialized without its `stream` field); the publish script prefixes the position it
// assigned. A receiving node frames body + the encoded `stream` field (field 101):
// protobuf merges concatenated encodings, so nothing is parsed or re-serialized.
// `origin` names the publishing engine: `exclude` (a session id) means something only
// there. `flags` is one digit: 1 when droppable, plus 2 x the event's ChatMark (2: a
// chat line to keep, 4: the kept lines cleared). Stateless functions; no thread affinity.
#ifndef TUTTI_SERVER_REDIS_STREAM_WIRE_H_
#define TUTTI_SERVER_REDIS_STREAM_WIRE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "server/broker.h"

namespace tutti::server::redis {

struct WireEvent {
  std::string_view epoch;
  uint64_t offset = 0;
  int64_t server_time_us = 0;
  std::string_view origin;
  SessionId exclude = 0;
  bool droppable = false;
  ChatMark chat = ChatMark::kNone;
  std::string_view body;
};

// What a node hands the publish script for one event.
std::string EncodeWireRequest(std::string_view origin, const PublishRequest& req);

// Parses a wire event; false on anything malformed (a missing or non-numeric field, an
// epoch or origin that is not 1-64 base64url characters, offset 0). The views point into `wire`.
bool ParseWireEvent(std::string_view wire, WireEvent* out);

// The publication a receiving engine `self` delivers: the shared frame with the position
// inside, and `exclude` kept only when `self` published it; `origin` set only when
// another engine did.
Publication ToPublication(const WireEvent& e, std::string_view self);

}  // namespace tutti::server::redis

#endif  // TUTTI_SERVER_REDIS_STREAM_WIRE_H_
