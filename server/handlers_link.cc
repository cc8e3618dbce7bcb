// Dispatcher, its linked-connection side (docs/PROTOCOL.md §16): ServerCommand LINK hands
// the session a link token; frames from an attached link arrive here, on the session's
// shard, posted by the shard that holds the link's connection (shard_links.cc). Same class,
// owner and thread as dispatcher.cc.
#include <string>
#include <utility>

#include "server/dispatcher.h"
#include "server/envelope.h"
#include "server/link_token.h"
#include "server/shard.h"

namespace tutti::server {

void Dispatcher::OnLinkToken(Session& s, const std::string& rid) {
  if (!TakeRequest(s, rid)) return;
  if (s.link_id != 0) {
    return Error(s, proto::LIMIT_REACHED, "this session has a linked connection already", rid);
  }
  if (!TakeLinkIssue(&s.link_credential, shard_->NowUs())) {
    return RateLimited(s, metrics::RateBucket::kLink,
                       "too many link tokens asked for: 4 at once, then one per 5 s", rid);
  }
  // A new token replaces an outstanding one.
  std::string token = IssueLinkToken(s.id(), shard_->NowUs(), &s.link_credential);
  proto::ClientMessage out;
  auto* st = out.mutable_link_status();
  st->set_link_token(std::move(token));
  st->set_link_token_ttl_ms(static_cast<uint32_t>(kLinkTokenTtlUs / 1000));
  st->set_session_id(s.id());
  Reply(s, std::move(out), rid);
}

void Dispatcher::HandleLinked(Session& s, const std::string& payload, bool binary,
                              int64_t arrival_us) {
  s.last_activity_us = arrival_us;
  Shard::Counters& counters = shard_->mutable_counters();
  proto::ServerMessage msg;
  const bool parsed = binary && msg.ParseFromString(payload);
  const int kind = parsed ? static_cast<int>(msg.message_case()) : 0;
  counters.frames_in_by_kind.Add(kind);
  counters.bytes_in_by_kind.Add(kind, payload.size());
  // The link is the session's second path for what is timed, nothing else. Garbage on it
  // closes it at once: it has no strikes of its own, and the session's are not its to spend.
  if (!parsed || !TypeMatches(msg) ||
      msg.request_id().size() > shard_->cluster().config().max_request_id_length) {
    ++counters.malformed;
    return shard_->CloseLinkOf(s, kClosePolicy, "malformed message on a linked connection");
  }
  const std::string& rid = msg.request_id();
  switch (msg.message_case()) {
    case proto::ServerMessage::kMidiMessage:
      // Refusals go to the primary, like every other answer to the session.
      return OnMidi(s, msg.midi_message(), arrival_us, rid);
    case proto::ServerMessage::kHeartbeatMessage: {
      // Answered on the link: its round trip is the link's own. The clock status and
      // quality a client reports belong on the primary.
      if (!TakeRequest(s, rid)) return;
      proto::ClientMessage out;
      auto* r = out.mutable_heartbeat_message();
      r->set_timestamp(msg.heartbeat_message().timestamp());
      r->set_server_receive_time(arrival_us);
      r->set_server_send_time(shard_->NowUs());
      out.set_request_id(rid);
      StampType(&out);
      return shard_->SendToLink(s, MakeFrame(out));
    }
    default: {
      counters.errors.Add(proto::UNSUPPORTED);
      return shard_->SendToLink(
          s, MakeFrame(MakeError(proto::UNSUPPORTED,
                                 "a linked connection carries MIDI and heartbeats only", rid)));
    }
  }
}

}  // namespace tutti::server
