// tutti-loadgen: reads its flags, runs one scenario (tools/loadgen/loadgen.h) against a
// Tutti server on loopback, and prints a table for people or JSON for scripts (report.h).
// No logic beyond filling Options lives here.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/types/optional.h"
#include "tools/common/main_flags.h"
#include "tools/loadgen/loadgen.h"
#include "tools/loadgen/report.h"

namespace {
const tutti::loadgen::Options kDefaults;
}  // namespace

ABSL_FLAG(std::string, scenario, kDefaults.scenario,
          "lobby: 1 room x 64, 8 players at 500 msg/s each; rooms: 200 rooms x 5, 2 players "
          "each at 75 msg/s; idle: 1000 connections that only heartbeat; idle-rooms: 1000 rooms "
          "x 10 joined, nobody plays, no heartbeats; churn: rooms at 50 msg/s + 100 "
          "connect/join/leave/quit per s; chat: lobby at 100 msg/s + 2 chat lines/s from every "
          "member; concert: 1 room x 501, 1 performer at 50 msg/s, 500 listeners (server "
          "--max-users-per-room 501)");
ABSL_FLAG(std::string, host, kDefaults.host, "loopback address of the server");
ABSL_FLAG(std::vector<std::string>, port, {},
          "the server's port (required); a comma list of several nodes' ports spreads the "
          "connections over them, each room's members alternating between the nodes");
ABSL_FLAG(std::string, keys, "", "the server's key directory: tokens and the seal key (required)");
// Unset = the scenario's value.
ABSL_FLAG(absl::optional<int>, rooms, absl::nullopt, "rooms (default: the scenario's)");
ABSL_FLAG(absl::optional<int>, room_size, absl::nullopt, "members per room (default: scenario)");
ABSL_FLAG(absl::optional<int>, players, absl::nullopt, "players per room (default: scenario)");
ABSL_FLAG(absl::optional<double>, rate, absl::nullopt,
          "MIDI messages per second per player (default: scenario)");
ABSL_FLAG(absl::optional<double>, chat_rate, absl::nullopt,
          "chat lines per second per member (default: scenario)");
ABSL_FLAG(absl::optional<int>, connections, absl::nullopt, "idle connections (default: scenario)");
ABSL_FLAG(absl::optional<double>, churn_rate, absl::nullopt,
          "churn cycles per second (default: scenario)");
ABSL_FLAG(int, chord_every, kDefaults.chord_every, "every Nth note is a 3-note chord");
ABSL_FLAG(int, churn_active, kDefaults.churn_max_active, "churn cycles in flight at most");
ABSL_FLAG(double, duration, kDefaults.duration_s, "sending (or holding) phase, s");
ABSL_FLAG(double, warmup, kDefaults.warmup_s, "start of the sending phase left out of figures, s");
ABSL_FLAG(double, drain, kDefaults.drain_s, "longest wait for in-flight deliveries, s");
ABSL_FLAG(double, setup_timeout, kDefaults.setup_timeout_s, "longest connect-and-join phase, s");
ABSL_FLAG(int, threads, kDefaults.threads, "event loops");
ABSL_FLAG(int, max_connecting, kDefaults.max_connecting, "handshakes in flight");
ABSL_FLAG(int, source_addrs, kDefaults.source_addresses,
          "use 127.0.0.1..N as source addresses; 0 = by count");
ABSL_FLAG(size_t, read_buffer, kDefaults.read_buffer,
          "bytes per connection; 0 = 64 KiB, 4 KiB for idle connections");
ABSL_FLAG(int, tick_us, kDefaults.tick_us, "send scheduler period, us");
ABSL_FLAG(std::vector<std::string>, server_pid, {},
          "sample the server's CPU and RSS from /proc; a comma list sums several nodes");
ABSL_FLAG(int, redis_pid, 0, "sample redis-server's CPU from /proc, reported apart");
ABSL_FLAG(bool, json, false, "one JSON object on stdout instead of the table");
ABSL_FLAG(bool, quiet, false, "no progress lines on stderr");

