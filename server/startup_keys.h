// The key set tutti-server starts with: loaded from --keys, or, in development mode (--dev)
// only, generated there first. Production never generates keys: a mistyped --keys must stop
// the server with a clear error rather than mint a fresh issuer secret that tokens then
// silently stop matching (issue 13, "Production safety").
//
// Owns: the start-up decision and its messages. Thread affinity: main thread, before the
// server starts (blocking file I/O). Owner: server/main.cc (linked only into tutti-server).
#ifndef TUTTI_SERVER_STARTUP_KEYS_H_
#define TUTTI_SERVER_STARTUP_KEYS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/keys.h"

namespace tutti::server {

// Exit status of tutti-server for a configuration it cannot run with (missing keys, a bad
// config file): sysexits' EX_CONFIG, which the systemd unit lists in RestartPreventExitStatus
// so that a broken configuration is not restarted in a loop.
inline constexpr int kExitConfig = 78;

struct StartupKeys {
  crypto::ServerKeys keys;
  bool generated = false;           // dev mode made a fresh set just now
  bool issuer_secret_here = false;  // issuer_sign.key sits beside the server's keys
  // Lines for the operator (already worded), printed by main.
  std::vector<std::string> notices;
  std::vector<std::string> warnings;
};

// Loads the server's key set from `dir`. With `dev`, a directory without any key file is
// first given a fresh development set (issuer secret included). Without `dev`, missing keys
// are FAILED_PRECONDITION naming the files and the two ways out (tutti-keygen, --dev), and
// an issuer secret found in `dir` is warned about: whoever reads the server's files can then
// mint admin tokens.
absl::StatusOr<StartupKeys> PrepareServerKeys(const std::string& dir, bool dev);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_STARTUP_KEYS_H_
