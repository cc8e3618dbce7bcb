#include "server/room_list.h"

#include <chrono>
#include <utility>

#include "server/envelope.h"
#include "server/room.h"
#include "server/shard.h"

namespace tutti::server {

proto::ClientMessage DeltaMessage(proto::RoomListDelta delta) {
  proto::ClientMessage msg;
  *msg.mutable_room_list_delta() = std::move(delta);
  StampType(&msg);
  return msg;
}

// --- RoomListFeed (every shard) ----------------------------------------------------------

void RoomListFeed::MarkDirty(const std::string& room_id) {
  if (stopped_) return;
  dirty_.insert(room_id);
  if (flush_posted_) return;
  // Read the rooms after the current turn: a join or a command that changes a room
  // several times reports it once.
  flush_posted_ = true;
  shard_->Post([this] { Flush(); });
}

void RoomListFeed::Flush() {
  flush_posted_ = false;
  if (dirty_.empty()) return;
  std::vector<RoomReport> reports;
  reports.reserve(dirty_.size());
  for (const std::string& id : dirty_) {
    RoomReport r;
    r.room_id = id;
    if (const Room* room = shard_->FindRoom(id)) r.info = room->Info();
    reports.push_back(std::move(r));
  }
  dirty_.clear();
  shard_->OnShard(0, [reports = std::move(reports)](Shard& zero) mutable {
    zero.cluster().room_list().Report(std::move(reports));
  });
}

void RoomListFeed::Subscribe(SessionId session, const std::string& request_id) {
  // Subscribing again starts over with a new full list.
  subscribers_.Add(session);
  shard_->OnShard(0, [shard = shard_->index(), session, request_id](Shard& zero) {
    zero.cluster().room_list().SendFullList(shard, session, request_id);
  });
}

void RoomListFeed::Unsubscribe(SessionId session, const std::string& request_id) {
  subscribers_.Remove(session);
  proto::RoomListDelta last;
  last.set_unsubscribed(true);
  proto::ClientMessage msg = DeltaMessage(std::move(last));
  msg.set_request_id(request_id);
  shard_->SendLocal(session, MakeFrame(msg));
}

void RoomListFeed::DeliverFull(SessionId session, uint64_t version, const Frame& frame) {
  // Not sent when unsubscribed meanwhile, or when a newer subscribe waits for its own.
  if (!subscribers_.Start(session, version)) return;
  if (!shard_->FindSession(session)) {
    subscribers_.Remove(session);
    return;
  }
  shard_->SendLocal(session, frame);
}

void RoomListFeed::DeliverDelta(uint64_t from, uint64_t to, const Frame& frame) {
  // Only a subscriber holding exactly `from` gets it: one whose full list is still on
  // its way waits for the next one. A session that ended is forgotten here.
  subscribers_.Deliver(from, to, [this, &frame](SessionId id) {
    Session* s = shard_->FindSession(id);
    if (!s) return false;
    shard_->SendLocal(id, frame);
    return true;
  });
}

// --- RoomListService (shard 0) ------------------------------------------------------------

RoomListService::RoomListService(Shard* home)
    : home_(home), directory_(home->cluster().config().room_list_limit), timer_(home->io()) {}

void RoomListService::Report(std::vector<RoomReport> reports) {
  if (stopped_) return;
  for (RoomReport& r : reports) {
    if (bus_ != nullptr) unshared_.insert(r.room_id);
    merge_.SetLocal(r.room_id, std::move(r.info));
  }
  ApplyMerged();
}

void RoomListService::ApplyMerged() {
  for (const std::string& id : merge_.TakeChanged()) {
    if (const proto::RoomInfo* info = merge_.Merged(id)) {
      directory_.Apply(*info);
    } else {
      directory_.Remove(id);
    }
  }
  Arm();
}

void RoomListService::Arm() {
  if (armed_ || stopped_ || (!directory_.dirty() && unshared_.empty())) return;
  armed_ = true;
  timer_.expires_after(std::chrono::milliseconds(home_->cluster().config().room_list_delta_ms));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    armed_ = false;
    if (!ec) Publish();
  });
}

void RoomListService::Publish() {
  if (stopped_) return;
  ShareLocal();
  std::optional<proto::RoomListDelta> delta = directory_.TakeDelta();
  if (!delta) return;
  const uint64_t from = delta->from_version(), to = delta->version();
  // Serialized once; the same immutable Frame goes to every shard and subscriber.
  const Frame frame = MakeFrame(DeltaMessage(std::move(*delta)));
  Cluster& server = home_->cluster();
  for (int i = 0; i < server.shard_count(); ++i) {
    home_->OnShard(
        i, [from, to, frame](Shard& target) { target.room_feed().DeliverDelta(from, to, frame); });
  }
}

void RoomListService::SendFullList(int shard, SessionId session, const std::string& request_id) {
  proto::ClientMessage msg;
  *msg.mutable_room_list() = directory_.PublishedList();
  msg.set_request_id(request_id);
  StampType(&msg);
  const uint64_t version = directory_.version();
  const Frame frame = MakeFrame(msg);
  home_->OnShard(shard, [session, version, frame](Shard& target) {
    target.room_feed().DeliverFull(session, version, frame);
  });
}

void RoomListService::Stop() {
  stopped_ = true;
  timer_.cancel();
}

}  // namespace tutti::server
