// Dispatcher handlers for rooms: join by name, create, lobby, leave, the room list,
// room updates and snapshots. Run on the session's shard (the Dispatcher's); each
// admitted request is posted as values to the room's home shard, which answers back.
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "crypto/connect_payload.h"
#include "server/dispatcher.h"
#include "server/envelope.h"
#include "server/password.h"
#include "server/room.h"
#include "server/room_directory.h"
#include "server/room_list.h"
#include "server/shard.h"
#include "server/shard_gather.h"
#include "server/text.h"

namespace tutti::server {

// --- rooms ---------------------------------------------------------------------------------

JoinRequest Dispatcher::JoinRequestFor(Session& s, const std::string& rid) {
  JoinRequest j;
  j.session = s.id();
  j.user = s.user();
  j.server_admin = s.identity().is_admin;
  j.server_moderator = s.identity().is_moderator;
  j.request_id = rid;
  return j;
}

bool Dispatcher::AdmitJoin(Session& s, const RoomRequest& req, const std::string& rid) {
  Membership& membership = shard_->membership();
  switch (membership.CheckJoin(s, req.room_id, req.kind == RoomRequest::kLobby)) {
    case Membership::Admission::kJoinInFlight:
      Error(s, proto::WRONG_STATE, "a join is already in progress", rid);
      return false;
    case Membership::Admission::kAlreadyThere:
      Error(s, proto::WRONG_STATE, "already in this room", rid);
      return false;
    case Membership::Admission::kOk:
      break;
  }
  if (!s.join_bucket.TryTake(1, shard_->NowUs())) {
    RateLimited(s, metrics::RateBucket::kJoin, "too many room joins", rid);
    return false;
  }
  // From here until the room answers, another join is refused.
  membership.MarkJoining(s, req.room_id, rid);
  s.join_started_us = shard_->NowUs();
  return true;
}

void Dispatcher::SendJoin(RoomRequest req) {
  // The current room is left only once the new one has accepted (Shard::MemberJoined):
  // a refused join leaves the user where they were.
  const int home = shard_->cluster().RoomHomeIndex(req.room_id);
  shard_->OnShard(
      home, [req = std::move(req)](Shard& h) mutable { h.HandleRoomRequest(std::move(req)); });
}

bool Dispatcher::BeginJoin(Session& s, RoomRequest req, const std::string& rid) {
  if (!AdmitJoin(s, req, rid)) return false;
  SendJoin(std::move(req));
  return true;
}

void Dispatcher::OnJoinByName(Session& s, const std::string& name, const std::string& password,
                              const std::string& rid, bool create_if_missing) {
  const ServerConfig& cfg = shard_->cluster().config();
  RoomRequest req;
  req.room_id = CanonicalRoomId(name, cfg.max_room_name_length);
  if (req.room_id.empty()) return Error(s, proto::INVALID_PARAMETERS, "room name is empty", rid);
  if (password.size() > cfg.max_password_length) {
    return Error(s, proto::INVALID_PARAMETERS, "password is too long", rid);
  }
  if (int lobby = LobbyIndexOf(req.room_id); lobby > 0) {
    // Lobby names are reserved on every path: "Lobby" by name (join or create-or-join)
    // is a lobby join, never an ordinary owned room (which could then be locked).
    req.kind = RoomRequest::kLobby;
    req.lobby_index = lobby;
    req.join = JoinRequestFor(s, rid);
    BeginJoin(s, std::move(req), rid);
    return;
  }
  if (create_if_missing) {
    proto::CreateRoomCommand cmd;
    cmd.set_room_name(name);
    cmd.set_password(password);
    return OnCreate(s, cmd, rid, /*join_if_exists=*/true);  // no settings: the defaults
  }
  req.kind = RoomRequest::kJoin;
  req.password = password;
  req.join = JoinRequestFor(s, rid);
  BeginJoin(s, std::move(req), rid);
}

void Dispatcher::OnCreate(Session& s, const proto::CreateRoomCommand& cmd, const std::string& rid,
                          bool join_if_exists) {
  const ServerConfig& cfg = shard_->cluster().config();
  if (cmd.room_name().size() > cfg.max_room_name_length * 4) {
    return Error(s, proto::INVALID_PARAMETERS, "room name is too long", rid);
  }
  RoomRequest req;
  req.kind = join_if_exists ? RoomRequest::kCreateOrJoin : RoomRequest::kCreate;
  req.room_name = CleanName(cmd.room_name(), cfg.max_room_name_length);
  req.room_id = CanonicalRoomId(cmd.room_name(), cfg.max_room_name_length);
  if (req.room_id.empty()) return Error(s, proto::INVALID_PARAMETERS, "room name is empty", rid);
  if (LobbyIndexOf(req.room_id) > 0 && !join_if_exists) {
    return Error(s, proto::ALREADY_EXISTS, "lobby names are reserved", rid);
  }
  if (cmd.room_type() == proto::LOBBY) {
    return Error(s, proto::INVALID_PARAMETERS, "lobbies are created by the server", rid);
  }
  if (cmd.password().size() > cfg.max_password_length) {
    return Error(s, proto::INVALID_PARAMETERS, "password is too long", rid);
  }
  if (cmd.settings().max_users() < 0) {
    return Error(s, proto::INVALID_PARAMETERS, "max_users must not be negative", rid);
  }
  req.room_type = cmd.room_type();
  req.settings = cmd.settings();
  if (!cmd.has_settings()) {
    // No settings at all is "the usual room", not "every switch off" (proto3's defaults):
    // chat on and guests welcome, as in a lobby. Settings that are sent are taken as sent.
    req.settings.set_allow_chat(true);
    req.settings.set_allow_guests(true);
  }
  req.settings.set_welcome_message(
      CleanText(cmd.settings().welcome_message(), cfg.max_chat_length, true));
  req.password = cmd.password();
  req.join = JoinRequestFor(s, rid);
  if (cmd.password().empty()) {
    BeginJoin(s, std::move(req), rid);
    return;
  }
  // Admitted (rate limit, one join at a time) before the costly hash, so one client's
  // flood of password creates cannot fill the shared slow-work pool. Hash off the event
  // loop, then continue on this shard.
  if (!AdmitJoin(s, req, rid)) return;
  Shard* shard = shard_;
  SessionId id = s.id();
  auto shared = std::make_shared<RoomRequest>(std::move(req));
  bool queued = shard_->cluster().PostSlow([shard, id, shared, rid] {
    shared->password_hash = HashPassword(shared->password);
    shard->Post([shard, id, shared, rid] {
      Session* sess = shard->FindSession(id);
      if (!sess) return;  // gone before the room heard of it: nothing to undo
      if (shared->password_hash.empty()) {
        shard->membership().AbandonJoin(*sess);
        sess->Send(MakeFrame(MakeError(proto::INTERNAL_ERROR, "could not hash password", rid)),
                   false);
        return;
      }
      shard->dispatcher().SendJoin(std::move(*shared));
    });
  });
  if (!queued) {
    shard_->membership().AbandonJoin(s);
    RateLimited(s, metrics::RateBucket::kBusy, "server busy, try again", rid);
  }
}

void Dispatcher::OnLobby(Session& s, const std::string& rid) {
  RoomRequest req;
  req.kind = RoomRequest::kLobby;
  req.lobby_index = 1;
  req.room_id = CanonicalRoomId(LobbyName(1), 64);
  req.join = JoinRequestFor(s, rid);
  BeginJoin(s, std::move(req), rid);
}

void Dispatcher::OnLeave(Session& s, const std::string& rid) {
  if (s.room_id().empty()) return Error(s, proto::WRONG_STATE, "not in a room", rid);
  // Each leave tells the whole room; a leave/join loop must not become a room-wide flood.
  if (!s.leave_bucket.TryTake(1, shard_->NowUs())) {
    return RateLimited(s, metrics::RateBucket::kLeave, "too many leaves, slow down", rid);
  }
  const std::string room_id = shard_->membership().RequestLeave(s);
  shard_->OnRoom(room_id, [id = s.id(), rid](Room& r) { r.Leave(id, "left", rid); });
}

void Dispatcher::OnRoomList(Session& s, const std::string& rid) {
  if (!TakeRequest(s, rid)) return;
  // Every shard lists its rooms; the merge happens on the asking shard only. With rooms
  // across nodes, shard 0's room list adds the rooms that only other nodes list (this
  // node's objects' values stand for the rest, as in the live list).
  const size_t cap = shard_->cluster().config().room_list_limit;
  const bool other_nodes = shard_->broker() != nullptr && shard_->broker()->SpansNodes();
  auto answer = [id = s.id(), rid, cap](Shard& at, std::vector<proto::RoomInfo> rooms) {
    // The same order and cap as the live list (room_directory.h).
    SortAndCap(&rooms, cap);
    proto::ClientMessage msg;
    auto* list = msg.mutable_room_list();
    for (auto& r : rooms) *list->add_rooms() = std::move(r);
    msg.set_request_id(rid);
    StampType(&msg);
    at.SendToSession(id, MakeFrame(msg));
  };
  GatherFromShards<std::vector<proto::RoomInfo>>(
      *shard_, [](Shard& target) { return target.ListedRooms(); },
      [origin = shard_, other_nodes, answer](std::vector<std::vector<proto::RoomInfo>> parts) {
        std::vector<proto::RoomInfo> rooms;
        for (auto& part : parts) {
          for (auto& r : part) rooms.push_back(std::move(r));
        }
        if (!other_nodes) return answer(*origin, std::move(rooms));
        origin->OnShard(0, [answer, rooms = std::move(rooms)](Shard& zero) mutable {
          std::unordered_set<std::string> here;
          for (const proto::RoomInfo& r : rooms) here.insert(r.room_id());
          for (proto::RoomInfo& r : zero.cluster().room_list().merged().RemoteOnly()) {
            // A room just opened here may not have reached the room list yet.
            if (ListedInDirectory(r) && here.count(r.room_id()) == 0) rooms.push_back(std::move(r));
          }
          answer(zero, std::move(rooms));
        });
      });
}

void Dispatcher::OnUpdate(Session& s, const proto::UpdateRoomCommand& cmd, const std::string& rid) {
  if (s.room_id().empty()) return Error(s, proto::WRONG_STATE, "not in a room", rid);
  if (!TakeRequest(s, rid)) return;
  const ServerConfig& cfg = shard_->cluster().config();
  if (cmd.set_password() && cmd.password().size() > cfg.max_password_length) {
    return Error(s, proto::INVALID_PARAMETERS, "password is too long", rid);
  }
  proto::UpdateRoomCommand clean = cmd;
  if (clean.has_settings()) {
    clean.mutable_settings()->set_welcome_message(
        CleanText(cmd.settings().welcome_message(), cfg.max_chat_length, true));
  }
  Cluster& server = shard_->cluster();
  Shard* shard = shard_;
  SessionId id = s.id();
  // Runs on this shard, or on the slow-work pool after hashing (then it posts).
  auto post = [shard, room_id = s.room_id(), id, rid](proto::UpdateRoomCommand c,
                                                      std::string hash) {
    shard->OnRoom(room_id, [id, rid, c = std::move(c), hash = std::move(hash)](Room& r) {
      r.Update(id, c, hash, rid);
    });
  };
  if (!clean.set_password() || clean.password().empty()) return post(std::move(clean), "");
  auto shared = std::make_shared<proto::UpdateRoomCommand>(std::move(clean));
  bool queued = server.PostSlow([shared, post, shard, id, rid] {
    std::string hash = HashPassword(shared->password());
    shared->clear_password();
    if (hash.empty()) {
      // Never post an empty hash: it would clear the room's password.
      shard->Post([shard, id, rid] {
        shard->SendLocal(
            id, MakeFrame(MakeError(proto::INTERNAL_ERROR, "could not hash password", rid)));
      });
      return;
    }
    post(std::move(*shared), std::move(hash));
  });
  if (!queued) RateLimited(s, metrics::RateBucket::kBusy, "server busy, try again", rid);
}

void Dispatcher::OnSnapshot(Session& s, const std::string& epoch, const std::string& offset,
                            const std::string& rid) {
  if (s.room_id().empty()) return Error(s, proto::WRONG_STATE, "not in a room", rid);
  if (!TakeRequest(s, rid)) return;
  // With a position (both parameters), the missed events; otherwise a plain snapshot.
  std::optional<StreamPosition> since;
  if (!epoch.empty() || !offset.empty()) {
    uint64_t n = 0;
    if (epoch.empty() || epoch.size() > crypto::kMaxResumeEpochBytes ||
        !absl::SimpleAtoi(offset, &n)) {
      return Error(s, proto::INVALID_PARAMETERS,
                   "SYNC_STATE takes both epoch and offset (a non-negative integer), or neither",
                   rid);
    }
    since = StreamPosition{epoch, n};
  }
  shard_->OnRoom(s.room_id(), [id = s.id(), rid, since](Room& r) {
    if (since) {
      r.SendSince(id, *since, rid);
    } else {
      r.SendSnapshot(id, rid);
    }
  });
}

}  // namespace tutti::server
