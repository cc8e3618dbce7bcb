// Dispatcher handlers for a user's presence: avatar moves and looks, status (one path,
// through the Social actor on shard 0) and private messages. Run on the session's
// shard; what Social owns is reached by a post of values.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/dispatcher.h"
#include "server/envelope.h"
#include "server/room.h"
#include "server/shard.h"
#include "server/social.h"
#include "server/text.h"

namespace tutti::server {

namespace {

bool ValidColor(const std::string& c) {
  if (c.empty()) return true;
  if (c.size() != 7 || c[0] != '#') return false;
  for (size_t i = 1; i < 7; ++i) {
    char ch = c[i];
    bool hex = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
    if (!hex) return false;
  }
  return true;
}

}  // namespace

// --- avatars and status -------------------------------------------------------------------------

void Dispatcher::OnAvatar(Session& s, const proto::AvatarCommand& cmd, const std::string& rid) {
  const auto& d = cmd.avatar_data();
  if (cmd.action() == proto::UPDATE_POSITION) {
    // A position is a place in a room; a look is part of the profile and may be set before
    // joining any (a client's settings screen), so only positions need a room.
    if (s.room_id().empty()) return Error(s, proto::WRONG_STATE, "not in a room", rid);
    if (!std::isfinite(d.x()) || !std::isfinite(d.y()) || d.x() < 0 || d.x() > 1 || d.y() < 0 ||
        d.y() > 1) {
      return Error(s, proto::INVALID_PARAMETERS, "position must be within 0..1", rid);
    }
    // Positions are droppable: past the rate they are shed silently, as the next move
    // supersedes them anyway.
    if (!s.avatar_bucket.TryTake(1, shard_->NowUs())) {
      shard_->mutable_counters().rate_limited.Add(metrics::RateBucket::kAvatar);
      return;
    }
  } else {
    if (!TakeRequest(s, rid)) return;
    if (cmd.action() == proto::UPDATE_STATUS) {
      // Status has one path whatever message sets it: through Social (friends see it,
      // INVISIBLE hides presence) and to the room as a UserStatusUpdate.
      proto::UserStatusUpdate update;
      update.set_status(d.status());
      update.set_status_text(d.status_text());
      return ApplyStatus(s, update, rid);
    }
    if (!ValidColor(d.color()) || d.appearance().size() > 256) {
      return Error(s, proto::INVALID_PARAMETERS, "invalid avatar data", rid);
    }
  }
  proto::AvatarCommand clean = cmd;
  if (cmd.action() != proto::UPDATE_POSITION) {
    // A look changes colour and appearance only: the status stays what the status path
    // set, and the room is shown it as it shows status (INVISIBLE as ONLINE).
    proto::AvatarData* mine = s.mutable_user().mutable_avatar();
    mine->set_color(d.color());
    mine->set_appearance(d.appearance());
    *clean.mutable_avatar_data() = *mine;
    if (!s.room_id().empty() && mine->status() == proto::INVISIBLE) {
      clean.mutable_avatar_data()->set_status(proto::ONLINE);
    }
    // The look is part of the profile: kept in the store for the next visit.
    shard_->OnSocial([id = s.id(), user_id = s.user().user_id(), avatar = *mine](Social& social) {
      social.AppearanceChanged(id, user_id, avatar);
    });
  } else {
    clean.mutable_avatar_data()->clear_status();
    clean.mutable_avatar_data()->clear_status_text();
  }
  if (s.room_id().empty()) {
    // Nobody to relay to: the sender gets its command back as confirmation, as the room
    // would show it (the room's own relay skips the sender).
    proto::ClientMessage out;
    auto* a = out.mutable_avatar_command();
    *a = std::move(clean);
    a->set_user_id(s.user().user_id());
    a->set_session_id(s.id());
    return Reply(s, std::move(out), rid);
  }
  shard_->OnRoom(s.room_id(),
                 [id = s.id(), clean = std::move(clean)](Room& r) { r.Avatar(id, clean); });
}

void Dispatcher::OnStatus(Session& s, const proto::UserStatusUpdate& update,
                          const std::string& rid) {
  if (!TakeRequest(s, rid)) return;
  ApplyStatus(s, update, rid);
}

void Dispatcher::ApplyStatus(Session& s, const proto::UserStatusUpdate& update,
                             const std::string& rid) {
  if (update.status() == proto::OFFLINE || !proto::UserStatus_IsValid(update.status())) {
    return Error(s, proto::INVALID_PARAMETERS, "status must be ONLINE, AWAY, BUSY or INVISIBLE",
                 rid);
  }
  proto::UserStatusUpdate clean;
  clean.set_status(update.status());
  clean.set_status_text(CleanText(update.status_text(), 128, false));
  clean.set_user_id(s.user().user_id());
  clean.set_username(s.user().username());
  s.mutable_user().mutable_avatar()->set_status(clean.status());
  s.mutable_user().mutable_avatar()->set_status_text(clean.status_text());
  shard_->OnSocial([id = s.id(), user_id = s.user().user_id(), status = clean.status(),
                    text = clean.status_text()](Social& social) {
    social.StatusChanged(id, user_id, status, text);
  });
  // Acknowledge to the sender with its own view.
  proto::ClientMessage ack;
  *ack.mutable_user_status_update() = clean;
  Reply(s, std::move(ack), rid);
  if (s.room_id().empty()) return;
  // Room members see an invisible user as plainly online: invisibility hides presence
  // from friends and lists, not from the people in the same room.
  if (clean.status() == proto::INVISIBLE) clean.set_status(proto::ONLINE);
  shard_->OnRoom(s.room_id(),
                 [id = s.id(), clean = std::move(clean)](Room& r) { r.UserStatus(id, clean); });
}

// --- private messages
// ------------------------------------------------------------------------------

void Dispatcher::OnPrivateMessage(Session& s, const proto::PrivateMessage& pm,
                                  const std::string& rid) {
  if (!s.chat_bucket.TryTake(1, shard_->NowUs())) {
    return RateLimited(s, metrics::RateBucket::kChat, "you are sending messages too fast", rid);
  }
  DeliverPrivateMessage(s, pm, rid);
}

void Dispatcher::DeliverPrivateMessage(Session& s, const proto::PrivateMessage& pm,
                                       const std::string& rid) {
  const ServerConfig& cfg = shard_->cluster().config();
  if (pm.message().size() > cfg.max_chat_length * 4 || pm.to_user_id().size() > 128) {
    return Error(s, proto::INVALID_PARAMETERS, "message is too long", rid);
  }
  std::string text = CleanText(pm.message(), cfg.max_chat_length, false);
  if (text.empty() || pm.to_user_id().empty()) {
    return Error(s, proto::INVALID_PARAMETERS, "recipient and message are required", rid);
  }
  // Routing, blocks and delivery to every session of the recipient happen in the
  // Social actor on shard 0, which knows who is online where.
  proto::PrivateMessage clean;
  clean.set_to_user_id(pm.to_user_id());
  clean.set_message(std::move(text));
  shard_->OnSocial([from = s.id(), user_id = s.user().user_id(), username = s.user().username(),
                    clean = std::move(clean), rid](Social& social) mutable {
    social.PrivateMessage(from, user_id, username, std::move(clean), rid);
  });
}

}  // namespace tutti::server
