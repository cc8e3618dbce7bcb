// Room fan-out: one relayed MIDI batch, from Room::Midi (stamping, serialize and frame
// once) through one DeliverToShard per shard with members to a push of the shared frame
// on every receiver's send queue, as the shard's local delivery does. The fake host stands
// in for the shards: cross-shard posts are not in this figure (the load test has them).
// BM_RoomFanoutMidiSessions hands the frame to a real Session per receiver
// (Session::Send: the outbound budget check and the metrics it counts, frames and bytes
// by kind) over a link that only counts bytes, as the shard's local delivery does; the
// room observes its fan-out histogram, as on its home shard.
#include <benchmark/benchmark.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "server/config.h"
#include "server/ids.h"
#include "server/metrics/labels.h"
#include "server/metrics/shard_histogram.h"
#include "server/room.h"
#include "server/session.h"

namespace tutti::server::store {
class Store;
}  // namespace tutti::server::store

namespace tutti {
namespace {

class CountingLink final : public server::SessionLink {
 public:
  size_t BufferedBytes() const override { return 0; }
  void Send(const server::Frame& frame) override { bytes += frame->wire_size(); }
  void Close(uint16_t, const std::string&) override {}
  const std::string& RemoteIp() const override { return ip_; }
  uint64_t bytes = 0;

 private:
  std::string ip_ = "127.0.0.1";
};

class FakeHost final : public server::RoomHost {
 public:
  struct Sink {
    server::SessionId id;
    std::deque<server::Frame> queue;  // like a connection's send queue
  };
  // `sessions`: deliver through a real Session per receiver instead of a bare queue.
  FakeHost(int shards, const server::ServerConfig* sessions = nullptr)
      : shards_(shards), session_config_(sessions) {}

  void AddSink(server::SessionId id) {
    if (session_config_ != nullptr) {
      crypto::Identity who;
      who.user_id = "u" + std::to_string(id);
      who.username = who.user_id;
      sessions_[server::ShardOfSession(id)].push_back(std::make_unique<server::Session>(
          id, who, std::make_unique<CountingLink>(), *session_config_, 0));
      // As the shard does: every send is counted in its (here, the host's) counters.
      sessions_[server::ShardOfSession(id)].back()->set_counters(&outbound_);
      return;
    }
    sinks_[server::ShardOfSession(id)].push_back(Sink{id, {}});
  }
  // The "write completed" step: every queued frame released.
  void DrainAll() {
    for (auto& shard : sinks_) {
      for (auto& s : shard) s.queue.clear();
    }
  }
  uint64_t delivered = 0;

  int64_t NowUs() override { return now_us_ += 10; }
  void DeliverToShard(int shard, const std::string&, const server::Frame& frame,
                      server::SessionId exclude, bool droppable) override {
    for (auto& s : sessions_[shard]) {
      if (s->id() == exclude) continue;
      if (s->Send(frame, droppable) == server::Session::SendResult::kQueued) ++delivered;
    }
    for (auto& s : sinks_[shard]) {
      if (s.id == exclude) continue;
      s.queue.push_back(frame);
      ++delivered;
    }
  }
  void SendToSession(server::SessionId, const server::Frame&) override {}
  void MemberJoined(server::SessionId, const std::string&, const server::Frame&) override {}
  void JoinFailed(server::SessionId, const std::string&, const server::Frame&) override {}
  void MemberLeft(server::SessionId, const std::string&, const server::Frame&) override {}
  void RoomEmpty(const std::string&) override {}
  server::metrics::ShardHistogram* midi_fanout() override {
    return session_config_ != nullptr ? &fanout_ : nullptr;
  }
  // Hooks that newer RoomHost versions declare (moderation and storage); harmless
  // extra methods where they do not exist, overrides where they do.
  int64_t UnixMs() { return 1'700'000'000'000; }
  bool Storage(std::function<void(server::store::Store&)>, std::function<void()>) { return false; }

 private:
  int shards_;
  int64_t now_us_ = 1'000'000'000;
  const server::ServerConfig* session_config_;
  server::metrics::OutboundCounters outbound_;
  server::metrics::ShardHistogram fanout_{server::metrics::kFanout};
  std::vector<Sink> sinks_[server::kMaxShards];
  std::vector<std::unique_ptr<server::Session>> sessions_[server::kMaxShards];
};

void RunFanout(benchmark::State& state, bool sessions) {
  const int members = static_cast<int>(state.range(0));
  const int shards = static_cast<int>(state.range(1));
  server::ServerConfig config;
  config.max_users_per_room = members;
  FakeHost host(shards, sessions ? &config : nullptr);
  proto::RoomSettings settings;
  settings.set_max_users(members);
  server::Room room("bench", "bench", proto::PUBLIC, settings, "", "", &config, &host);
  for (int i = 0; i < members; ++i) {
    server::JoinRequest j;
    j.session = server::MakeSessionId(static_cast<uint64_t>(i + 1), i % shards);
    j.user.set_user_id("u" + std::to_string(i));
    j.user.set_username("u" + std::to_string(i));
    j.user.set_session_id(j.session);
    j.server_admin = true;  // past any capacity check
    room.Join(j, true);
    host.AddSink(j.session);
  }
  host.DrainAll();
  const server::SessionId sender = server::MakeSessionId(1, 0);
  uint64_t seq = 0;
  host.delivered = 0;
  for (auto _ : state) {
    server::MidiRelay relay;
    relay.session = sender;
    relay.sequence = ++seq;
    relay.stamped_us = 1'000'000'000 + static_cast<int64_t>(seq);
    relay.arrival_us = relay.stamped_us + 50;
    const bool on = (seq & 1) != 0;
    relay.midi_data = on ? std::string("\x90\x3c\x60", 3) : std::string("\x80\x3c\x40", 3);
    midi::ChannelMessage m;
    (void)midi::ParseOneChannelMessage(relay.midi_data, &m);
    relay.parsed.push_back(m);
    room.Midi(std::move(relay));
    host.DrainAll();
  }
  state.SetItemsProcessed(static_cast<int64_t>(host.delivered));
  state.counters["receivers"] = members - 1;
}

void BM_RoomFanoutMidi(benchmark::State& state) { RunFanout(state, false); }
BENCHMARK(BM_RoomFanoutMidi)
    ->ArgNames({"members", "shards"})
    ->ArgsProduct({{10, 100, 1000}, {1, 2, 4}});

void BM_RoomFanoutMidiSessions(benchmark::State& state) { RunFanout(state, true); }
BENCHMARK(BM_RoomFanoutMidiSessions)
    ->ArgNames({"members", "shards"})
    ->ArgsProduct({{10, 100, 1000}, {1, 4}});

}  // namespace
}  // namespace tutti
