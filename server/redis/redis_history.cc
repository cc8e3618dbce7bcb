// RedisBroker, its read side: what a room's stream keeps in Redis read back, the events
// since a position (History, for a resume or a SYNC_STATE, cut to end where this node's
// delivery stands) and the chat lines kept with the stream (ChatLines, for a room opening
// on this node). Split from redis_broker.cc by role.
// Same class, owner and thread as redis_broker.cc.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/redis/redis_broker.h"
#include "server/redis/redis_primary.h"
#include "server/redis/redis_scripts.h"
#include "server/redis/stream_wire.h"

namespace tutti::server::redis {

void RedisBroker::History(const std::string& stream, const StreamPosition& since,
                          HistoryDone done) {
  ReadHistory(stream, since, std::make_shared<HistoryDone>(std::move(done)), 0);
}

bool RedisBroker::MatchDelivered(const std::string& stream, const StreamPosition& since,
                                 HistoryResult* result, int attempt,
                                 const std::shared_ptr<HistoryDone>& done) {
  // The answer must end where this node's delivery stands, so that a caller that starts
  // live delivery after it misses nothing and gets nothing twice (broker.h's order). The
  // history and the channel are two links: Redis may have sequenced events the channel
  // has not brought yet (they come live: cut), or the channel brought some sequenced
  // after the history was read (read again; bounded, then a snapshot).
  auto it = streams_.find(stream);
  if (it == streams_.end() || it->second.top.epoch != result->top.epoch) return false;
  const StreamPosition& delivered = it->second.top;
  if (delivered.offset > result->top.offset) {
    if (attempt < 3) {
      ReadHistory(stream, since, done, attempt + 1);
      return true;
    }
    result->recoverable = false;
    result->publications.clear();
    result->reason = "history trimmed";
    return false;
  }
  if (delivered.offset < result->top.offset) {
    if (delivered.offset < since.offset) return false;
    result->publications.resize(
        std::min<size_t>(result->publications.size(), delivered.offset - since.offset));
    result->top = delivered;
  }
  return false;
}

void RedisBroker::ReadHistory(const std::string& stream, const StreamPosition& since,
                              std::shared_ptr<HistoryDone> shared_done, int attempt) {
  Primary& p = PrimaryFor(stream);
  const std::string meta = MetaKey(stream);
  const std::string log = LogKey(stream);
  const std::string offset = std::to_string(since.offset);
  const std::string max = std::to_string(options_.limits.max_events);
  const bool sent = RunScript(p, kHistory, {meta, log, since.epoch, offset, max}, 2,
                              [this, stream, since, shared_done, attempt](const redisReply* r) {
                                HistoryResult result;
                                int64_t top = 0;
                                const std::string_view epoch = ReplyString(ReplyElement(r, 0));
                                if (ReplyIsError(r) || !ReplyInteger(ReplyElement(r, 1), &top)) {
                                  result.reason = "history unavailable";
                                  return (*shared_done)(std::move(result));
                                }
                                result.top = {std::string(epoch), static_cast<uint64_t>(top)};
                                if (epoch != since.epoch) {
                                  result.reason = "epoch changed";
                                  return (*shared_done)(std::move(result));
                                }
                                if (since.offset > result.top.offset) {
                                  result.reason = "offset beyond the stream";
                                  return (*shared_done)(std::move(result));
                                }
                                const size_t want = result.top.offset - since.offset;
                                if (r->elements - 2 != want) {
                                  result.reason = "history trimmed";
                                  return (*shared_done)(std::move(result));
                                }
                                // The same bounds as the in-process engine, applied to what is
                                // handed back.
                                const int64_t oldest_allowed =
                                    clock_->UnixMs() * 1000 - options_.limits.max_age_us;
                                size_t bytes = 0;
                                for (size_t i = 2; i < r->elements; ++i) {
                                  WireEvent e;
                                  if (!ParseWireEvent(ReplyString(r->element[i]), &e) ||
                                      e.offset != since.offset + (i - 1)) {
                                    ++stats_.malformed;
                                    result.publications.clear();
                                    result.reason = "history trimmed";
                                    return (*shared_done)(std::move(result));
                                  }
                                  result.publications.push_back(ToPublication(e, origin_));
                                  bytes += result.publications.back().frame->wire_size();
                                }
                                if (bytes > options_.limits.max_bytes ||
                                    (!result.publications.empty() &&
                                     result.publications.front().server_time_us < oldest_allowed)) {
                                  result.publications.clear();
                                  result.reason = "history trimmed";
                                  return (*shared_done)(std::move(result));
                                }
                                result.recoverable = true;
                                if (MatchDelivered(stream, since, &result, attempt, shared_done)) {
                                  return;  // asked again
                                }
                                (*shared_done)(std::move(result));
                              });
  if (!sent) {
    HistoryResult result;
    result.top = Top(stream);
    result.reason = "redis unavailable";
    (*shared_done)(std::move(result));
  }
}

void RedisBroker::ChatLines(const std::string& stream, ChatDone done) {
  if (WhenSubscribed(stream, [this, stream, done] { ChatLines(stream, done); })) return;
  const bool sent = PrimaryFor(stream).cmd.Command(
      {"LRANGE", ChatKey(stream), "0", "-1"}, [this, done](const redisReply* r) {
        std::vector<Publication> lines;
        if (r != nullptr && r->type == REDIS_REPLY_ARRAY) {
          for (size_t i = 0; i < r->elements; ++i) {
            WireEvent e;
            if (!ParseWireEvent(ReplyString(r->element[i]), &e)) {
              ++stats_.malformed;
              continue;
            }
            lines.push_back(ToPublication(e, origin_));
          }
        }
        done(std::move(lines));
      });
  if (!sent) done({});
}

}  // namespace tutti::server::redis
