// Dispatcher: turns one inbound frame into actions, on the shard of the session that
// sent it. Every handler checks state, then rate limit, then permission, then acts, and
// every refusal is a typed ErrorMessage echoing the request id. Cheap rejections never
// leave this shard; accepted room work goes to the room's home shard as values through
// the typed calls (Shard::OnRoom: a call when the room is homed here, else a post).
// One per shard, owned by the shard's ShardHooks (wired by the Server); single-threaded
// (the shard's thread). Reaches the rest of the process as a Cluster, never the Server.
#ifndef TUTTI_SERVER_DISPATCHER_H_
#define TUTTI_SERVER_DISPATCHER_H_

#include <string>

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "protos/tutti.pb.h"
#include "server/metrics/labels.h"
#include "server/moderation/command_parser.h"
#include "server/session.h"

namespace tutti::server {

class Shard;
struct RoomRequest;
struct JoinRequest;

class Dispatcher {
 public:
  explicit Dispatcher(Shard* shard);

  void SendWelcome(Session& s);
  // `arrival_us`: server time taken first thing on receipt (clock sync t2, MIDI arrival).
  void Handle(Session& s, const std::string& payload, bool binary, int64_t arrival_us);
  // Leaves the current room (if any) and sends `req` to the target room's home shard.
  bool BeginJoin(Session& s, RoomRequest req, const std::string& rid);
  // The checks every join passes on the session's shard; on success the session is
  // marked as joining `req.room_id`.
  bool AdmitJoin(Session& s, const RoomRequest& req, const std::string& rid);
  // Sends an admitted request to the room's home shard.
  void SendJoin(RoomRequest req);
  // handlers_link.cc: one frame from the session's linked connection: MIDI (taken once
  // with its copy on the primary) and heartbeats (answered on the link); nothing else.
  void HandleLinked(Session& s, const std::string& payload, bool binary, int64_t arrival_us);
  // The session is gone: its live-log subscription (if any) ends (handlers_log.cc).
  void SessionEnded(SessionId id);

 private:
  void Dispatch(Session& s, const proto::ServerMessage& msg, int64_t arrival_us);
  void Reply(Session& s, proto::ClientMessage msg, const std::string& request_id);
  void Error(Session& s, proto::ErrorCode code, const std::string& text,
             const std::string& request_id);
  void Malformed(Session& s, const std::string& why, const std::string& rid = "");
  bool TakeRequest(Session& s, const std::string& request_id);
  // A RATE_LIMITED error, counted by the bucket that refused.
  void RateLimited(Session& s, metrics::RateBucket bucket, const std::string& text,
                   const std::string& request_id);

  void OnHeartbeat(Session& s, const proto::HeartbeatMessage& hb, int64_t arrival_us,
                   const std::string& rid);
  void OnJoinByName(Session& s, const std::string& name, const std::string& password,
                    const std::string& rid, bool create_if_missing);
  void OnCreate(Session& s, const proto::CreateRoomCommand& cmd, const std::string& rid,
                bool join_if_exists);
  void OnLobby(Session& s, const std::string& rid);
  // Music (handlers_music.cc).
  void OnPanic(Session& s, const proto::Panic& panic, const std::string& rid);
  void OnSetPerformer(Session& s, const proto::SetPerformer& cmd, const std::string& rid);
  void OnSetTempo(Session& s, const proto::SetTempo& cmd, const std::string& rid);
  void OnLeave(Session& s, const std::string& rid);
  void OnRoomList(Session& s, const std::string& rid);
  void OnUpdate(Session& s, const proto::UpdateRoomCommand& cmd, const std::string& rid);
  void OnChat(Session& s, const proto::RoomChatMessage& chat, const std::string& rid);
  void OnMidi(Session& s, const proto::MidiMessage& midi, int64_t arrival_us,
              const std::string& rid);
  void OnAvatar(Session& s, const proto::AvatarCommand& cmd, const std::string& rid);
  void OnStatus(Session& s, const proto::UserStatusUpdate& update, const std::string& rid);
  void OnPrivateMessage(Session& s, const proto::PrivateMessage& pm, const std::string& rid);
  void OnServerCommand(Session& s, const proto::ServerCommand& cmd, int64_t arrival_us,
                       const std::string& rid);
  // SYNC_STATE: a RoomSnapshot, or with `epoch` and `offset` the room events after them.
  void OnSnapshot(Session& s, const std::string& epoch, const std::string& offset,
                  const std::string& rid);
  // handlers_link.cc: ServerCommand LINK, a linked connection's token (docs/PROTOCOL.md §16).
  void OnLinkToken(Session& s, const std::string& rid);
  // handlers_resume.cc: ServerCommand RECONNECT, a resume on an open connection.
  void OnReconnect(Session& s, const proto::ServerCommand& cmd, const std::string& rid);
  void OnCommandLine(Session& s, const std::string& line, const std::string& rid);
  void RunCommand(Session& s, const moderation::ParsedCommand& cmd, const std::string& rid);
  void OnServerChatCommand(Session& s, const proto::RoomChatServerCommand& cmd,
                           const std::string& rid);
  void OnServerBan(Session& s, const moderation::ParsedCommand& cmd, const std::string& rid);
  // handlers_admin.cc: server staff's views of server-wide moderation.
  void OnListBans(Session& s, const proto::ServerCommand& cmd, const std::string& rid);
  void OnGetStatus(Session& s, const std::string& rid);
  void OnServerLog(Session& s, const moderation::ParsedCommand& cmd, const std::string& rid);
  void CommandResult(Session& s, const std::string& command, bool ok,
                     const std::vector<std::string>& lines, const std::string& rid);
  void DeliverPrivateMessage(Session& s, const proto::PrivateMessage& pm, const std::string& rid);
  void ApplyStatus(Session& s, const proto::UserStatusUpdate& update, const std::string& rid);

  // handlers_log.cc: SUBSCRIBE_LOG / UNSUBSCRIBE_LOG (server staff).
  void OnLogSubscription(Session& s, const proto::ServerCommand& cmd, bool subscribe,
                         const std::string& rid);

  JoinRequest JoinRequestFor(Session& s, const std::string& rid);

  Shard* shard_;
  // Live-log subscriptions of this shard's sessions: session -> ServerLog id.
  absl::flat_hash_map<SessionId, uint64_t> log_subscriptions_;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_DISPATCHER_H_