namespace {

constexpr char kUsage[] =
    "the load generator behind docs/PERFORMANCE.md. Usage:\n"
    "  tutti-loadgen --port N[,N...] --keys DIR [--scenario "
    "lobby|rooms|idle|idle-rooms|churn|chat|concert] [...]";

// The one place the flags become Options; every run is bounded in time and in size.
tutti::loadgen::Options OptionsFromFlags() {
  using tutti::main_support::UsageError;
  tutti::loadgen::Options o;
  o.scenario = absl::GetFlag(FLAGS_scenario);
  o.host = absl::GetFlag(FLAGS_host);
  for (const std::string& p : absl::GetFlag(FLAGS_port)) {
    int port = 0;
    if (!absl::SimpleAtoi(p, &port) || port < 1 || port > 65535) UsageError("bad --port " + p);
    o.ports.push_back(static_cast<uint16_t>(port));
  }
  o.key_dir = absl::GetFlag(FLAGS_keys);
  o.threads = absl::GetFlag(FLAGS_threads);
  o.chord_every = absl::GetFlag(FLAGS_chord_every);
  o.churn_max_active = absl::GetFlag(FLAGS_churn_active);
  o.duration_s = absl::GetFlag(FLAGS_duration);
  o.warmup_s = absl::GetFlag(FLAGS_warmup);
  o.drain_s = absl::GetFlag(FLAGS_drain);
  o.setup_timeout_s = absl::GetFlag(FLAGS_setup_timeout);
  o.max_connecting = absl::GetFlag(FLAGS_max_connecting);
  o.source_addresses = absl::GetFlag(FLAGS_source_addrs);
  o.read_buffer = absl::GetFlag(FLAGS_read_buffer);
  o.tick_us = absl::GetFlag(FLAGS_tick_us);
  for (const std::string& p : absl::GetFlag(FLAGS_server_pid)) {
    int pid = 0;
    if (!absl::SimpleAtoi(p, &pid) || pid < 1) UsageError("bad --server-pid " + p);
    o.server_pids.push_back(pid);
  }
  o.redis_pid = absl::GetFlag(FLAGS_redis_pid);
  if (o.redis_pid < 0) UsageError("bad --redis-pid");
  o.progress = !absl::GetFlag(FLAGS_quiet);
  if (o.scenario != "lobby" && o.scenario != "rooms" && o.scenario != "idle" &&
      o.scenario != "idle-rooms" && o.scenario != "churn" && o.scenario != "chat" &&
      o.scenario != "concert") {
    UsageError("unknown --scenario " + o.scenario);
  }
  const auto rooms = absl::GetFlag(FLAGS_rooms), size = absl::GetFlag(FLAGS_room_size),
             players = absl::GetFlag(FLAGS_players), idle = absl::GetFlag(FLAGS_connections);
  const auto rate = absl::GetFlag(FLAGS_rate), chat = absl::GetFlag(FLAGS_chat_rate),
             churn = absl::GetFlag(FLAGS_churn_rate);
  if (rooms) o.rooms = *rooms;
  if (size) o.room_size = *size;
  if (players) o.players_per_room = *players;
  if (rate) o.rate = *rate;
  if (chat) o.chat_rate = *chat;
  if (idle) o.idle_connections = *idle;
  if (churn) o.churn_rate = *churn;
  tutti::loadgen::ApplyScenarioDefaults(&o, rooms.has_value(), size.has_value(),
                                        players.has_value(), rate.has_value(), chat.has_value(),
                                        churn.has_value(), idle.has_value());
  if (o.ports.empty() || o.ports.size() > 16) UsageError("--port takes 1 to 16 ports");
  if (o.key_dir.empty()) UsageError("--port and --keys are required");
  if (!(o.duration_s > 0 && o.duration_s <= 3600)) UsageError("--duration must be (0, 3600] s");
  if (o.threads < 1 || o.threads > 64) UsageError("--threads must be 1 to 64");
  if (!(o.rate >= 0 && o.rate <= 100000)) UsageError("--rate must be 0 to 100000");
  if (o.idle_connections < 0 || o.idle_connections > 200000) {
    UsageError("--connections must be 0 to 200000");
  }
  if (o.rooms < 0 || o.room_size < 0 || static_cast<int64_t>(o.rooms) * o.room_size > 200000) {
    UsageError("--rooms x --room-size must be 0 to 200000");
  }
  if (o.players_per_room > o.room_size) UsageError("--players must not exceed --room-size");
  if (o.tick_us < 100) UsageError("--tick-us must be at least 100");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  tutti::main_support::ParseFlags(argc, argv, kUsage);
  const tutti::loadgen::Options o = OptionsFromFlags();
  const bool json = absl::GetFlag(FLAGS_json);
  tutti::loadgen::Results r;
  std::string error;
  if (!tutti::loadgen::Run(o, &r, &error)) {
    std::fprintf(stderr, "tutti-loadgen: %s\n", error.c_str());
    if (json) tutti::loadgen::PrintJson(r);
    return 1;
  }
  if (json) {
    tutti::loadgen::PrintJson(r);
  } else {
    tutti::loadgen::PrintTable(r);
  }
  return 0;
}
