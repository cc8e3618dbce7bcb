// Sessions follow their token. ExpirySchedule is the pure part: when each member
// session must be warned (TokenExpiring) and when it must be closed (4004, "token
// expired: refresh"). SessionTokens puts it on a shard: it tracks that shard's
// sessions, waits for the earliest notice or close (no timer while none is scheduled; a
// test clock's jump wakes it, clock.h), and acts on what is due.
// RefreshSessionToken handles ServerCommand UPDATE_PERMISSIONS: the token is verified
// as at the upgrade and, when it is for the same user, replaces the session's roles,
// membership and expiry in one step, and the session's room hears of it.
// ExpirySchedule: plain data, not thread-safe. SessionTokens: one per shard, owned by
// that shard's ShardHooks (wired by the Server) and used on the shard's thread only;
// RefreshSessionToken: called on the session's shard. Guests have no token and are never
// tracked.
#ifndef TUTTI_SERVER_TOKEN_REFRESH_H_
#define TUTTI_SERVER_TOKEN_REFRESH_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "server/ids.h"
#include "server/session.h"

namespace tutti::server {

class Shard;

class ExpirySchedule {
 public:
  explicit ExpirySchedule(int64_t notice_ms) : notice_ms_(notice_ms) {}

  // (Re)schedules `id` to close at `close_at_ms` (unix ms), with a notice notice_ms
  // before it; a refresh calls it again and the notice may come again for the new one.
  void Set(SessionId id, int64_t close_at_ms);
  void Erase(SessionId id);
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }

  struct Due {
    SessionId session = 0;
    bool close = false;  // false: the notice
    int64_t close_at_ms = 0;
  };
  // Everything due at `now_ms`, in time order: a notice at most once per Set, then the
  // close (after which the session is forgotten). A session already past its close
  // time gets only the close.
  std::vector<Due> TakeDue(int64_t now_ms);
  // When the next notice or close is due (unix ms); nullopt when nothing is scheduled.
  std::optional<int64_t> NextDueMs() const;

 private:
  struct Entry {
    int64_t close_at_ms = 0;
    bool noticed = false;
    std::multimap<int64_t, SessionId>::iterator queued;
  };
  void Queue(SessionId id, Entry& e);

  const int64_t notice_ms_;
  std::unordered_map<SessionId, Entry> entries_;
  std::multimap<int64_t, SessionId> queue_;  // next event time -> session
};

// When a session holding a token of this exp must be closed, unix ms.
int64_t SessionCloseAtMs(int64_t token_exp_s, int64_t leeway_s);

class SessionTokens {
 public:
  explicit SessionTokens(Shard* shard);
  ~SessionTokens();
  SessionTokens(const SessionTokens&) = delete;
  SessionTokens& operator=(const SessionTokens&) = delete;

  // A new or refreshed session: guests are ignored.
  void Track(const Session& s);
  void Forget(SessionId id) { schedule_.Erase(id); }
  void Stop();

 private:
  void Arm();
  void Tick();

  Shard* const shard_;
  ExpirySchedule schedule_;
  boost::asio::steady_timer timer_;
  std::optional<int64_t> armed_for_ms_;  // the due time the pending wait is for
  uint64_t generation_ = 0;              // a wait replaced by a nearer one is ignored
  int jump_subscription_ = 0;
  bool stopped_ = false;
};

// ServerCommand UPDATE_PERMISSIONS {token}. The caller has charged the request bucket.
void RefreshSessionToken(Shard& shard, Session& s, const std::string& token,
                         const std::string& request_id);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_TOKEN_REFRESH_H_
