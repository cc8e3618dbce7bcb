#include "tests/midi/timing_sim.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <utility>

namespace tutti::midi::sim {

namespace {

constexpr int64_t kServerEpochUs = 1000000000;  // server time = true time + this
constexpr int64_t kDrainUs = 10000000;          // simulated time after the sources stop

using timing::Percentile;

struct ClientState {
  // Connection k's legs draw from their own seeds; connection 0 keeps the seeds of the
  // one-connection runs, so adding a link leaves the primary's draws as they were.
  ClientState(const ClientClock& c, const PathProfile& up_path, const PathProfile& down_path,
              uint64_t seed, int links, Loop* loop)
      : clock(c) {
    for (int k = 0; k < std::max(links, 1); ++k) {
      const uint64_t offset = 7919 * static_cast<uint64_t>(k);
      up.emplace_back(up_path, seed * 2 + 11 + offset, loop);
      down.emplace_back(down_path, seed * 2 + 12 + offset, loop);
    }
  }
  ClientClock clock;
  ClockSync sync;
  // [0] the primary, then the links. Never resized after construction: their events hold
  // pointers to them.
  std::vector<Link> up;
  std::vector<Link> down;
  int64_t connect_us = 0;
  bool alive = true;
  timing::ClockErrorLog clock_errors;
};

struct BatchInfo {
  int64_t src_us = 0;  // true source time
  int group = -1;      // index into the stream (-1: abuse or synthetic)
  int64_t arrival_us = -1;
  int64_t push_local_us = 0;
};

struct SenderState {
  SenderState(const SenderSpec& s, uint64_t seed, const StamperOptions& so, int links, Loop* loop)
      : spec(s), client(s.clock, s.up, s.down, seed, links, loop), stamper(so) {}
  const SenderSpec& spec;
  ClientState client;
  uint64_t session_id = 0;
  // Server side.
  Stamper stamper;
  HeldNotes held;
  uint64_t sequence = 0;
  // Highest client batch number taken. Each connection delivers in order, so the first copy
  // of batch n+1 never arrives before the first copy of batch n: a copy at or below this is
  // a second copy.
  uint64_t taken_up_to = 0;
  // Receiver side: highest server sequence of this sender taken (first copy, same reason).
  uint64_t received_up_to = 0;
  bool connected = true;
  // Metrics.
  uint64_t sent = 0;  // batches sent = the sequence the server will give the last one
  std::map<uint64_t, BatchInfo> batches;
  timing::OnsetLog onsets;
  std::vector<double> targets_ms;
  SenderStats last_stats;
  double max_ahead_ms = 0;
};

class Simulation {
 public:
  explicit Simulation(const Scenario& sc)
      : sc_(sc),
        receiver_(sc.receiver.clock, sc.receiver.up, sc.receiver.down, sc.seed * 1000 + 7, sc.links,
                  &loop_),
        jb_(&receiver_.sync, sc.receiver.options) {
    for (size_t i = 0; i < sc.senders.size(); ++i) {
      senders_.push_back(std::make_unique<SenderState>(sc.senders[i], sc.seed * 1000 + 100 + i,
                                                       sc.stamper, sc.links, &loop_));
      senders_.back()->session_id = 1000 + i;
    }
    end_us_ = sc.duration_us + kDrainUs;
  }

  Result Run() {
    receiver_.connect_us = sc_.receiver.connect_us;
    StartClient(&receiver_);
    for (auto& s : senders_) StartSender(s.get());
    if (sc_.receiver_drop_us >= 0) {
      loop_.At(sc_.receiver_drop_us, [this] {
        std::vector<PlayedEvent> out;
        for (auto& s : senders_) s->last_stats = jb_.Stats(s->session_id);
        jb_.DropConnection(Local(), &out);
        receiver_dropped_ = true;
        Record(out);
      });
    }
    for (int64_t t = 1000000; t < end_us_; t += 1000000) {
      loop_.At(t, [this] {
        for (auto& s : senders_) {
          if (receiver_dropped_) break;
          const SenderStats st = jb_.Stats(s->session_id);
          if (st.batches > 0) {
            s->last_stats = st;
            s->targets_ms.push_back(static_cast<double>(st.target_us) / 1000);
          }
        }
        if (sc_.watchdog) {
          std::vector<PlayedEvent> out;
          jb_.Tick(Local(), &out);
          Record(out);
        }
      });
    }
    loop_.Run(end_us_);
    return Collect();
  }

 private:
  int64_t Local() const { return receiver_.clock.Local(loop_.now()); }
  static int64_t Server(int64_t true_us) { return true_us + kServerEpochUs; }

