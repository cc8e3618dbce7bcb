// Link tokens: the credential of a linked connection (docs/PROTOCOL.md §16), and the window
// that drops a MIDI batch a sender sent on both of its connections.
//
// A link token is "lk1." + the session id in 16 hex digits + "." + 32 random bytes in
// base64url. The session id in it routes the attach to the session's shard (a session id
// names its shard), so no process-wide registry is needed: the session keeps only a digest
// of its one outstanding token, which the attach compares and spends. Session ids are not
// secret (room events show them); the 256 random bits are what a guesser must find.
//
// Owns: the token format (make, parse) and its digest; SequenceWindow.
// Thread affinity: none (pure functions and plain values). A LinkCredential lives in one
// Session, on that session's shard; a SequenceWindow in one sender's MidiIntakeState.
// Owner: the Dispatcher issues tokens, Shard (shard_links.cc) checks them.
#ifndef TUTTI_SERVER_LINK_TOKEN_H_
#define TUTTI_SERVER_LINK_TOKEN_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "server/ids.h"

namespace tutti::server {

// How long an issued link token may be presented: long enough to open a second
// connection on a slow network, short enough that a leaked one is soon useless.
inline constexpr int64_t kLinkTokenTtlUs = 30'000'000;

using LinkDigest = std::array<unsigned char, 32>;

// Link tokens a session may be issued: a burst of this many, then one more per refill
// interval. A client asks after a join, after each resume and, with backoff, after a
// failed link; a flood of LINK costs the server a token each and gets RATE_LIMITED.
inline constexpr int kLinkTokenBurst = 4;
inline constexpr int64_t kLinkTokenRefillUs = 5'000'000;

// What a session keeps of its outstanding link token, and its issue quota.
struct LinkCredential {
  LinkDigest digest{};
  int64_t expires_us = 0;  // 0 = none outstanding
  int issue_left = kLinkTokenBurst;
  int64_t issue_refill_at_us = 0;  // when the next one comes back (while below the burst)
};

// Takes one from the session's link token quota at `now_us`; false when none is left.
bool TakeLinkIssue(LinkCredential* cred, int64_t now_us);

// A fresh token for `session`; *out gets its digest and expiry (now + the TTL).
std::string IssueLinkToken(SessionId session, int64_t now_us, LinkCredential* out);

// The session a token names, if it has the token's shape ("lk1.", 16 lower-case hex
// digits, ".", 43 base64url characters); nullopt for anything else.
std::optional<SessionId> ParseLinkToken(std::string_view token);

// Says whether `token` is the one `cred` was issued for and has not expired at `now_us`.
// The issued token is spent by its first presentation, whatever the outcome; a token that
// is not it (made up, or an older one) leaves it outstanding.
bool RedeemLinkToken(LinkCredential* cred, std::string_view token, int64_t now_us);

// The sender's MIDI batch numbers (MidiMessage.sequence, inbound) taken so far: the
// highest and the 64 below it. A batch is taken once: a copy that arrives later on the
// other connection is a duplicate; so is a number more than 64 below the highest, which
// cannot be told apart from one (a sender's two connections are never that far apart).
// Number 0 means "not numbered" and is always taken.
class SequenceWindow {
 public:
  // True the first time `seq` is seen (take the batch), false for a duplicate.
  bool Take(uint64_t seq);

 private:
  uint64_t highest_ = 0;
  uint64_t seen_ = 0;  // bit i: highest_ - i was taken
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_LINK_TOKEN_H_
