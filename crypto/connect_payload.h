// The connect payload: the JSON a client seals to the server's public key and
// puts in the WebSocket URL, `/api/websocket/<base64url(sealed box)>`.
//
// Owns: the payload's fields, their JSON form and limits, building the URL
// resource, and the username rules shared with the Authenticator.
// Thread affinity: any thread (pure functions, plus libsodium's thread-safe RNG).
// Owner: the Authenticator parses; tutti-token and test clients build.
#ifndef TUTTI_CRYPTO_CONNECT_PAYLOAD_H_
#define TUTTI_CRYPTO_CONNECT_PAYLOAD_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/keys.h"

namespace tutti::crypto {

inline constexpr char kConnectPathPrefix[] = "/api/websocket/";

// Field limits, checked by the parser. The resource length limit on the whole
// URL is tighter still; these keep any one field sane on its own.
inline constexpr size_t kMaxSocketIdBytes = 128;
inline constexpr size_t kMaxPayloadNameBytes = 256;  // raw, before sanitising
inline constexpr size_t kMaxUuidBytes = 256;
// Usernames shown to others are at most this many UTF-8 bytes.
inline constexpr size_t kMaxUsernameBytes = 32;
// Resume request fields (docs/PROTOCOL.md §12). A server's resume token is ~48
// characters and an epoch ~11; the room id follows the room-name limit with room for
// growth. Anything longer is not something this server handed out.
inline constexpr size_t kMaxResumeTokenBytes = 128;
inline constexpr size_t kMaxResumeEpochBytes = 64;
inline constexpr size_t kMaxResumeRoomBytes = 256;
// A linked connection's credential (docs/PROTOCOL.md §16): ~70 characters today.
inline constexpr size_t kMaxLinkTokenBytes = 128;

struct ConnectPayload {
  std::string username, uuid, socket_id, token;
  bool is_member = false;  // the client's claim; the server trusts the token instead
  int64_t ts_ms = 0;       // unix ms when sealed
  // Resume (all optional): the Welcome's resume token of the session to restore, and
  // the last position the client saw in that session's room stream.
  std::string resume_token;
  std::string resume_room;
  std::string resume_epoch;
  int64_t resume_offset = 0;  // >= 0
  bool has_resume() const { return !resume_token.empty(); }
  // A linked connection (optional): LinkStatus.link_token of the session to attach to.
  // This connection then carries that session's room events and MIDI; it starts no session.
  std::string link_token;
};

// Strict parse: `socket_id` (1..128 printable ASCII, no spaces) and `ts` (an
// integer) are required; the other fields are optional with the defaults
// above; unknown fields are ignored so clients can add some without breaking.
// The resume fields are bounded above; `resume_offset` may not be negative, and the
// room, epoch and offset are refused without a `resume_token` (they mean nothing alone).
// `link_token` is bounded too, and refused together with any resume field (a link
// attaches to a live session; it never restores one).
absl::StatusOr<ConnectPayload> ParseConnectPayloadJson(std::string_view json);

// JSON with the keys {"username","uuid","socket_id","is_member","token","ts"}, plus
// "resume_token","resume_room","resume_epoch","resume_offset" when a resume is asked,
// and "link_token" for a linked connection.
std::string ConnectPayloadToJson(const ConnectPayload& p);

// "/api/websocket/" + base64url(Seal(ConnectPayloadToJson(p), seal_public)).
std::string BuildConnectResource(const ConnectPayload& p, const PublicKey& seal_public);

// A fresh single-use socket id: 16 random bytes in base64url (22 characters).
std::string RandomSocketId();

// Display-name rules: drops control and invisible formatting characters
// (C0/C1 controls, DEL, zero-width and bidi controls, line separators) and
// invalid UTF-8, turns other whitespace into spaces, collapses runs of spaces,
// trims, and cuts to kMaxUsernameBytes at a character boundary. May return "".
std::string SanitizeUsername(std::string_view raw);

}  // namespace tutti::crypto

#endif  // TUTTI_CRYPTO_CONNECT_PAYLOAD_H_
