// Fuzz target: tutti-server's configuration file reader (server/config_file.h), which reads
// an operator's file at start and on every SIGHUP.
//
// Input: the file's bytes.
// Properties: no crash or hang whatever the bytes; a refusal names a line or the whole file;
// what applies cleanly prints (--print-config) as a file that applies again to the same
// configuration, and that printed file parses with one entry per key.
#include <string>
#include <string_view>

#include "server/config_file.h"
#include "tests/fuzz/fuzz_target.h"

namespace srv = tutti::server;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto entries = srv::ParseConfigText(text);
  if (!entries.ok()) {
    FUZZ_CHECK(std::string(entries.status().message()).find("config") != std::string::npos);
  }
  srv::ServerConfig config;
  if (!srv::ApplyConfigText(text, &config).ok()) return 0;
  FUZZ_CHECK(entries.ok());
  const std::string printed = srv::FormatConfig(config);
  srv::ServerConfig again;
  FUZZ_CHECK(srv::ApplyConfigText(printed, &again).ok());
  FUZZ_CHECK(srv::FormatConfig(again) == printed);
  const auto changes = srv::DiffConfig(config, again);
  FUZZ_CHECK(changes.reloadable.empty() && changes.restart_needed.empty());
  return 0;
}
