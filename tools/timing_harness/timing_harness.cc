#include "tools/timing_harness/timing_harness.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "crypto/dev_connection.h"
#include "crypto/keys.h"
#include "crypto/sodium_init.h"
#include "tools/client/client.h"
#include "tools/midi_bridge/inbox.h"
#include "tools/midi_bridge/midi_link.h"
#include "tools/timing_harness/bot.h"
#include "tools/timing_harness/server_process.h"

namespace tutti::harness {

namespace {

using bridge::Inbox;
using bridge::LinkOutput;
using midi::ChannelMessage;
using midi::timing::SourceGroup;

constexpr int64_t kMusicStartUs = 2000000;  // after the sender connects (clock sync first)

absl::Status WaitJoined(Bot& bot, int64_t timeout_us) {
  const int64_t deadline = MonoUs() + timeout_us;
  std::vector<Inbox::Item> items;
  while (!bot.joined()) {
    if (MonoUs() > deadline) return absl::DeadlineExceededError("room join not answered");
    const bool closed = bot.Wait(std::min(deadline, MonoUs() + 20000), &items);
    LinkOutput out;
    for (const auto& item : items) bot.Handle(item, &out);
    bot.Poll(&out);
    if (closed) return absl::UnavailableError("connection closed before the join was answered");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Resource(const std::string& key_dir, uint16_t port,
                                     const std::string& user, const std::string& link_token = "") {
  auto seal = crypto::LoadSealPublicKey(key_dir);
  if (!seal.ok()) return seal.status();
  auto issuer = crypto::LoadIssuerKeys(key_dir);
  if (!issuer.ok()) return issuer.status();
  crypto::DevConnectionRequest req;
  req.user_id = user;
  req.name = user;
  req.member = true;
  req.host = "127.0.0.1";
  req.port = port;
  req.link_token = link_token;
  auto dev = crypto::MintDevConnection(req, &*issuer, *seal, UnixMs());
  if (!dev.ok()) return dev.status();
  return dev->resource;
}

void Legs(const netem::DirectionStats& d, double* p50, double* p99) {
  std::vector<double> ms;
  ms.reserve(d.hold_us.size());
  for (int64_t h : d.hold_us) ms.push_back(static_cast<double>(h) / 1000);
  *p50 = midi::timing::Percentile(ms, 0.5);
  *p99 = midi::timing::Percentile(ms, 0.99);
}

}  // namespace

absl::StatusOr<HarnessReport> RunHarness(const HarnessOptions& o) {
  crypto::EnsureSodiumInitialized();
  HarnessReport report;
  report.name = o.name;
  mkdir(o.work_dir.c_str(), 0700);

  ServerProcess server;
  server.set_listen_host(o.server_host);
  server.set_netns(o.server_netns);
  if (auto st = server.Start(o.server_binary, o.work_dir, o.server_shards); !st.ok()) return st;

  netem::RelayOptions ro;
  ro.target_port = server.port();
  ro.target_host = o.server_host;
  ro.up = ro.down = o.path;
  // Bounded: the relays stop by themselves shortly after the run would end.
  ro.duration_us = kMusicStartUs + o.music_us + o.drain_us + 60000000;
  ro.quickack_target = o.quickack;
  ro.seed = o.seed * 2 + 1;
  netem::NetemRelay sender_relay(ro);
  ro.seed = o.seed * 2 + 2;
  netem::NetemRelay receiver_relay(ro);
  if (auto st = sender_relay.Start(); !st.ok()) return st;
  if (auto st = receiver_relay.Start(); !st.ok()) return st;
  // --links 2: each bot's linked connection through a relay of its own, with its own
  // randomness, so its stalls are independent of the primary's.
  ro.seed = o.seed * 2 + 1001;
  netem::NetemRelay sender_link_relay(ro);
  ro.seed = o.seed * 2 + 1002;
  netem::NetemRelay receiver_link_relay(ro);
  if (o.links > 1) {
    if (auto st = sender_link_relay.Start(); !st.ok()) return st;
    if (auto st = receiver_link_relay.Start(); !st.ok()) return st;
  }

  const std::string room = "timing-" + std::to_string(o.seed);
  const int64_t t0 = MonoUs();
  bridge::MidiLinkOptions receiver_link;
  receiver_link.output_lookahead_us = o.output_lookahead_us;
  Bot receiver("receiver", LocalClock{t0, -5000000, o.receiver_skew_ppm}, receiver_link);
  Bot sender("sender", LocalClock{t0, 123456789012, o.sender_skew_ppm});
  {
    auto res = Resource(server.key_dir(), receiver_relay.port(), "timing-receiver");
    if (!res.ok()) return res.status();
    if (o.links > 1) {
      const uint16_t port = receiver_link_relay.port();
      receiver.UseLink(port, [&server, port](const std::string& token) {
        return Resource(server.key_dir(), port, "timing-receiver", token);
      });
    }
    if (auto st = receiver.Connect(receiver_relay.port(), *res); !st.ok()) return st;
    receiver.JoinRoom(room);
    if (auto st = WaitJoined(receiver, 10000000); !st.ok()) return st;
    if (o.links > 1) {
      if (auto st = receiver.OpenLink(); !st.ok()) return st;
    }
  }
  {
    auto res = Resource(server.key_dir(), sender_relay.port(), "timing-sender");
    if (!res.ok()) return res.status();
    if (o.links > 1) {
      const uint16_t port = sender_link_relay.port();
      sender.UseLink(port, [&server, port](const std::string& token) {
        return Resource(server.key_dir(), port, "timing-sender", token);
      });
    }
    if (auto st = sender.Connect(sender_relay.port(), *res); !st.ok()) return st;
    sender.JoinRoom(room);
    if (auto st = WaitJoined(sender, 10000000); !st.ok()) return st;
    if (o.links > 1) {
      if (auto st = sender.OpenLink(); !st.ok()) return st;
    }
  }

  // The score, in the shared monotonic clock.
  const int64_t start = sender.connect_mono() + kMusicStartUs;
  std::vector<SourceGroup> stream = midi::timing::MixedPiece(start, o.music_us, o.seed);
  int64_t kill_mono = -1;
  if (o.kill_mid_chord) {
    const int64_t end = start + o.music_us + 500000;
    stream = midi::timing::Merge(
        stream, {{end, {midi::MakeControlChange(0, midi::kCcSustain, 127)}},
                 {end + 100000, {midi::MakeNoteOn(0, 60, 90), midi::MakeNoteOn(0, 64, 90)}},
                 {end + 110000, {midi::MakeNoteOn(0, 67, 90)}},
                 {end + 200000, {midi::MakeNoteOff(0, 64)}}});
    kill_mono = end + 150000;
  }
  const int64_t sender_end = kill_mono >= 0 ? kill_mono : start + o.music_us + 1000000;
  const int64_t receiver_end = sender_end + o.drain_us;

  // The receiver's record of what it heard. Batch k of the sender carries group k - 1: the
  // sender sends one batch per group, in order, and the server numbers them from 1.
  midi::timing::OnsetLog onsets;
  // The same onsets at the times the buffer scheduled them: separates what the estimator did
  // (target moves) from how late this machine woke the receiver thread.
  midi::timing::OnsetLog scheduled;
  size_t groups_sent = 0;
  for (size_t g = 0; g < stream.size(); ++g) {
    if (kill_mono >= 0 && stream[g].t_us >= kill_mono) break;
    int ons = 0;
    for (const ChannelMessage& m : stream[g].messages) ons += m.IsNoteOn() ? 1 : 0;
    onsets.Expect(static_cast<int>(g), stream[g].t_us, ons);
    scheduled.Expect(static_cast<int>(g), stream[g].t_us, ons);
    report.source_note_ons += static_cast<size_t>(ons);
    ++groups_sent;
  }

  std::atomic<bool> sender_done{false};
  uint64_t sender_errors = 0;
  uint64_t sender_batches = 0;
  std::thread sender_thread([&] {
    std::vector<Inbox::Item> items;
    size_t next = 0;
    while (MonoUs() < sender_end) {
      const int64_t cap = std::min({next < groups_sent ? stream[next].t_us : sender_end, sender_end,
                                    sender.next_clock_sample()});
      const bool closed = sender.Wait(cap, &items);
      LinkOutput out;
      for (const auto& item : items) sender.Handle(item, &out);
      const int64_t now = MonoUs();
      // Each group is stamped at its source time, as a MIDI driver would stamp a key press.
      while (next < groups_sent && stream[next].t_us <= now) {
        if (o.trace && now - stream[next].t_us > 2000) {
          std::fprintf(stderr, "trace: sender woke %.2f ms late for group %zu\n",
                       static_cast<double>(now - stream[next].t_us) / 1000, next);
        }
        sender.link().SendLocal(sender.clock().Local(stream[next].t_us), stream[next].messages,
                                sender.clock().Local(now), &out);
        ++next;
      }
      sender.Poll(&out);
      sender.SampleClock(now);
      if (closed) break;
    }
    // Killed: the process is gone as far as the network can tell.
    if (kill_mono >= 0) {
      sender_relay.Sever(0);
      if (o.links > 1) sender_link_relay.Sever(0);
    }
    sender_errors = sender.link().counters().errors;
    sender_batches = sender.link().counters().batches_sent;
    report.sender_unsynced_batches = sender.link().counters().unsynced_batches;
    sender.SummarizeClock(&report.sender.clock_p95_ms, &report.sender.clock_max_ms,
                          &report.sender.clock_at_1s_ms, &report.sender.clock_within_bound,
                          &report.sender.skew_error_ppm);
    sender_done.store(true);
  });

  midi::timing::SoundingModel synth;
  uint64_t sender_session = 0;
  std::map<uint64_t, int64_t> arrival_local;  // sequence -> when it reached the receiver
  double max_ahead_ms = 0;
  std::vector<double> wake_late_ms;
  std::vector<double> targets_ms;
  int64_t next_target_sample = MonoUs() + 1000000;
  absl::Status receiver_status;
  midi::SenderStats last_stats;
  {
    std::vector<Inbox::Item> items;
    while (MonoUs() < receiver_end) {
      const int64_t cap =
          std::min({receiver_end, receiver.next_clock_sample(), next_target_sample});
      const bool closed = receiver.Wait(cap, &items);
      LinkOutput out;
      for (const auto& item : items) {
        if (item.message.has_midi_message()) {
          const auto& m = item.message.midi_message();
          if (!(m.flags() & midi::kFlagSynthetic)) {
            sender_session = m.session_id();
            arrival_local[m.sequence()] = item.arrival_local_us;
            const size_t g = m.sequence() - 1;
            if (o.trace && g < groups_sent) {
              // Server time is the shared monotonic clock: each leg can be read off directly.
              const int64_t am = receiver.clock().Mono(item.arrival_local_us);
              std::fprintf(stderr,
                           "trace: batch %llu source->server %.2f ms, server->receiver %.2f ms, "
                           "stamp-source %.2f ms, flags %u\n",
                           static_cast<unsigned long long>(m.sequence()),
                           static_cast<double>(m.server_arrival_time() - stream[g].t_us) / 1000,
                           static_cast<double>(am - m.server_arrival_time()) / 1000,
                           static_cast<double>(m.timestamp() - stream[g].t_us) / 1000, m.flags());
            }
            onsets.Arrived(static_cast<int>(m.sequence()) - 1,
                           receiver.clock().Mono(item.arrival_local_us));
          }
        }
        receiver.Handle(item, &out);
      }
      receiver.Poll(&out);
      const int64_t now = MonoUs();
      for (const midi::PlayedEvent& ev : out.play) {
        synth.Apply(ev.message);
        if (ev.generated || ev.session_id != sender_session) continue;
        auto a = arrival_local.find(ev.sequence);
        if (a != arrival_local.end()) {
          max_ahead_ms =
              std::max(max_ahead_ms, static_cast<double>(ev.local_us - a->second) / 1000);
        }
        if (ev.message.IsNoteOn() && !(ev.flags & midi::kFlagSynthetic)) {
          const int64_t due = receiver.clock().Mono(ev.local_us);
          // Without a lookahead the output plays on arrival (when this thread woke); with one,
          // at the event's time unless it was handed over after it.
          const int64_t heard = o.output_lookahead_us > 0 ? std::max(now, due) : now;
          onsets.Played(static_cast<int>(ev.sequence) - 1, heard);
          scheduled.Played(static_cast<int>(ev.sequence) - 1, due);
          if (!ev.late) {
            wake_late_ms.push_back(static_cast<double>(std::max<int64_t>(0, now - due)) / 1000);
          }
        }
      }
      receiver.SampleClock(now);
      if (sender_session != 0) {
        // Kept as it was last seen: once the sender has left, the buffer forgets it.
        const midi::SenderStats st = receiver.link().buffer().Stats(sender_session);
        if (st.batches > 0) {
          if (last_stats.batches > 0 && st.playout_us != last_stats.playout_us) {
            ++report.target_moves;
          }
          last_stats = st;
        }
      }
      if (now >= next_target_sample) {
        next_target_sample = now + 1000000;
        const midi::SenderStats st = receiver.link().buffer().Stats(sender_session);
        if (sender_session != 0 && st.batches > 0) {
          targets_ms.push_back(static_cast<double>(st.target_us) / 1000);
        }
      }
      if (closed) {
        receiver_status = absl::UnavailableError("receiver lost its connection");
        break;
      }
    }
  }
  sender_thread.join();
  if (!receiver_status.ok()) return receiver_status;

  const bridge::LinkCounters& rc = receiver.link().counters();
  report.sender.targets_ms = targets_ms;
  midi::timing::SummarizeReceiver(last_stats, &report.sender);
  onsets.Summarize(&report.sender);
  report.sender.max_scheduled_ahead_ms = max_ahead_ms;
  {
    midi::timing::TimingFigures f;
    scheduled.Summarize(&f);
    report.scheduled_ioi_p95_ms = f.ioi_p95_ms;
    report.scheduled_ioi_p99_ms = f.ioi_p99_ms;
    report.wake_late_p50_ms = midi::timing::Percentile(wake_late_ms, 0.5);
    report.wake_late_p99_ms = midi::timing::Percentile(wake_late_ms, 0.99);
  }
  report.stalls_configured = o.path.stall_prob > 0 || o.external_loss;
  report.output_lookahead_us = o.output_lookahead_us;
  report.rest_jumps = last_stats.playout_rest_jumps;
  report.catch_ups = last_stats.playout_catch_ups;
  report.stall_lifts = last_stats.playout_stall_lifts;
  report.late_shortened = last_stats.late_shortened;
  receiver.SummarizeClock(&report.clock_p95_ms, &report.clock_max_ms, &report.clock_at_1s_ms,
                          &report.clock_within_bound, &report.skew_error_ppm);
  report.stuck_notes = synth.Sounding();
  report.buffer_idle = receiver.link().buffer().Idle();
  report.killed = kill_mono >= 0;
  report.synthetic_batches = rc.synthetic_batches;
  report.local_releases = rc.local_releases;
  report.gaps = rc.gaps;
  report.server_errors = rc.errors + sender_errors;
  if (sender_batches != groups_sent) {
    return absl::InternalError("sender sent " + std::to_string(sender_batches) + " batches for " +
                               std::to_string(groups_sent) + " groups");
  }
  const netem::RelayStats ss = sender_relay.stats();
  const netem::RelayStats rs = receiver_relay.stats();
  Legs(ss.up, &report.sender_up_p50_ms, &report.sender_up_p99_ms);
  Legs(rs.down, &report.receiver_down_p50_ms, &report.receiver_down_p99_ms);
  report.stalls = ss.up.stalls + ss.down.stalls + rs.up.stalls + rs.down.stalls;
  report.links = o.links;
  if (o.links > 1) {
    const netem::RelayStats sl = sender_link_relay.stats();
    const netem::RelayStats rl = receiver_link_relay.stats();
    report.stalls += sl.up.stalls + sl.down.stalls + rl.up.stalls + rl.down.stalls;
    report.first_from_primary = receiver.first_copies(0);
    report.first_from_link = receiver.first_copies(1);
    report.duplicates = receiver.duplicates();
  }
  if (server.Exited()) return absl::InternalError("tutti-server died:\n" + server.output());
  return report;
}

std::string DescribeReport(const HarnessReport& r) {
  std::string s;
  char buf[1024];
  std::snprintf(buf, sizeof(buf),
                "%s: receiver clock p95 %.2f ms (at 1 s %.2f ms, max %.2f), skew err %.2f ppm, "
                "stuck %d\n",
                r.name.c_str(), r.clock_p95_ms, r.clock_at_1s_ms, r.clock_max_ms, r.skew_error_ppm,
                r.stuck_notes);
  s += buf;
  s += "  sender 0: " + midi::timing::DescribeFigures(r.sender);
  std::snprintf(buf, sizeof(buf),
                "  path: relay hold sender->server p50 %.1f p99 %.1f ms, server->receiver p50 "
                "%.1f p99 %.1f ms, %llu stalls injected; sender sent %llu unsynced batches\n",
                r.sender_up_p50_ms, r.sender_up_p99_ms, r.receiver_down_p50_ms,
                r.receiver_down_p99_ms, static_cast<unsigned long long>(r.stalls),
                static_cast<unsigned long long>(r.sender_unsynced_batches));
  s += buf;
  if (r.links > 1) {
    std::snprintf(buf, sizeof(buf),
                  "  links: 2 connections per bot, each through its own relay; the receiver took "
                  "%llu room events first from its primary, %llu from its link, dropped %llu "
                  "copies\n",
                  static_cast<unsigned long long>(r.first_from_primary),
                  static_cast<unsigned long long>(r.first_from_link),
                  static_cast<unsigned long long>(r.duplicates));
    s += buf;
  }
  std::snprintf(buf, sizeof(buf),
                "  where IOI error comes from: as scheduled p95 %.2f p99 %.2f ms (%llu playout "
                "moves: %llu in rests, %llu catch-ups, %llu stall lifts); handed to the output "
                "after its time p50 %.2f p99 %.2f ms (lookahead %.1f ms); %llu late notes "
                "shortened\n",
                r.scheduled_ioi_p95_ms, r.scheduled_ioi_p99_ms,
                static_cast<unsigned long long>(r.target_moves),
                static_cast<unsigned long long>(r.rest_jumps),
                static_cast<unsigned long long>(r.catch_ups),
                static_cast<unsigned long long>(r.stall_lifts), r.wake_late_p50_ms,
                r.wake_late_p99_ms, static_cast<double>(r.output_lookahead_us) / 1000,
                static_cast<unsigned long long>(r.late_shortened));
  s += buf;
  std::snprintf(buf, sizeof(buf),
                "  notes: %zu note-ons sent, %zu received; %s synthetic note-off batches %llu, "
                "local fallback releases %llu, snapshot releases %llu, gaps %llu, server errors "
                "%llu, buffer %s\n",
                r.source_note_ons, r.sender.note_ons,
                r.killed ? "sender killed mid-chord with the pedal down;" : "",
                static_cast<unsigned long long>(r.synthetic_batches),
                static_cast<unsigned long long>(r.local_releases),
                static_cast<unsigned long long>(r.sender.stats.snapshot_releases),
                static_cast<unsigned long long>(r.gaps),
                static_cast<unsigned long long>(r.server_errors),
                r.buffer_idle ? "idle" : "NOT IDLE");
  s += buf;
  return s;
}

std::string CheckCorrectness(const HarnessReport& r) {
  std::string why;
  if (r.stuck_notes != 0) why += "stuck notes: " + std::to_string(r.stuck_notes) + "; ";
  if (!r.buffer_idle) why += "jitter buffer not idle at the end; ";
  if (r.sender.note_ons != r.source_note_ons) {
    why += "note-ons received " + std::to_string(r.sender.note_ons) + " of " +
           std::to_string(r.source_note_ons) + "; ";
  }
  // Under stalls (injected, or real loss's retransmissions) a note-on more than 300 ms late (the
  // grace window) is dropped by design.
  if (!r.stalls_configured && r.sender.stats.dropped_note_ons != 0) {
    why += "dropped note-ons: " + std::to_string(r.sender.stats.dropped_note_ons) + "; ";
  }
  if (r.killed && r.synthetic_batches == 0) why += "no synthetic note-offs for the killed sender; ";
  if (r.killed && r.local_releases != 0) {
    why += "the receiver had to release " + std::to_string(r.local_releases) +
           " events itself (synthetic note-offs did not cover them); ";
  }
  if (r.server_errors != 0) why += "server errors: " + std::to_string(r.server_errors) + "; ";
  if (r.gaps != 0) why += "sequence gaps: " + std::to_string(r.gaps) + "; ";
  return why;
}

}  // namespace tutti::harness
