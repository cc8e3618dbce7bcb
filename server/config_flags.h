// The tutti-server command line: the ABSL_FLAGs that set ServerConfig (defined in
// config_flags.cc, beside the config they fill) and the one place that turns them and the
// configuration file (--config) into a ServerConfig.
//
// Owns: the flag definitions and their checks. Thread affinity: main thread, after
// absl::ParseCommandLine and before the server starts. Owner: server/main.cc (only the
// tutti-server binary links this library, so tests and other tools do not carry the flags).
#ifndef TUTTI_SERVER_CONFIG_FLAGS_H_
#define TUTTI_SERVER_CONFIG_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/config.h"

namespace tutti::server {

// A ServerConfig with the defaults of config.h, overridden by the flags given. INVALID_ARGUMENT
// names the flag when a value is outside its range (the door's limits are read strictly: a
// typo must not turn a limit off).
// With --config FILE the file is read first (server/config_file.h) and only the flags given
// on the command line override it; a file that cannot be read or is refused is
// FAILED_PRECONDITION naming the file and line. Called again on SIGHUP to re-read the file.
absl::StatusOr<ServerConfig> ServerConfigFromFlags();

// --print-config: print FormatConfig of the effective configuration and exit.
bool PrintConfigRequested();

// config.redis split into its primaries ("HOST:PORT" each; checked by
// ServerConfigFromFlags), for SetRedisPrimaries (server/broker_select.h).
std::vector<std::string> RedisPrimaries(const ServerConfig& config);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_CONFIG_FLAGS_H_
