#include "server/token_refresh.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <utility>

#include <boost/asio/post.hpp>

#include "crypto/jwt.h"
#include "server/envelope.h"
#include "server/room.h"
#include "server/shard.h"

namespace tutti::server {
namespace {

// How often a shard with tracked sessions looks for what is due: a close comes at most
// this late, and an idle shard with no member sessions does not wake at all.
// Due times are wall-clock times and the timer waits on the steady clock: a wait is at
// most a minute, so a step of the wall clock is noticed within one.
constexpr int64_t kLongestWaitMs = 60 * 1000;

constexpr char kExpiredReason[] = "token expired: refresh";

}  // namespace

// --- ExpirySchedule ---------------------------------------------------------------------

void ExpirySchedule::Queue(SessionId id, Entry& e) {
  const int64_t at = e.noticed ? e.close_at_ms : e.close_at_ms - notice_ms_;
  e.queued = queue_.emplace(at, id);
}

void ExpirySchedule::Set(SessionId id, int64_t close_at_ms) {
  Erase(id);
  Entry& e = entries_[id];
  e.close_at_ms = close_at_ms;
  e.noticed = false;
  Queue(id, e);
}

void ExpirySchedule::Erase(SessionId id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  queue_.erase(it->second.queued);
  entries_.erase(it);
}

std::optional<int64_t> ExpirySchedule::NextDueMs() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.begin()->first;
}

std::vector<ExpirySchedule::Due> ExpirySchedule::TakeDue(int64_t now_ms) {
  std::vector<Due> due;
  while (!queue_.empty() && queue_.begin()->first <= now_ms) {
    const SessionId id = queue_.begin()->second;
    queue_.erase(queue_.begin());
    Entry& e = entries_.at(id);
    if (!e.noticed && now_ms < e.close_at_ms) {
      due.push_back(Due{id, false, e.close_at_ms});
      e.noticed = true;
      Queue(id, e);
      continue;
    }
    due.push_back(Due{id, true, e.close_at_ms});
    entries_.erase(id);
  }
  return due;
}

int64_t SessionCloseAtMs(int64_t token_exp_s, int64_t leeway_s) {
  // exp comes from a signed token but is still an arbitrary int64: saturate.
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max() / 1000;
  int64_t s = 0;
  if (__builtin_add_overflow(token_exp_s, leeway_s, &s) || s > kMax) return kMax * 1000;
  return s * 1000;
}

// --- SessionTokens ---------------------------------------------------------------------

SessionTokens::SessionTokens(Shard* shard)
    : shard_(shard),
      schedule_(shard->cluster().config().token_expiry_notice_s * 1000),
      timer_(shard->io()) {
  // A test's clock that jumps makes notices and closes due at once (clock.h).
  jump_subscription_ = shard->cluster().clock().SubscribeJumps(
      [this] { boost::asio::post(shard_->io(), [this] { Tick(); }); });
}

SessionTokens::~SessionTokens() { shard_->cluster().clock().UnsubscribeJumps(jump_subscription_); }

void SessionTokens::Track(const Session& s) {
  if (s.identity().is_guest || s.identity().token_exp_s == 0) return;
  schedule_.Set(s.id(), SessionCloseAtMs(s.identity().token_exp_s,
                                         shard_->cluster().config().token_leeway_s));
  Arm();
}

void SessionTokens::Stop() {
  stopped_ = true;
  ++generation_;
  timer_.cancel();
}

// One wait, for the earliest notice or close (none while nothing is scheduled); a session
// due earlier than the pending wait replaces it.
void SessionTokens::Arm() {
  if (stopped_) return;
  const std::optional<int64_t> next = schedule_.NextDueMs();
  if (!next) return;
  if (armed_for_ms_ && *armed_for_ms_ <= *next) return;
  armed_for_ms_ = next;
  const uint64_t generation = ++generation_;
  const int64_t wait_ms = std::clamp<int64_t>(*next - shard_->UnixMs(), 0, kLongestWaitMs);
  timer_.expires_after(std::chrono::milliseconds(wait_ms));
  timer_.async_wait([this, generation](const boost::system::error_code& ec) {
    if (ec || generation != generation_) return;
    armed_for_ms_.reset();
    Tick();
  });
}

void SessionTokens::Tick() {
  if (stopped_) return;
  // Token times are wall-clock (unix) times: compare with the server clock's wall time.
  for (const ExpirySchedule::Due& due : schedule_.TakeDue(shard_->UnixMs())) {
    Session* s = shard_->FindSession(due.session);
    if (!s || s->closing()) continue;
    if (due.close) {
      s->Close(kCloseTokenExpired, kExpiredReason);
      continue;
    }
    proto::ClientMessage notice;
    notice.mutable_token_expiring()->set_session_expires_unix_ms(due.close_at_ms);
    StampType(&notice);
    s->Send(MakeFrame(notice), false);
  }
  Arm();
}

// --- UPDATE_PERMISSIONS -------------------------------------------------------------------

void RefreshSessionToken(Shard& shard, Session& s, const std::string& token,
                         const std::string& request_id) {
  auto refuse = [&](proto::ErrorCode code, const std::string& text, const char* reason) {
    proto::ClientMessage out = MakeError(code, text, request_id);
    if (reason) (*out.mutable_error_message()->mutable_error_details())["reason"] = reason;
    s.Send(MakeFrame(out), false);
  };
  if (s.identity().is_guest) {
    return refuse(proto::WRONG_STATE, "guests have no token to refresh", nullptr);
  }
  if (token.empty() || token.size() > crypto::kMaxTokenBytes) {
    return refuse(proto::INVALID_PARAMETERS, "parameter `token` is required (a signed token)",
                  nullptr);
  }
  crypto::Identity fresh;
  crypto::AuthError error;
  if (!shard.cluster().authenticator().VerifyRefresh(token, s.user().user_id(), &fresh, &error)) {
    // The session keeps its old token, roles and expiry.
    return refuse(proto::AUTH_ERROR, error.reason, crypto::AuthFailureName(error.failure));
  }
  s.ReplaceIdentity(std::move(fresh));
  shard.tokens().Track(s);
  const int64_t close_at =
      SessionCloseAtMs(s.identity().token_exp_s, shard.cluster().config().token_leeway_s);
  proto::ClientMessage reply;
  auto* updated = reply.mutable_permissions_updated();
  *updated->mutable_user() = s.user();
  updated->set_session_expires_unix_ms(close_at);
  reply.set_request_id(request_id);
  StampType(&reply);
  s.Send(MakeFrame(reply), false);
  if (s.room_id().empty()) return;
  // Sent before anything the client sends after this: the room applies the new roles
  // before it sees the session's next command (at once when it is homed here; else
  // posts from one shard run in order, and the next command takes the same path).
  shard.OnRoom(s.room_id(), [id = s.id(), user = s.user(), admin = s.identity().is_admin,
                             moderator = s.identity().is_moderator](Room& r) {
    r.UpdateMember(id, user, admin, moderator);
  });
}

}  // namespace tutti::server
