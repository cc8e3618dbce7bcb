#include "tools/loadgen/report.h"

#include <cstdint>
#include <cstdio>
#include <string>

namespace tutti::loadgen {
namespace {

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

}  // namespace

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
  if (r.redis_sampled) {
    std::printf(
        "  redis-server           cpu %.2f s (%.0f%% of a core), %.3f us/message sent, %.3f "
        "us/delivery\n",
        r.redis_cpu_s, 100 * r.redis_cpu_util, r.redis_cpu_us_per_send,
        r.redis_cpu_us_per_delivery);
  }
  std::printf(
      "  loadgen                cpu %.2f s (%.0f%% per thread, waited %.0f%%), send lag max "
      "%.1f ms, rss %.1f MiB%s\n",
      r.loadgen_cpu_s, 100 * r.loadgen_cpu_util, 100 * r.loadgen_wait_util, r.max_send_lag_us / 1e3,
      r.loadgen_rss / 1048576.0,
      r.loadgen_saturated ? "  ** SATURATED: figures bound by the generator **" : "");
  if (!r.first_error.empty()) std::printf("  first error            %s\n", r.first_error.c_str());
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
      ",\"nodes\":%zu,\"redis_sampled\":%s,\"redis_cpu_s\":%.3f,\"redis_cpu_util\":%.3f,"
      "\"redis_cpu_us_per_send\":%.4f,\"redis_cpu_us_per_delivery\":%.4f",
      r.options.ports.size(), r.redis_sampled ? "true" : "false", r.redis_cpu_s, r.redis_cpu_util,
      r.redis_cpu_us_per_send, r.redis_cpu_us_per_delivery);
  std::printf(
      ",\"loadgen_cpu_s\":%.3f,\"loadgen_cpu_util\":%.3f,\"loadgen_saturated\":%s,"
      "\"loadgen_rss\":%llu,\"first_error\":%s}\n",
      r.loadgen_cpu_s, r.loadgen_cpu_util, r.loadgen_saturated ? "true" : "false", u(r.loadgen_rss),
      JsonString(r.first_error).c_str());
}

}  // namespace tutti::loadgen
