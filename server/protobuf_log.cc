#include "server/protobuf_log.h"

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>

namespace tutti::server {

bool LogBrake::Admit(int64_t now_ms, uint64_t* held_back) {
  if (window_start_ms_ == INT64_MIN || now_ms - window_start_ms_ >= window_ms_) {
    window_start_ms_ = now_ms;
    admitted_ = 0;
  }
  if (admitted_ >= lines_per_window_) {
    ++held_;
    return false;
  }
  ++admitted_;
  *held_back = held_;
  held_ = 0;
  return true;
}

namespace {

std::mutex brake_mu;
LogBrake brake(10'000, 5);

const char* LevelName(google::protobuf::LogLevel level) {
  switch (level) {
    case google::protobuf::LOGLEVEL_INFO:
      return "INFO";
    case google::protobuf::LOGLEVEL_WARNING:
      return "WARNING";
    case google::protobuf::LOGLEVEL_ERROR:
      return "ERROR";
    case google::protobuf::LOGLEVEL_FATAL:
      return "FATAL";
  }
  return "?";
}

void Handler(google::protobuf::LogLevel level, const char* filename, int line,
             const std::string& message) {
  uint64_t held = 0;
  if (level != google::protobuf::LOGLEVEL_FATAL) {
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
    std::lock_guard<std::mutex> lock(brake_mu);
    if (!brake.Admit(now_ms, &held)) return;
  }
  // One write per line, so it does not interleave with the server's own lines.
  std::string out = "tutti-server: libprotobuf ";
  out += LevelName(level);
  out += ' ';
  out += filename;
  out += ':';
  out += std::to_string(line);
  out += ": ";
  out += message;
  if (held > 0) out += " (" + std::to_string(held) + " lines like it held back)";
  out += '\n';
  std::fwrite(out.data(), 1, out.size(), stderr);
}

}  // namespace

google::protobuf::LogHandler* InstallProtobufLogBrake() {
  {
    std::lock_guard<std::mutex> lock(brake_mu);
    brake = LogBrake(10'000, 5);  // a fresh window: installing again starts the count over
  }
  return google::protobuf::SetLogHandler(&Handler);
}

}  // namespace tutti::server
