// tutti-loadgen: parses flags, runs one scenario (tools/loadgen/loadgen.h) against a
// Tutti server on loopback, and prints a table for people or JSON for scripts. No logic
// beyond formatting lives here.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tools/loadgen/loadgen.h"

namespace {

using tutti::loadgen::LatencyHistogram;
using tutti::loadgen::Options;
using tutti::loadgen::Results;

void Usage() {
  std::fprintf(
      stderr,
      "usage: tutti-loadgen --port N --keys DIR [--scenario "
      "lobby|rooms|idle|idle-rooms|churn|chat] [...]\n"
      "  --host ADDR            loopback address of the server (default 127.0.0.1)\n"
      "  --port N --keys DIR    the server's port and key directory (tokens, seal key)\n"
      "  --scenario NAME        lobby: 1 room x 64, 8 players at 500 msg/s each\n"
      "                         rooms: 200 rooms x 5, 2 players each at 75 msg/s\n"
      "                         idle:  1000 connections that only heartbeat\n"
      "                         idle-rooms: 1000 rooms x 10 joined, nobody plays, no heartbeats\n"
      "                         churn: rooms at 50 msg/s + 100 connect/join/leave/quit per s\n"
      "                         chat:  lobby at 100 msg/s + 2 chat lines/s from every member\n"
      "  --rooms N --room-size N --players N   room layout (players per room)\n"
      "  --rate X               MIDI messages per second per player\n"
      "  --chord-every N        every Nth note is a 3-note chord (default 4)\n"
      "  --chat-rate X          chat lines per second per member\n"
      "  --connections N        idle connections\n"
      "  --churn-rate X         churn cycles per second (--churn-active N: at most N at once)\n"
      "  --duration S --warmup S --drain S --setup-timeout S   phase lengths (10, 1, 3, 120)\n"
      "  --threads N            event loops (default 1)\n"
      "  --max-connecting N     handshakes in flight (default 256)\n"
      "  --source-addrs N       use 127.0.0.1..N as source addresses (default: by count)\n"
      "  --read-buffer BYTES    per connection (default 64 KiB, idle 4 KiB)\n"
      "  --tick-us N            send scheduler period (default 1000)\n"
      "  --server-pid PID       sample the server's CPU and RSS from /proc\n"
      "  --json                 one JSON object on stdout instead of the table\n"
      "  --quiet                no progress lines on stderr\n");
}

void PrintLatency(const char* name, const LatencyHistogram& h) {
  if (h.count() == 0) {
    std::printf("  %-22s (no samples)\n", name);
    return;
  }
  std::printf(
      "  %-22s p50 %6.3f  p90 %6.3f  p99 %6.3f  p99.9 %6.3f  max %7.3f ms  (%llu samples)\n", name,
      h.Percentile(0.5) / 1e3, h.Percentile(0.9) / 1e3, h.Percentile(0.99) / 1e3,
      h.Percentile(0.999) / 1e3, h.max() / 1e3, static_cast<unsigned long long>(h.count()));
}

void PrintTable(const Results& r) {
  const Options& o = r.options;
  auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  std::printf("tutti-loadgen: scenario %s, %d thread(s)\n", o.scenario.c_str(), o.threads);
  if (o.rooms > 0 && o.room_size > 0) {
    std::printf("  layout                 %d room(s) x %d, %d player(s) each at %.0f msg/s",
                o.rooms, o.room_size, o.players_per_room, o.rate);
    if (o.chat_rate > 0) std::printf(", chat %.2f/s per member", o.chat_rate);
    if (o.churn_rate > 0) std::printf(", churn %.0f/s", o.churn_rate);
    std::printf("\n");
  }
  std::printf(
      "  connections            %llu ok, %llu failed (%llu refused), %llu closed by server\n",
      u(r.connections_ok), u(r.connections_failed), u(r.handshakes_refused), u(r.closed_by_server));
  std::printf("  setup                  %.2f s, %.0f handshakes/s, joins %llu ok %llu failed",
              r.setup_s, r.handshakes_per_s, u(r.joins_ok), u(r.joins_failed));
  if (r.server_cpu_us_per_connection > 0) {
    std::printf(", server cpu %.0f us/connection", r.server_cpu_us_per_connection);
  }
  std::printf("\n");
  if (r.midi_sent > 0) {
    std::printf(
        "  midi                   sent %llu, refused %llu, expected %llu, received %llu, "
        "LOST %llu, clamped %llu\n",
        u(r.midi_sent), u(r.midi_refused), u(r.midi_expected), u(r.midi_received), u(r.midi_lost),
        u(r.midi_clamped));
  }
  if (r.chat_sent > 0) {
    std::printf(
        "  chat                   sent %llu, refused %llu, expected %llu, received %llu, "
        "LOST %llu\n",
        u(r.chat_sent), u(r.chat_refused), u(r.chat_expected), u(r.chat_received), u(r.chat_lost));
  }
  if (o.churn_rate > 0) {
    std::printf("  churn                  %llu cycles, %llu failed, %llu MIDI frames to churners\n",
                u(r.churn_cycles), u(r.churn_failed), u(r.midi_extra));
    PrintLatency("churn cycle", r.churn_cycle_us);
  }
  std::printf("  window                 %.1f s: %.0f deliveries/s, %.0f sends/s\n", r.window_s,
              r.deliveries_per_s, r.sends_per_s);
  if (r.midi_sent > 0) PrintLatency("midi latency", r.latency_us);
  if (r.chat_sent > 0) PrintLatency("chat latency", r.chat_latency_us);
  if (r.server_sampled) {
    std::printf(
        "  server                 cpu %.2f s (%.0f%% of a core, %.0f%% in the kernel, waited "
        "for a cpu %.0f%%), %.3f us/delivery, rss %.1f -> %.1f MiB",
        r.server_cpu_s, 100 * r.server_cpu_util, 100 * r.server_system_share,
        100 * r.server_wait_util, r.server_cpu_us_per_delivery, r.server_rss_before / 1048576.0,
        r.server_rss_after / 1048576.0);
    if (r.server_rss_per_connection > 0) {
      std::printf(" (%.2f KiB/connection)", r.server_rss_per_connection / 1024);
    }
    std::printf("\n");
  }
  std::printf(
      "  loadgen                cpu %.2f s (%.0f%% per thread, waited %.0f%%), send lag max "
      "%.1f ms, rss %.1f MiB%s\n",
      r.loadgen_cpu_s, 100 * r.loadgen_cpu_util, 100 * r.loadgen_wait_util, r.max_send_lag_us / 1e3,
      r.loadgen_rss / 1048576.0,
      r.loadgen_saturated ? "  ** SATURATED: figures bound by the generator **" : "");
  if (!r.first_error.empty()) std::printf("  first error            %s\n", r.first_error.c_str());
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof(b), "\\u%04x", c);
      out += b;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

void PrintHistJson(const char* name, const LatencyHistogram& h) {
  std::printf(
      ",\"%s\":{\"count\":%llu,\"mean_us\":%.1f,\"p50_us\":%llu,\"p90_us\":%llu,\"p99_us\":%llu,"
      "\"p999_us\":%llu,\"max_us\":%llu}",
      name, static_cast<unsigned long long>(h.count()), h.mean(),
      static_cast<unsigned long long>(h.Percentile(0.5)),
      static_cast<unsigned long long>(h.Percentile(0.9)),
      static_cast<unsigned long long>(h.Percentile(0.99)),
      static_cast<unsigned long long>(h.Percentile(0.999)),
      static_cast<unsigned long long>(h.max()));
}

void PrintJson(const Results& r) {
  const Options& o = r.options;
  auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  std::printf(
      "{\"scenario\":%s,\"threads\":%d,\"rooms\":%d,\"room_size\":%d,\"players\":%d,"
      "\"rate\":%.2f,\"chat_rate\":%.2f,\"churn_rate\":%.2f,\"duration_s\":%.2f",
      JsonString(o.scenario).c_str(), o.threads, o.rooms, o.room_size, o.players_per_room, o.rate,
      o.chat_rate, o.churn_rate, o.duration_s);
  std::printf(
      ",\"connections_planned\":%llu,\"connections_ok\":%llu,\"connections_failed\":%llu,"
      "\"handshakes_refused\":%llu,\"refused_status\":%d,\"closed_by_server\":%llu,"
      "\"joins_ok\":%llu,\"joins_failed\":%llu,\"setup_s\":%.3f,\"handshakes_per_s\":%.1f,"
      "\"server_cpu_us_per_connection\":%.1f",
      u(r.connections_planned), u(r.connections_ok), u(r.connections_failed),
      u(r.handshakes_refused), r.refused_status, u(r.closed_by_server), u(r.joins_ok),
      u(r.joins_failed), r.setup_s, r.handshakes_per_s, r.server_cpu_us_per_connection);
  std::printf(
      ",\"midi_sent\":%llu,\"midi_refused\":%llu,\"midi_expected\":%llu,"
      "\"midi_received\":%llu,\"midi_lost\":%llu,\"midi_clamped\":%llu,"
      "\"midi_to_churners\":%llu",
      u(r.midi_sent), u(r.midi_refused), u(r.midi_expected), u(r.midi_received), u(r.midi_lost),
      u(r.midi_clamped), u(r.midi_extra));
  std::printf(
      ",\"chat_sent\":%llu,\"chat_refused\":%llu,\"chat_expected\":%llu,"
      "\"chat_received\":%llu,\"chat_lost\":%llu,\"churn_cycles\":%llu,"
      "\"churn_failed\":%llu",
      u(r.chat_sent), u(r.chat_refused), u(r.chat_expected), u(r.chat_received), u(r.chat_lost),
      u(r.churn_cycles), u(r.churn_failed));
  std::printf(
      ",\"window_s\":%.3f,\"deliveries_per_s\":%.1f,\"sends_per_s\":%.1f,"
      "\"max_send_lag_us\":%lld",
      r.window_s, r.deliveries_per_s, r.sends_per_s, static_cast<long long>(r.max_send_lag_us));
  PrintHistJson("latency", r.latency_us);
  PrintHistJson("chat_latency", r.chat_latency_us);
  PrintHistJson("churn_cycle", r.churn_cycle_us);
  std::printf(
      ",\"server_wait_util\":%.3f,\"loadgen_wait_util\":%.3f,"
      "\"server_system_share\":%.3f",
      r.server_wait_util, r.loadgen_wait_util, r.server_system_share);
  std::printf(
      ",\"server_sampled\":%s,\"server_cpu_s\":%.3f,\"server_cpu_util\":%.3f,"
      "\"server_cpu_us_per_delivery\":%.4f,\"server_rss_before\":%llu,"
      "\"server_rss_after\":%llu,\"server_rss_per_connection\":%.1f",
      r.server_sampled ? "true" : "false", r.server_cpu_s, r.server_cpu_util,
      r.server_cpu_us_per_delivery, u(r.server_rss_before), u(r.server_rss_after),
      r.server_rss_per_connection);
  std::printf(
      ",\"loadgen_cpu_s\":%.3f,\"loadgen_cpu_util\":%.3f,\"loadgen_saturated\":%s,"
      "\"loadgen_rss\":%llu,\"first_error\":%s}\n",
      r.loadgen_cpu_s, r.loadgen_cpu_util, r.loadgen_saturated ? "true" : "false", u(r.loadgen_rss),
      JsonString(r.first_error).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bool json = false;
  bool e_rooms = false, e_size = false, e_players = false, e_rate = false, e_chat = false,
       e_churn = false, e_idle = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "tutti-loadgen: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--scenario") {
      o.scenario = value();
    } else if (arg == "--host") {
      o.host = value();
    } else if (arg == "--port") {
      o.port = static_cast<uint16_t>(std::atoi(value()));
    } else if (arg == "--keys") {
      o.key_dir = value();
    } else if (arg == "--threads") {
      o.threads = std::atoi(value());
    } else if (arg == "--rooms") {
      o.rooms = std::atoi(value());
      e_rooms = true;
    } else if (arg == "--room-size") {
      o.room_size = std::atoi(value());
      e_size = true;
    } else if (arg == "--players") {
      o.players_per_room = std::atoi(value());
      e_players = true;
    } else if (arg == "--rate") {
      o.rate = std::atof(value());
      e_rate = true;
    } else if (arg == "--chord-every") {
      o.chord_every = std::atoi(value());
    } else if (arg == "--chat-rate") {
      o.chat_rate = std::atof(value());
      e_chat = true;
    } else if (arg == "--connections") {
      o.idle_connections = std::atoi(value());
      e_idle = true;
    } else if (arg == "--churn-rate") {
      o.churn_rate = std::atof(value());
      e_churn = true;
    } else if (arg == "--churn-active") {
      o.churn_max_active = std::atoi(value());
    } else if (arg == "--duration") {
      o.duration_s = std::atof(value());
    } else if (arg == "--warmup") {
      o.warmup_s = std::atof(value());
    } else if (arg == "--drain") {
      o.drain_s = std::atof(value());
    } else if (arg == "--setup-timeout") {
      o.setup_timeout_s = std::atof(value());
    } else if (arg == "--max-connecting") {
      o.max_connecting = std::atoi(value());
    } else if (arg == "--source-addrs") {
      o.source_addresses = std::atoi(value());
    } else if (arg == "--read-buffer") {
      o.read_buffer = static_cast<size_t>(std::atol(value()));
    } else if (arg == "--tick-us") {
      o.tick_us = std::atoi(value());
    } else if (arg == "--server-pid") {
      o.server_pid = std::atoi(value());
    } else if (arg == "--json") {
      json = true;
    } else if (arg == "--quiet") {
      o.progress = false;
    } else if (arg == "-h" || arg == "--help") {
      Usage();
      return 0;
    } else {
      std::fprintf(stderr, "tutti-loadgen: unknown argument %s\n", arg.c_str());
      Usage();
      return 2;
    }
  }
  if (o.scenario != "lobby" && o.scenario != "rooms" && o.scenario != "idle" &&
      o.scenario != "idle-rooms" && o.scenario != "churn" && o.scenario != "chat") {
    std::fprintf(stderr, "tutti-loadgen: unknown scenario %s\n", o.scenario.c_str());
    return 2;
  }
  tutti::loadgen::ApplyScenarioDefaults(&o, e_rooms, e_size, e_players, e_rate, e_chat, e_churn,
                                        e_idle);
  // Every run is bounded in time and in size.
  if (o.port == 0 || o.key_dir.empty() || o.duration_s <= 0 || o.duration_s > 3600 ||
      o.threads < 1 || o.threads > 64 || o.rate < 0 || o.rate > 100000 || o.idle_connections < 0 ||
      o.idle_connections > 200000 || o.rooms < 0 || o.rooms * o.room_size > 200000 ||
      o.players_per_room > o.room_size || o.tick_us < 100) {
    Usage();
    return 2;
  }
  Results r;
  std::string error;
  if (!tutti::loadgen::Run(o, &r, &error)) {
    std::fprintf(stderr, "tutti-loadgen: %s\n", error.c_str());
    if (json) PrintJson(r);
    return 1;
  }
  if (json) {
    PrintJson(r);
  } else {
    PrintTable(r);
  }
  return 0;
}
