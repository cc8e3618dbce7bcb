// Room, its event stream side: every broadcast goes through the room's stream (the
// broker sequences, keeps and hands it back for fan-out), snapshots say which position
// they reflect, SYNC_STATE with a position replays the kept events after it, and the
// room's chat lines follow the stream (kept from delivered events, read at opening), as
// do, across nodes, the other nodes' members (room_roster.cc).
// Same class, owner and thread as room.cc (the room's home shard).
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "server/envelope.h"
#include "server/room.h"

namespace tutti::server {

void Room::OpenStream() {
  Broker* b = host_->broker();
  if (b == nullptr) return;
  b->Subscribe(id_, this);
  // The lines said before the room opened here (on another node, or before this node's
  // room object last closed while the stream lived on): read once, joins wait for them.
  // The in-process engine answers inline.
  reading_chat_ = true;
  // And with a networked engine, the members other nodes had in the room before it
  // opened here (docs/SCALE-OUT.md, "Members across nodes"): joins wait for both reads.
  reading_presence_ = b->SpansNodes();
  // And the room bans and mutes kept with the stream (made on other nodes, maybe while
  // the room had no object here): a banned user is refused here too.
  reading_penalties_ = reading_presence_;
  b->ChatLines(id_, [this, alive = std::weak_ptr<bool>(alive_)](std::vector<Publication> lines) {
    if (alive.expired()) return;
    ChatLinesRead(lines);
  });
  if (!reading_presence_) return;
  b->Presence(id_, [this, alive = std::weak_ptr<bool>(alive_)](std::vector<PresenceEntry> e) {
    if (alive.expired()) return;
    PresenceRead(e);
  });
  b->Penalties(id_, [this, alive = std::weak_ptr<bool>(alive_)](std::vector<KeptPenalty> kept) {
    if (alive.expired()) return;
    PenaltiesRead(kept);
  });
  // And its owner, settings and moderators (room_state_nodes.cc); lobbies have none.
  if (is_lobby()) return;
  state_settled_ = false;
  ReadState();
}

Room::~Room() {
  StopRecordingOnClose();
  if (Broker* b = host_->broker()) {
    b->Unsubscribe(id_, this);
    b->RemoveStream(id_);
  }
}

void Room::OnPublication(const std::string&, const Publication& pub) {
  NoteSequenced(pub);
  if (pub.chat != ChatMark::kNone) {
    // Every node's chat lines, in the stream's order (PROTOCOL.md §12): this node's room
    // keeps what it is delivered, not what it sent.
    proto::ClientMessage m;
    if (pub.chat == ChatMark::kClear || m.ParseFromString(pub.frame->payload())) {
      if (reading_chat_) {
        chat_while_reading_.push_back({pub.position.offset, pub.chat, std::move(m)});
      } else {
        KeepChat(pub.chat, m);
      }
    }
  }
  BroadcastFrame(pub.frame, pub.exclude, pub.droppable);
  // Another node's event: its members' joins, leaves and changes keep remote_ (after
  // the delivery: what the room publishes in answer comes after it).
  if (!pub.origin.empty()) ApplyRemote(pub);
  if (close_when_settled_) CloseWhenSettled();
}

void Room::ChatLinesRead(const std::vector<Publication>& lines) {
  // By offset: a line both read and delivered meanwhile is kept once, and a clear
  // delivered meanwhile ends every line before it.
  std::map<uint64_t, proto::RoomChatMessage> merged;
  for (const Publication& p : lines) {
    proto::ClientMessage m;
    if (m.ParseFromString(p.frame->payload()) && m.has_room_chat_message()) {
      merged[p.position.offset] = m.room_chat_message();
    }
  }
  for (const HeldChat& h : chat_while_reading_) {
    if (h.mark == ChatMark::kClear) {
      merged.erase(merged.begin(), merged.lower_bound(h.offset));
    } else if (h.msg.has_room_chat_message()) {
      merged[h.offset] = h.msg.room_chat_message();
    }
  }
  chat_while_reading_.clear();
  history_.clear();
  for (auto& [offset, line] : merged) history_.push_back(std::move(line));
  while (history_.size() > config_->chat_history) history_.pop_front();
  reading_chat_ = false;
  RunWaitingJoins();
}

void Room::RunWaitingJoins() {
  if (reading_chat_ || reading_presence_ || reading_penalties_ || reading_state_) return;
  SettleOpeningState();
  SendResyncSnapshot();  // to the members before the waiting joiners are let in
  std::vector<std::pair<JoinRequest, bool>> joins;
  joins.swap(waiting_joins_);
  std::vector<WaitingAdopt> adopts;
  adopts.swap(waiting_adopts_);
  // An object opened for a resume: requests for the room that the shard held meanwhile
  // go on after it (a join probe tells the shard from Join).
  if (probe_ && !adopts.empty()) host_->ProbeSettled(id_);
  for (const auto& [req, password_ok] : joins) Join(req, password_ok);
  for (const WaitingAdopt& a : adopts) AdoptResumed(a.req, a.previous, a.since);
}

void Room::KeepChat(ChatMark mark, const proto::ClientMessage& msg) {
  if (mark == ChatMark::kClear) {
    history_.clear();
    return;
  }
  if (mark != ChatMark::kKeep || !msg.has_room_chat_message()) return;
  history_.push_back(msg.room_chat_message());
  while (history_.size() > config_->chat_history) history_.pop_front();
}

void Room::OnResync(const std::string&, const StreamPosition&, const std::string& reason) {
  // A new epoch means Redis lost what it kept (or let it expire): then nothing is
  // dropped for not being kept. It is the reason shown, also when events were missed
  // again before its snapshot went.
  if (resync_reason_ != "epoch changed") resync_reason_ = reason;
  // Across nodes, what this room holds of other nodes' doing came from the events, and
  // some were missed: read it again (room_state_nodes.cc). The snapshot waits for those
  // reads, so that it shows who joined or left elsewhere meanwhile; with nothing to
  // read it goes now.
  RereadAfterResync(/*replace=*/reason != "epoch changed");
  RunWaitingJoins();
  // An emptied object waiting for its own leave of the owner to come back (its delivery
  // may have been lost with the link): the stream has gone on past it, or into a new
  // epoch, so it can tell now rather than at the room's next event, which may never come.
  if (close_when_settled_) CloseWhenSettled();
}

void Room::SendResyncSnapshot() {
  if (resync_reason_.empty()) return;
  // Unasked (no request id): the same answer a SYNC_STATE from an old position gets, so
  // a client handles it like one. One snapshot for all: they all continue from its
  // position (events delivered while the re-reads were out are in it).
  proto::ClientMessage out;
  auto* r = out.mutable_resume_result();
  r->set_room_id(id_);
  r->set_outcome(proto::RESUME_UNRECOVERABLE);
  r->set_reason(resync_reason_);
  resync_reason_.clear();
  *r->mutable_snapshot() = Snapshot();
  *r->mutable_top() = r->snapshot().stream_position();
  StampType(&out);
  const Frame frame = MakeFrame(out);
  for (const auto& [sid, m] : members_) host_->SendToSession(sid, frame);
}

Broker::PublishDone Room::EchoToSender(SessionId session, const std::string& request_id) const {
  RoomHost* host = host_;
  return [host, session, request_id](const Publication& p) {
    if (p.unavailable) {
      // Not sequenced (Redis went while it was on its way): refused, not lost silently.
      host->SendToSession(session, MakeFrame(MakeError(proto::STREAM_UNAVAILABLE,
                                                       kStreamUnavailableText, request_id)));
      return;
    }
    if (p.refused || !p.frame) return;
    proto::ClientMessage own;
    if (!own.ParseFromString(p.frame->payload())) return;
    own.set_request_id(request_id);
    host->SendToSession(session, MakeFrame(own));
  };
}

void Room::SetPosition(proto::StreamPosition* out) const {
  Broker* b = host_->broker();
  if (b == nullptr) return;
  const StreamPosition top = b->Top(id_);
  out->set_epoch(top.epoch);
  out->set_offset(top.offset);
}

void Room::BroadcastFrame(const Frame& frame, SessionId exclude, bool droppable) {
  for (int shard = 0; shard < kMaxShards; ++shard) {
    if (shard_members_[shard] > 0) host_->DeliverToShard(shard, id_, frame, exclude, droppable);
  }
}

void Room::Broadcast(proto::ClientMessage msg, SessionId exclude, bool droppable,
                     const Broker::PublishDone& then, ChatMark chat,
                     std::optional<RoomStateChange> state) {
  Broker* b = host_->broker();
  // Droppable events (avatar moves, status) are ephemeral: only the latest matters and
  // backpressure may shed them, so they take no place in the stream (PROTOCOL.md §12).
  if (b == nullptr || droppable) {
    KeepChat(chat, msg);
    Frame frame = MakeFrame(msg);
    BroadcastFrame(frame, exclude, droppable);
    if (then) then(Publication{{}, 0, frame, exclude, droppable});
    return;
  }
  PublishRequest req;
  req.message = std::move(msg);
  req.exclude = exclude;
  req.droppable = droppable;
  req.chat = chat;
  if (b->SpansNodes()) req.state = std::move(state);
  // Delivery happens in OnPublication (the room subscribes to its own stream).
  b->Publish(id_, std::move(req), then);
}

proto::RoomSnapshot Room::Snapshot() const {
  proto::RoomSnapshot snap;
  *snap.mutable_room_info() = Info();
  for (const auto& [sid, m] : members_) {
    *snap.add_users() = UserView(m);
    if (m.held.HasState()) *snap.add_held_notes() = HeldView(sid, m);
  }
  for (const auto& [sid, remote] : remote_) {
    *snap.add_users() = remote.user;
    if (remote.held.HasState()) {
      *snap.add_held_notes() =
          HeldView(sid, remote.user.user_id(), remote.last_sequence, remote.held);
    }
  }
  for (const auto& line : history_) *snap.add_chat_history() = line;
  snap.set_server_time(host_->NowUs());
  SetPosition(snap.mutable_stream_position());
  return snap;
}

void Room::SendSnapshot(SessionId session, const std::string& request_id) {
  if (!members_.count(session))
    return Error(session, proto::WRONG_STATE, "not in this room", request_id);
  proto::ClientMessage out;
  *out.mutable_room_snapshot() = Snapshot();
  SendTo(session, std::move(out), request_id);
}

void Room::SendSince(SessionId session, const StreamPosition& since,
                     const std::string& request_id) {
  if (!members_.count(session))
    return Error(session, proto::WRONG_STATE, "not in this room", request_id);
  Broker* b = host_->broker();
  if (b == nullptr) return SendSnapshot(session, request_id);
  RoomHost* host = host_;
  // Taken now, with the history, so snapshot and replay describe the same instant.
  proto::RoomSnapshot snapshot = Snapshot();
  const std::string room_id = id_;
  b->History(id_, since,
             [host, session, since, request_id, room_id,
              snapshot = std::move(snapshot)](HistoryResult h) mutable {
               proto::ClientMessage out;
               auto* r = out.mutable_resume_result();
               r->set_room_id(room_id);
               r->mutable_since()->set_epoch(since.epoch);
               r->mutable_since()->set_offset(since.offset);
               r->mutable_top()->set_epoch(h.top.epoch);
               r->mutable_top()->set_offset(h.top.offset);
               std::vector<Frame> replay;
               if (h.recoverable) {
                 // The session never got its own excluded events live; it does not get them now.
                 for (const Publication& p : h.publications) {
                   if (p.exclude != session) replay.push_back(p.frame);
                 }
                 r->set_outcome(proto::RESUME_RECOVERED);
                 r->set_replayed(static_cast<uint32_t>(replay.size()));
               } else {
                 r->set_outcome(proto::RESUME_UNRECOVERABLE);
                 r->set_reason(h.reason);
                 *r->mutable_snapshot() = std::move(snapshot);
               }
               out.set_request_id(request_id);
               StampType(&out);
               host->SendToSession(session, MakeFrame(out));
               for (const Frame& f : replay) host->SendToSession(session, f);
             });
}

}  // namespace tutti::server
