// ResumeTokens: the server's record of which resume token may restore which session.
// A token is opaque ("rt1." + 32 random bytes in base64url), single-use, bound to one
// user and one session, and rotated on every resume (docs/PROTOCOL.md §12). It is valid
// while its session is connected and for `window_us` after the connection drops; a
// session that ends for good (left the server, grace over) revokes it.
// The record keeps only a keyed digest of each token, never the token itself, and no
// method logs or returns a token except Issue, whose caller puts it in a Welcome.
// Thread affinity: any thread (one mutex): tokens are issued by the shard of the old
// session and redeemed at the upgrade on whichever shard accepts the new connection.
// Owner: Server (one per process).
#ifndef TUTTI_SERVER_RESUME_TOKENS_H_
#define TUTTI_SERVER_RESUME_TOKENS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "crypto/keyed_digest.h"
#include "server/clock.h"
#include "server/ids.h"

namespace tutti::server {

class ResumeTokens {
 public:
  enum class Outcome {
    kGranted,
    kUnknown,    // never issued, already used, rotated away or revoked
    kExpired,    // its session dropped longer than the window ago
    kWrongUser,  // issued to someone else; the token is burnt all the same
  };
  struct Redemption {
    Outcome outcome = Outcome::kUnknown;
    SessionId session = 0;  // set when granted
    std::string user_id;    // set when granted: the session's user (a guest's old id)
  };

  ResumeTokens(const Clock* clock, int64_t window_us);

  // A new token for `session` of `user_id`; the session's previous token (if any) stops
  // working. Returned once, for the Welcome or the ResumeResult.
  std::string Issue(const std::string& user_id, SessionId session);
  // The session's connection dropped now: its token expires after the window.
  void Detached(SessionId session);
  // Single use: whatever the outcome, the token cannot be presented again. The presenter
  // must be the token's user: the same `user_id` for members; for a guest (whose id is
  // drawn afresh at each connect, so only the token names it) a guest token.
  Redemption Redeem(std::string_view token, std::string_view user_id, bool guest = false);
  // The session is gone for good.
  void Revoke(SessionId session);

  size_t size() const;
  static const char* OutcomeName(Outcome o);
  // A name for `token` that nodes share without sharing the token (rooms across nodes:
  // the key of its resume state in Redis): 32 hex digits of an unkeyed BLAKE2b of it.
  // The token's 256 random bits make it as hard to guess from its name as itself.
  static std::string SharedKey(std::string_view token);

 private:
  struct Entry {
    std::string user_id;
    SessionId session = 0;
    int64_t expires_us = 0;  // 0 = the session is connected
  };
  using Key = std::pair<uint64_t, uint64_t>;
  Key KeyOf(std::string_view token) const;
  void PruneLocked(int64_t now_us);

  const Clock* clock_;
  const int64_t window_us_;
  const crypto::KeyedDigester digester_;
  mutable std::mutex mu_;
  std::map<Key, Entry> by_token_;
  std::map<SessionId, Key> by_session_;
  // Detached entries by expiry, so pruning touches only what is due. Expired entries
  // linger one more window so a late try is told "expired" rather than "unknown";
  // pruned on Issue. A stale item (token since used or rotated) is skipped.
  std::multimap<int64_t, Key> expiry_;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_RESUME_TOKENS_H_
