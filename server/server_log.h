// ServerLog: the server's structured log. Each line is a level (info, warn, error), an
// event name and key=value fields, written to stderr as `ts=... level=... event=... k=v`
// (or one JSON object per line with --log-format json) and offered to live subscribers
// (staff who sent ServerCommand SUBSCRIBE_LOG), each with its own minimum level and its
// own token bucket: lines past the bucket are dropped for that subscriber, counted, and
// the count rides on the next line it gets.
//
// What may be logged is decided at each call site, field by field: callers pass user
// ids, addresses, room names, counts and the server's own reason texts, never a token,
// a connect payload, a resume token, a password or chat text (tested on a full run:
// tests/integration/log_secrets_test.cc).
//
// Thread affinity: thread-safe (the written level is an atomic); any shard, the storage thread, the
// admin listener and main log through it. One absl::Mutex guards the output and the subscriber
// table; each line is one fwrite under it, so lines never interleave. Deliveries are closures the
// subscriber gave (the dispatcher's: a post to the subscriber's shard), called under the
// mutex, so they must only post. Ownership: the Server owns it; it outlives the shards.
#ifndef TUTTI_SERVER_SERVER_LOG_H_
#define TUTTI_SERVER_SERVER_LOG_H_

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/clock.h"
#include "server/token_bucket.h"

namespace tutti::server {

// Numbered as tutti.proto's LogLevel.
enum class LogLevel { kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kKeyValue, kJson };

std::string_view LogLevelName(LogLevel level);
// "info", "warn" (or "warning"), "error"; INVALID_ARGUMENT otherwise.
absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name);
// "kv" (or "key=value", "logfmt") and "json".
absl::StatusOr<LogFormat> ParseLogFormat(std::string_view name);

struct LogField {
  std::string key;  // [a-z_] by convention; written as given
  std::string value;
};

// One line as it is written and as subscribers get it.
struct LogEntry {
  int64_t unix_ms = 0;
  LogLevel level = LogLevel::kInfo;
  std::string event;
  std::vector<LogField> fields;
  std::string text;  // the formatted line, without the newline
};

// The formatted line (no newline). Key=value values are quoted when they hold a space,
// '"', '=' or are empty, with \" \\ \n \r \t and \xHH escapes for control bytes; JSON
// values are JSON strings. The timestamp is RFC 3339 UTC with milliseconds.
std::string FormatLogLine(LogFormat format, int64_t unix_ms, LogLevel level, std::string_view event,
                          const std::vector<LogField>& fields);

class ServerLog {
 public:
  struct Options {
    LogFormat format = LogFormat::kKeyValue;
    LogLevel level = LogLevel::kInfo;  // the first level written to `out`
    double lines_per_second = 20;      // per subscriber
    double burst = 100;
    size_t max_subscribers = 16;
  };
  // `out` may be null (nothing written; subscribers still served). Not owned.
  ServerLog(Options options, std::FILE* out, const Clock* clock);

  void Log(LogLevel level, std::string_view event, std::vector<LogField> fields);
  void Info(std::string_view event, std::vector<LogField> fields) {
    Log(LogLevel::kInfo, event, std::move(fields));
  }
  void Warn(std::string_view event, std::vector<LogField> fields) {
    Log(LogLevel::kWarn, event, std::move(fields));
  }
  void Error(std::string_view event, std::vector<LogField> fields) {
    Log(LogLevel::kError, event, std::move(fields));
  }

  // `deliver(entry, dropped)` gets each line at `min_level` or above that the bucket
  // admits, with the count of lines dropped for this subscriber since its last one.
  // Returns an id for Unsubscribe, or 0 when max_subscribers are subscribed already.
  using Deliver = std::function<void(const LogEntry& entry, uint32_t dropped)>;
  uint64_t Subscribe(LogLevel min_level, Deliver deliver);
  // Lines dropped for it in all (0 for an unknown id, which is ignored).
  uint64_t Unsubscribe(uint64_t id);
  size_t subscribers() const;
  const Options& options() const { return options_; }

  // The first level written to `out` (config log_level; SIGHUP changes it). Subscribers
  // keep their own levels.
  void SetLevel(LogLevel level) { level_.store(level); }
  LogLevel level() const { return level_.load(); }

 private:
  struct Subscriber {
    LogLevel min_level;
    Deliver deliver;
    TokenBucket bucket;
    uint32_t dropped_since = 0;
    uint64_t dropped_total = 0;
  };

  const Options options_;
  std::atomic<LogLevel> level_;
  std::FILE* const out_;
  const Clock* const clock_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, Subscriber> subscribers_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_SERVER_LOG_H_
