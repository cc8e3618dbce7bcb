// ResumeState: what a client keeps to resume its session after a drop (docs/PROTOCOL.md
// §12) — the latest resume token, the room it is in and the last (epoch, offset) it
// processed there — and which received messages are replayed history rather than live.
// Shared by tutti-cli, tutti-midi-bridge and tutti-play, and used by the tests' clients.
// The token is kept in memory only and never printed.
// Thread affinity: single-threaded (the caller's loop); not synchronized.
// Who owns it: the tool, one per logical session, across its connections.
#ifndef TUTTI_TOOLS_CLIENT_RESUME_STATE_H_
#define TUTTI_TOOLS_CLIENT_RESUME_STATE_H_

#include <cstdint>
#include <string>

#include "protos/tutti.pb.h"
#include "tools/client/connect_target.h"

namespace tutti::client {

class ResumeState {
 public:
  enum class Kind {
    kLive,      // a live message
    kReplayed,  // one of the room events a RESUME_RECOVERED answer said would follow
  };
  // Every message received, in order, on every connection.
  Kind Observe(const proto::ClientMessage& m);
  // Adds the resume keys to the options of the next connect (none without a token).
  void Fill(ConnectOptions* o) const;
  // The connection is gone: replay bookkeeping stops (a new answer restarts it).
  void OnDisconnected() { replay_left_ = 0; }

  bool has_token() const { return !token_.empty(); }
  const std::string& room_id() const { return room_id_; }
  const proto::StreamPosition& position() const { return position_; }
  // The last ResumeResult's outcome (UNSPECIFIED before any): after RESUME_REFUSED, or
  // one that restored no room, the tool joins its room again itself.
  proto::ResumeOutcome last_outcome() const { return last_outcome_; }
  // True once a resume answer says the session is in no room: rejoin.
  bool needs_rejoin() const { return needs_rejoin_; }
  void ClearRejoin() { needs_rejoin_ = false; }

 private:
  std::string token_;
  std::string room_id_;
  proto::StreamPosition position_;
  uint32_t replay_left_ = 0;
  proto::ResumeOutcome last_outcome_ = proto::RESUME_OUTCOME_UNSPECIFIED;
  bool needs_rejoin_ = false;
};

}  // namespace tutti::client

#endif  // TUTTI_TOOLS_CLIENT_RESUME_STATE_H_
