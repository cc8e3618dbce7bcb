// The live room list's cost per delta (docs/PERFORMANCE.md): 100 room changes a second
// coalesced over room_list_delta_ms (250 ms: 25 changes a delta, 4 deltas a second), then
// one RoomListDelta serialized once and pushed to 1,000 subscribed sessions. Real code
// throughout: RoomDirectory (apply, coalesce, diff against the published list),
// DeltaMessage + MakeFrame (the one serialization), ListSubscribers::Deliver and
// Session::Send to 1,000 real Sessions whose link only counts what it is handed. Not in
// the figure: the cross-shard posts (one per shard per delta) and the socket writes.
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "server/config.h"
#include "server/room_directory.h"
#include "server/room_list.h"
#include "server/session.h"

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

proto::RoomInfo MakeRoom(int i, int users) {
  proto::RoomInfo r;
  r.set_room_id("room " + std::to_string(i));
  r.set_room_name("Room " + std::to_string(i));
  r.set_owner_id("u-owner-" + std::to_string(i));
  r.set_user_count(users);
  r.mutable_settings()->set_max_users(16);
  r.mutable_settings()->set_allow_chat(true);
  r.set_topic("a topic of a usual length for room " + std::to_string(i));
  return r;
}

// state.range(0): subscribers; range(1): room changes per delta; range(2): rooms listed.
void BM_RoomListDelta(benchmark::State& state) {
  const int subscribers = static_cast<int>(state.range(0));
  const int changes = static_cast<int>(state.range(1));
  const int rooms = static_cast<int>(state.range(2));
  server::ServerConfig config;
  server::RoomDirectory dir(config.room_list_limit);
  std::vector<proto::RoomInfo> current;
  for (int i = 0; i < rooms; ++i) {
    current.push_back(MakeRoom(i, 1 + i % 16));
    dir.Apply(current.back());
  }
  dir.TakeDelta();
  std::vector<std::unique_ptr<server::Session>> sessions;
  std::vector<CountingLink*> links;
  server::ListSubscribers subs;
  for (int i = 0; i < subscribers; ++i) {
    auto link = std::make_unique<CountingLink>();
    links.push_back(link.get());
    crypto::Identity id;
    id.user_id = "u-" + std::to_string(i);
    id.username = id.user_id;
    sessions.push_back(std::make_unique<server::Session>(static_cast<server::SessionId>(i), id,
                                                         std::move(link), config, 0));
    subs.Add(static_cast<server::SessionId>(i));
    subs.Start(static_cast<server::SessionId>(i), dir.version());
  }
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> pick(0, rooms - 1);
  uint64_t deltas = 0, sends = 0;
  for (auto _ : state) {
    for (int c = 0; c < changes; ++c) {
      proto::RoomInfo& r = current[static_cast<size_t>(pick(rng))];
      r.set_user_count(1 + (r.user_count() % 16));  // someone joined or left
      dir.Apply(r);
    }
    auto delta = dir.TakeDelta();
    if (!delta) continue;
    const uint64_t from = delta->from_version(), to = delta->version();
    const server::Frame frame = server::MakeFrame(server::DeltaMessage(std::move(*delta)));
    subs.Deliver(from, to, [&](server::SessionId id) {
      sessions[static_cast<size_t>(id)]->Send(frame, false);
      ++sends;
      return true;
    });
    ++deltas;
  }
  state.counters["deltas"] = static_cast<double>(deltas);
  state.counters["sends_per_delta"] =
      deltas ? static_cast<double>(sends) / static_cast<double>(deltas) : 0;
  uint64_t bytes = 0;
  for (CountingLink* l : links) bytes += l->bytes;
  state.counters["bytes_per_send"] =
      sends ? static_cast<double>(bytes) / static_cast<double>(sends) : 0;
}
// 1,000 subscribers, 100 changes/s at 4 deltas/s = 25 changes a delta, 200 listed rooms;
// then a busier list (2,000 rooms, past the 500 cap).
BENCHMARK(BM_RoomListDelta)
    ->Args({1000, 25, 200})
    ->Args({1000, 25, 2000})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tutti
