// tutti-server: parses flags and the configuration file, loads keys (generating them in dev
// mode only), runs the Server until SIGINT or SIGTERM (draining first on SIGTERM), reloads on
// SIGHUP. No logic lives here.
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "crypto/dev_connection.h"
#include "crypto/keys.h"
#include "crypto/sodium_init.h"
#include "server/admin_listener.h"
#include "server/broker_select.h"
#include "server/clock.h"
#include "server/config.h"
#include "server/config_file.h"
#include "server/config_flags.h"
#include "server/maintenance.h"
#include "server/protobuf_log.h"
#include "server/server.h"
#include "server/server_log.h"
#include "server/service_notify.h"
#include "server/startup_keys.h"
#include "tools/common/main_flags.h"
#include "tools/common/termination_signals.h"

namespace {

std::string Join(const std::vector<std::string>& keys) {
  std::string out;
  for (const std::string& k : keys) out += (out.empty() ? "" : ", ") + k;
  return out;
}

// SIGHUP: the configuration file and flags are read again; the reloadable keys (limits read
// where they are used, and the log level) take their new values, server bans are re-read
// from the store, and every other change is named as waiting for a restart.
void ReloadConfig(tutti::server::Server& server, tutti::server::ServerConfig* config) {
  absl::StatusOr<tutti::server::ServerConfig> next = tutti::server::ServerConfigFromFlags();
  if (!next.ok()) {
    std::fprintf(stderr, "tutti: SIGHUP: configuration not reloaded: %s\n",
                 std::string(next.status().message()).c_str());
    std::fflush(stderr);
    return;
  }
  const tutti::server::ConfigChanges changes = tutti::server::DiffConfig(*config, *next);
  if (!server.UpdateConfig([&next](tutti::server::ServerConfig& live) {
        tutti::server::CopyReloadable(*next, &live);
      })) {
    std::fprintf(stderr, "tutti: SIGHUP: configuration not reloaded: a shard did not pause\n");
    std::fflush(stderr);
    return;
  }
  tutti::server::CopyReloadable(*next, config);
  // The log level is the ServerLog's own (an atomic), not read from the config where used.
  server.log().SetLevel(
      tutti::server::ParseLogLevel(config->log_level).value_or(tutti::server::LogLevel::kInfo));
  server.ReloadBans();
  server.log().Warn("config.reload", {{"reloaded", Join(changes.reloadable)},
                                      {"not_reloaded", Join(changes.restart_needed)},
                                      {"log_level", config->log_level}});
  std::printf("tutti: SIGHUP: reloaded %s; server bans re-read from the store\n",
              changes.reloadable.empty() ? "no changed limit" : Join(changes.reloadable).c_str());
  if (!changes.restart_needed.empty()) {
    std::printf("tutti: SIGHUP: not reloaded (restart to apply): %s\n",
                Join(changes.restart_needed).c_str());
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  tutti::main_support::ParseFlags(
      argc, argv,
      "the Tutti multiplayer MIDI server (docs/OPERATIONS.md).\n"
      "Example: tutti-server --port 8080 --keys /etc/tutti/keys --data /var/lib/tutti\n"
      "Development: tutti-server --dev (generates var/keys)");
  // Before any thread parses a client's bytes (protobuf_log.h says why).
  tutti::server::InstallProtobufLogBrake();
  absl::StatusOr<tutti::server::ServerConfig> parsed = tutti::server::ServerConfigFromFlags();
  if (!parsed.ok() && parsed.status().code() == absl::StatusCode::kFailedPrecondition) {
    std::fprintf(stderr, "tutti-server: config: %s\n",
                 std::string(parsed.status().message()).c_str());
    return tutti::server::kExitConfig;
  }
  if (!parsed.ok()) tutti::main_support::UsageError(std::string(parsed.status().message()));
  // What the server runs with; SIGHUP updates its reloadable keys (ReloadConfig).
  tutti::server::ServerConfig config = *parsed;
  if (tutti::server::PrintConfigRequested()) {
    std::fputs(tutti::server::FormatConfig(config).c_str(), stdout);
    return 0;
  }

  tutti::crypto::EnsureSodiumInitialized();
  auto keys = tutti::server::PrepareServerKeys(config.key_dir, config.dev_mode);
  if (!keys.ok()) {
    std::fprintf(stderr, "tutti-server: keys: %s\n", std::string(keys.status().message()).c_str());
    return tutti::server::kExitConfig;
  }
  for (const std::string& line : keys->notices) std::printf("tutti: %s\n", line.c_str());
  for (const std::string& line : keys->warnings) {
    std::fprintf(stderr, "tutti-server: WARNING: %s\n", line.c_str());
  }
  tutti::crypto::PublicKey seal_public = keys->keys.seal_public;

  // Signals are taken by Wait on this thread only; shard threads inherit the mask.
  tutti::main_support::TerminationSignals signals(/*hangup_too=*/true);
  // A file-size limit (RLIMIT_FSIZE) must make the store's writes fail, which the
  // store reports and survives, not kill the server.
  signal(SIGXFSZ, SIG_IGN);
  // Every connection is a descriptor: take the hard limit the operator allows (as Go's
  // runtime does); the default ceiling is derived from it.
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }

  // Several nodes share one timeline (clock.h): each node's server time is put on the
  // wall clock at its start. One node keeps the plain monotonic clock.
  const std::vector<std::string> primaries = tutti::server::RedisPrimaries(config);
  auto clock = std::make_shared<tutti::server::SystemClock>(
      primaries.empty() ? 0 : tutti::server::WallAnchorUs());
  tutti::server::SetRedisPrimaries(primaries);
  tutti::server::SetRedisPresenceTtlMs(config.redis_presence_ttl_ms);
  tutti::server::Server server(config, std::move(keys->keys), clock);
  absl::Status st = server.Start();
  if (!st.ok()) {
    std::fprintf(stderr, "tutti-server: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  std::printf("tutti: listening on ws://%s:%u with %d shards\n", config.listen_address.c_str(),
              server.port(), server.shard_count());
  // Declared after the server: destroyed (its thread joined) before the server it reads.
  tutti::server::AdminListener admin(&server);
  if (!config.admin_listen.empty()) {
    absl::Status admin_st = admin.Start(config.admin_listen);
    // A clash on the admin port must not take the music down: say so loudly and serve.
    if (!admin_st.ok()) {
      std::fprintf(stderr, "tutti-server: WARNING: no admin listener (--admin-listen): %s\n",
                   std::string(admin_st.message()).c_str());
    } else {
      std::printf("tutti: admin listener on %s (port %u): /metrics /healthz /readyz /status\n",
                  config.admin_listen.c_str(), admin.port());
    }
  }
  const tutti::server::WebRoot& web = server.http_site().root();
  for (const std::string& warning : web.warnings()) {
    std::printf("tutti: web root: %s\n", warning.c_str());
  }
  if (!web.loaded()) {
    std::printf("tutti: no browser client served (web root %s); the WebSocket API runs anyway\n",
                web.error().c_str());
  } else if (!web.has_index()) {
    std::printf("tutti: web root %s has no index.html; the WebSocket API runs anyway\n",
                web.dir().c_str());
  } else {
    const std::string& host = config.listen_address;
    const bool v6 = host.find(':') != std::string::npos;
    std::printf("tutti: serving the browser client from %s (%zu files, %zu bytes)\n",
                web.dir().c_str(), web.file_count(), web.total_bytes());
    std::printf("tutti: open http://%s%s%s:%u/\n", v6 ? "[" : "", host.c_str(), v6 ? "]" : "",
                server.port());
  }
  tutti::server::service_notify::Ready("listening on port " + std::to_string(server.port()));
  std::printf("tutti: at most %zu connections (%s)\n", server.connection_limits().max_connections(),
              config.max_connections > 0 ? "--max-connections" : "RLIMIT_NOFILE less the reserve");
  // Dev mode only: a ready-to-use URL for a first try (single use, valid for the replay
  // window). It holds a member token, which production never prints (docs/OPERATIONS.md).
  if (config.dev_mode) {
    auto issuer = tutti::crypto::LoadIssuerKeys(config.key_dir);
    if (issuer.ok()) {
      tutti::crypto::DevConnectionRequest req;
      req.user_id = "dev-user";
      req.name = "Dev";
      req.member = true;
      req.host = config.listen_address;
      req.port = server.port();
      auto dev = tutti::crypto::MintDevConnection(req, &*issuer, seal_public, clock->UnixMs());
      if (dev.ok()) std::printf("tutti: connect URL (single use, 60 s): %s\n", dev->url.c_str());
    }
    std::printf(
        "tutti: try it: build/tools/cli/tutti-cli --keys %s --port %u --name Alice --room Lobby\n",
        config.key_dir.c_str(), server.port());
  }
  std::fflush(stdout);

  int sig = signals.Wait();
  while (sig == SIGHUP) {
    tutti::server::service_notify::Reloading();
    ReloadConfig(server, &config);
    tutti::server::service_notify::Ready("listening on port " + std::to_string(server.port()));
    sig = signals.Wait();
  }
  // SIGTERM (a supervisor's stop) drains: every client hears the countdown, then 1001 with a
  // reconnect hint (server/maintenance.h). SIGINT, or a second signal, stops at once.
  if (sig == SIGTERM && config.drain_grace_s > 0) {
    std::printf(
        "tutti: SIGTERM received, draining: clients close in %d s (a second signal stops "
        "at once)\n",
        config.drain_grace_s);
    std::fflush(stdout);
    tutti::server::service_notify::Stopping("draining: clients close in " +
                                            std::to_string(config.drain_grace_s) + " s");
    server.maintenance().StartDrain("the server is restarting", config.drain_grace_s);
    // Until the closes went out, or an admin called the drain off (then stop at once).
    while (server.maintenance().draining() && !server.maintenance().drained()) {
      if (const int again = signals.WaitFor(100)) {
        sig = again;
        break;
      }
    }
  }
  std::printf("tutti: %s received, shutting down\n", signals.Name(sig));
  tutti::server::service_notify::Stopping("shutting down");
  std::fflush(stdout);
  server.Shutdown();
  server.Wait();
  admin.Stop();
  std::printf("tutti: stopped\n");
  return 0;
}
