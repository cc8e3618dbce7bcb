// Dispatcher, its resume side: ServerCommand RECONNECT (docs/PROTOCOL.md §12) restores a
// dropped session into this open one, for a client that could not put the resume keys in
// its connect payload. Same class, owner and thread as dispatcher.cc.
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "crypto/connect_payload.h"
#include "server/dispatcher.h"
#include "server/envelope.h"
#include "server/resume_tokens.h"
#include "server/shard.h"
#include "server/social.h"

namespace tutti::server {

void Dispatcher::OnReconnect(Session& s, const proto::ServerCommand& cmd, const std::string& rid) {
  if (!TakeRequest(s, rid)) return;
  auto param = [&cmd](const char* key) {
    auto it = cmd.parameters().find(key);
    return it == cmd.parameters().end() ? std::string() : it->second;
  };
  const std::string token = param("resume_token");
  const std::string offset = param("offset");
  ResumeRequest r;
  r.asked = true;
  r.room_id = param("room_id");
  r.epoch = param("epoch");
  r.request_id = rid;
  if (token.empty() || token.size() > crypto::kMaxResumeTokenBytes ||
      r.room_id.size() > crypto::kMaxResumeRoomBytes ||
      r.epoch.size() > crypto::kMaxResumeEpochBytes ||
      (!offset.empty() && !absl::SimpleAtoi(offset, &r.offset))) {
    return Error(s, proto::INVALID_PARAMETERS,
                 "RECONNECT takes resume_token, and optionally room_id, epoch and offset "
                 "(a non-negative integer)",
                 rid);
  }
  // The restored room would collide with one this connection is in or joining.
  if (!s.room_id().empty() || s.seat().joining()) {
    return Error(s, proto::WRONG_STATE, "RECONNECT only from a session in no room", rid);
  }
  ResumeTokens::Redemption red =
      shard_->cluster().resume_tokens().Redeem(token, s.user().user_id(), s.identity().is_guest);
  // Rooms across nodes: as at the upgrade (endpoint.cc).
  if (const Broker* b = shard_->broker(); b != nullptr && b->SharesResume()) {
    r.shared_key = ResumeTokens::SharedKey(token);
    r.remote = red.outcome == ResumeTokens::Outcome::kUnknown;
  }
  if (r.remote) {
    // StartResume asks Redis for it.
  } else if (red.outcome != ResumeTokens::Outcome::kGranted) {
    r.refusal = ResumeTokens::OutcomeName(red.outcome);
  } else {
    r.previous = red.session;
    if (red.user_id != s.user().user_id()) {
      // A guest answers to its old id again; friends' presence follows the switch.
      shard_->OnSocial([id = s.id(), old_id = s.user().user_id()](Social& social) {
        social.SessionOffline(id, old_id);
      });
      s.AdoptUserId(red.user_id);
      shard_->OnSocial(
          [id = s.id(), user = s.user()](Social& social) { social.SessionOnline(id, user); });
    }
  }
  shard_->StartResume(s, std::move(r));
}

}  // namespace tutti::server
