#include "server/dispatcher.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/arena.h>

#include "server/broker_select.h"
#include "server/command_target.h"
#include "server/envelope.h"
#include "server/maintenance_command.h"
#include "server/midi_intake.h"
#include "server/moderation/ban_list.h"
#include "server/moderation/permissions.h"
#include "server/password.h"
#include "server/resume_tokens.h"
#include "server/room.h"
#include "server/room_directory.h"
#include "server/room_info_request.h"
#include "server/room_list.h"
#include "server/server_command_params.h"
#include "server/shard.h"
#include "server/social.h"
#include "server/store/client_text.h"
#include "server/text.h"
#include "server/token_refresh.h"
#include "server/version.h"

namespace tutti::server {

Dispatcher::Dispatcher(Shard* shard) : shard_(shard) {}

void Dispatcher::Reply(Session& s, proto::ClientMessage msg, const std::string& request_id) {
  msg.set_request_id(request_id);
  StampType(&msg);
  s.Send(MakeFrame(msg), false);
}

void Dispatcher::Error(Session& s, proto::ErrorCode code, const std::string& text,
                       const std::string& request_id) {
  shard_->mutable_counters().errors.Add(code);  // fixed slots: no allocation
  s.Send(MakeFrame(MakeError(code, text, request_id)), false);
}

void Dispatcher::Malformed(Session& s, const std::string& why, const std::string& rid) {
  ++shard_->mutable_counters().malformed;
  // Garbage costs the sender: a few mistakes are answered, a stream of them is closed.
  if (++s.malformed_strikes >= shard_->cluster().config().malformed_strikes) {
    s.Close(kClosePolicy, "too many malformed messages");
    return;
  }
  Error(s, proto::MALFORMED_MESSAGE, why, rid);
}

bool Dispatcher::TakeRequest(Session& s, const std::string& rid) {
  if (s.request_bucket.TryTake(1, shard_->NowUs())) return true;
  RateLimited(s, metrics::RateBucket::kRequest, "too many requests", rid);
  return false;
}

void Dispatcher::RateLimited(Session& s, metrics::RateBucket bucket, const std::string& text,
                             const std::string& rid) {
  shard_->mutable_counters().rate_limited.Add(bucket);
  Error(s, proto::RATE_LIMITED, text, rid);
}

void Dispatcher::SendWelcome(Session& s) {
  const ServerConfig& cfg = shard_->cluster().config();
  proto::ClientMessage msg;
  auto* w = msg.mutable_welcome();
  *w->mutable_user() = s.user();
  w->set_server_time(shard_->NowUs());
  w->set_unix_time_ms(shard_->cluster().clock().UnixMs());
  if (!s.identity().is_guest) {
    w->set_session_expires_unix_ms(
        SessionCloseAtMs(s.identity().token_exp_s, shard_->cluster().config().token_leeway_s));
  }
  if (cfg.resume_grace_ms > 0) {
    // Rotated: a resumed session's new Welcome carries a new token, the old one is spent.
    std::string token = shard_->cluster().resume_tokens().Issue(s.user().user_id(), s.id());
    // Rooms across nodes: what a resume on another node needs goes to Redis.
    if (Broker* b = shard_->broker(); b != nullptr && b->SharesResume()) {
      s.shared_resume_key = ResumeTokens::SharedKey(token);
      shard_->ShareResume(s, /*create=*/true);
    }
    w->set_resume_token(std::move(token));
    w->set_resume_token_ttl_ms(static_cast<uint32_t>(cfg.resume_grace_ms));
  }
  w->set_server_version(kServerVersion);
  w->set_shard(static_cast<uint32_t>(shard_->index()));
  auto* l = w->mutable_limits();
  l->set_max_frame_bytes(static_cast<uint32_t>(cfg.max_frame_bytes));
  l->set_max_chat_length(static_cast<uint32_t>(cfg.max_chat_length));
  l->set_chat_messages_per_second(cfg.chat_per_second);
  l->set_chat_burst(static_cast<uint32_t>(cfg.chat_burst));
  l->set_notes_per_second(cfg.notes_per_second);
  l->set_note_burst(static_cast<uint32_t>(cfg.note_burst));
  l->set_joins_per_second(cfg.joins_per_second);
  l->set_join_burst(static_cast<uint32_t>(cfg.join_burst));
  l->set_idle_timeout_ms(static_cast<uint32_t>(cfg.idle_timeout_ms));
  l->set_heartbeat_interval_ms(static_cast<uint32_t>(cfg.heartbeat_interval_ms));
  l->set_max_users_per_room(static_cast<uint32_t>(cfg.max_users_per_room));
  l->set_max_events_per_midi_message(static_cast<uint32_t>(cfg.max_midi_messages));
  Reply(s, std::move(msg), "");
  // Rooms across nodes, Redis unreachable now: said at once, not only at the next change.
  if (const Broker* b = shard_->broker(); b != nullptr && !b->Available()) {
    s.Send(StreamsNoticeFrame(false), false);
  }
}

void Dispatcher::Handle(Session& s, const std::string& payload, bool binary, int64_t arrival_us) {
  s.last_activity_us = arrival_us;
  Shard::Counters& counters = shard_->mutable_counters();
  if (!binary) {
    counters.frames_in_by_kind.Add(0);
    counters.bytes_in_by_kind.Add(0, payload.size());
    return Malformed(s, "binary protobuf frames only");
  }
  // Decoding into a stack-backed arena: no heap allocation for ordinary messages.
  alignas(16) char block[4096];
  google::protobuf::ArenaOptions options;
  options.initial_block = block;
  options.initial_block_size = sizeof(block);
  google::protobuf::Arena arena(options);
  auto* msg = google::protobuf::Arena::CreateMessage<proto::ServerMessage>(&arena);
  const bool parsed = msg->ParseFromString(payload);
  // By kind (0: undecodable), in fixed slots: no allocation.
  const int kind = parsed ? static_cast<int>(msg->message_case()) : 0;
  counters.frames_in_by_kind.Add(kind);
  counters.bytes_in_by_kind.Add(kind, payload.size());
  if (!parsed) return Malformed(s, "not a ServerMessage");
  if (!TypeMatches(*msg)) {
    return Malformed(s, "message_type does not match the message", msg->request_id());
  }
  if (msg->request_id().size() > shard_->cluster().config().max_request_id_length) {
    return Error(s, proto::INVALID_PARAMETERS, "request_id is too long", "");
  }
  Dispatch(s, *msg, arrival_us);
}

namespace {

// What publishes a room event, so needs the room's sequencer (Redis with --redis).
bool PublishesRoomEvent(proto::ServerMessage::MessageCase c) {
  using M = proto::ServerMessage;
  switch (c) {
    case M::kMidiMessage:
    case M::kRoomChatMessage:
    case M::kJoinRoomByName:
    case M::kCreateRoomCommand:
    case M::kJoinNextAvailableLobby:
    case M::kUpdateRoomCommand:
    case M::kPanic:
    case M::kSetPerformer:
    case M::kSetTempo:
      return true;
    default:
      return false;
  }
}

}  // namespace

void Dispatcher::Dispatch(Session& s, const proto::ServerMessage& msg, int64_t arrival_us) {
  const std::string& rid = msg.request_id();
  using M = proto::ServerMessage;
  // Redis unreachable (docs/SCALE-OUT.md): refused with a typed error rather than lost.
  if (const Broker* b = shard_->broker();
      b != nullptr && !b->Available() && PublishesRoomEvent(msg.message_case())) {
    return Error(s, proto::STREAM_UNAVAILABLE, kStreamUnavailableText, rid);
  }
  switch (msg.message_case()) {
    case M::kHeartbeatMessage:
      return OnHeartbeat(s, msg.heartbeat_message(), arrival_us, rid);
    case M::kMidiMessage:
      return OnMidi(s, msg.midi_message(), arrival_us, rid);
    case M::kRoomChatMessage:
      return OnChat(s, msg.room_chat_message(), rid);
    case M::kAvatarCommand:
      return OnAvatar(s, msg.avatar_command(), rid);
    case M::kJoinRoomByName:
      return OnJoinByName(s, msg.join_room_by_name().room_name(),
                          msg.join_room_by_name().password(), rid, false);
    case M::kCreateRoomCommand:
      return OnCreate(s, msg.create_room_command(), rid, false);
    case M::kJoinNextAvailableLobby:
      return OnLobby(s, rid);
    case M::kLeaveRoom:
      return OnLeave(s, rid);
    case M::kGetRoomList:
      return OnRoomList(s, rid);
    case M::kGetRoomInfo:
      if (!TakeRequest(s, rid)) return;
      return RequestRoomInfo(*shard_, s, msg.get_room_info(), rid);
    case M::kSubscribeRoomList:
      if (!TakeRequest(s, rid)) return;
      return shard_->room_feed().Subscribe(s.id(), rid);
    case M::kUnsubscribeRoomList:
      if (!TakeRequest(s, rid)) return;
      return shard_->room_feed().Unsubscribe(s.id(), rid);
    case M::kUpdateRoomCommand:
      return OnUpdate(s, msg.update_room_command(), rid);
    case M::kUserStatusUpdate:
      return OnStatus(s, msg.user_status_update(), rid);
    case M::kPrivateMessage:
      return OnPrivateMessage(s, msg.private_message(), rid);
    case M::kServerCommand:
      return OnServerCommand(s, msg.server_command(), arrival_us, rid);
    case M::kRoomChatServerCommand:
      return OnServerChatCommand(s, msg.room_chat_server_command(), rid);
    case M::kFriendRequest: {
      if (!TakeRequest(s, rid)) return;
      shard_->OnSocial([id = s.id(), user_id = s.user().user_id(), guest = s.identity().is_guest,
                        req = msg.friend_request(),
                        rid](Social& social) { social.Friend(id, user_id, guest, req, rid); });
      return;
    }
    case M::kRecordingCommand: {
      if (!TakeRequest(s, rid)) return;
      if (s.room_id().empty()) return Error(s, proto::WRONG_STATE, "join a room first", rid);
      shard_->OnRoom(s.room_id(), [id = s.id(), cmd = msg.recording_command(), rid](Room& r) {
        r.Recording(id, cmd, rid);
      });
      return;
    }
    case M::kPanic:
      return OnPanic(s, msg.panic(), rid);
    case M::kSetPerformer:
      return OnSetPerformer(s, msg.set_performer(), rid);
    case M::kSetTempo:
      return OnSetTempo(s, msg.set_tempo(), rid);
    case M::MESSAGE_NOT_SET:
      return Malformed(s, "empty ServerMessage");
  }
}

// --- seed 003 ServerCommand
// ------------------------------------------------------------------------

void Dispatcher::OnServerCommand(Session& s, const proto::ServerCommand& cmd, int64_t arrival_us,
                                 const std::string& rid) {
  auto param = [&cmd](const char* key) {
    auto it = cmd.parameters().find(key);
    return it == cmd.parameters().end() ? std::string() : it->second;
  };
  switch (cmd.commandtype()) {
    case proto::JOIN:
      return OnJoinByName(s, param("room_name"), param("password"), rid, false);
    case proto::CREATE_OR_JOIN_ROOM:
      return OnJoinByName(s, param("room_name"), param("password"), rid, true);
    case proto::LEAVE:
      return OnLeave(s, rid);
    case proto::ENTER_LOBBY:
      return OnLobby(s, rid);
    case proto::HEARTBEAT:
      return OnHeartbeat(s, proto::HeartbeatMessage(), arrival_us, rid);
    case proto::SYNC_STATE:
      return OnSnapshot(s, param("epoch"), param("offset"), rid);
    case proto::GET_STATUS:
      if (!TakeRequest(s, rid)) return;
      return OnGetStatus(s, rid);
    case proto::LIST_BANS:
      if (!TakeRequest(s, rid)) return;
      return OnListBans(s, cmd, rid);
    case proto::START_DRAIN:
    case proto::SET_MAINTENANCE:
      if (!TakeRequest(s, rid)) return;
      return HandleMaintenanceCommand(*shard_, s, cmd, rid);
    case proto::SUBSCRIBE_LOG:
    case proto::UNSUBSCRIBE_LOG:
      if (!TakeRequest(s, rid)) return;
      return OnLogSubscription(s, cmd, cmd.commandtype() == proto::SUBSCRIBE_LOG, rid);
    case proto::UPDATE_SETTINGS: {
      auto update = UpdateRoomFromParameters(cmd.parameters());
      if (update.ok()) return OnUpdate(s, *update, rid);
      if (!TakeRequest(s, rid)) return;
      return Error(s, proto::INVALID_PARAMETERS, std::string(update.status().message()), rid);
    }
    case proto::RECONNECT:
      return OnReconnect(s, cmd, rid);
    case proto::LINK:
      return OnLinkToken(s, rid);
    case proto::UPDATE_PERMISSIONS:
      if (!TakeRequest(s, rid)) return;
      return RefreshSessionToken(*shard_, s, param("token"), rid);
    default:
      if (!TakeRequest(s, rid)) return;
      return Error(s, proto::UNSUPPORTED, "use the dedicated message for this command", rid);
  }
}

}  // namespace tutti::server
