// StreamLog: one room stream's sequencer and bounded history — the epoch, the next
// offset, a server time that never goes back, and the recent Publications (the same
// shared Frames the receivers got; nothing is copied). Trimmed by HistoryLimits on every
// append and read. The core of the in-process broker, and what a test floods.
// Thread affinity: none of its own; the in-process broker uses it on its shard's thread.
// Owner: InProcessBroker (one per stream).
#ifndef TUTTI_SERVER_STREAM_LOG_H_
#define TUTTI_SERVER_STREAM_LOG_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

#include "server/broker.h"

namespace tutti::server {

class StreamLog {
 public:
  StreamLog(std::string epoch, const HistoryLimits* limits);

  const std::string& epoch() const { return epoch_; }
  StreamPosition top() const { return {epoch_, top_offset_}; }

  // Assigns the next offset and a server time (>= the last one, so a clock that stalls
  // or a fake clock still gives ordered times), writes both into `req.message.stream`,
  // frames the message once, keeps it, and returns the publication.
  Publication Append(PublishRequest req, int64_t now_us);

  // Everything after `since` that is kept, or recoverable = false (docs in broker.h).
  HistoryResult Since(const StreamPosition& since, int64_t now_us);

  size_t kept_events() const { return kept_.size(); }
  size_t kept_bytes() const { return kept_bytes_; }
  // Offset of the oldest kept event (top + 1 when nothing is kept).
  uint64_t first_kept_offset() const {
    return kept_.empty() ? top_offset_ + 1 : kept_.front().position.offset;
  }

 private:
  void Trim(int64_t now_us);

  const std::string epoch_;
  const HistoryLimits* limits_;
  uint64_t top_offset_ = 0;
  int64_t last_time_us_ = 0;
  std::deque<Publication> kept_;
  size_t kept_bytes_ = 0;
};

// A fresh random epoch: 8 random bytes in base64url (11 characters), so two lives of a
// room (recreated, or after a restart) never share one.
std::string NewStreamEpoch();

}  // namespace tutti::server

#endif  // TUTTI_SERVER_STREAM_LOG_H_
