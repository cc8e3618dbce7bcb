// The room-home half of a shard (shard.h): the rooms it is home to, how a join reaches
// one of them (a lobby opened on demand or walked past when full, a room created or
// restored, a password checked off the shard's thread) and how an emptied room goes.
// Across nodes a room with no object here is first looked up in the store (on the
// storage thread): another node may have registered it since this one started.
// The session half of a join (which room a session is in or joining) is Membership's
// (membership.h); a request arrives here by value from the session's shard, and the
// answer goes back through the room's RoomHost calls (MemberJoined / JoinFailed).
// Runs on the shard's own thread, like the rest of Shard.
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "server/envelope.h"
#include "server/password.h"
#include "server/shard.h"
#include "server/store/store.h"
#include "server/text.h"

namespace tutti::server {

Room* Shard::FindRoom(const std::string& room_id) {
  auto it = rooms_.find(room_id);
  return it == rooms_.end() ? nullptr : it->second.get();
}

std::vector<proto::RoomInfo> Shard::ListedRooms() const {
  std::vector<proto::RoomInfo> out;
  for (const auto& [id, room] : rooms_) {
    proto::RoomInfo info = room->Info();
    if (info.room_type() != proto::PRIVATE) out.push_back(std::move(info));
  }
  return out;
}

void Shard::HandleRoomRequest(RoomRequest req) {
  auto fail = [&](proto::ErrorCode code, const std::string& text) {
    JoinFailed(req.join.session, req.room_id,
               MakeFrame(MakeError(code, text, req.join.request_id)));
  };
  const bool staff = req.join.server_admin || req.join.server_moderator;
  auto probing = probing_rooms_.find(req.room_id);
  if (probing != probing_rooms_.end()) {
    // Its object does not know yet whether the room exists (OpenToJoin): after it.
    probing->second.push_back(std::move(req));
    return;
  }
  Room* room = FindRoom(req.room_id);
  if (room != nullptr && closing_.count(room) > 0 && room->empty()) {
    // Its last member left and its removal is still queued behind this request: the room
    // is gone, so this join opens a new one (a new stream epoch), as it would a moment later.
    CloseEmptied(rooms_.find(req.room_id));
    room = nullptr;
  }
  if (req.kind != RoomRequest::kCreate && req.kind != RoomRequest::kLobby &&
      LobbyIndexOf(req.room_id) > 0) {
    // Lobby names are reserved: joining "Lobby 3" by name (or create-or-join) opens it on
    // demand, or walks on to the next with room, as JoinNextAvailableLobby would.
    req.kind = RoomRequest::kLobby;
    req.lobby_index = LobbyIndexOf(req.room_id);
  }
  if (room == nullptr && req.kind != RoomRequest::kLobby && !req.store_checked &&
      broker_->SpansNodes()) {
    // Another node may have registered the room since this one restored its rooms at
    // start: the shared store, not a fresh object, is the room then.
    return LoadStoredRoom(std::move(req));
  }
  switch (req.kind) {
    case RoomRequest::kLobby: {
      if (!room) {
        if (!cluster_->ReserveRoom())
          return fail(proto::LIMIT_REACHED, "no room for another lobby");
        proto::RoomSettings lobby;
        lobby.set_allow_chat(true);
        lobby.set_allow_guests(true);
        auto created = std::make_unique<Room>(req.room_id, LobbyName(req.lobby_index), proto::LOBBY,
                                              lobby, "", "", &cluster_->config(), this);
        room = created.get();
        rooms_.emplace(req.room_id, std::move(created));
      }
      if (room->full()) {
        // Lobby k is full: the request walks on to lobby k+1 on its own home shard.
        req.lobby_index += 1;
        req.room_id = CanonicalRoomId(LobbyName(req.lobby_index), 64);
        // Queued even when the next lobby is homed here: a walk along many full lobbies
        // must not become a deep recursion.
        const int next = cluster_->RoomHomeIndex(req.room_id);
        OnShard(
            next,
            [req = std::move(req)](Shard& home) mutable { home.HandleRoomRequest(std::move(req)); },
            Hop::kQueued);
        return;
      }
      room->Join(req.join, true);
      return;
    }
    case RoomRequest::kCreate:
    case RoomRequest::kCreateOrJoin:
      if (!room) return CreateRoom(std::move(req));
      if (req.kind == RoomRequest::kCreate)
        return fail(proto::ALREADY_EXISTS, "a room with that name exists");
      [[fallthrough]];
    case RoomRequest::kJoin: {
      // Across nodes the room may have members on other nodes only: an object opened
      // here learns it from what is kept (the join goes on as a join there, or answers
      // NOT_FOUND).
      if (!room && broker_->SpansNodes()) return OpenToJoin(std::move(req));
      if (!room) return fail(proto::NOT_FOUND, "no such room");
      // Across nodes the room may yet take another node's password while this join is on
      // its way (Room::RejoinExisting's case): the typed one is kept, with the hash it is
      // checked against.
      if (broker_->SpansNodes()) {
        req.join.password = req.password;
        req.join.checked_hash = room->password_hash();
      }
      // Staff are not asked for the password: the room records that they passed it.
      if (!room->has_password() || staff) return room->Join(req.join, !room->has_password());
      if (req.password.empty()) return fail(proto::WRONG_PASSWORD, "this room needs a password");
      std::string hash = room->password_hash();
      std::string password = std::move(req.password);
      req.password.clear();
      auto shared = std::make_shared<RoomRequest>(std::move(req));
      bool queued = cluster_->PostSlow([this, shared, hash, password] {
        bool ok = VerifyPassword(hash, password);
        Post([this, shared, ok] { ContinueJoin(std::move(*shared), ok); });
      });
      if (!queued) {
        counters_.rate_limited.Add(metrics::RateBucket::kBusy);
        JoinFailed(shared->join.session, shared->room_id,
                   MakeFrame(MakeError(proto::RATE_LIMITED, "server busy, try again",
                                       shared->join.request_id)));
      }
      return;
    }
  }
}

void Shard::ContinueJoin(RoomRequest req, bool password_ok) {
  Room* room = FindRoom(req.room_id);
  if (!room) {
    JoinFailed(req.join.session, req.room_id,
               MakeFrame(MakeError(proto::NOT_FOUND, "no such room", req.join.request_id)));
    return;
  }
  room->Join(req.join, password_ok);
}

void Shard::CreateRoom(RoomRequest req) {
  if (!cluster_->ReserveRoom()) {
    JoinFailed(req.join.session, req.room_id,
               MakeFrame(MakeError(proto::LIMIT_REACHED, "the server has too many rooms",
                                   req.join.request_id)));
    return;
  }
  if (req.settings.persistent() && req.join.user.is_guest()) {
    cluster_->ReleaseRoom();
    JoinFailed(req.join.session, req.room_id,
               MakeFrame(MakeError(proto::PERMISSION_DENIED, "guests cannot register rooms",
                                   req.join.request_id)));
    return;
  }
  if (broker_->SpansNodes()) {
    // The room may exist on another node, which this one learns only once the new room
    // object has read what is kept of it (Room::RejoinExisting's case).
    req.join.opened_room = true;
    req.join.create_only = req.kind == RoomRequest::kCreate;
    req.join.password = req.password;
  }
  auto room =
      std::make_unique<Room>(req.room_id, req.room_name, req.room_type, req.settings,
                             req.password_hash, req.join.user.user_id(), &cluster_->config(), this);
  Room* r = room.get();
  rooms_.emplace(req.room_id, std::move(room));
  if (!req.settings.persistent()) return r->Join(req.join, true);
  // A registered room exists durably before its creator is told it does.
  auto saved = std::make_shared<absl::Status>();
  std::string room_id = req.room_id;
  JoinRequest join = req.join;
  bool queued =
      Storage([record = r->Record(), saved](store::Store& st) { *saved = st.SaveRoom(record); },
              [this, saved, room_id, join] {
                Room* created = FindRoom(room_id);
                if (!created) return;
                if (!saved->ok()) {
                  JoinFailed(join.session, room_id,
                             MakeFrame(MakeError(proto::INTERNAL_ERROR, "room could not be saved",
                                                 join.request_id)));
                  return;
                }
                created->Join(join, true);
              });
  if (!queued) {
    counters_.rate_limited.Add(metrics::RateBucket::kBusy);
    JoinFailed(
        req.join.session, req.room_id,
        MakeFrame(MakeError(proto::RATE_LIMITED, "server busy, try again", req.join.request_id)));
  }
}

void Shard::OpenToJoin(RoomRequest req) {
  if (!cluster_->ReserveRoom()) {
    JoinFailed(req.join.session, req.room_id,
               MakeFrame(MakeError(proto::LIMIT_REACHED, "the server has too many rooms",
                                   req.join.request_id)));
    return;
  }
  // The join runs only once the object has read what is kept, and only when another node
  // has the room, whose state it takes.
  req.join.opened_room = true;
  req.join.join_only = true;
  req.join.password = req.password;
  OpenProbe(req.room_id, req.room_name.empty() ? req.room_id : req.room_name)
      ->Join(req.join, false);
}

Room* Shard::OpenProbe(const std::string& room_id, const std::string& name) {
  // Placeholder settings and no owner until the object has read what is kept.
  auto room = std::make_unique<Room>(room_id, name, proto::PUBLIC, proto::RoomSettings(), "", "",
                                     &cluster_->config(), this);
  Room* r = room.get();
  r->MarkProbe();
  rooms_.emplace(room_id, std::move(room));
  probing_rooms_[room_id];
  return r;
}

void Shard::ProbeSettled(const std::string& room_id) {
  auto node = probing_rooms_.extract(room_id);
  if (node.empty() || node.mapped().empty()) return;
  // Queued behind what the probe's own join posts or marks (its rejoin of the room found
  // on another node, or its object's closing): the requests then find the room as kept,
  // or no room and create it.
  Post([this, waiting = std::move(node.mapped())]() mutable {
    for (RoomRequest& r : waiting) HandleRoomRequest(std::move(r));
  });
}

void Shard::RestoreRoom(store::RoomRecord record, std::vector<store::RoomBanRecord> bans) {
  proto::RoomSettings settings;
  if (!settings.ParseFromString(record.settings)) {
    std::fprintf(stderr, "tutti: room %s: unreadable saved settings, using defaults\n",
                 record.room_id.c_str());
  }
  settings.set_persistent(true);
  auto type = proto::RoomType_IsValid(record.type) ? static_cast<proto::RoomType>(record.type)
                                                   : proto::PUBLIC;
  auto room =
      std::make_unique<Room>(record.room_id, record.name, type, settings, record.password_hash,
                             record.owner_id, &cluster_->config(), this);
  room->Restore(record, bans);
  hooks_->RoomChanged(record.room_id);  // an empty registered room is listed too
  rooms_.emplace(record.room_id, std::move(room));
}

void Shard::LoadStoredRoom(RoomRequest req) {
  const std::string room_id = req.room_id;
  std::vector<RoomRequest>& waiting = loading_rooms_[room_id];
  waiting.push_back(std::move(req));
  if (waiting.size() > 1) return;  // one read per room: its answer serves every request
  struct Loaded {
    absl::Status status;
    store::RoomRecord record;
    std::vector<store::RoomBanRecord> bans;
  };
  auto loaded = std::make_shared<Loaded>();
  const int64_t now_ms = UnixMs();
  const bool queued = Storage(
      [room_id, now_ms, loaded](store::Store& st) {
        auto record = st.LoadRoom(room_id);
        if (!record.ok()) {
          loaded->status = record.status();
          return;
        }
        auto bans = st.ListRoomBans(room_id, now_ms);
        if (!bans.ok()) {
          loaded->status = bans.status();
          return;
        }
        loaded->record = std::move(*record);
        loaded->bans = std::move(*bans);
      },
      [this, room_id, loaded] {
        StoredRoomLoaded(room_id, loaded->status, std::move(loaded->record),
                         std::move(loaded->bans));
      });
  if (!queued) {
    StoredRoomLoaded(room_id, absl::ResourceExhaustedError("storage queue full"), {}, {});
  }
}

void Shard::StoredRoomLoaded(const std::string& room_id, const absl::Status& status,
                             store::RoomRecord record, std::vector<store::RoomBanRecord> bans) {
  auto node = loading_rooms_.extract(room_id);
  if (node.empty()) return;
  std::vector<RoomRequest> waiting = std::move(node.mapped());
  auto fail_all = [&](proto::ErrorCode code, const std::string& text) {
    for (const RoomRequest& r : waiting) {
      JoinFailed(r.join.session, r.room_id, MakeFrame(MakeError(code, text, r.join.request_id)));
    }
  };
  if (absl::IsResourceExhausted(status)) {
    counters_.rate_limited.Add(metrics::RateBucket::kBusy);
    return fail_all(proto::RATE_LIMITED, "server busy, try again");
  }
  if (!status.ok() && !absl::IsNotFound(status)) {
    // Not knowing whether the room is registered, a fresh room of the same name could
    // hide it (and a create would overwrite its record): refused until the store answers.
    return fail_all(proto::INTERNAL_ERROR, "storage error, try again later");
  }
  if (status.ok() && FindRoom(room_id) == nullptr) {
    if (!cluster_->ReserveRoom()) {
      return fail_all(proto::LIMIT_REACHED, "the server has too many rooms");
    }
    RestoreRoom(std::move(record), std::move(bans));
  }
  // In their order: the first may create the room (nothing registered), the rest join it.
  for (RoomRequest& r : waiting) {
    r.store_checked = true;
    HandleRoomRequest(std::move(r));
  }
}

bool Shard::RejoinExisting(const std::string& room_id, const JoinRequest& join) {
  if (join.create_only) {
    JoinFailed(join.session, room_id,
               MakeFrame(MakeError(proto::ALREADY_EXISTS, "a room with that name exists",
                                   join.request_id)));
    return true;
  }
  RoomRequest req;
  req.kind = RoomRequest::kJoin;
  req.room_id = room_id;
  req.password = join.password;
  req.join = join;
  req.join.opened_room = false;
  req.join.join_only = false;
  req.join.password.clear();
  req.join.checked_hash.reset();
  // Queued: the room is inside its join loop.
  Post([this, req = std::move(req)]() mutable { HandleRoomRequest(std::move(req)); });
  return true;
}

bool Shard::WalkOnFromLobby(const std::string& room_id, const JoinRequest& req) {
  const int index = LobbyIndexOf(room_id);
  if (index <= 0) return false;
  RoomRequest next;
  next.kind = RoomRequest::kLobby;
  next.lobby_index = index + 1;
  next.room_id = CanonicalRoomId(LobbyName(next.lobby_index), 64);
  next.join = req;
  OnShard(
      cluster_->RoomHomeIndex(next.room_id),
      [next = std::move(next)](Shard& home) mutable { home.HandleRoomRequest(std::move(next)); },
      Hop::kQueued);
  return true;
}

void Shard::RoomEmpty(const std::string& room_id) {
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) return;
  const Room* room = it->second.get();
  closing_.insert(room);
  // Deferred: the room is still on the call stack. A join posted from another thread can
  // be queued before this (the member's shard told the member it left while this shard
  // was still in the leave): HandleRoomRequest closes the room first then (CloseEmptied).
  Post([this, room_id, room] {
    if (closing_.erase(room) == 0) return;  // closed already, by a join
    auto at = rooms_.find(room_id);
    if (at != rooms_.end() && at->second.get() == room && room->empty()) CloseEmptied(at);
  });
}

void Shard::CloseEmptied(std::unordered_map<std::string, std::unique_ptr<Room>>::iterator it) {
  const std::string room_id = it->first;
  ProbeSettled(room_id);  // nothing waits for an object that is gone
  closing_.erase(it->second.get());
  rooms_.erase(it);
  cluster_->ReleaseRoom();
  hooks_->RoomChanged(room_id);  // gone from the list
}

}  // namespace tutti::server
