// Run(): one load-generator run from keys to report. Main's side only: it mints the tokens,
// lays the connections out over the worker loops (loop.h), moves the phases on (setup, play,
// drain, shutdown), samples /proc, prints progress and fills Results from the loops' tallies
// (counters.h). The loops do all the network work.
#include "tools/loadgen/loadgen.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include "crypto/connect_payload.h"
#include "crypto/jwt.h"
#include "crypto/keys.h"
#include "crypto/sodium_init.h"
#include "tools/loadgen/conn.h"
#include "tools/loadgen/counters.h"
#include "tools/loadgen/loop.h"
#include "tools/loadgen/proc_stats.h"
#include "tools/loadgen/run_state.h"

namespace tutti::loadgen {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

void RaiseFileLimit() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// The loops' published counts added up, for progress lines and phase ends.
Counts Sum(const std::vector<std::unique_ptr<Loop>>& loops) {
  Counts t;
  for (const auto& l : loops) t += l->published().Load();
  return t;
}

std::string Human(double v) {
  char b[32];
  if (v >= 1e6) {
    std::snprintf(b, sizeof(b), "%.2fM", v / 1e6);
  } else if (v >= 1e3) {
    std::snprintf(b, sizeof(b), "%.1fk", v / 1e3);
  } else {
    std::snprintf(b, sizeof(b), "%.0f", v);
  }
  return b;
}

void SleepUntilUs(int64_t t) {
  const int64_t now = NowUs();
  if (t > now) std::this_thread::sleep_for(std::chrono::microseconds(t - now));
}

}  // namespace

void ApplyScenarioDefaults(Options* o, bool explicit_rooms, bool explicit_size,
                           bool explicit_players, bool explicit_rate, bool explicit_chat,
                           bool explicit_churn, bool explicit_idle) {
  auto set_rooms = [&](int rooms, int size, int players, double rate) {
    if (!explicit_rooms) o->rooms = rooms;
    if (!explicit_size) o->room_size = size;
    if (!explicit_players) o->players_per_room = players;
    if (!explicit_rate) o->rate = rate;
  };
  if (o->scenario == "lobby") {
    set_rooms(1, 64, 8, 500);
  } else if (o->scenario == "rooms") {
    set_rooms(200, 5, 2, 75);
  } else if (o->scenario == "idle") {
    set_rooms(0, 0, 0, 0);
    if (!explicit_idle) o->idle_connections = 1000;
  } else if (o->scenario == "idle-rooms") {
    // Joined but silent: the server's cost of members that do nothing (docs/PERFORMANCE.md).
    set_rooms(1000, 10, 0, 0);
    o->heartbeat_s = 0;
    if (o->read_buffer == 0) o->read_buffer = 4096;  // nothing arrives but join notices
  } else if (o->scenario == "churn") {
    set_rooms(200, 5, 2, 50);
    if (!explicit_churn) o->churn_rate = 100;
  } else if (o->scenario == "concert") {
    // One performer, 500 listeners: the fan-out of a performance (a pianist's 50
    // messages a second become 25,000 deliveries). The server needs
    // --max-users-per-room 501 or more.
    set_rooms(1, 501, 1, 50);
  } else if (o->scenario == "chat") {
    set_rooms(1, 64, 8, 100);
    if (!explicit_chat) o->chat_rate = 2;
  }
}

int NodeFor(const Options& o, int ordinal) {
  const int nodes = std::max<int>(1, static_cast<int>(o.ports.size()));
  if (ordinal < 0) return 0;
  const bool member = o.room_size > 0 && ordinal < std::max(0, o.rooms) * o.room_size;
  return (member ? ordinal % o.room_size : ordinal) % nodes;
}

