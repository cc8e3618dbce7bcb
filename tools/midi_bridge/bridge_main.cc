// tutti-midi-bridge: the native desktop client. Connects to a Tutti server, joins a room, reads
// a MIDI input port (RtMidi over JACK), stamps each event at its source in server time and sends
// it; plays what the others play to a MIDI output port through the jitter buffer. On exit or
// disconnect it releases every note it was sounding; a lost connection is retried with backoff
// (a fresh payload each time) and the room rejoined. docs/TIMING.md explains the timing.
//
// Threads: the main loop owns everything (MidiLink, the ports, the client); the network pump,
// the RtMidi input callback and the signal thread only post to its Inbox. The output's JACK
// process thread only takes what the loop queued in its ring (midi/jack_timed_output.h).
#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "midi/jack_timed_output.h"
#include "midi/rtmidi_port.h"
#include "tools/client/client.h"
#include "tools/client/connect_flags.h"
#include "tools/client/connect_target.h"
#include "tools/client/resume_state.h"
#include "tools/client/token_refresher.h"
#include "tools/common/main_flags.h"
#include "tools/common/termination_signals.h"
#include "tools/midi_bridge/inbox.h"
#include "tools/midi_bridge/linked_connection.h"
#include "tools/midi_bridge/midi_link.h"

ABSL_FLAG(std::string, room, "Lobby", "room to create or join");
// MIDI (JACK)
ABSL_FLAG(std::string, input, "", "read from the JACK MIDI source whose name contains this");
ABSL_FLAG(std::string, virtual_input, "",
          "offer an input port of this name for others to connect (default: in)");
ABSL_FLAG(std::string, output, "", "play to the JACK MIDI destination whose name contains this");
ABSL_FLAG(std::string, virtual_output, "", "offer an output port of this name (default: out)");
ABSL_FLAG(std::string, jack_client, "tutti-bridge", "JACK client name prefix");
ABSL_FLAG(bool, list_ports, false, "print the JACK MIDI sources and destinations and exit");
// Timing
ABSL_FLAG(double, min_delay_ms, 5,
          "lowest playout delay, ms (raise it, e.g. 250, to trade latency for completeness "
          "on a lossy link)");
ABSL_FLAG(double, max_delay_ms, 500, "highest playout delay, ms");
ABSL_FLAG(std::string, smoothness, "balanced",
          "low (95th percentile), balanced (99th) or smooth (99.8th)");
ABSL_FLAG(double, output_lookahead_ms, 10,
          "hand events to the JACK output this long before they are due; it writes each at "
          "the frame of its due time, so a wake-up later by less than this costs no timing");
ABSL_FLAG(bool, realtime, false,
          "run the loop SCHED_FIFO (needs the privilege): on a busy machine an ordinary "
          "thread can wake ~4 ms late and smear the timing");
// Run
ABSL_FLAG(double, duration_s, 0, "exit after this many seconds; 0 = until SIGINT/SIGTERM");
ABSL_FLAG(double, stats_s, 10, "print clock and buffer figures every S seconds; 0 = off");
ABSL_FLAG(int, links, 2,
          "connections to the session: 2 (default, with --keys) also opens a linked connection "
          "and sends each batch on both, so one connection's stall does not delay the notes "
          "(docs/PROTOCOL.md §16); 1 uses one connection");
ABSL_FLAG(bool, no_reconnect, false,
          "exit when the connection is lost (default with --keys: retry with backoff and "
          "rejoin the room)");

