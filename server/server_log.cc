#include "server/server_log.h"

#include <ctime>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "crypto/json.h"

namespace tutti::server {
namespace {

std::string Timestamp(int64_t unix_ms) {
  const time_t secs = static_cast<time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char ms[8];
  std::snprintf(ms, sizeof ms, ".%03dZ", static_cast<int>(unix_ms % 1000));
  return std::string(buf, n) + ms;
}

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '"' || c == '=' || c == '\\') return true;
  }
  return false;
}

void AppendKeyValue(std::string* out, std::string_view key, std::string_view value) {
  out->append(key.data(), key.size());
  out->push_back('=');
  if (!NeedsQuotes(value)) {
    out->append(value.data(), value.size());
    return;
  }
  out->push_back('"');
  for (char c : value) {
    const unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\x%02x", u);
          out->append(hex);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void AppendJsonField(std::string* out, std::string_view key, std::string_view value) {
  out->push_back(',');
  crypto::AppendJsonString(out, key);
  out->push_back(':');
  crypto::AppendJsonString(out, value);
}

}  // namespace

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name) {
  const std::string lower = absl::AsciiStrToLower(absl::string_view(name.data(), name.size()));
  if (lower == "info") return LogLevel::kInfo;
  if (lower == "warn" || lower == "warning") return LogLevel::kWarn;
  if (lower == "error") return LogLevel::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log level \"", lower, "\": info, warn or error"));
}

absl::StatusOr<LogFormat> ParseLogFormat(std::string_view name) {
  const std::string lower = absl::AsciiStrToLower(absl::string_view(name.data(), name.size()));
  if (lower == "kv" || lower == "key=value" || lower == "logfmt") return LogFormat::kKeyValue;
  if (lower == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(absl::StrCat("unknown log format \"", lower, "\": kv or json"));
}

std::string FormatLogLine(LogFormat format, int64_t unix_ms, LogLevel level, std::string_view event,
                          const std::vector<LogField>& fields) {
  std::string out;
  out.reserve(96);
  if (format == LogFormat::kJson) {
    out = "{\"ts\":\"" + Timestamp(unix_ms) + "\"";
    AppendJsonField(&out, "level", LogLevelName(level));
    AppendJsonField(&out, "event", event);
    for (const LogField& f : fields) AppendJsonField(&out, f.key, f.value);
    out.push_back('}');
    return out;
  }
  out = "ts=" + Timestamp(unix_ms) + " level=";
  out += LogLevelName(level);
  out.push_back(' ');
  AppendKeyValue(&out, "event", event);
  for (const LogField& f : fields) {
    out.push_back(' ');
    AppendKeyValue(&out, f.key, f.value);
  }
  return out;
}

ServerLog::ServerLog(Options options, std::FILE* out, const Clock* clock)
    : options_(options), level_(options.level), out_(out), clock_(clock) {}

void ServerLog::Log(LogLevel level, std::string_view event, std::vector<LogField> fields) {
  LogEntry entry;
  entry.unix_ms = clock_->UnixMs();
  entry.level = level;
  entry.event = std::string(event);
  entry.text = FormatLogLine(options_.format, entry.unix_ms, level, event, fields);
  entry.fields = std::move(fields);
  const int64_t now_us = clock_->NowUs();
  absl::MutexLock lock(&mu_);
  if (out_ != nullptr && static_cast<int>(level) >= static_cast<int>(level_.load())) {
    std::string line = entry.text;
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), out_);
    std::fflush(out_);
  }
  for (auto& entry_of : subscribers_) {
    Subscriber& sub = entry_of.second;
    if (static_cast<int>(level) < static_cast<int>(sub.min_level)) continue;
    if (!sub.bucket.TryTake(1.0, now_us)) {
      ++sub.dropped_since;
      ++sub.dropped_total;
      continue;
    }
    sub.deliver(entry, sub.dropped_since);
    sub.dropped_since = 0;
  }
}

uint64_t ServerLog::Subscribe(LogLevel min_level, Deliver deliver) {
  const int64_t now_us = clock_->NowUs();
  absl::MutexLock lock(&mu_);
  if (subscribers_.size() >= options_.max_subscribers) return 0;
  const uint64_t id = next_id_++;
  subscribers_.emplace(
      id, Subscriber{min_level, std::move(deliver),
                     TokenBucket(options_.lines_per_second, options_.burst, now_us), 0, 0});
  return id;
}

uint64_t ServerLog::Unsubscribe(uint64_t id) {
  absl::MutexLock lock(&mu_);
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return 0;
  const uint64_t dropped = it->second.dropped_total;
  subscribers_.erase(it);
  return dropped;
}

size_t ServerLog::subscribers() const {
  absl::MutexLock lock(&mu_);
  return subscribers_.size();
}

}  // namespace tutti::server
