#include "server/config_flags.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/internal/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/config_file.h"
#include "server/redis/redis_client.h"
#include "server/server_log.h"

namespace {
// Defaults come from ServerConfig itself, so config.h stays the one place that says them.
const tutti::server::ServerConfig kDefaults;
}  // namespace

// --- the configuration file (server/config_file.h) ---------------------------------------
ABSL_FLAG(std::string, config, "",
          "configuration file (docs/OPERATIONS.md, \"Configuration file\"); flags given "
          "override it; SIGHUP reads it again");
ABSL_FLAG(bool, print_config, false,
          "print the effective configuration (file, then flags) in the file's syntax and exit");

// --- listening ---------------------------------------------------------------------------
ABSL_FLAG(std::string, listen, kDefaults.listen_address, "address to bind");
ABSL_FLAG(uint16_t, port, kDefaults.port, "TCP port; 0 = any free port");
ABSL_FLAG(std::string, admin_listen, kDefaults.admin_listen,
          "host:port of the admin listener (/metrics, /healthz, /readyz, /status); \"\" = none");
ABSL_FLAG(int, shards, kDefaults.shards, "event-loop threads; 0 = one per core");
ABSL_FLAG(std::string, keys, kDefaults.key_dir,
          "key files (tutti-keygen); missing keys stop the start unless --dev");
ABSL_FLAG(bool, dev, kDefaults.dev_mode,
          "development mode: generate a key set in --keys when there is none and print a "
          "connect URL; never in production");
ABSL_FLAG(std::string, redis, kDefaults.redis,
          "Redis primaries HOST:PORT[,HOST:PORT...] for rooms across nodes; empty = one node");
ABSL_FLAG(int, redis_presence_ttl_ms, kDefaults.redis_presence_ttl_ms,
          "with --redis: how long a node's online users and room members stay visible to "
          "the other nodes without a refresh (refreshed every third of it): a killed node's "
          "users go offline, and its room members leave, elsewhere within this bound");
ABSL_FLAG(std::string, data, kDefaults.data_dir, "where the embedded store lives");
ABSL_FLAG(std::string, database, kDefaults.store_path,
          "the store: a postgres://user@host:port/dbname URL (PostgreSQL; the password from "
          "PGPASSWORD or ~/.pgpass) or a SQLite file; \"\" = <data>/tutti.db");
ABSL_FLAG(bool, no_guests, !kDefaults.allow_guests, "refuse connections without a token");
ABSL_FLAG(std::string, web_root, kDefaults.web_root,
          "the browser client's files; \"\" = serve none");
ABSL_FLAG(size_t, max_frame, kDefaults.max_frame_bytes, "largest WebSocket frame, bytes");
ABSL_FLAG(int, idle_timeout_ms, kDefaults.idle_timeout_ms,
          "close a connection silent this long, ms");

// --- the door (docs/OPERATIONS.md, "Descriptors and ceilings") ---------------------------
ABSL_FLAG(size_t, max_connections, kDefaults.max_connections,
          "open connections in all; 0 = RLIMIT_NOFILE less the reserve");
ABSL_FLAG(int, max_connections_per_address, kDefaults.max_connections_per_address,
          "connections per IPv4 address or IPv6 /64; 0 = no cap");
ABSL_FLAG(int, max_guests_per_address, kDefaults.max_guests_per_address,
          "guest sessions per address; 0 = no cap");
ABSL_FLAG(double, upgrades_per_second_per_address, kDefaults.upgrades_per_second_per_address,
          "upgrade attempts per second per address; 0 = no limit");
ABSL_FLAG(double, upgrade_burst_per_address, kDefaults.upgrade_burst_per_address,
          "upgrade attempts an address may make at once (at least 1)");
ABSL_FLAG(std::string, exempt_networks, kDefaults.exempt_networks,
          "comma-separated CIDRs without per-address limits (load generators, gateways)");
ABSL_FLAG(std::string, trusted_proxy, kDefaults.trusted_proxies,
          "comma-separated CIDRs of reverse proxies whose client-address header is trusted");