namespace {

using tutti::midi::MonotonicNowUs;

constexpr char kUsage[] =
    "the native desktop client: a MIDI port on one side, a Tutti room on the other\n"
    "(docs/TIMING.md). Usage:\n"
    "  tutti-midi-bridge (--url WS_URL | --keys DIR [--host H] [--port P])\n"
    "                    [--name NAME] [--user-id ID] [--guest] [--room NAME]\n"
    "                    [--input PORT | --virtual-input NAME]\n"
    "                    [--output PORT | --virtual-output NAME] [--jack-client NAME]\n"
    "                    [--min-delay-ms MS] [--max-delay-ms MS]\n"
    "                    [--smoothness low|balanced|smooth] [--duration-s S]\n"
    "                    [--stats-s S] [--realtime] [--no-reconnect] [--links 1|2]\n"
    "                    [--list-ports]\n"
    "MIDI goes through JACK; start jackd first, e.g. jackd --no-realtime -d dummy -r 48000 -p "
    "256.\n"
    "With --keys a lost connection is retried with backoff (1 s doubling to 30 s) and the session\n"
    "resumed (the missed notes are fast-forwarded, never played late; the room is rejoined when\n"
    "the resume is refused); a --url is single use, so it never reconnects.\n"
    "With --keys a second, linked connection to the same session carries every batch too\n"
    "(--links 2, the default; it comes back by itself when lost); --links 1 turns it off.";

std::atomic<bool> g_stop{false};

// Delay before reconnect attempt `attempt` (0, 1, ...): 1 s doubling to 30 s, +-20 % so that
// the clients a restarted server dropped do not all come back in the same instant.
int64_t ReconnectDelayUs(int attempt, std::mt19937& rng) {
  const double base_s = std::min(30.0, std::ldexp(1.0, std::min(attempt, 5)));
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return static_cast<int64_t>(base_s * jitter(rng) * 1e6);
}

// Close codes after which coming back would not help: our own close, a ban, a protocol
// error of ours, or another connection that resumed this session (docs/PROTOCOL.md, close
// codes).
bool ClosedForGood(uint16_t code) {
  return code == 1000 || code == 1008 || code == 1009 || code == 4003 || code == 4005;
}

}  // namespace

