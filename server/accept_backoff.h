// AcceptBackoff: what an acceptor does when accept() keeps failing (EMFILE, ENFILE,
// ENOBUFS, ENOMEM, or anything else that a retry will not cure at once). A listening
// socket stays readable while connections wait in the backlog, so retrying at once
// spins the event loop at 100% exactly when the process is busiest; instead the
// acceptor pauses, 50 ms doubling to 1 s, and resumes on its own. One episode (the
// failures between two successes) is reported once when it starts and once when it
// ends, with a count, so the log says what happened without a line per failure.
//
// Thread affinity: none; a plain value owned by one endpoint (so one shard thread).
// Time is passed in (monotonic milliseconds).
#ifndef TUTTI_SERVER_ACCEPT_BACKOFF_H_
#define TUTTI_SERVER_ACCEPT_BACKOFF_H_

#include <cstdint>
#include <optional>

namespace tutti::server {

class AcceptBackoff {
 public:
  // 50 ms lets a handshake timeout or a closing client free a descriptor before the
  // next try; 1 s bounds how long a recovered server keeps clients waiting.
  static constexpr int64_t kFirstDelayMs = 50;
  static constexpr int64_t kMaxDelayMs = 1000;

  struct Pause {
    int64_t delay_ms = 0;
    bool episode_started = false;  // the first failure since the last success: log it
  };
  struct Episode {
    uint64_t failures = 0;
    int64_t duration_ms = 0;
  };

  // accept() failed: how long to wait before the next one.
  Pause Failed(int64_t now_ms);
  // accept() succeeded: the episode it ends, if one was running.
  std::optional<Episode> Succeeded(int64_t now_ms);

  bool in_episode() const { return failures_ > 0; }

 private:
  uint64_t failures_ = 0;
  int64_t started_ms_ = 0;
  int64_t next_delay_ms_ = kFirstDelayMs;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_ACCEPT_BACKOFF_H_