bool Run(const Options& options, Results* r, std::string* error) {
  *r = Results();
  r->options = options;
  const Options& o = options;
  crypto::EnsureSodiumInitialized();
  RaiseFileLimit();
  auto issuer = crypto::LoadIssuerKeys(o.key_dir);
  if (!issuer.ok()) {
    *error = "issuer key: " + std::string(issuer.status().message());
    return false;
  }
  auto seal = crypto::LoadSealPublicKey(o.key_dir);
  if (!seal.ok()) {
    *error = "seal key: " + std::string(seal.status().message());
    return false;
  }

  auto shared = std::make_unique<Shared>();
  shared->options = o;
  shared->seal_public = *seal;
  boost::system::error_code ec;
  const asio::ip::address host = asio::ip::make_address(o.host, ec);
  if (ec || o.ports.empty()) {
    *error = "need --host (loopback) and --port";
    return false;
  }
  if (!host.is_loopback()) {
    *error = "tutti-loadgen only targets loopback addresses";
    return false;
  }
  for (uint16_t port : o.ports) {
    if (port == 0) {
      *error = "port 0 in --port";
      return false;
    }
    shared->servers.emplace_back(host, port);
  }
  const int rooms = std::max(0, o.rooms);
  const int members = o.idle_connections > 0 && rooms == 0 ? 0 : rooms * o.room_size;
  const int stable = members + std::max(0, o.idle_connections);
  const int churn_users = o.churn_rate > 0 ? 256 : 0;
  shared->room_joined =
      std::make_unique<std::atomic<int>[]>(static_cast<size_t>(std::max(1, rooms)));

  // Tokens once per user; each connection seals its own payload around its user's token.
  const int64_t now_s = UnixMs() / 1000;
  const int users = stable + churn_users;
  shared->user_ids.reserve(users);
  shared->tokens.reserve(users);
  for (int i = 0; i < users; ++i) {
    crypto::TokenClaims claims;
    claims.sub = "lg-" + std::to_string(i);
    claims.name = "lg" + std::to_string(i);
    claims.iss = "tutti-loadgen";
    claims.jti = crypto::RandomSocketId();
    claims.member = true;
    claims.iat = now_s;
    claims.exp = now_s + 3600;
    shared->user_ids.push_back(claims.sub);
    shared->tokens.push_back(crypto::MintToken(claims, *issuer));
  }
  shared->churn_user_base = stable;

  // Source addresses: one per ~25,000 connections (the ephemeral range is ~28,000 ports).
  int nsrc = o.source_addresses > 0 ? o.source_addresses : 1 + (stable + 1000) / 25000;
  std::vector<tcp::endpoint> sources;
  for (int i = 0; i < nsrc; ++i) {
    sources.emplace_back(asio::ip::address_v4((127u << 24) | static_cast<uint32_t>(1 + i)), 0);
  }

  const int threads = std::max(1, o.threads);
  std::vector<std::unique_ptr<Loop>> loops;
  for (int t = 0; t < threads; ++t) {
    loops.push_back(std::make_unique<Loop>(t, shared.get()));
    loops.back()->SetSources(sources);
  }
  for (int i = 0; i < stable; ++i) {
    Loop* loop = loops[static_cast<size_t>(i % threads)].get();
    if (i < members) {
      const int room = i / o.room_size;
      const bool player = (i % o.room_size) < o.players_per_room;
      loop->Add(std::make_shared<Conn>(loop, Conn::Kind::kMember, i, room, player, i));
    } else {
      loop->Add(std::make_shared<Conn>(loop, Conn::Kind::kIdle, i, -1, false, i));
    }
  }
  r->connections_planned = static_cast<uint64_t>(stable);

  // The nodes' figures are their sum (ok only when every node could be read).
  auto sample_servers = [&o] {
    ProcSample sum;
    if (o.server_pids.empty()) return sum;
    sum.ok = true;
    for (int pid : o.server_pids) {
      const ProcSample s = SampleProcess(pid);
      sum.ok = sum.ok && s.ok;
      sum.cpu_seconds += s.cpu_seconds;
      sum.system_seconds += s.system_seconds;
      sum.rss_bytes += s.rss_bytes;
      sum.run_wait_seconds += s.run_wait_seconds;
    }
    return sum;
  };
  const ProcSample srv_before = sample_servers();
  r->server_rss_before = srv_before.rss_bytes;

  auto progress = [&](const char* phase, double t, const Counts& now, const Counts& prev, double dt,
                      const ProcSample& srv, const ProcSample& srv_prev, const ProcSample& self,
                      const ProcSample& self_prev) {
    if (!o.progress) return;
    std::fprintf(
        stderr,
        "[%5.1fs %-6s] conns %llu/%d (failed %llu, closed %llu) joined %llu  "
        "sent %s/s  recv %s/s  in flight %lld",
        t, phase, static_cast<unsigned long long>(now[kOpened]), stable,
        static_cast<unsigned long long>(now.failed()),
        static_cast<unsigned long long>(now[kClosedByServer]),
        static_cast<unsigned long long>(now[kJoinedRoom]),
        Human((now[kMidiSent] + now[kChatSent] - prev[kMidiSent] - prev[kChatSent]) / dt).c_str(),
        Human(
            (now[kMidiReceived] + now[kChatReceived] - prev[kMidiReceived] - prev[kChatReceived]) /
            dt)
            .c_str(),
        static_cast<long long>(now.midi_expected() + now.chat_expected()) -
            static_cast<long long>(now[kMidiReceived] + now[kChatReceived]));
    if (srv.ok && srv_prev.ok) {
      std::fprintf(stderr, "  server cpu %.0f%% rss %.0f MiB",
                   100 * (srv.cpu_seconds - srv_prev.cpu_seconds) / dt, srv.rss_bytes / 1048576.0);
    }
    if (self.ok && self_prev.ok) {
      std::fprintf(stderr, "  loadgen cpu %.0f%%",
                   100 * (self.cpu_seconds - self_prev.cpu_seconds) / dt);
    }
    std::fprintf(stderr, "\n");
  };

  // --- setup: connect and join ---------------------------------------------------------
  const int64_t t0 = NowUs();
  const ProcSample srv_setup0 = sample_servers();
  for (auto& l : loops) l->StartThread();
  Counts prev = Sum(loops);
  ProcSample srv_prev = sample_servers();
  ProcSample self_prev = SampleProcess(0);
  int64_t last_print = t0;
  const int64_t setup_deadline = t0 + static_cast<int64_t>(o.setup_timeout_s * 1e6);
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const Counts t = Sum(loops);
    const bool connected = t[kOpened] + t.failed() >= static_cast<uint64_t>(stable);
    const bool joined =
        t[kJoinedRoom] + t[kJoinFailed] + t[kClosedByServer] >= static_cast<uint64_t>(members);
    const int64_t now = NowUs();
    if (now - last_print >= 1000000) {
      const ProcSample srv = sample_servers();
      const ProcSample self = SampleProcess(0);
      progress("setup", (now - t0) / 1e6, t, prev, (now - last_print) / 1e6, srv, srv_prev, self,
               self_prev);
      prev = t;
      srv_prev = srv;
      self_prev = self;
      last_print = now;
    }
    if ((connected && joined) || now > setup_deadline) break;
  }
  {
    const Counts t = Sum(loops);
    r->setup_s = (NowUs() - t0) / 1e6;
    if (t[kOpened] > 0 && t.last_open_us > t0) {
      r->handshakes_per_s = static_cast<double>(t[kOpened]) / ((t.last_open_us - t0) / 1e6);
    }
    const ProcSample srv_setup1 = sample_servers();
    if (srv_setup0.ok && srv_setup1.ok && t[kOpened] > 0) {
      r->server_cpu_us_per_connection =
          1e6 * (srv_setup1.cpu_seconds - srv_setup0.cpu_seconds) / static_cast<double>(t[kOpened]);
    }
  }
  // Let join notices settle so they do not mix with the first measured deliveries.
  std::this_thread::sleep_for(std::chrono::milliseconds(o.idle_connections > 0 ? 1000 : 300));
  if (!o.server_pids.empty()) r->server_rss_after = sample_servers().rss_bytes;

  // --- play (or hold) ------------------------------------------------------------------
  const int64_t play_start = NowUs() + 10000;
  const int64_t window_start = play_start + static_cast<int64_t>(o.warmup_s * 1e6);
  const int64_t send_stop = play_start + static_cast<int64_t>(o.duration_s * 1e6);
  shared->play_start_us.store(play_start);
  shared->window_start_us.store(window_start);
  shared->send_stop_us.store(send_stop);
  {
    // Schedules are set on each loop's thread before the phase flips (posted, then waited).
    std::atomic<int> ready{0};
    for (auto& l : loops) {
      asio::post(l->io(), [lp = l.get(), play_start, &o, &ready] {
        lp->SetSchedules(play_start, o);
        ready.fetch_add(1);
      });
    }
    while (ready.load() < threads) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  shared->phase.store(kPlay, std::memory_order_release);

  ProcSample srv_w0, srv_w1, self_w0, self_w1, redis_w0, redis_w1;
  bool sampled_start = false;
  while (NowUs() < send_stop) {
    const int64_t next =
        std::min({last_print + 1000000, send_stop, sampled_start ? send_stop : window_start});
    SleepUntilUs(next);
    const int64_t now = NowUs();
    if (!sampled_start && now >= window_start) {
      sampled_start = true;
      srv_w0 = sample_servers();
      if (o.redis_pid > 0) redis_w0 = SampleProcess(o.redis_pid);
      self_w0 = SampleProcess(0);
    }
    if (now - last_print >= 1000000) {
      const Counts t = Sum(loops);
      const ProcSample srv = sample_servers();
      const ProcSample self = SampleProcess(0);
      progress(o.idle_connections > 0 && members == 0 ? "hold" : "play", (now - t0) / 1e6, t, prev,
               (now - last_print) / 1e6, srv, srv_prev, self, self_prev);
      prev = t;
      srv_prev = srv;
      self_prev = self;
      last_print = now;
    }
  }
  srv_w1 = sample_servers();
  if (o.redis_pid > 0) redis_w1 = SampleProcess(o.redis_pid);
  self_w1 = SampleProcess(0);
  shared->phase.store(kStopSending, std::memory_order_release);

  // --- drain ------------------------------------------------------------------------------
  const int64_t drain_deadline = NowUs() + static_cast<int64_t>(o.drain_s * 1e6);
  while (NowUs() < drain_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const Counts t = Sum(loops);
    if (t[kMidiReceived] >= t.midi_expected() && t[kChatReceived] >= t.chat_expected()) {
      // One more tick so late refusals are published too.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const Counts u = Sum(loops);
      if (u[kMidiReceived] >= u.midi_expected() && u[kChatReceived] >= u.chat_expected()) break;
    }
  }
  const ProcSample self_end = SampleProcess(0);
  shared->phase.store(kShutdown, std::memory_order_release);
  for (auto& l : loops) l->PostShutdown();
  for (auto& l : loops) l->Join();

  // --- results -----------------------------------------------------------------------------
  LoopTally all;
  for (auto& l : loops) all += l->tally();
  const Counts& n = all.counts;
  r->connections_ok = n[kOpened];
  r->connections_failed = n.failed();
  r->handshakes_refused = n[kRefused];
  r->refused_status = all.refused_status;
  r->closed_by_server = n[kClosedByServer];
  r->joins_ok = n[kJoinedRoom];
  r->joins_failed = n[kJoinFailed];
  r->midi_sent = n[kMidiSent];
  r->midi_refused = n[kMidiRefused];
  r->midi_expected = n.midi_expected();
  r->midi_received = n[kMidiReceived];
  r->midi_lost = n.midi_lost();
  r->midi_clamped = n[kMidiClamped];
  r->midi_extra = n[kMidiExtra];
  r->chat_sent = n[kChatSent];
  r->chat_refused = n[kChatRefused];
  r->chat_expected = n.chat_expected();
  r->chat_received = n[kChatReceived];
  r->chat_lost = n.chat_lost();
  r->churn_cycles = n[kChurnCycles];
  r->churn_failed = n[kChurnFailed];
  r->churn_cycle_us = all.churn_cycle;
  r->latency_us = all.latency;
  r->chat_latency_us = all.chat_latency;
  r->max_send_lag_us = n.max_send_lag_us;
  r->first_error = all.first_error;
  r->window_s = (send_stop - window_start) / 1e6;
  if (r->window_s > 0) {
    r->deliveries_per_s = static_cast<double>(n[kWindowReceived]) / r->window_s;
    r->sends_per_s = static_cast<double>(n[kWindowSent]) / r->window_s;
  }
  if (redis_w0.ok && redis_w1.ok && r->window_s > 0) {
    r->redis_sampled = true;
    r->redis_cpu_s = redis_w1.cpu_seconds - redis_w0.cpu_seconds;
    r->redis_cpu_util = r->redis_cpu_s / r->window_s;
    if (n[kWindowSent] > 0) r->redis_cpu_us_per_send = 1e6 * r->redis_cpu_s / n[kWindowSent];
    if (n[kWindowReceived] > 0) {
      r->redis_cpu_us_per_delivery = 1e6 * r->redis_cpu_s / n[kWindowReceived];
    }
  }
  if (srv_w0.ok && srv_w1.ok) {
    r->server_sampled = true;
    r->server_cpu_s = srv_w1.cpu_seconds - srv_w0.cpu_seconds;
    r->server_cpu_util = r->server_cpu_s / r->window_s;
    r->server_wait_util = (srv_w1.run_wait_seconds - srv_w0.run_wait_seconds) / r->window_s;
    if (r->server_cpu_s > 0) {
      r->server_system_share = (srv_w1.system_seconds - srv_w0.system_seconds) / r->server_cpu_s;
    }
    if (n[kWindowReceived] > 0) {
      r->server_cpu_us_per_delivery = 1e6 * r->server_cpu_s / n[kWindowReceived];
    }
    if (r->connections_ok > 0 && r->server_rss_after > r->server_rss_before) {
      r->server_rss_per_connection =
          static_cast<double>(r->server_rss_after - r->server_rss_before) / r->connections_ok;
    }
  }
  if (self_w0.ok && self_w1.ok && r->window_s > 0) {
    r->loadgen_cpu_s = self_w1.cpu_seconds - self_w0.cpu_seconds;
    r->loadgen_cpu_util = r->loadgen_cpu_s / r->window_s / threads;
    r->loadgen_wait_util = (self_w1.run_wait_seconds - self_w0.run_wait_seconds) / r->window_s;
    // Saturated: busy nearly all the time. Send lag alone is not proof: on a shared machine
    // the generator can be descheduled while mostly idle (max_send_lag_us tells).
    r->loadgen_saturated = r->loadgen_cpu_util > 0.9;
  }
  r->loadgen_rss = self_end.rss_bytes;
  if (r->connections_ok == 0) {
    *error = "no connection succeeded" +
             (r->first_error.empty() ? std::string() : ": " + r->first_error);
    return false;
  }
  return true;
}

}  // namespace tutti::loadgen