  void StartClient(ClientState* c) {
    loop_.At(c->connect_us, [this, c] { Ping(c); });
    for (int64_t t = c->connect_us + 100000; t < end_us_; t += 100000) {
      loop_.At(t, [this, c, t] {
        if (!c->alive) return;
        const int64_t local = c->clock.Local(t);
        const double err_us =
            c->sync.has_estimate()
                ? static_cast<double>(c->sync.ServerTimeFromLocal(local) - Server(t))
                : 1e12;
        c->clock_errors.Add(t - c->connect_us, err_us, c->sync.locked(),
                            c->sync.Status(local).error_bound_us);
      });
    }
  }

  void Ping(ClientState* c) {
    if (!c->alive || loop_.now() > end_us_) return;
    const int64_t t1 = c->clock.Local(loop_.now());
    c->sync.OnPingSent(t1);
    c->up[0].Send(loop_.now(), [this, c, t1] {
      const int64_t at_server = loop_.now();
      const int64_t t2 = Server(at_server);
      const int64_t t3 = t2 + 50;
      c->down[0].Send(at_server + 50, [this, c, t1, t2, t3] {
        if (c->alive) c->sync.OnSample(t1, t2, t3, c->clock.Local(loop_.now()));
      });
    });
    const int64_t delay = c->sync.NextPingDelay(t1);
    loop_.At(loop_.now() + std::max<int64_t>(delay, 1000), [this, c] { Ping(c); });
  }

  void StartSender(SenderState* s) {
    s->client.connect_us = s->spec.connect_us;
    StartClient(&s->client);
    const auto& stream = s->spec.stream;
    for (size_t g = 0; g < stream.size(); ++g) {
      if (s->spec.kill_us >= 0 && stream[g].t_us >= s->spec.kill_us) break;
      int ons = 0;
      for (const ChannelMessage& m : stream[g].messages) ons += m.IsNoteOn() ? 1 : 0;
      s->onsets.Expect(static_cast<int>(g), stream[g].t_us, ons);
      loop_.At(stream[g].t_us, [this, s, g] { SendGroup(s, static_cast<int>(g)); });
    }
    if (s->spec.abuse == Abuse::kFlood) {
      for (int64_t t = s->spec.connect_us + 5000000; t < sc_.duration_us; t += 2000) {
        loop_.At(t, [this, s] { SendFlood(s); });
      }
    }
    if (s->spec.kill_us >= 0) {
      loop_.At(s->spec.kill_us, [s] { s->client.alive = false; });
      loop_.At(s->spec.kill_us + sc_.disconnect_detect_us, [this, s] { Disconnect(s); });
    }
  }

  struct WireBatch {
    uint64_t number = 0;  // the client's batch number (MidiMessage.sequence)
    int64_t client_time = 0;
    bool synced = false;
    int64_t error_bound = 0;
    std::vector<RelayedEvent> events;
  };

  WireBatch Stamped(SenderState* s, const std::vector<ChannelMessage>& msgs) {
    WireBatch b;
    const int64_t local = s->client.clock.Local(loop_.now());
    const ClockSyncStatus st = s->client.sync.Status(local);
    b.synced = s->spec.sync && st.synced;
    b.client_time = b.synced ? s->client.sync.ServerTimeFromLocal(local) : 0;
    b.error_bound = st.error_bound_us;
    switch (s->spec.abuse) {
      case Abuse::kFutureStamps:
        b.synced = true;
        b.client_time = Server(loop_.now()) + 10000000;
        break;
      case Abuse::kPastStamps:
        b.synced = true;
        b.client_time = Server(loop_.now()) - 10000000;
        break;
      default:
        break;
    }
    for (size_t i = 0; i < msgs.size(); ++i) {
      RelayedEvent e;
      e.message = msgs[i];
      if (s->spec.abuse == Abuse::kLongSpans) {
        e.delay_us = 60000000 * static_cast<int64_t>(i + 1) / static_cast<int64_t>(msgs.size());
      }
      b.events.push_back(e);
    }
    return b;
  }

  void SendGroup(SenderState* s, int g) {
    if (!s->client.alive) return;
    WireBatch b = Stamped(s, s->spec.stream[static_cast<size_t>(g)].messages);
    BatchInfo info;
    info.src_us = loop_.now();
    info.group = g;
    s->batches[++s->sent] = info;
    Transmit(s, std::move(b));
  }

  void SendFlood(SenderState* s) {
    if (!s->client.alive) return;
    const uint8_t note = static_cast<uint8_t>(20 + (s->sent % 8));
    WireBatch b = Stamped(s, {MakeNoteOn(1, note, 90), MakeNoteOff(1, note)});
    BatchInfo info;
    info.src_us = loop_.now();
    s->batches[++s->sent] = info;
    Transmit(s, std::move(b));
  }

