// Session: one authenticated client connection's state — identity, current room, flood
// limiters, MIDI stamping and sequence, clock status, outbound budget accounting.
// Owned by the Shard whose listener accepted the connection (in its session map; after a
// drop, parked in its ParkedSessions until resumed or its grace is over) and touched only
// on that shard's thread. The transport sits behind SessionLink, so the
// rest of the server never sees websocketpp.
#ifndef TUTTI_SERVER_SESSION_H_
#define TUTTI_SERVER_SESSION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "crypto/authenticator.h"
#include "protos/tutti.pb.h"
#include "server/config.h"
#include "server/frame.h"
#include "server/ids.h"
#include "server/link_token.h"
#include "server/metrics/labels.h"
#include "server/midi_intake.h"
#include "server/token_bucket.h"

namespace tutti::server {

// WebSocket close codes the server uses (documented in docs/PROTOCOL.md).
enum CloseCode : uint16_t {
  kCloseGoingAway = 1001,         // server shutting down
  kClosePolicy = 1008,            // repeated malformed input
  kCloseTooBig = 1009,            // frame over max_frame_bytes (sent by websocketpp)
  kCloseIdle = 4000,              // nothing received for idle_timeout_ms
  kCloseSlowConsumer = 4001,      // outbound budget past the hard limit
  kCloseBanned = 4003,            // server ban while connected
  kCloseTokenExpired = 4004,      // token past exp + leeway and not refreshed
  kCloseResumedElsewhere = 4005,  // its resume token was presented on a new connection
  kCloseLinkRefused = 4006,       // a linked connection refused (after its typed error)
  kCloseLinkSessionGone = 4007,   // a linked connection's session ended or dropped
};

// The connection as the session sees it. Implemented over websocketpp in endpoint.cc.
class SessionLink {
 public:
  virtual ~SessionLink() = default;
  virtual size_t BufferedBytes() const = 0;
  virtual void Send(const Frame& frame) = 0;
  virtual void Close(uint16_t code, const std::string& reason) = 0;
  virtual const std::string& RemoteIp() const = 0;
};

// Where a session is, as its shard knows it: one record, written only by Membership
// (membership.h), which also keeps the shard's fan-out index in step with it.
class Seat {
 public:
  const std::string& room_id() const { return room_id_; }
  bool joining() const { return !joining_room_id_.empty(); }

 private:
  friend class Membership;
  std::string room_id_;          // confirmed by the room; cleared at a leave request
  std::string joining_room_id_;  // a join is in flight; another one is refused meanwhile
  // The request id of that join: the RoomLeft of the room it leaves echoes it.
  std::string joining_request_id_;
  // Rooms whose fan-out index on this shard lists this session. It can differ from
  // room_id_ for a moment after a leave (until the room confirms it).
  std::vector<std::string> indexed_rooms_;
};

// What a resumed session takes over from the one whose connection dropped
// (docs/PROTOCOL.md §12): the look and status others know, the flood limiters (a drop
// must not refill them), the MIDI quotas, stamper and sequence, the clock status, and the
// room it was in. Moved between shards as a value (inside a shared_ptr).
struct SessionCarryOver {
  proto::UserInfo user;
  TokenBucket chat_bucket, join_bucket, leave_bucket, avatar_bucket, request_bucket;
  std::unique_ptr<MidiIntakeState> midi;  // null when the session never played
  proto::ClockSyncStatus clock;
  std::string room_id;  // "" when in none
  // Delivered after the ResumeResult (and its replay): what was held for the parked
  // session, and whether it had subscribed to the live room list.
  std::vector<Frame> held{};
  bool room_list = false;
};

// A resume asked for by a new connection (its payload, or ServerCommand RECONNECT), as
// the upgrade gate or the dispatcher judged the token. The token itself is not kept.
struct ResumeRequest {
  bool asked = false;
  std::string refusal;     // why the token was refused; "" when granted
  SessionId previous = 0;  // the session the token restores
  std::string room_id;     // the room the client says it was in
  std::string epoch;       // the last position it saw there
  uint64_t offset = 0;
  std::string request_id;  // RECONNECT's, echoed by the ResumeResult
  // Rooms across nodes (docs/SCALE-OUT.md): the token's ResumeTokens::SharedKey, whose
  // state in Redis the shard takes (spending the token on every node); and whether this
  // process did not know the token, so only that state can restore the session.
  std::string shared_key;
  bool remote = false;
};

class Session {
 public:
  Session(SessionId id, crypto::Identity identity, std::unique_ptr<SessionLink> link,
          const ServerConfig& config, int64_t now_us);

