// Where libprotobuf's own log lines go in the server. libprotobuf prints an error line for
// every message it refuses to parse because a string field is not UTF-8; a client may send
// such frames as fast as its connection and the malformed-frame strikes allow, and new
// connections are cheap, so left alone that is a way to flood the log. The brake lets a
// few lines through per window and says how many it held back.
//
// Owns: the process-wide libprotobuf log handler and its LogBrake.
// Thread affinity: the handler runs on whichever thread libprotobuf logs from (any shard);
// the brake behind it takes a mutex (a rare path, never taken by well-formed traffic).
// LogBrake itself is not thread-safe. Owner: tutti-server's main installs it once.
#ifndef TUTTI_SERVER_PROTOBUF_LOG_H_
#define TUTTI_SERVER_PROTOBUF_LOG_H_

#include <cstdint>

#include <google/protobuf/stubs/logging.h>

namespace tutti::server {

// At most `lines_per_window` admitted per `window_ms`; counts what it refused since the
// last admitted line. Time comes from the caller (tests pass a fake one).
class LogBrake {
 public:
  LogBrake(int64_t window_ms, int lines_per_window)
      : window_ms_(window_ms), lines_per_window_(lines_per_window) {}

  // True when a line at `now_ms` may be written; then *held_back is how many were refused
  // before it (and the count starts again).
  bool Admit(int64_t now_ms, uint64_t* held_back);

 private:
  int64_t window_ms_;
  int lines_per_window_;
  int64_t window_start_ms_ = INT64_MIN;
  int admitted_ = 0;
  uint64_t held_ = 0;
};

// Routes libprotobuf's log lines to stderr through a LogBrake of 5 lines per 10 s, each
// marked as libprotobuf's (plain text, not the structured format of server_log.h); fatal
// ones pass unbraked. Call before any thread parses.
// Each call starts the brake's count over. Returns the handler it replaced (a test puts
// it back).
google::protobuf::LogHandler* InstallProtobufLogBrake();

}  // namespace tutti::server

#endif  // TUTTI_SERVER_PROTOBUF_LOG_H_
