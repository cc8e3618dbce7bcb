// tutti-server: parses flags, makes sure keys exist, runs the Server until SIGINT or
// SIGTERM. No logic lives here.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "crypto/dev_connection.h"
#include "crypto/keys.h"
#include "crypto/sodium_init.h"
#include "server/clock.h"
#include "server/config.h"
#include "server/server.h"

namespace {

void Usage() {
  std::fprintf(stderr,
               "usage: tutti-server [--listen ADDR] [--port N] [--shards N] [--keys DIR]\n"
               "                    [--data DIR] [--no-guests] [--max-frame BYTES]\n"
               "  --listen ADDR  address to bind (default 127.0.0.1)\n"
               "  --port N       TCP port, 0 = any free port (default 8080)\n"
               "  --shards N     event-loop threads (default: one per core)\n"
               "  --keys DIR     key files; dev keys are generated there when missing\n"
               "                 (default var/keys)\n"
               "  --data DIR     where the embedded store lives (default var)\n"
               "  --no-guests    refuse connections without a token\n"
               "  --web-root DIR the browser client's files (default web/dist; \"\" = none)\n"
               "the door (docs/OPERATIONS.md, \"Descriptors and ceilings\"):\n"
               "  --max-connections N   open connections in all (default: RLIMIT_NOFILE - 64)\n"
               "  --max-connections-per-address N  per IPv4 address or IPv6 /64 (default 256;\n"
               "                 0 = no cap)\n"
               "  --max-guests-per-address N  guest sessions per address (default 64; 0 = no cap)\n"
               "  --upgrades-per-second-per-address X  --upgrade-burst-per-address X\n"
               "                 upgrade attempts per address (default 5/s, burst 60;\n"
               "                 a rate of 0 = no limit; the burst is at least 1)\n"
               "  --exempt-networks CIDRS  comma-separated networks without per-address\n"
               "                 limits (load generators, gateways)\n"
               "  --audit-retention-days N  delete moderation records older than N days\n"
               "                 (default 365; 0 keeps them all)\n"
               "load-test overrides of ServerConfig limits (docs/PERFORMANCE.md):\n"
               "  --max-users-per-room N  --lobby-max-users N  --max-rooms N\n"
               "  --notes-per-second X  --note-burst X  --chat-per-second X  --chat-burst X\n"
               "  --controllers-per-second X  --controller-burst X\n"
               "  --idle-timeout-ms N\n");
}

}  // namespace

int main(int argc, char** argv) {
  tutti::server::ServerConfig config;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "tutti-server: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    // The door's numbers are read strictly: a typo must not turn a limit off.
    auto number = [&](const std::string& text, double lo, double hi) {
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0' || !(v >= lo && v <= hi)) {
        std::fprintf(stderr, "tutti-server: %s wants a number from %g to %g, not \"%s\"\n",
                     arg.c_str(), lo, hi, text.c_str());
        std::exit(2);
      }
      return v;
    };
    if (arg == "--listen") {
      config.listen_address = value();
    } else if (arg == "--port") {
      config.port = static_cast<uint16_t>(std::atoi(value().c_str()));
    } else if (arg == "--shards") {
      config.shards = std::atoi(value().c_str());
    } else if (arg == "--keys") {
      config.key_dir = value();
    } else if (arg == "--data") {
      config.data_dir = value();
    } else if (arg == "--web-root") {
      config.web_root = value();
    } else if (arg == "--no-guests") {
      config.allow_guests = false;
    } else if (arg == "--max-frame") {
      config.max_frame_bytes = static_cast<size_t>(std::atol(value().c_str()));
    } else if (arg == "--max-users-per-room") {
      config.max_users_per_room = std::atoi(value().c_str());
    } else if (arg == "--lobby-max-users") {
      config.lobby_max_users = std::atoi(value().c_str());
    } else if (arg == "--max-rooms") {
      config.max_rooms = static_cast<size_t>(std::atol(value().c_str()));
    } else if (arg == "--notes-per-second") {
      config.notes_per_second = std::atof(value().c_str());
    } else if (arg == "--note-burst") {
      config.note_burst = std::atof(value().c_str());
    } else if (arg == "--controllers-per-second") {
      config.controllers_per_second = std::atof(value().c_str());
    } else if (arg == "--controller-burst") {
      config.controller_burst = std::atof(value().c_str());
    } else if (arg == "--chat-per-second") {
      config.chat_per_second = std::atof(value().c_str());
    } else if (arg == "--chat-burst") {
      config.chat_burst = std::atof(value().c_str());
    } else if (arg == "--audit-retention-days") {
      config.audit_retention_days = std::atoi(value().c_str());
    } else if (arg == "--idle-timeout-ms") {
      config.idle_timeout_ms = std::atoi(value().c_str());
    } else if (arg == "--max-connections") {
      config.max_connections = static_cast<size_t>(number(value(), 0, 1e9));
    } else if (arg == "--max-connections-per-address") {
      config.max_connections_per_address = static_cast<int>(number(value(), 0, 1e9));
    } else if (arg == "--max-guests-per-address") {
      config.max_guests_per_address = static_cast<int>(number(value(), 0, 1e9));
    } else if (arg == "--upgrades-per-second-per-address") {
      config.upgrades_per_second_per_address = number(value(), 0, 1e6);
    } else if (arg == "--upgrade-burst-per-address") {
      config.upgrade_burst_per_address = number(value(), 1, 1e9);
    } else if (arg == "--exempt-networks") {
      config.exempt_networks = value();
    } else if (arg == "-h" || arg == "--help") {
      Usage();
      return 0;
    } else {
      std::fprintf(stderr, "tutti-server: unknown argument %s\n", arg.c_str());
      Usage();
      return 2;
    }
  }

  tutti::crypto::EnsureSodiumInitialized();
  auto generated = tutti::crypto::EnsureDevKeys(config.key_dir);
  if (!generated.ok()) {
    std::fprintf(stderr, "tutti-server: keys: %s\n",
                 std::string(generated.status().message()).c_str());
    return 1;
  }
  if (*generated) {
    std::printf("tutti: generated development keys in %s (keep the .key files private)\n",
                config.key_dir.c_str());
  }
  auto keys = tutti::crypto::LoadServerKeys(config.key_dir);
  if (!keys.ok()) {
    std::fprintf(stderr, "tutti-server: keys: %s\n", std::string(keys.status().message()).c_str());
    return 1;
  }
  tutti::crypto::PublicKey seal_public = keys->seal_public;

  // Signals are taken by sigwait on this thread only; shard threads inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
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

  auto clock = std::make_shared<tutti::server::SystemClock>();
  tutti::server::Server server(config, std::move(*keys), clock);
  absl::Status st = server.Start();
  if (!st.ok()) {
    std::fprintf(stderr, "tutti-server: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  std::printf("tutti: listening on ws://%s:%u with %d shards\n", config.listen_address.c_str(),
              server.port(), server.shard_count());
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
  std::printf("tutti: at most %zu connections (%s)\n", server.connection_limits().max_connections(),
              config.max_connections > 0 ? "--max-connections" : "RLIMIT_NOFILE less the reserve");
  // A ready-to-use URL for a first try (single use, valid for the replay window).
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
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  std::printf("tutti: %s received, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  std::fflush(stdout);
  server.Shutdown();
  server.Wait();
  std::printf("tutti: stopped\n");
  return 0;
}
