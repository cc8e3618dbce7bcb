// The configuration file of tutti-server (docs/OPERATIONS.md, "Configuration file"): a strict
// subset of TOML, one `key = value` per line, where every key is a field of ServerConfig
// (server/config.h) under the same name, HistoryLimits' as `room_history.<field>`. Strict:
// an unknown or repeated key, a value of the wrong type or out of range, a table header or
// any other TOML this subset does not take is an error naming the line, so that a typo
// never silently leaves a limit at its default.
//
// Owns: the reader (the TOML subset in config_toml.cc), the schema (every key, its type,
// range and whether SIGHUP reloads it; config_file.cc) and the writer behind --print-config. Thread
// affinity: none (pure functions over their arguments). Owner: server/config_flags.cc and
// tutti-server's main; the fuzz target tests/fuzz/fuzz_config_file.cc.
#ifndef TUTTI_SERVER_CONFIG_FILE_H_
#define TUTTI_SERVER_CONFIG_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/config.h"

namespace tutti::server {

// A file larger than this is refused before it is parsed.
inline constexpr size_t kMaxConfigFileBytes = 1 << 20;

// One `key = value` line, as read.
struct ConfigEntry {
  enum class Kind { kString, kInteger, kFloat, kBool };
  std::string key;
  Kind kind = Kind::kString;
  std::string text;  // kString
  int64_t integer = 0;
  double number = 0;
  bool boolean = false;
  int line = 0;
};

// The TOML subset alone: comments, blank lines, bare (or dotted) keys, basic and literal
// strings, decimal integers (underscores between digits), finite floats, true and false.
// INVALID_ARGUMENT "line N: ..." for anything else, and for a key given twice.
absl::StatusOr<std::vector<ConfigEntry>> ParseConfigText(std::string_view text);

// ParseConfigText, then every entry checked against the schema and stored into *config,
// which keeps its values for keys the text does not name.
absl::Status ApplyConfigText(std::string_view text, ServerConfig* config);

// Reads `path` (at most kMaxConfigFileBytes) and applies it.
absl::Status ApplyConfigFile(const std::string& path, ServerConfig* config);

// Every key with its value in `config`, in the file's syntax (what --print-config prints);
// read back with ApplyConfigText it gives the same configuration.
std::string FormatConfig(const ServerConfig& config);

// Keys whose values differ between `a` and `b`, split by whether a running server takes
// the new value on SIGHUP.
struct ConfigChanges {
  std::vector<std::string> reloadable;
  std::vector<std::string> restart_needed;
};
ConfigChanges DiffConfig(const ServerConfig& a, const ServerConfig& b);

// Copies the values of the reloadable keys from `from` into *to.
void CopyReloadable(const ServerConfig& from, ServerConfig* to);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_CONFIG_FILE_H_
