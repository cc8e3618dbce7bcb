// Writes the shared test vectors of the timing core: a deterministic session (clock sync on
// a skewed, jittery path with a server restart; three remote senders with gaps, duplicates,
// stalls, snapshots, a departure and a dropped connection) driven through the C API
// (midi/timing_c_api.h) of the native build, every call recorded with its arguments and its
// result. timing_core_test.mjs replays the same calls on the WebAssembly build and must get
// the same results, bit for bit: one implementation, two targets.
//
// Usage: timing_vectors OUT.json
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "midi/timing_c_api.h"

namespace {

// A fixed pseudo-random sequence (64-bit LCG, top bits), so the vectors never change.
class Lcg {
 public:
  explicit Lcg(uint64_t seed) : state_(seed) {}
  uint32_t Next() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state_ >> 33);
  }
  int64_t Range(int64_t lo, int64_t hi) {  // [lo, hi]
    return lo + static_cast<int64_t>(Next() % static_cast<uint32_t>(hi - lo + 1));
  }
  bool Chance(int percent) { return Range(0, 99) < percent; }

 private:
  uint64_t state_;
};

std::string Num(double v) {
  if (std::isnan(v)) return "\"NaN\"";
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

// Records each call as {"f":name,"h":handle,"a":[args],"r":result}.
class Recorder {
 public:
  explicit Recorder(FILE* f) : f_(f) { std::fputs("{\"ops\":[\n", f_); }
  ~Recorder() { std::fputs("\n]}\n", f_); }

  void Op(const char* fn, const char* handle, std::vector<double> args, const double* result) {
    std::string line = first_ ? "" : ",\n";
    first_ = false;
    line += std::string("{\"f\":\"") + fn + "\"";
    if (handle) line += std::string(",\"h\":\"") + handle + "\"";
    line += ",\"a\":[";
    for (size_t i = 0; i < args.size(); ++i) line += (i ? "," : "") + Num(args[i]);
    line += "]";
    if (result) line += ",\"r\":" + Num(*result);
    line += "}";
    std::fputs(line.c_str(), f_);
    ++count_;
  }
  void New(const char* fn, const char* out, const char* arg_handle) {
    std::string line = first_ ? "" : ",\n";
    first_ = false;
    line += std::string("{\"f\":\"") + fn + "\",\"new\":\"" + out + "\"";
    if (arg_handle) line += std::string(",\"ref\":\"") + arg_handle + "\"";
    line += "}";
    std::fputs(line.c_str(), f_);
  }
  size_t count() const { return count_; }

 private:
  FILE* f_;
  bool first_ = true;
  size_t count_ = 0;
};

// Call-and-record helpers: R is the C return type.
#define REC(handle_name, fn, ...)                           \
  [&]() {                                                   \
    const double r_ = static_cast<double>(fn(__VA_ARGS__)); \
    rec.Op(#fn, handle_name, RecArgs(__VA_ARGS__), &r_);    \
    return r_;                                              \
  }()
#define REC_VOID(handle_name, fn, ...)                       \
  do {                                                       \
    fn(__VA_ARGS__);                                         \
    rec.Op(#fn, handle_name, RecArgs(__VA_ARGS__), nullptr); \
  } while (false)

// The recorded arguments: everything after the handle, as doubles.
template <typename H, typename... A>
std::vector<double> RecArgs(H* /*handle*/, A... a) {
  return {static_cast<double>(a)...};
}

struct Sender {
  Sender(uint32_t h, uint32_t l) : hi(h), lo(l) {}
  uint32_t hi, lo;
  uint64_t sequence = 0;
  std::set<std::pair<int, int>> held;  // (channel, note)
  bool sustain = false;
  int64_t next_play_server = 0;
  bool gone = false;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: timing_vectors OUT.json\n");
    return 2;
  }
  FILE* f = std::fopen(argv[1], "w");
  if (!f) {
    std::perror(argv[1]);
    return 1;
  }
  size_t ops = 0;
  {
    Recorder rec(f);
    Lcg rng(20261203);

    TuttiClockSync* cs = tutti_clock_sync_create();
    rec.New("tutti_clock_sync_create", "cs", nullptr);
    TuttiJitterBuffer* jb = tutti_jitter_create(cs);
    rec.New("tutti_jitter_create", "jb", "cs");

    // The path: server = local * (1 + skew) + offset, one-way delays with jitter and spikes.
    const double skew = 73e-6;
    double offset = 987654321.0;
    auto server_at = [&](int64_t local) {
      return static_cast<int64_t>(std::floor(static_cast<double>(local) * (1 + skew) + offset));
    };
    auto one_way = [&]() {
      int64_t d = rng.Range(3000, 12000);
      if (rng.Chance(5)) d += rng.Range(20000, 150000);
      return d;
    };

    std::vector<Sender> senders = {{0, 17}, {0, 0x80000003u}, {1, 0x7fffffffu}};
    for (Sender& s : senders) s.next_play_server = server_at(1000000) + rng.Range(0, 200000);

    const int64_t start = 1000000;
    const int64_t end = start + 90000000;  // 90 s of local time
    const int64_t step = 5000;
    struct InFlight {
      int64_t arrive;
      size_t sender;
      uint64_t sequence;
      int64_t stamp;
      uint32_t flags;
      std::vector<std::vector<uint32_t>> events;  // status, data1, data2, delay
      bool duplicate;
    };
    std::vector<InFlight> flight;
    int64_t stall_until = 0;

    auto read_out = [&](double n) {
      for (int i = 0; i < static_cast<int>(n); ++i) {
        REC("jb", tutti_jitter_out_session_hi, jb, i);
        REC("jb", tutti_jitter_out_session_lo, jb, i);
        REC("jb", tutti_jitter_out_local_us, jb, i);
        REC("jb", tutti_jitter_out_status, jb, i);
        REC("jb", tutti_jitter_out_data1, jb, i);
        REC("jb", tutti_jitter_out_data2, jb, i);
        REC("jb", tutti_jitter_out_flags, jb, i);
        REC("jb", tutti_jitter_out_late, jb, i);
        REC("jb", tutti_jitter_out_generated, jb, i);
        REC("jb", tutti_jitter_out_sequence, jb, i);
        REC("jb", tutti_jitter_out_index, jb, i);
      }
      // Out of range reads are defined (zero).
      REC("jb", tutti_jitter_out_local_us, jb, static_cast<int>(n));
      REC("jb", tutti_jitter_out_status, jb, -1);
    };

    for (int64_t t = start; t < end; t += step) {
      const double now = static_cast<double>(t);
      // A server restart at 40 s: its clock jumps.
      if (t == start + 40000000) offset += 2.5e6;
      if (t == start + 41000000) REC_VOID("cs", tutti_clock_sync_on_reconnect, cs);

      // Heartbeats on the core's own schedule.
      if (REC("cs", tutti_clock_sync_next_ping_delay, cs, now) == 0) {
        REC_VOID("cs", tutti_clock_sync_on_ping_sent, cs, now);
        const int64_t t1 = t;
        const int64_t t2 = server_at(t1 + one_way());
        const int64_t t3 = t2 + rng.Range(0, 300);
        const int64_t t4 = t1 + (t3 - t2) + one_way() + one_way() / 4;
        REC("cs", tutti_clock_sync_on_sample, cs, static_cast<double>(t1), static_cast<double>(t2),
            static_cast<double>(t3), static_cast<double>(t4));
      }
      if (t % 1000000 == 0) {
        // An impossible exchange is refused; status is read now and then.
        REC("cs", tutti_clock_sync_on_sample, cs, now, 10.0, 5.0, now + 10);
        REC("cs", tutti_clock_sync_on_sample, cs, now, 10.0, 20.0, now - 10);
        REC("cs", tutti_clock_sync_synced, cs, now);
        REC("cs", tutti_clock_sync_offset_us, cs, now);
        REC("cs", tutti_clock_sync_error_bound_us, cs, now);
        REC("cs", tutti_clock_sync_skew_ppm, cs);
        REC("cs", tutti_clock_sync_last_rtt_us, cs);
        REC("cs", tutti_clock_sync_has_estimate, cs);
        REC("cs", tutti_clock_sync_locked, cs);
        REC("cs", tutti_clock_sync_epoch, cs);
        REC("cs", tutti_clock_sync_sample_count, cs);
        REC("cs", tutti_clock_sync_anomalies, cs);
        REC("cs", tutti_clock_sync_path_changes, cs);
        REC("cs", tutti_clock_sync_estimated_offset, cs, now);
        const double srv = REC("cs", tutti_clock_sync_server_from_local, cs, now);
        REC("cs", tutti_clock_sync_local_from_server, cs, srv);
      }

      // Settings changes while playing.
      if (t == start + 20000000) REC_VOID("jb", tutti_jitter_set_smoothness, jb, 2);
      if (t == start + 30000000)
        REC_VOID("jb", tutti_jitter_set_delay_bounds, jb, 8000.0, 250000.0);
      if (t == start + 50000000) REC_VOID("jb", tutti_jitter_set_percentile, jb, 0.95);
      if (t == start + 60000000) REC_VOID("jb", tutti_jitter_set_smoothness, jb, 0);
      // A 300 ms stall of the path (a retransmission), twice.
      if (t == start + 25000000 || t == start + 70000000) stall_until = t + 300000;

      // Senders play; each batch travels to us.
      const int64_t server_now = server_at(t);
      for (size_t i = 0; i < senders.size(); ++i) {
        Sender& s = senders[i];
        if (s.gone || server_now < s.next_play_server) continue;
        InFlight b;
        b.sender = i;
        b.sequence = ++s.sequence;
        b.stamp = s.next_play_server;
        b.flags = rng.Chance(3) ? 2u : 0u;
        b.duplicate = false;
        const int n = static_cast<int>(rng.Range(1, 4));
        int64_t delay = 0;
        for (int k = 0; k < n; ++k) {
          const int ch = static_cast<int>(i);
          const int kind = static_cast<int>(rng.Range(0, 99));
          if (kind < 55 || s.held.empty()) {
            const int note = static_cast<int>(rng.Range(36, 96));
            b.events.push_back({static_cast<uint32_t>(0x90 | ch), static_cast<uint32_t>(note),
                                static_cast<uint32_t>(rng.Range(1, 127)),
                                static_cast<uint32_t>(delay)});
            s.held.insert({ch, note});
          } else if (kind < 85) {
            auto it = s.held.begin();
            std::advance(it, rng.Range(0, static_cast<int64_t>(s.held.size()) - 1));
            b.events.push_back({static_cast<uint32_t>(0x80 | ch), static_cast<uint32_t>(it->second),
                                0, static_cast<uint32_t>(delay)});
            s.held.erase(it);
          } else if (kind < 93) {
            s.sustain = !s.sustain;
            b.events.push_back({static_cast<uint32_t>(0xB0 | ch), 64, s.sustain ? 127u : 0u,
                                static_cast<uint32_t>(delay)});
          } else if (kind < 97) {
            b.events.push_back(
                {static_cast<uint32_t>(0xE0 | ch), static_cast<uint32_t>(rng.Range(0, 127)),
                 static_cast<uint32_t>(rng.Range(0, 127)), static_cast<uint32_t>(delay)});
          } else {
            b.events.push_back({static_cast<uint32_t>(0xC0 | ch),
                                static_cast<uint32_t>(rng.Range(0, 127)), 99,
                                static_cast<uint32_t>(delay)});
          }
          delay += rng.Range(0, 8000);
        }
        int64_t arrive = t + one_way();
        if (arrive < stall_until) arrive = stall_until + rng.Range(0, 2000);
        b.arrive = arrive;
        // A batch lost on the way now and then (a gap), another delivered twice.
        if (!rng.Chance(2)) flight.push_back(b);
        if (rng.Chance(2)) {
          InFlight dup = b;
          dup.duplicate = true;
          dup.arrive += rng.Range(1000, 50000);
          flight.push_back(dup);
        }
        s.next_play_server += rng.Range(15000, 250000);
      }

      // Arrivals due now, in arrival order (ties: creation order).
      std::vector<InFlight> later;
      std::vector<InFlight> now_due;
      for (InFlight& b : flight) (b.arrive <= t ? now_due : later).push_back(std::move(b));
      flight.swap(later);
      for (const InFlight& b : now_due) {
        const Sender& s = senders[b.sender];
        if (s.gone) continue;
        REC_VOID("jb", tutti_jitter_batch_begin, jb, s.hi, s.lo, static_cast<double>(b.sequence),
                 static_cast<double>(b.stamp), b.flags);
        for (const auto& e : b.events) {
          REC("jb", tutti_jitter_batch_add, jb, e[0], e[1], e[2], static_cast<double>(e[3]));
        }
        if (rng.Chance(3)) REC("jb", tutti_jitter_batch_add, jb, 0xF0u, 1u, 2u, 0.0);    // refused
        if (rng.Chance(3)) REC("jb", tutti_jitter_batch_add, jb, 0x90u, 200u, 2u, 0.0);  // refused
        REC("jb", tutti_jitter_batch_push, jb, now);
        REC("jb", tutti_jitter_last_push_duplicate, jb);
        REC("jb", tutti_jitter_last_push_gap, jb);
        REC("jb", tutti_jitter_last_push_dropped, jb);
      }

      // The player's loop: every 10 ms, play what is due.
      if (t % 10000 == 0) {
        read_out(REC("jb", tutti_jitter_pop_due, jb, now));
        REC("jb", tutti_jitter_next_due, jb);
      }
      // Snapshots of each sender's held notes, once a second per sender.
      if (t % 1000000 == 500000) {
        for (Sender& s : senders) {
          if (s.gone) continue;
          REC_VOID("jb", tutti_jitter_snapshot_begin, jb, s.hi, s.lo,
                   static_cast<double>(s.sequence > 3 ? s.sequence - 3 : 0), s.sustain ? 1u : 0u);
          for (const auto& [ch, note] : s.held) {
            REC_VOID("jb", tutti_jitter_snapshot_add_note, jb, static_cast<uint32_t>(ch),
                     static_cast<uint32_t>(note));
          }
          REC("jb", tutti_jitter_snapshot_apply, jb, now);
        }
      }
      if (t % 1000000 == 0) {
        read_out(REC("jb", tutti_jitter_tick, jb, now));
        REC("jb", tutti_jitter_sender_count, jb);
        REC("jb", tutti_jitter_idle, jb);
        for (const Sender& s : senders) {
          REC("jb", tutti_jitter_queued, jb, s.hi, s.lo);
          for (int stat = 0; stat <= 18; ++stat) REC("jb", tutti_jitter_stat, jb, s.hi, s.lo, stat);
        }
      }
      // The second sender leaves at 55 s.
      if (t == start + 55000000) {
        senders[1].gone = true;
        read_out(REC("jb", tutti_jitter_remove_sender, jb, senders[1].hi, senders[1].lo, now));
      }
    }
    // The connection drops: everything sounding is released.
    read_out(REC("jb", tutti_jitter_drop_connection, jb, static_cast<double>(end)));
    REC("jb", tutti_jitter_idle, jb);
    REC("jb", tutti_jitter_sender_count, jb);
    // Conversions at the edges: NaN, infinities, fractions.
    const double nan = std::nan("");
    REC("cs", tutti_clock_sync_server_from_local, cs, nan);
    REC("cs", tutti_clock_sync_server_from_local, cs, 1.5);
    REC("cs", tutti_clock_sync_server_from_local, cs, 2.5);
    REC("cs", tutti_clock_sync_local_from_server, cs, 1e300);
    REC("cs", tutti_clock_sync_local_from_server, cs, -1e300);

    tutti_jitter_destroy(jb);
    tutti_clock_sync_destroy(cs);
    ops = rec.count();
  }
  if (std::fclose(f) != 0) {
    std::perror(argv[1]);
    return 1;
  }
  std::printf("timing_vectors: %zu calls written to %s\n", ops, argv[1]);
  return 0;
}