  SessionId id() const { return id_; }
  const crypto::Identity& identity() const { return identity_; }
  // A refreshed token (already verified for this user): roles, membership and expiry
  // are replaced in one step; the name, session id and avatar stay.
  void ReplaceIdentity(crypto::Identity identity);
  // RECONNECT restored a guest's session into this one: it answers to the old guest id.
  void AdoptUserId(const std::string& user_id);
  const proto::UserInfo& user() const { return user_; }
  proto::UserInfo& mutable_user() { return user_; }
  bool is_staff() const { return identity_.is_admin || identity_.is_moderator; }

  // Applies the outbound budget: past the hard limit the connection is closed (MIDI and
  // chat are never dropped silently); past the soft limit droppable frames are shed.
  enum class SendResult { kQueued, kDropped, kClosedSlow, kClosing };
  SendResult Send(const Frame& frame, bool droppable);
  // Where Send counts what it queued, shed or closed for (its shard's counters); none
  // until set. Owner: the shard, which outlives its sessions.
  void set_counters(metrics::OutboundCounters* counters) { counters_ = counters; }
  void Close(uint16_t code, const std::string& reason);
  bool closing() const { return closing_; }
  // The code the server closed with (0 while the server has not closed it).
  uint16_t close_code() const { return close_code_; }
  // The connection is gone but the session is kept for a resume: nothing is sent any more.
  void DetachLink();
  // The state a resume carries to the new session (the room from `room`), and taking it
  // over. `room_sequence` is the last MIDI sequence the room relayed or released for the
  // old session: the new session's batches continue after it.
  SessionCarryOver Export(const std::string& room);
  void Import(SessionCarryOver carry);
  // A resume in progress, from taking the old session's state over to its ResumeResult:
  // the room it is being restored into ("" = none). A drop meanwhile parks it there.
  const std::string& resuming_into() const { return resuming_into_; }
  void set_resuming_into(std::string room) { resuming_into_ = std::move(room); }
  // What follows the ResumeResult (carried over by Import); each taken once.
  std::vector<Frame> TakeHeld() { return std::move(held_after_resume_); }
  bool TakeRoomList() { return std::exchange(room_list_after_resume_, false); }
  void ContinueMidiSequence(uint64_t room_sequence, int64_t now_us);
  size_t BufferedBytes() const { return link_->BufferedBytes(); }
  const std::string& remote_ip() const { return link_->RemoteIp(); }

  // The room this session is in as its shard routes it ("" = none): set when the room
  // confirms the join, cleared as soon as the session asks to leave. Written only by
  // the shard's Membership (membership.h).
  const std::string& room_id() const { return seat_.room_id(); }
  const Seat& seat() const { return seat_; }

  TokenBucket chat_bucket;
  TokenBucket join_bucket;
  TokenBucket leave_bucket;
  TokenBucket avatar_bucket;
  TokenBucket request_bucket;

  // MIDI quotas, stamper and sequence (midi_intake.h), made by the session's first MIDI
  // message: most members never play, and each would carry ~160 bytes for nothing. Made
  // then, its buckets start full, as they would be by then had they started at connect.
  MidiIntakeState& midi(int64_t now_us);
  proto::ClockSyncStatus clock;

  int64_t last_activity_us = 0;
  // When the join in flight was asked for (server time), for the join-latency histogram.
  int64_t join_started_us = 0;
  int malformed_strikes = 0;
  uint64_t dropped_frames = 0;
  // Linked connections (docs/PROTOCOL.md §16): the outstanding link token, and the link
  // attached now (its id names the shard that holds its connection; 0 = none).
  LinkCredential link_credential;
  SessionId link_id = 0;
  // Rooms across nodes: the SharedKey of this session's current resume token ("" when
  // none is shared), under which its engine keeps the resume state in Redis.
  std::string shared_resume_key;

 private:
  friend class Membership;
  void SetRolesFromIdentity();

  Seat seat_;

  const SessionId id_;
  crypto::Identity identity_;
  proto::UserInfo user_;
  std::unique_ptr<SessionLink> link_;
  const ServerConfig& config_;
  std::unique_ptr<MidiIntakeState> midi_;
  metrics::OutboundCounters* counters_ = nullptr;
  bool closing_ = false;
  uint16_t close_code_ = 0;
  std::string resuming_into_;
  std::vector<Frame> held_after_resume_;
  bool room_list_after_resume_ = false;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_SESSION_H_