int main(int argc, char** argv) {
  tutti::main_support::ParseFlags(argc, argv, kUsage);
  const std::string room = absl::GetFlag(FLAGS_room);
  const std::string input = absl::GetFlag(FLAGS_input);
  const std::string virtual_input = absl::GetFlag(FLAGS_virtual_input);
  const std::string output = absl::GetFlag(FLAGS_output);
  const std::string virtual_output = absl::GetFlag(FLAGS_virtual_output);
  const std::string jack_client = absl::GetFlag(FLAGS_jack_client);
  const std::string smoothness = absl::GetFlag(FLAGS_smoothness);
  const bool list_ports = absl::GetFlag(FLAGS_list_ports);
  const bool realtime = absl::GetFlag(FLAGS_realtime);
  const bool reconnect = !absl::GetFlag(FLAGS_no_reconnect);
  const double min_delay_ms = absl::GetFlag(FLAGS_min_delay_ms);
  const double max_delay_ms = absl::GetFlag(FLAGS_max_delay_ms);
  const double output_lookahead_ms = absl::GetFlag(FLAGS_output_lookahead_ms);
  const double duration_s = absl::GetFlag(FLAGS_duration_s);
  const double stats_s = absl::GetFlag(FLAGS_stats_s);
  const int links = absl::GetFlag(FLAGS_links);

  // The probe client that lists and connects ports leaves JACK after the ports do (they are
  // declared later, so closed first), on every way out of main.
  struct ReleaseProbeAtExit {
    ~ReleaseProbeAtExit() { tutti::midi::ReleaseJackProbe(); }
  } release_probe_at_exit;

  if (list_ports) {
    auto sources = tutti::midi::ListMidiSources();
    auto dests = tutti::midi::ListMidiDestinations();
    if (!sources.ok() || !dests.ok()) {
      std::fprintf(stderr, "tutti-midi-bridge: %s\n",
                   std::string(sources.status().message()).c_str());
      return 1;
    }
    std::printf("sources (--input):\n");
    for (const auto& s : *sources) std::printf("  %s\n", s.c_str());
    std::printf("destinations (--output):\n");
    for (const auto& d : *dests) std::printf("  %s\n", d.c_str());
    return 0;
  }
  tutti::midi::Smoothness smooth = tutti::midi::Smoothness::kBalanced;
  if (smoothness == "low")
    smooth = tutti::midi::Smoothness::kLowLatency;
  else if (smoothness == "smooth")
    smooth = tutti::midi::Smoothness::kSmooth;
  else if (smoothness != "balanced")
    tutti::main_support::UsageError("--smoothness is low, balanced or smooth");
  if (!(min_delay_ms >= 0 && max_delay_ms >= min_delay_ms)) {
    tutti::main_support::UsageError("need 0 <= --min-delay-ms <= --max-delay-ms");
  }
  if (!(output_lookahead_ms >= 0 && output_lookahead_ms <= 1000)) {
    tutti::main_support::UsageError("--output-lookahead-ms is 0..1000");
  }
  if (links != 1 && links != 2) tutti::main_support::UsageError("--links is 1 or 2");
  if (!(duration_s >= 0 && stats_s >= 0)) {
    tutti::main_support::UsageError("--duration-s and --stats-s must not be negative");
  }

  if (realtime) {
    // Before any thread starts, so the network pump and the client's I/O thread inherit it.
    sched_param p{};
    p.sched_priority = 20;
    if (sched_setscheduler(0, SCHED_FIFO, &p) != 0) {
      std::perror("tutti-midi-bridge: --realtime (SCHED_FIFO) refused; running without it");
    }
  }

  // --- connection details (as tutti-cli) ---
  const tutti::client::ConnectOptions connect =
      tutti::client::ConnectOptionsFromFlags("bridge", "bridge-");
  // The session follows its token: renewed on the open connection before it runs out.
  tutti::client::TokenRefresher refresher(connect);
  auto target = tutti::client::ResolveConnectTarget(connect);
  if (!target.ok()) {
    std::fprintf(stderr, "tutti-midi-bridge: %s\n", std::string(target.status().message()).c_str());
    return 1;
  }
  const std::string host = target->host;
  const int port = target->port;
  const std::string resource = target->resource;

  // --- MIDI ports ---
  tutti::bridge::Inbox inbox;
  // Signals: a thread takes them and only posts (sets a flag, wakes the loop). Before the
  // MIDI ports open, since JACK starts threads of its own that must leave the signals alone.
  tutti::main_support::SignalWatcher signals([&inbox] {
    g_stop.store(true);
    inbox.Wake();
  });
  auto wake = [&inbox] { inbox.Wake(); };
  absl::StatusOr<std::unique_ptr<tutti::midi::MidiInput>> in =
      input.empty() ? tutti::midi::MidiInput::OpenVirtual(
                          jack_client + "-in", virtual_input.empty() ? "in" : virtual_input, wake)
                    : tutti::midi::MidiInput::OpenNamed(jack_client + "-in", input, wake);
  if (!in.ok()) {
    std::fprintf(stderr, "tutti-midi-bridge: input: %s\n",
                 std::string(in.status().message()).c_str());
    return 1;
  }
  // Timed: each event goes out at the frame of its play time, not when this loop woke.
  absl::StatusOr<std::unique_ptr<tutti::midi::TimedMidiOutput>> out =
      output.empty() ? tutti::midi::TimedMidiOutput::OpenVirtual(
                           jack_client + "-out", virtual_output.empty() ? "out" : virtual_output)
                     : tutti::midi::TimedMidiOutput::OpenNamed(jack_client + "-out", output);
  if (!out.ok()) {
    std::fprintf(stderr, "tutti-midi-bridge: output: %s\n",
                 std::string(out.status().message()).c_str());
    return 1;
  }
  std::printf("tutti-midi-bridge: MIDI in %s%s%s, out %s%s%s\n", (*in)->port_name().c_str(),
              (*in)->connected_to().empty() ? "" : " <- ", (*in)->connected_to().c_str(),
              (*out)->port_name().c_str(), (*out)->connected_to().empty() ? "" : " -> ",
              (*out)->connected_to().c_str());

  // --- connect ---
  tutti::bridge::MidiLinkOptions lo;
  lo.output_lookahead_us = static_cast<int64_t>(output_lookahead_ms * 1000);
  tutti::bridge::MidiLink link(lo);
  link.buffer().SetDelayBounds(static_cast<int64_t>(min_delay_ms * 1000),
                               static_cast<int64_t>(max_delay_ms * 1000));
  link.buffer().SetSmoothness(smooth);
  // One connection at a time; the pump (declared second, so destroyed first) reads it.
  std::unique_ptr<tutti::client::Client> client;
  std::unique_ptr<tutti::bridge::NetworkPump> pump;
  // The linked connection beside it (docs/PROTOCOL.md §16). Its payloads are minted like the
  // primary's, so a single-use --url has none.
  tutti::bridge::LinkedConnectionOptions link_options;
  link_options.enabled = links == 2 && connect.url.empty();
  if (links == 2 && !connect.url.empty()) {
    std::printf("tutti-midi-bridge: a --url is single use: no linked connection (use --keys)\n");
  }
  tutti::bridge::LinkedConnection linked(
      &inbox, [] { return MonotonicNowUs(); }, link_options);
  auto link_resource = [connect](const std::string& link_token) -> absl::StatusOr<std::string> {
    tutti::client::ConnectOptions o = connect;  // the same identity, no resume keys
    o.link_token = link_token;
    auto t = tutti::client::ResolveConnectTarget(o);
    if (!t.ok()) return t.status();
    return t->resource;
  };
  // What a reconnect needs to resume the session (docs/PROTOCOL.md §12), and which received
  // events are a resume's replay (fast-forwarded by the link, never played late).
  tutti::client::ResumeState resume;
  auto send_join = [&] {
    tutti::proto::ServerMessage join;
    join.mutable_server_command()->set_commandtype(tutti::proto::CREATE_OR_JOIN_ROOM);
    (*join.mutable_server_command()->mutable_parameters())["room_name"] = room;
    client->Send(join);
  };
  // Connects to `res` and starts the pump. A plain connect asks to join the room; the join
  // answer (RoomJoinedResponse) brings the room's held notes, which the link reconciles. A
  // resuming connect waits for the ResumeResult: the room comes back with what was missed,
  // or the answer says to join again.
  auto open_connection = [&](const std::string& res, bool resuming) {
    auto c = std::make_unique<tutti::client::Client>();
    tutti::client::ConnectResult r = c->Connect(host, static_cast<uint16_t>(port), res);
    if (!r.ok) return r;
    client = std::move(c);
    linked.OnPrimaryOpen(client.get(), host, port, link_resource);
    link.OnConnected(MonotonicNowUs());
    pump = std::make_unique<tutti::bridge::NetworkPump>(client.get(), &inbox,
                                                        [] { return MonotonicNowUs(); });
    if (!resuming) send_join();
    return r;
  };
  if (auto r = open_connection(resource, false); !r.ok) {
    std::fprintf(stderr, "tutti-midi-bridge: connect refused: %d %s\n", r.http_status,
                 r.error.c_str());
    return 1;
  }
  // A --url payload is single use; with --keys each attempt mints a fresh one.
  const bool can_reconnect = reconnect && connect.url.empty();
  bool connected = true;
  int attempt = 0;
  int64_t reconnect_at = INT64_MAX;
  uint64_t dropped_offline = 0;  // local events played while disconnected (not sent)
  std::mt19937 rng(static_cast<unsigned>(MonotonicNowUs()));

  const int64_t start = MonotonicNowUs();
  const int64_t end = duration_s > 0 ? start + static_cast<int64_t>(duration_s * 1e6) : INT64_MAX;
  int64_t next_stats = stats_s > 0 ? start + static_cast<int64_t>(stats_s * 1e6) : INT64_MAX;
  uint64_t played = 0;
  bool announced_sync = false;
  std::string link_said = "link idle";
  int exit_code = 0;
  std::vector<tutti::bridge::Inbox::Item> items;
  std::vector<tutti::midi::InputMessage> midi_in;
  std::vector<tutti::midi::ChannelMessage> group;
  auto play = [&](const tutti::bridge::LinkOutput& o) {
    for (const auto& ev : o.play) {
      if ((*out)->Schedule(ev.local_us, ev.message)) ++played;
    }
  };
  for (;;) {
    int64_t now = MonotonicNowUs();
    // The refresh time is wall-clock (the server's); the loop sleeps on the monotonic clock.
    const int64_t refresh_in_ms =
        connected ? refresher.NextRefreshUnixMs() - tutti::client::WallClockUnixMs() : INT64_MAX;
    const int64_t refresh_at = refresh_in_ms >= INT64_MAX / 2000
                                   ? INT64_MAX
                                   : now + std::max<int64_t>(0, refresh_in_ms) * 1000;
    const int64_t wake_at = std::min(
        {link.NextWake(now), end, next_stats, reconnect_at, refresh_at, linked.NextWake()});
    items.clear();
    const bool closed = inbox.Wait(
        std::chrono::steady_clock::time_point(std::chrono::microseconds(wake_at)), &items);
    now = MonotonicNowUs();
    tutti::bridge::LinkOutput o;
    for (const auto& item : items) {
      // The first copy of each room event, from either connection; the link's own talk stops here.
      if (!linked.Filter(item, now)) continue;
      refresher.OnMessage(item.message, tutti::client::WallClockUnixMs());
      if (item.message.has_permissions_updated() &&
          item.message.permissions_updated().room_id().empty()) {
        std::printf("tutti-midi-bridge: token renewed\n");
      }
      if (item.message.has_room_joined_response()) {
        const auto& j = item.message.room_joined_response();
        std::printf("tutti-midi-bridge: %s %s (%d users)\n",
                    j.success() ? "joined" : "join failed:",
                    j.success() ? j.room_info().room_name().c_str() : j.error_message().c_str(),
                    j.room_info().user_count());
      } else if (item.message.has_error_message()) {
        std::printf("tutti-midi-bridge: server: %s %s\n",
                    item.message.error_message().error_code().c_str(),
                    item.message.error_message().error_message().c_str());
      }
      if (item.message.has_resume_result()) {
        const auto& rr = item.message.resume_result();
        std::printf("tutti-midi-bridge: resume %s%s%s (%u missed events)\n",
                    tutti::proto::ResumeOutcome_Name(rr.outcome()).c_str(),
                    rr.reason().empty() ? "" : ": ", rr.reason().c_str(), rr.replayed());
      }
      std::fflush(stdout);
      if (resume.Observe(item.message) == tutti::client::ResumeState::Kind::kReplayed) {
        link.OnReplayed(item.message, item.arrival_local_us, &o);
      } else {
        link.OnMessage(item.message, item.arrival_local_us, &o);
      }
      if (resume.needs_rejoin() && connected) {
        resume.ClearRejoin();
        send_join();
      }
    }
    // Local MIDI: messages read in one JACK cycle share a timestamp and go as one batch.
    midi_in.clear();
    (*in)->Drain(&midi_in);
    for (size_t i = 0; i < midi_in.size();) {
      group.clear();
      size_t k = i;
      for (; k < midi_in.size() && midi_in[k].local_us == midi_in[i].local_us; ++k) {
        tutti::midi::ChannelMessage m;
        std::string_view bytes(reinterpret_cast<const char*>(midi_in[k].bytes.data()),
                               midi_in[k].size);
        if (tutti::midi::ParseOneChannelMessage(bytes, &m).ok()) group.push_back(m);
      }
      // Offline, local playing is not queued: stale notes would arrive in a burst later.
      if (connected) {
        link.SendLocal(midi_in[i].local_us, group, now, &o);
      } else {
        dropped_offline += group.size();
      }
      i = k;
    }
    link.Poll(now, &o);
    if (!announced_sync && link.clock().locked()) {
      announced_sync = true;
      const auto st = link.clock().Status(now);
      std::printf("tutti-midi-bridge: clock synced (offset %lld us +- %lld us)\n",
                  static_cast<long long>(st.offset_us), static_cast<long long>(st.error_bound_us));
      std::fflush(stdout);
    }
    if (connected) {
      for (auto& msg : o.send) linked.Send(std::move(msg));  // MIDI on both connections
      if (auto renew = refresher.Poll(tutti::client::WallClockUnixMs())) client->Send(*renew);
      if (std::string e = refresher.TakeError(); !e.empty()) {
        std::fprintf(stderr, "tutti-midi-bridge: cannot renew the token: %s\n", e.c_str());
      }
    }
    play(o);
    if (connected) linked.Poll(now);
    if (const std::string state = linked.Describe(now);
        state.rfind("link retry", 0) == 0 ? link_said.rfind("link retry", 0) != 0
                                          : state != link_said && state != "link idle") {
      // Said once per change (the retry countdown is not a change).
      std::printf("tutti-midi-bridge: %s\n", state.c_str());
      std::fflush(stdout);
      link_said = state;
    }
    if (now >= next_stats) {
      const auto st = link.clock().Status(now);
      const auto& c = link.counters();
      std::printf(
          "tutti-midi-bridge: clock %s offset %lld us +- %lld us, skew %.1f ppm; sent %llu "
          "batches (%llu unsynced), received %llu, played %llu (out late %llu, dropped %llu), "
          "gaps %llu; %s (first copies %llu primary, %llu link; %llu copies dropped)\n",
          st.synced ? "synced" : "syncing", static_cast<long long>(st.offset_us),
          static_cast<long long>(st.error_bound_us), st.skew_ppm,
          static_cast<unsigned long long>(c.batches_sent),
          static_cast<unsigned long long>(c.unsynced_batches),
          static_cast<unsigned long long>(c.batches_received),
          static_cast<unsigned long long>(played), static_cast<unsigned long long>((*out)->late()),
          static_cast<unsigned long long>((*out)->dropped()),
          static_cast<unsigned long long>(c.gaps), linked.Describe(now).c_str(),
          static_cast<unsigned long long>(linked.first_from_primary()),
          static_cast<unsigned long long>(linked.first_from_link()),
          static_cast<unsigned long long>(linked.duplicates()));
      std::fflush(stdout);
      next_stats = now + static_cast<int64_t>(stats_s * 1e6);
    }
    if (closed && connected) {
      uint16_t code = 0;
      std::string reason;
      client->WaitClosed(std::chrono::milliseconds(0), &code, &reason);
      // Nobody will send the note-offs for what is sounding now: release it at once.
      tutti::bridge::LinkOutput lost;
      link.OnDisconnected(MonotonicNowUs(), &lost);
      play(lost);
      resume.OnDisconnected();
      linked.OnPrimaryLost();
      pump.reset();    // its thread has already returned after reporting the close
      inbox.Reopen();  // else every Wait would return at once until the next connection
      connected = false;
      if (!can_reconnect || ClosedForGood(code) || g_stop.load()) {
        std::printf("tutti-midi-bridge: connection closed (code %u%s%s)\n", code,
                    reason.empty() ? "" : ": ", reason.c_str());
        exit_code = 1;
        break;
      }
      attempt = 0;
      const int64_t delay = ReconnectDelayUs(attempt++, rng);
      reconnect_at = now + delay;
      std::printf("tutti-midi-bridge: connection lost (code %u%s%s); reconnecting in %.1f s\n",
                  code, reason.empty() ? "" : ": ", reason.c_str(),
                  static_cast<double>(delay) / 1e6);
      std::fflush(stdout);
    }
    if (!connected && now >= reconnect_at && !g_stop.load()) {
      client.reset();
      tutti::client::ConnectOptions again = connect;
      resume.Fill(&again);  // a fresh payload that also asks to resume
      auto fresh = tutti::client::ResolveConnectTarget(again);
      tutti::client::ConnectResult r;
      if (fresh.ok()) {
        r = open_connection(fresh->resource, resume.has_token());
      } else {
        r.error = std::string(fresh.status().message());
      }
      if (r.ok) {
        connected = true;
        reconnect_at = INT64_MAX;
        std::printf("tutti-midi-bridge: reconnected after %d attempt%s\n", attempt,
                    attempt == 1 ? "" : "s");
      } else if (r.http_status == 401 || r.http_status == 403 || !fresh.ok()) {
        // Refused for who we are (bad token, banned) or cannot mint: retrying cannot help.
        std::printf("tutti-midi-bridge: reconnect refused: %d %s\n", r.http_status,
                    r.error.c_str());
        exit_code = 1;
        break;
      } else {
        const int64_t delay = ReconnectDelayUs(attempt++, rng);
        reconnect_at = MonotonicNowUs() + delay;
        std::printf("tutti-midi-bridge: reconnect failed (%d %s); next try in %.1f s\n",
                    r.http_status, r.error.c_str(), static_cast<double>(delay) / 1e6);
      }
      std::fflush(stdout);
    }
    if (g_stop.load() || now >= end) break;
  }
  // Whatever happens, nothing may keep sounding.
  tutti::bridge::LinkOutput o;
  link.OnDisconnected(MonotonicNowUs(), &o);
  play(o);
  // The last events are due up to a lookahead ahead; then one JACK cycle to send them.
  (*out)->WaitWritten(std::chrono::milliseconds(1000));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (connected) client->Close();
  if (dropped_offline > 0) {
    std::printf("tutti-midi-bridge: %llu local events were not sent while disconnected\n",
                static_cast<unsigned long long>(dropped_offline));
  }
  return exit_code;
}