  void Transmit(SenderState* s, WireBatch b) {
    b.number = s->sent;
    for (Link& up : s->client.up) {
      up.Send(loop_.now() + 200, [this, s, b]() mutable { ServerReceive(s, std::move(b)); });
    }
  }

  void ServerReceive(SenderState* s, WireBatch b) {
    if (!s->connected) return;
    if (b.number <= s->taken_up_to) return;  // a later copy
    s->taken_up_to = b.number;
    StampInput in;
    in.client_time_us = b.client_time;
    in.arrival_us = Server(loop_.now());
    in.synced = b.synced;
    in.error_bound_us = b.error_bound;
    for (const RelayedEvent& e : b.events) in.span_us = std::max(in.span_us, e.delay_us);
    const StampOutput out = s->stamper.Stamp(in);
    RelayedBatch rb;
    rb.session_id = s->session_id;
    rb.sequence = ++s->sequence;
    rb.stamped_us = out.stamped_us;
    rb.flags = out.flags;
    for (RelayedEvent e : b.events) {
      e.delay_us = out.ClampDelay(e.delay_us);
      s->held.Apply(e.message);
      rb.events.push_back(e);
    }
    Relay(s, rb);
  }

  void Disconnect(SenderState* s) {
    s->connected = false;
    if (!sc_.synthetic_note_offs || s->held.Empty()) return;
    StampInput in;
    in.arrival_us = Server(loop_.now());
    const StampOutput out = s->stamper.Stamp(in);
    RelayedBatch rb;
    rb.session_id = s->session_id;
    rb.sequence = ++s->sequence;
    rb.stamped_us = out.stamped_us;
    rb.flags = out.flags | kFlagSynthetic;
    for (const ChannelMessage& m : s->held.ReleaseAll()) rb.events.push_back({m, 0});
    Relay(s, rb);
  }

  void Relay(SenderState* s, const RelayedBatch& rb) {
    for (Link& down : receiver_.down) {
      down.Send(loop_.now() + 100, [this, s, rb] { Deliver(s, rb); });
    }
  }

  void Deliver(SenderState* s, const RelayedBatch& rb) {
    if (receiver_dropped_) return;
    if (rb.sequence <= s->received_up_to) return;  // a later copy
    s->received_up_to = rb.sequence;
    auto it = s->batches.find(rb.sequence);
    const int64_t local = Local();
    if (it != s->batches.end()) {
      it->second.arrival_us = loop_.now();
      it->second.push_local_us = local;
      if (it->second.group >= 0) s->onsets.Arrived(it->second.group, loop_.now());
    }
    push_local_[{rb.session_id, rb.sequence}] = local;
    jb_.Push(rb, local);
    Wake();
  }

  void Wake() {
    std::vector<PlayedEvent> out;
    jb_.PopDue(Local(), &out);
    Record(out);
    const std::optional<int64_t> next = jb_.NextDue();
    if (!next) return;
    const int64_t t = std::max(receiver_.clock.TrueFromLocal(*next), loop_.now());
    if (t < wake_at_ || wake_at_ <= loop_.now()) {
      wake_at_ = t;
      loop_.At(t, [this] { Wake(); });
    }
  }

  void Record(const std::vector<PlayedEvent>& out) {
    for (const PlayedEvent& ev : out) {
      synth_.Apply(ev.message);
      SenderState* s = nullptr;
      for (auto& c : senders_) {
        if (c->session_id == ev.session_id) s = c.get();
      }
      if (s == nullptr || ev.generated) continue;
      auto pl = push_local_.find({ev.session_id, ev.sequence});
      if (pl != push_local_.end()) {
        s->max_ahead_ms =
            std::max(s->max_ahead_ms, static_cast<double>(ev.local_us - pl->second) / 1000);
      }
      auto it = s->batches.find(ev.sequence);
      if (it == s->batches.end() || it->second.group < 0 || !ev.message.IsNoteOn()) continue;
      s->onsets.Played(it->second.group, loop_.now());
    }
  }

  void Summarize(const ClientState& c, double* p95, double* max, double* at1s, bool* within) {
    c.clock_errors.Summarize(p95, max, at1s, within);
  }

  static double SkewError(const ClientState& c) {
    return std::abs(c.sync.skew_ppm() - timing::TrueOffsetSlopePpm(c.clock.skew_ppm));
  }

