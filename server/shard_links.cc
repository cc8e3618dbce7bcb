// Shard, its linked-connection side (docs/PROTOCOL.md §16, docs/ARCHITECTURE.md "Linked
// connections"): a second WebSocket connection of a session, which carries a copy of the
// session's room events and a copy of its MIDI so that a retransmission stall on one TCP
// connection does not hold up what the other carries. The link's connection belongs to the
// shard whose listener accepted it (B); the session to its own shard (A); they may be the
// same. Every step runs on the shard that owns what it touches and passes values:
//   B  AddLinkConnection: keeps the connection, asks A to attach it (the token names A)
//   A  AttachLink: spends the session's link token; one link per session
//   B  LinkAttached: the link's LinkStatus, then whatever A mirrors (FIFO from A to B)
//   B  HandleLinkFrame -> A: the dispatcher's HandleLinked (MIDI, heartbeats)
//   A  SendToLink -> B SendOnLink: a room event, under the link's own backpressure
//   B  LinkConnectionLost -> A: the session forgets it;  A CloseLinkOf -> B CloseLink
// Same class, owner and thread as shard.cc.
#include <string>
#include <utility>

#include "server/envelope.h"
#include "server/shard.h"

namespace tutti::server {
namespace {

// One reason for every AUTH_ERROR refusal: which check failed is not the presenter's to
// learn. "On this node": a token of a session on another node is unknown here, and this
// node cannot tell that case apart from a spent one.
constexpr char kTokenUnknown[] = "link token unknown on this node, used or expired";

}  // namespace

SessionId Shard::AddLinkConnection(crypto::Identity identity, std::unique_ptr<SessionLink> conn) {
  const SessionId link = MakeSessionId(next_session_serial_++, index_);
  links_[link] = LinkConnection{std::move(conn), 0, false};
  if (shutting_down_) {
    CloseLink(link, kCloseGoingAway, "server shutting down");
    return link;
  }
  const std::optional<SessionId> session = ParseLinkToken(identity.link_token);
  // The token names its session's shard, on the node that issued it. Presented to another
  // node (a load balancer without affinity), or forged, it may name a shard this node
  // does not have: refused before the index is used.
  if (!session || ShardOfSession(*session) >= cluster_->shard_count()) {
    RefuseLink(link, proto::AUTH_ERROR, kTokenUnknown);
    return link;
  }
  links_[link].session = *session;
  // Queued even when the session is here: the endpoint is still opening this connection.
  OnShard(
      ShardOfSession(*session),
      [session = *session, link, token = std::move(identity.link_token), user_id = identity.user_id,
       guest = identity.is_guest](Shard& a) { a.AttachLink(session, link, token, user_id, guest); },
      Hop::kQueued);
  return link;
}

void Shard::AttachLink(SessionId session, SessionId link, const std::string& token,
                       const std::string& user_id, bool guest) {
  auto refuse = [this, link](proto::ErrorCode code, std::string why) {
    OnShard(ShardOfSession(link),
            [link, code, why = std::move(why)](Shard& b) { b.RefuseLink(link, code, why); });
  };
  Session* s = FindSession(session);
  if (s == nullptr || s->closing()) {
    // Ended, or parked for a resume: a link serves a live session only.
    return refuse(proto::AUTH_ERROR, kTokenUnknown);
  }
  // The session's token is spent by its presentation whatever the outcome; a token that is
  // not it (made up for this public session id) leaves it outstanding.
  const bool granted = RedeemLinkToken(&s->link_credential, token, NowUs());
  const bool same_user = s->identity().is_guest ? guest : s->user().user_id() == user_id;
  if (!granted || !same_user) {
    return refuse(proto::AUTH_ERROR, kTokenUnknown);
  }
  if (s->link_id != 0) {
    return refuse(proto::LIMIT_REACHED, "this session has a linked connection already");
  }
  s->link_id = link;
  ++counters_.links_attached;
  OnShard(ShardOfSession(link), [link, session](Shard& b) { b.LinkAttached(link, session); });
}

void Shard::LinkAttached(SessionId link, SessionId session) {
  auto it = links_.find(link);
  if (it == links_.end()) return;  // closed meanwhile: its loss is on its way to A
  it->second.attached = true;
  proto::ClientMessage msg;
  msg.mutable_link_status()->set_attached(true);
  msg.mutable_link_status()->set_session_id(session);
  StampType(&msg);
  it->second.conn->Send(MakeFrame(msg));
}

void Shard::RefuseLink(SessionId link, proto::ErrorCode code, const std::string& why) {
  auto it = links_.find(link);
  if (it == links_.end()) return;
  ++counters_.links_refused;
  counters_.links_refused_by_code.Add(code);
  counters_.errors.Add(code);
  it->second.conn->Send(MakeFrame(MakeError(code, why, "")));
  it->second.conn->Close(kCloseLinkRefused, "link refused");
}

void Shard::HandleLinkFrame(SessionId link, const std::string& payload, bool binary) {
  auto it = links_.find(link);
  // Before its LinkStatus the link is not the session's yet: what it sends is ignored.
  if (it == links_.end() || !it->second.attached) return;
  ++counters_.frames_in;
  counters_.bytes_in += payload.size();
  OnShard(ShardOfSession(it->second.session),
          [session = it->second.session, link, payload, binary, arrival = NowUs()](Shard& a) {
            Session* s = a.FindSession(session);
            if (s == nullptr || s->closing() || s->link_id != link) return;
            a.hooks_->OnLinkFrame(*s, payload, binary, arrival);
          });
}

void Shard::LinkConnectionLost(SessionId link) {
  auto it = links_.find(link);
  if (it == links_.end()) return;
  const SessionId session = it->second.session;
  links_.erase(it);
  // The session goes on without it; only this link is forgotten (a newer one is kept).
  if (session != 0) {
    OnSession(session, [link](Session& s) {
      if (s.link_id != link) return;
      s.link_id = 0;
      ++Shard::Current()->counters_.links_detached;  // the session's shard, running this
    });
  }
  if (shutting_down_ && sessions_.empty() && links_.empty()) sweep_timer_.cancel();
}

void Shard::SendToLink(Session& s, const Frame& frame) {
  if (s.link_id == 0) return;
  OnShard(ShardOfSession(s.link_id),
          [link = s.link_id, frame](Shard& b) { b.SendOnLink(link, frame); });
}

void Shard::SendOnLink(SessionId link, const Frame& frame) {
  auto it = links_.find(link);
  if (it == links_.end() || !it->second.attached) return;
  SessionLink& conn = *it->second.conn;
  const ServerConfig& cfg = cluster_->config();
  const size_t queued = conn.BufferedBytes();
  // The link is a copy: what it cannot take is skipped (the primary carries it), and a
  // link that stopped reading altogether is closed. The primary is never touched.
  if (queued + frame->wire_size() > cfg.outbound_hard_limit) {
    CloseLink(link, kCloseSlowConsumer, "slow consumer: outbound buffer limit reached");
    return;
  }
  if (queued > cfg.outbound_soft_limit) {
    ++counters_.link_frames_dropped;
    return;
  }
  conn.Send(frame);
  ++counters_.frames_out;
}

void Shard::CloseLinkOf(Session& s, uint16_t code, const std::string& reason) {
  if (s.link_id == 0) return;
  const SessionId link = std::exchange(s.link_id, 0);
  ++counters_.links_detached;
  OnShard(ShardOfSession(link),
          [link, code, reason](Shard& b) { b.CloseLink(link, code, reason); });
}

void Shard::CloseLink(SessionId link, uint16_t code, const std::string& reason) {
  auto it = links_.find(link);
  if (it == links_.end()) return;
  // The entry goes when the endpoint reports the connection gone (LinkConnectionLost).
  it->second.attached = false;
  counters_.link_closes.Add(code);
  it->second.conn->Close(code, reason);
}

}  // namespace tutti::server
