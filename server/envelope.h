// The one place where an envelope's `message_type` enum and its `oneof` are tied
// together (the seed carries both; two sources of truth must agree). Also builds the
// typed ErrorMessage replies. Pure functions, safe from any thread.
#ifndef TUTTI_SERVER_ENVELOPE_H_
#define TUTTI_SERVER_ENVELOPE_H_

#include <string>
#include <string_view>

#include "protos/tutti.pb.h"

namespace tutti::server {

// The MessageType that matches the oneof case (Unspecified when the oneof is empty).
proto::ServerMessage::MessageType ExpectedType(const proto::ServerMessage& msg);
proto::ClientMessage::MessageType ExpectedType(const proto::ClientMessage& msg);

// True when `message_type` is Unspecified (derived from the oneof) or agrees with it.
bool TypeMatches(const proto::ServerMessage& msg);

// Sets message_type from the oneof; every outbound message goes through this.
void StampType(proto::ClientMessage* msg);

// ErrorType for each ErrorCode, as the seed groups them.
proto::ErrorType ErrorTypeOf(proto::ErrorCode code);

// A complete ClientMessage carrying a typed error, with the request id echoed.
proto::ClientMessage MakeError(proto::ErrorCode code, std::string_view message,
                               std::string_view request_id);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_ENVELOPE_H_