ABSL_FLAG(std::string, proxy_header, kDefaults.proxy_header,
          "the header trusted proxies set: x-forwarded-for or forwarded");
ABSL_FLAG(int, drain_grace_s, kDefaults.drain_grace_s,
          "SIGTERM: seconds of countdown to clients before they are closed (1001); 0 = at once");
// --- session resume (docs/PROTOCOL.md §12, docs/OPERATIONS.md "Dropped connections") ----
ABSL_FLAG(int, resume_grace_ms, kDefaults.resume_grace_ms,
          "how long a dropped session waits for its resume, ms; 0 = a drop is a leave at once");
ABSL_FLAG(size_t, room_history_events, kDefaults.room_history.max_events,
          "room events kept per room for resuming clients");
ABSL_FLAG(size_t, room_history_bytes, kDefaults.room_history.max_bytes,
          "bytes of room events kept per room for resuming clients");
ABSL_FLAG(int64_t, room_history_age_ms, kDefaults.room_history.max_age_us / 1000,
          "age past which a room event is no longer kept for resuming clients, ms");
ABSL_FLAG(std::string, log_format, kDefaults.log_format,
          "log lines on stderr: kv (key=value) or json");
ABSL_FLAG(std::string, log_level, kDefaults.log_level,
          "the first level written to stderr: info, warn or error (SIGHUP reloads it)");
ABSL_FLAG(int, audit_retention_days, kDefaults.audit_retention_days,
          "delete moderation records older than this; 0 keeps them all");

// --- load-test overrides of the per-room and per-client limits (docs/PERFORMANCE.md) -----
ABSL_FLAG(int, max_users_per_room, kDefaults.max_users_per_room, "members per room");
ABSL_FLAG(int, lobby_max_users, kDefaults.lobby_max_users, "members per lobby");
ABSL_FLAG(size_t, max_rooms, kDefaults.max_rooms, "rooms on the server");
ABSL_FLAG(double, notes_per_second, kDefaults.notes_per_second, "note quota per client");
ABSL_FLAG(double, note_burst, kDefaults.note_burst, "note burst per client");
ABSL_FLAG(double, controllers_per_second, kDefaults.controllers_per_second,
          "controller quota per client (CC, program change, bend, pressure)");
ABSL_FLAG(double, controller_burst, kDefaults.controller_burst, "controller burst per client");
ABSL_FLAG(double, chat_per_second, kDefaults.chat_per_second, "chat lines per second per client");
ABSL_FLAG(double, chat_burst, kDefaults.chat_burst, "chat burst per client");