  Result Collect() {
    Result r;
    Summarize(receiver_, &r.clock_p95_ms, &r.clock_max_ms, &r.clock_at_1s_ms,
              &r.clock_within_bound);
    r.skew_error_ppm = SkewError(receiver_);
    r.stuck_notes = synth_.Sounding();
    std::vector<const ClientState*> clients = {&receiver_};
    for (auto& sp : senders_) clients.push_back(&sp->client);
    for (const ClientState* c : clients) {
      for (const auto* legs : {&c->up, &c->down}) {
        for (const Link& l : *legs) {
          const Link::Counters& k = l.counters();
          r.tcp.segments += k.segments;
          r.tcp.lost += k.lost;
          r.tcp.rack += k.rack;
          r.tcp.probes += k.probes;
          r.tcp.timeouts += k.timeouts;
          r.tcp.repair_us.insert(r.tcp.repair_us.end(), k.repair_us.begin(), k.repair_us.end());
        }
      }
    }
    r.buffer_idle = jb_.Idle();
    for (auto& sp : senders_) {
      SenderState& s = *sp;
      SenderResult sr;
      Summarize(s.client, &sr.clock_p95_ms, &sr.clock_max_ms, &sr.clock_at_1s_ms,
                &sr.clock_within_bound);
      sr.skew_error_ppm = SkewError(s.client);
      if (!receiver_dropped_) s.last_stats = jb_.Stats(s.session_id);
      sr.targets_ms = s.targets_ms;
      timing::SummarizeReceiver(s.last_stats, &sr);
      s.onsets.Summarize(&sr);
      sr.max_scheduled_ahead_ms = s.max_ahead_ms;
      r.senders.push_back(sr);
    }
    return r;
  }

  const Scenario& sc_;
  Loop loop_;
  ClientState receiver_;
  JitterBuffer jb_;
  std::vector<std::unique_ptr<SenderState>> senders_;
  std::map<std::pair<uint64_t, uint64_t>, int64_t> push_local_;
  timing::SoundingModel synth_;
  bool receiver_dropped_ = false;
  int64_t wake_at_ = 0;
  int64_t end_us_ = 0;
};

}  // namespace

PathProfile ReferencePath() { return PathProfile{}; }

PathProfile LoopbackPath() {
  PathProfile p;
  p.floor_us = 100;
  p.jitter_scale_us = 100;
  return p;
}

int64_t ClientClock::Local(int64_t true_us) const {
  return true_us + std::llround(static_cast<double>(true_us) * skew_ppm * 1e-6) + offset_us;
}

int64_t ClientClock::TrueFromLocal(int64_t local_us) const {
  int64_t t = std::llround(static_cast<double>(local_us - offset_us) / (1 + skew_ppm * 1e-6));
  while (Local(t) < local_us) ++t;
  while (Local(t - 1) >= local_us) --t;
  return t;
}

Result Run(const Scenario& scenario) { return Simulation(scenario).Run(); }

std::string Describe(const Scenario& sc, const Result& r) {
  std::string s;
  char buf[1024];
  std::snprintf(buf, sizeof(buf),
                "%s: receiver clock p95 %.2f ms (at 1 s %.2f ms, max %.2f), skew err %.2f ppm, "
                "stuck %d\n",
                sc.name.c_str(), r.clock_p95_ms, r.clock_at_1s_ms, r.clock_max_ms, r.skew_error_ppm,
                r.stuck_notes);
  s += buf;
  if (r.tcp.lost > 0) {
    // The same figures as tools/timing_harness/delay_line.py prints for a real path.
    std::vector<double> ms;
    for (int64_t us : r.tcp.repair_us) ms.push_back(static_cast<double>(us) / 1000);
    std::snprintf(buf, sizeof(buf),
                  "  tcp: %llu of %llu packets lost; retransmitted by RACK %llu, probes %llu, "
                  "timeouts %llu; %zu repairs p10 %.1f p50 %.1f p90 %.1f max %.1f ms\n",
                  static_cast<unsigned long long>(r.tcp.lost),
                  static_cast<unsigned long long>(r.tcp.segments),
                  static_cast<unsigned long long>(r.tcp.rack),
                  static_cast<unsigned long long>(r.tcp.probes),
                  static_cast<unsigned long long>(r.tcp.timeouts), ms.size(), Percentile(ms, 0.1),
                  Percentile(ms, 0.5), Percentile(ms, 0.9),
                  ms.empty() ? 0.0 : *std::max_element(ms.begin(), ms.end()));
    s += buf;
  }
  for (size_t i = 0; i < r.senders.size(); ++i) {
    std::snprintf(buf, sizeof(buf), "  sender %zu: ", i);
    s += buf;
    s += timing::DescribeFigures(r.senders[i]);
  }
  return s;
}

}  // namespace tutti::midi::sim
