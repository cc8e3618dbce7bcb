// The live room list (SubscribeRoomList / UnsubscribeRoomList). Two halves:
//
// RoomListFeed, one per shard, on that shard's thread. Rooms homed on the shard report
// that they changed (MarkDirty, via RoomHost::RoomChanged); at the end of the current
// event-loop turn the feed reads each dirty room's RoomInfo (or notes it is gone) and
// sends the values to the RoomListService. The feed also holds the shard's subscribed
// sessions and delivers to them what the service publishes, tracking per subscriber
// the version it holds so that each gets the full list once and then every delta after
// it, in order, none twice.
//
// RoomListService, one per server, on shard 0's thread (owned by Server, like Social).
// It keeps the RoomDirectory, coalesces what the feeds report for room_list_delta_ms,
// then serializes one RoomListDelta into one Frame and posts that same Frame to every
// shard's feed (the fan-out rule: serialized once for all subscribers). It only ever
// sees RoomInfo values, so the other nodes report to it too: with a node bus
// (server/node_bus.h) it writes the rooms this node lists under the node's expiring keys
// and tells the other nodes at each coalesced delta, and takes their reports (NodeRooms,
// handed on by Social, which reads the bus); RoomListMerge makes one value per room of
// both (docs/SCALE-OUT.md, "Room list across nodes").
#ifndef TUTTI_SERVER_ROOM_LIST_H_
#define TUTTI_SERVER_ROOM_LIST_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "protos/tutti.pb.h"
#include "server/frame.h"
#include "server/ids.h"
#include "server/node_bus.h"
#include "server/room_directory.h"
#include "server/room_list_merge.h"

namespace tutti::server {

class Shard;

// One room's latest state as its home reports it: the info, or nothing when it is gone.
struct RoomReport {
  std::string room_id;
  std::optional<proto::RoomInfo> info;
};

// One shard's subscribers and the list version each holds. Pure bookkeeping, so the
// delivery rule is testable and benchmarkable without a shard.
class ListSubscribers {
 public:
  // A (re)subscribe: the session waits for its full list; deltas skip it meanwhile.
  void Add(SessionId session) { versions_[session] = std::nullopt; }
  bool Remove(SessionId session) { return versions_.erase(session) > 0; }
  // The full list at `version` arrived for `session`: true when it should be sent
  // (the session still waits for it).
  bool Start(SessionId session, uint64_t version) {
    auto it = versions_.find(session);
    if (it == versions_.end() || it->second.has_value()) return false;
    it->second = version;
    return true;
  }
  // Calls send(session) for every subscriber holding exactly `from` and moves it to
  // `to`; send returns false for a session that is gone, which is then forgotten.
  template <typename Send>
  void Deliver(uint64_t from, uint64_t to, Send&& send) {
    for (auto it = versions_.begin(); it != versions_.end();) {
      if (it->second == from) {
        if (!send(it->first)) {
          it = versions_.erase(it);
          continue;
        }
        it->second = to;
      }
      ++it;
    }
  }
  size_t size() const { return versions_.size(); }

 private:
  std::unordered_map<SessionId, std::optional<uint64_t>> versions_;
};

class RoomListFeed {
 public:
  explicit RoomListFeed(Shard* shard) : shard_(shard) {}

  // A room homed on this shard changed (or was removed).
  void MarkDirty(const std::string& room_id);

  // A session of this shard asks for the list; the full list comes from the service.
  void Subscribe(SessionId session, const std::string& request_id);
  // Answers RoomListDelta {unsubscribed: true}; nothing follows it.
  void Unsubscribe(SessionId session, const std::string& request_id);
  // The session's connection is gone (parked for a resume): it is no longer a subscriber.
  // True when it was one.
  bool Forget(SessionId session) { return subscribers_.Remove(session); }

  // From the service: the full list at `version` for one new subscriber.
  void DeliverFull(SessionId session, uint64_t version, const Frame& frame);
  // From the service: a delta from `from` to `to`, for every subscriber holding `from`.
  void DeliverDelta(uint64_t from, uint64_t to, const Frame& frame);

  size_t subscribers() const { return subscribers_.size(); }
  void Stop() { stopped_ = true; }

 private:
  void Flush();

  Shard* const shard_;
  std::unordered_set<std::string> dirty_;
  bool flush_posted_ = false;
  bool stopped_ = false;
  ListSubscribers subscribers_;
};

class RoomListService final : public NodeRooms {
 public:
  // `home` is shard 0: every method runs on its thread.
  explicit RoomListService(Shard* home);

  // Shares this node's listed rooms with the other nodes (before the shard threads run;
  // null: this node alone); `published` runs for each message it puts on the bus (the
  // node's count of them).
  void AttachBus(NodeBus* bus, std::function<void()> published) {
    bus_ = bus;
    published_ = std::move(published);
  }

  void Report(std::vector<RoomReport> reports);
  // Sends the published list to `session` through its shard's feed.
  void SendFullList(int shard, SessionId session, const std::string& request_id);
  void Stop();

  // NodeRooms: the other nodes' rooms, from the bus.
  void NodeRoomsChanged(const std::string& node, const std::vector<proto::BusRoom>& rooms) override;
  void NodeRoomsView(
      const std::unordered_map<std::string, std::vector<proto::RoomInfo>>& by_node) override;
  void NodeRoomsGone(const std::string& node) override;

  const RoomDirectory& directory() const { return directory_; }
  const RoomListMerge& merged() const { return merge_; }

 private:
  void Arm();
  void Publish();
  // Hands the rooms whose merged value may have changed to the directory.
  void ApplyMerged();
  // Writes this node's changed listings to the bus and tells the other nodes.
  void ShareLocal();

  Shard* const home_;
  NodeBus* bus_ = nullptr;
  std::function<void()> published_;
  RoomListMerge merge_;
  // This node's rooms reported since the last share, and what was shared of each listed
  // one (its RoomInfo bytes).
  std::unordered_set<std::string> unshared_;
  std::unordered_map<std::string, std::string> shared_;
  RoomDirectory directory_;
  boost::asio::steady_timer timer_;
  bool armed_ = false;
  bool stopped_ = false;
};

// The ClientMessage a delta goes out as (serialized once by the caller).
proto::ClientMessage DeltaMessage(proto::RoomListDelta delta);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_ROOM_LIST_H_