namespace tutti::server {
namespace {

// Checks one flag's value against [lo, hi]; the first failure is kept.
template <typename T>
void Check(absl::Status* status, const char* flag, T value, double lo, double hi) {
  const double v = static_cast<double>(value);
  if (status->ok() && !(v >= lo && v <= hi)) {
    *status = absl::InvalidArgumentError(
        absl::StrCat("--", flag, " wants a number from ", lo, " to ", hi, ", not ", value));
  }
}

}  // namespace

absl::StatusOr<ServerConfig> ServerConfigFromFlags() {
  ServerConfig c;
  const std::string file = absl::GetFlag(FLAGS_config);
  if (!file.empty()) {
    absl::Status read = ApplyConfigFile(file, &c);
    if (!read.ok()) return absl::FailedPreconditionError(read.message());
  }
  // Only the flags typed on the command line (or in a --flagfile) override the file. The
  // public CommandLineFlag::IsSpecifiedOnCommandLine is private in Debian 12's abseil
  // (20220623); the parser's own record of what it saw is what that accessor reads.
  auto given = [](const auto& flag) {
    return absl::flags_internal::WasPresentOnCommandLine(
        absl::GetFlagReflectionHandle(flag).Name());
  };
  if (given(FLAGS_listen)) c.listen_address = absl::GetFlag(FLAGS_listen);
  if (given(FLAGS_port)) c.port = absl::GetFlag(FLAGS_port);
  if (given(FLAGS_admin_listen)) c.admin_listen = absl::GetFlag(FLAGS_admin_listen);
  if (given(FLAGS_shards)) c.shards = absl::GetFlag(FLAGS_shards);
  if (given(FLAGS_keys)) c.key_dir = absl::GetFlag(FLAGS_keys);
  if (given(FLAGS_dev)) c.dev_mode = absl::GetFlag(FLAGS_dev);
  if (given(FLAGS_data)) c.data_dir = absl::GetFlag(FLAGS_data);
  if (given(FLAGS_database)) c.store_path = absl::GetFlag(FLAGS_database);
  if (given(FLAGS_redis)) c.redis = absl::GetFlag(FLAGS_redis);
  if (given(FLAGS_redis_presence_ttl_ms)) {
    c.redis_presence_ttl_ms = absl::GetFlag(FLAGS_redis_presence_ttl_ms);
  }
  if (given(FLAGS_no_guests)) c.allow_guests = !absl::GetFlag(FLAGS_no_guests);
  if (given(FLAGS_web_root)) c.web_root = absl::GetFlag(FLAGS_web_root);
  if (given(FLAGS_max_frame)) c.max_frame_bytes = absl::GetFlag(FLAGS_max_frame);
  if (given(FLAGS_idle_timeout_ms)) c.idle_timeout_ms = absl::GetFlag(FLAGS_idle_timeout_ms);
  if (given(FLAGS_max_connections)) c.max_connections = absl::GetFlag(FLAGS_max_connections);
  if (given(FLAGS_max_connections_per_address))
    c.max_connections_per_address = absl::GetFlag(FLAGS_max_connections_per_address);
  if (given(FLAGS_max_guests_per_address))
    c.max_guests_per_address = absl::GetFlag(FLAGS_max_guests_per_address);
  if (given(FLAGS_upgrades_per_second_per_address))
    c.upgrades_per_second_per_address = absl::GetFlag(FLAGS_upgrades_per_second_per_address);
  if (given(FLAGS_upgrade_burst_per_address))
    c.upgrade_burst_per_address = absl::GetFlag(FLAGS_upgrade_burst_per_address);
  if (given(FLAGS_exempt_networks)) c.exempt_networks = absl::GetFlag(FLAGS_exempt_networks);
  if (given(FLAGS_trusted_proxy)) c.trusted_proxies = absl::GetFlag(FLAGS_trusted_proxy);
  if (given(FLAGS_proxy_header)) c.proxy_header = absl::GetFlag(FLAGS_proxy_header);
  if (given(FLAGS_audit_retention_days))
    c.audit_retention_days = absl::GetFlag(FLAGS_audit_retention_days);
  if (given(FLAGS_drain_grace_s)) c.drain_grace_s = absl::GetFlag(FLAGS_drain_grace_s);
  if (given(FLAGS_resume_grace_ms)) c.resume_grace_ms = absl::GetFlag(FLAGS_resume_grace_ms);
  if (given(FLAGS_room_history_events))
    c.room_history.max_events = absl::GetFlag(FLAGS_room_history_events);
  if (given(FLAGS_room_history_bytes))
    c.room_history.max_bytes = absl::GetFlag(FLAGS_room_history_bytes);
  // Checked in ms before it is scaled: a huge value must be refused, not overflow.
  const int64_t history_age_ms = given(FLAGS_room_history_age_ms)
                                     ? absl::GetFlag(FLAGS_room_history_age_ms)
                                     : c.room_history.max_age_us / 1000;
  if (given(FLAGS_room_history_age_ms) && history_age_ms >= 0 &&
      history_age_ms <= int64_t{1000000000000})
    c.room_history.max_age_us = history_age_ms * 1000;
  if (given(FLAGS_max_users_per_room))
    c.max_users_per_room = absl::GetFlag(FLAGS_max_users_per_room);
  if (given(FLAGS_lobby_max_users)) c.lobby_max_users = absl::GetFlag(FLAGS_lobby_max_users);
  if (given(FLAGS_max_rooms)) c.max_rooms = absl::GetFlag(FLAGS_max_rooms);
  if (given(FLAGS_notes_per_second)) c.notes_per_second = absl::GetFlag(FLAGS_notes_per_second);
  if (given(FLAGS_note_burst)) c.note_burst = absl::GetFlag(FLAGS_note_burst);
  if (given(FLAGS_controllers_per_second))
    c.controllers_per_second = absl::GetFlag(FLAGS_controllers_per_second);
  if (given(FLAGS_controller_burst)) c.controller_burst = absl::GetFlag(FLAGS_controller_burst);
  if (given(FLAGS_chat_per_second)) c.chat_per_second = absl::GetFlag(FLAGS_chat_per_second);
  if (given(FLAGS_chat_burst)) c.chat_burst = absl::GetFlag(FLAGS_chat_burst);
  if (given(FLAGS_log_format)) c.log_format = absl::GetFlag(FLAGS_log_format);
  if (given(FLAGS_log_level)) c.log_level = absl::GetFlag(FLAGS_log_level);

  absl::Status s;
  Check(&s, "shards", c.shards, 0, 1024);
  Check(&s, "max-frame", c.max_frame_bytes, 1, 1e9);
  Check(&s, "idle-timeout-ms", c.idle_timeout_ms, 1, 1e9);
  Check(&s, "max-connections", c.max_connections, 0, 1e9);
  Check(&s, "max-connections-per-address", c.max_connections_per_address, 0, 1e9);
  Check(&s, "max-guests-per-address", c.max_guests_per_address, 0, 1e9);
  Check(&s, "upgrades-per-second-per-address", c.upgrades_per_second_per_address, 0, 1e6);
  Check(&s, "upgrade-burst-per-address", c.upgrade_burst_per_address, 1, 1e9);
  Check(&s, "drain-grace-s", c.drain_grace_s, 0, 3600);
  Check(&s, "resume-grace-ms", c.resume_grace_ms, 0, 3600000);
  Check(&s, "room-history-events", c.room_history.max_events, 1, 1e9);
  Check(&s, "room-history-bytes", c.room_history.max_bytes, 1, 1e12);
  Check(&s, "room-history-age-ms", history_age_ms, 0, 1e12);
  Check(&s, "audit-retention-days", c.audit_retention_days, 0, 1e6);
  Check(&s, "max-users-per-room", c.max_users_per_room, 1, 1e6);
  Check(&s, "lobby-max-users", c.lobby_max_users, 1, 1e6);
  Check(&s, "max-rooms", c.max_rooms, 1, 1e9);
  Check(&s, "notes-per-second", c.notes_per_second, 0, 1e9);
  Check(&s, "note-burst", c.note_burst, 0, 1e9);
  Check(&s, "controllers-per-second", c.controllers_per_second, 0, 1e9);
  Check(&s, "controller-burst", c.controller_burst, 0, 1e9);
  Check(&s, "chat-per-second", c.chat_per_second, 0, 1e9);
  Check(&s, "chat-burst", c.chat_burst, 0, 1e9);
  for (const std::string& text : RedisPrimaries(c)) {
    redis::RedisAddress a;
    if (s.ok() && !redis::ParseRedisAddress(text, &a)) {
      s = absl::InvalidArgumentError(
          absl::StrCat("redis (--redis or the config file) wants HOST:PORT, not ", text));
    }
  }
  if (s.ok() && (c.redis_presence_ttl_ms < 300 || c.redis_presence_ttl_ms > 3'600'000)) {
    s = absl::InvalidArgumentError(
        "redis_presence_ttl_ms (--redis_presence_ttl_ms or the config file) wants 300 to 3600000");
  }
  if (!s.ok()) return s;
  if (!ParseLogFormat(c.log_format).ok()) {
    return absl::InvalidArgumentError(
        "log_format (--log-format or the config file) wants kv or json, not " + c.log_format);
  }
  if (!ParseLogLevel(c.log_level).ok()) {
    return absl::InvalidArgumentError(
        "log_level (--log-level or the config file) wants info, warn or error, not " + c.log_level);
  }
  return c;
}

bool PrintConfigRequested() { return absl::GetFlag(FLAGS_print_config); }

std::vector<std::string> RedisPrimaries(const ServerConfig& config) {
  return absl::StrSplit(config.redis, ',', absl::SkipEmpty());
}

}  // namespace tutti::server
