// The load generator's engine: opens real WebSocket connections to a Tutti server on
// loopback, each with its own sealed connect payload (tokens minted once per user from the
// key files), joins them into rooms and plays a scenario — MIDI at a fixed rate per player,
// chat, churn, or plain idling — then reports what was delivered, lost and how fast.
//
// Owns: the run's interface: its Options, its Results and Run(), which is called from one
// thread (main) and only orchestrates (loadgen.cc): it creates the worker loops (loop.h,
// one thread and one io_context each, no locks on the hot path) with their connections
// (conn.h), samples /proc, prints progress and moves the phases on.
//
// Measurement model: open loop. Each player sends on its own schedule whatever the server
// does; the send time (steady clock, which is the server's clock on the same machine) goes
// in the MIDI `timestamp`, declared in-sync through a heartbeat so the server relays it
// unchanged; every receiver subtracts it from its receive time. Every relayed message is
// expected at each other member of the room; a delivery not received by the end of the
// drain is counted lost, and a refusal by the server is counted as refused, never hidden.
#ifndef TUTTI_TOOLS_LOADGEN_LOADGEN_H_
#define TUTTI_TOOLS_LOADGEN_LOADGEN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "tools/loadgen/histogram.h"

namespace tutti::loadgen {

struct Options {
  // lobby | rooms | idle | idle-rooms | churn | chat | concert (defaults)
  std::string scenario = "lobby";
  std::string host = "127.0.0.1";
  // The servers' ports on `host`: one node, or several nodes of one deployment (Redis
  // engine) over which connections are spread, see NodeFor().
  std::vector<uint16_t> ports;
  std::string key_dir;
  int threads = 1;

  // Rooms: `rooms` rooms of `room_size` members, the first `players_per_room` of which play.
  int rooms = 1;
  int room_size = 64;
  int players_per_room = 8;
  double rate = 500;     // MIDI messages per second per player (note-ons and note-offs)
  int chord_every = 4;   // every Nth note is a three-note chord
  double chat_rate = 0;  // chat messages per second per member; 0 = none

  int idle_connections = 0;  // idle: connections that join nothing and only heartbeat
  double churn_rate = 0;     // churn: connect/join/leave/disconnect cycles per second
  int churn_max_active = 200;

  double duration_s = 10;  // sending phase (idle: holding phase)
  double warmup_s = 1;     // excluded from rates and latency
  double drain_s = 3;      // longest wait for in-flight deliveries after sending stops
  double setup_timeout_s = 120;
  int max_connecting = 256;  // handshakes in flight at once
  int source_addresses = 0;  // loopback source addresses 127.0.0.1..N; 0 = auto
  size_t read_buffer = 0;    // bytes per connection; 0 = 64 KiB active, 4 KiB idle
  int tick_us = 1000;        // send scheduler period
  int heartbeat_s = 15;      // the server closes connections idle for 60 s; 0 = none
  // When set: server CPU and RSS from /proc, summed over the processes (the nodes).
  std::vector<int> server_pids;
  int redis_pid = 0;     // when set: redis-server's CPU over the window, reported apart
  bool progress = true;  // one line per second on stderr
};

// Which of `o.ports` connection `ordinal` uses. Members of a room alternate between the
// nodes by their place in the room, so players and listeners of every room are split over
// the nodes and deliveries cross the Redis engine; other connections alternate by ordinal.
int NodeFor(const Options& o, int ordinal);

// Fills the scenario's defaults into `o` for fields the user did not set; `explicit_*`
// tell which were set on the command line.
void ApplyScenarioDefaults(Options* o, bool explicit_rooms, bool explicit_size,
                           bool explicit_players, bool explicit_rate, bool explicit_chat,
                           bool explicit_churn, bool explicit_idle);

struct Results {
  Options options;
  // Connections.
  uint64_t connections_planned = 0, connections_ok = 0, connections_failed = 0;
  uint64_t handshakes_refused = 0;  // non-101 answers
  int refused_status = 0;           // one such status, for the report
  uint64_t closed_by_server = 0;    // open connections the server closed or reset
  uint64_t joins_ok = 0, joins_failed = 0;
  double setup_s = 0, handshakes_per_s = 0;
  // Server CPU spent while connecting and joining, per connection made: on a shared
  // machine this tells the handshake capacity of a dedicated core (1e6 / this).
  double server_cpu_us_per_connection = 0;
  // MIDI.
  uint64_t midi_sent = 0, midi_refused = 0, midi_expected = 0, midi_received = 0;
  uint64_t midi_lost = 0, midi_clamped = 0, midi_extra = 0;  // extra: received by churners
  // Chat.
  uint64_t chat_sent = 0, chat_refused = 0, chat_expected = 0, chat_received = 0;
  uint64_t chat_lost = 0;
  // Churn.
  uint64_t churn_cycles = 0, churn_failed = 0;
  LatencyHistogram churn_cycle_us;  // connect start to socket closed
  // Rates over the measurement window.
  double window_s = 0;
  double deliveries_per_s = 0, sends_per_s = 0;
  LatencyHistogram latency_us;       // MIDI, sender's send to receiver's read
  LatencyHistogram chat_latency_us;  // chat, same
  int64_t max_send_lag_us = 0;       // how far the senders fell behind their schedule
  // Server (when server_pids are given; several nodes are summed).
  bool server_sampled = false;
  double server_cpu_s = 0, server_cpu_us_per_delivery = 0, server_cpu_util = 0;
  // Share of the window the server's threads spent runnable but without a CPU.
  double server_wait_util = 0;
  double server_system_share = 0;  // kernel time / CPU time
  uint64_t server_rss_before = 0, server_rss_after = 0;
  double server_rss_per_connection = 0;
  // redis-server (when redis_pid is given): CPU over the window, per message sent (each
  // is published once, whatever the number of nodes) and per delivery.
  bool redis_sampled = false;
  double redis_cpu_s = 0, redis_cpu_util = 0, redis_cpu_us_per_send = 0;
  double redis_cpu_us_per_delivery = 0;
  // The generator itself.
  double loadgen_cpu_s = 0, loadgen_cpu_util = 0;  // util per thread, 1.0 = saturated
  double loadgen_wait_util = 0;
  bool loadgen_saturated = false;
  uint64_t loadgen_rss = 0;
  std::string first_error;  // first refusal or failure text seen, for the report
};

// Runs one scenario to completion (bounded by the options' times). False and *error on a
// setup failure (keys missing, nothing connected).
bool Run(const Options& options, Results* results, std::string* error);

}  // namespace tutti::loadgen

#endif  // TUTTI_TOOLS_LOADGEN_LOADGEN_H_
