// Social's friends and private messages: requests, accepts, declines, removals, blocks
// and the friend list (written through the storage thread, answered back on shard 0),
// and private-message routing with block checks. Same actor as server/social.cc: shard 0
// only, no locks.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "server/envelope.h"
#include "server/social.h"
#include "server/store/client_text.h"
#include "server/store/store.h"

namespace tutti::server {

struct Social::FriendResult {
  absl::Status status;
  bool accepted = false;    // SEND_REQUEST settled a crossing request: now friends
  bool unfriended = false;  // BLOCK_USER ended a friendship
  absl::StatusOr<std::vector<store::FriendRow>> list = absl::UnknownError("not run");
};

// --- friends ------------------------------------------------------------------------------

void Social::Link(const std::string& a, const std::string& b) {
  // Only loaded caches change: a load still in flight reads the committed state.
  if (User* u = FindUser(a); u && u->load == Load::kLoaded) u->friends.insert(b);
  if (User* u = FindUser(b); u && u->load == Load::kLoaded) u->friends.insert(a);
}

void Social::Unlink(const std::string& a, const std::string& b) {
  if (User* u = FindUser(a); u && u->load == Load::kLoaded) u->friends.erase(b);
  if (User* u = FindUser(b); u && u->load == Load::kLoaded) u->friends.erase(a);
}

void Social::Friend(SessionId session, const std::string& user_id, bool is_guest,
                    const proto::FriendRequest& req, const std::string& request_id) {
  const proto::FriendAction action = req.action();
  if (!proto::FriendAction_IsValid(action)) {
    return Error(session, proto::INVALID_PARAMETERS, "unknown friend action", request_id);
  }
  if (is_guest || IsGuestId(user_id)) {
    // A guest's id changes on every connection, so nothing could be kept for it.
    if (action == proto::LIST_FRIENDS) {
      proto::ClientMessage out;
      out.mutable_friend_list();
      out.set_request_id(request_id);
      StampType(&out);
      return host_->SendToSession(session, MakeFrame(out));
    }
    return Error(session, proto::PERMISSION_DENIED, "guests cannot have friends or block users",
                 request_id);
  }
  User* me = FindUser(user_id);
  if (me) RetryLoadIfFailed(user_id, *me);

  std::string target;
  bool target_online = false;
  if (action != proto::LIST_FRIENDS) {
    const std::string& given = req.target_user_id();
    if (given.empty() || given.size() > kMaxTargetLength) {
      return Error(session, proto::INVALID_PARAMETERS, "a target user id is required", request_id);
    }
    const User* them = Resolve(given, &target);
    target_online = them != nullptr;
    bool remote_guest = false;
    if (!them) {
      // Online on another node (social_nodes.cc): resolved by id or name there.
      if (const RemoteUser* r = ResolveRemote(given, &target)) {
        target_online = true;
        for (const auto& [node, u] : r->nodes) remote_guest = remote_guest || u.is_guest();
      } else {
        target = given;
      }
    }
    if (target == user_id) {
      return Error(session, proto::INVALID_PARAMETERS, "that is you", request_id);
    }
    if (IsGuestId(target) || (them && them->is_guest) || remote_guest) {
      return Error(session, proto::PERMISSION_DENIED, "guests cannot have friends or be blocked",
                   request_id);
    }
    if (action == proto::SEND_REQUEST || action == proto::ACCEPT_REQUEST) {
      auto full = [](const User* u) {
        return u && u->load == Load::kLoaded && u->friends.size() >= kMaxFriends;
      };
      if (full(me)) {
        return Error(session, proto::LIMIT_REACHED, "you have too many friends", request_id);
      }
      if (full(them)) {
        return Error(session, proto::LIMIT_REACHED, "they have too many friends", request_id);
      }
    }
  }
  // A request or a block needs someone to aim at: members who have ever connected have a
  // profile (see StartLoad). Other actions find their row or answer NOT_FOUND.
  const bool check_exists =
      !target_online && (action == proto::SEND_REQUEST || action == proto::BLOCK_USER);
  const int64_t now = host_->UnixMs();
  auto r = std::make_shared<FriendResult>();
  bool queued = host_->Storage(
      [r, user_id, target, action, check_exists, now](store::Store& st) {
        if (check_exists) {
          absl::StatusOr<store::Profile> p = st.GetProfile(target);
          if (absl::IsNotFound(p.status())) {
            r->status = absl::NotFoundError("no such user");
            return;
          }
          if (!p.ok()) {
            r->status = p.status();
            return;
          }
        }
        switch (action) {
          case proto::SEND_REQUEST: {
            absl::StatusOr<store::FriendRequestResult> sent =
                st.SendFriendRequest(user_id, target, now);
            r->status = sent.status();
            r->accepted = sent.ok() && *sent == store::FriendRequestResult::kAccepted;
            break;
          }
          case proto::ACCEPT_REQUEST:
            r->status = st.AcceptFriendRequest(user_id, target, now);
            break;
          case proto::DECLINE_REQUEST:
            r->status = st.DeclineFriendRequest(user_id, target);
            break;
          case proto::REMOVE_FRIEND:
            r->status = st.RemoveFriend(user_id, target);
            break;
          case proto::BLOCK_USER: {
            absl::StatusOr<bool> ended = st.Block(user_id, target, now);
            r->status = ended.status();
            r->unfriended = ended.ok() && *ended;
            break;
          }
          case proto::UNBLOCK_USER:
            r->status = st.Unblock(user_id, target);
            break;
          default:
            break;
        }
        // The answer is the list as committed, read in the same job.
        if (r->status.ok()) r->list = st.ListFriends(user_id);
      },
      [this, r, session, user_id, target, action, request_id] {
        FinishFriend(session, user_id, target, action, *r, request_id);
      });
  if (!queued) Error(session, proto::RATE_LIMITED, "server busy, try again", request_id);
}

void Social::FinishFriend(SessionId session, const std::string& user_id, const std::string& target,
                          proto::FriendAction action, const FriendResult& r,
                          const std::string& request_id) {
  if (!r.status.ok()) return StoreError(session, r.status, request_id);
  // Committed: update the caches, then tell the other party.
  switch (action) {
    case proto::SEND_REQUEST:
      if (r.accepted) {
        Link(user_id, target);
        SendToUser(target, EventFrame(proto::FRIEND_REQUEST_ACCEPTED,
                                      Presence(user_id, FindUser(user_id))));
      } else {
        proto::FriendInfo info = Bare(user_id);
        info.set_pending_incoming(true);
        SendToUser(target, EventFrame(proto::FRIEND_REQUEST_RECEIVED, info));
      }
      break;
    case proto::ACCEPT_REQUEST:
      Link(user_id, target);
      SendToUser(target,
                 EventFrame(proto::FRIEND_REQUEST_ACCEPTED, Presence(user_id, FindUser(user_id))));
      break;
    case proto::DECLINE_REQUEST:
      SendToUser(target, EventFrame(proto::FRIEND_REQUEST_DECLINED, Bare(user_id)));
      break;
    case proto::REMOVE_FRIEND:
      Unlink(user_id, target);
      SendToUser(target, EventFrame(proto::FRIEND_REMOVED, Bare(user_id)));
      break;
    case proto::BLOCK_USER:
      Unlink(user_id, target);
      if (User* me = FindUser(user_id); me && me->load == Load::kLoaded) {
        me->blocked.insert(target);
      }
      // Only a friendship ending is announced; the block itself is never revealed.
      if (r.unfriended) SendToUser(target, EventFrame(proto::FRIEND_REMOVED, Bare(user_id)));
      break;
    case proto::UNBLOCK_USER:
      if (User* me = FindUser(user_id); me && me->load == Load::kLoaded) {
        me->blocked.erase(target);
      }
      break;
    default:
      break;
  }
  if (!r.list.ok()) {
    const bool changed = action != proto::LIST_FRIENDS;
    return Error(session, proto::INTERNAL_ERROR,
                 changed ? "done, but your friend list could not be read"
                         : "your friend list could not be read",
                 request_id);
  }
  SendFriendList(session, *r.list, request_id);
}

void Social::SendFriendList(SessionId session, const std::vector<store::FriendRow>& rows,
                            const std::string& request_id) {
  proto::ClientMessage out;
  auto* list = out.mutable_friend_list();
  for (const store::FriendRow& row : rows) {
    proto::FriendInfo* info = list->add_friends();
    const bool pending = row.pending_incoming || row.pending_outgoing;
    // Presence is for friends only; a pending request shows who, not whether online.
    const User* u = FindUser(row.user_id);
    *info = pending ? Bare(row.user_id) : Presence(row.user_id, u);
    if (!u) info->set_username(row.username);
    info->set_pending_incoming(row.pending_incoming);
    info->set_pending_outgoing(row.pending_outgoing);
  }
  out.set_request_id(request_id);
  StampType(&out);
  host_->SendToSession(session, MakeFrame(out));
}

// --- private messages -----------------------------------------------------------------

void Social::PrivateMessage(SessionId from_session, const std::string& from_user_id,
                            const std::string& from_username, proto::PrivateMessage pm,
                            const std::string& request_id) {
  const User* from = FindUser(from_user_id);
  if (IsGuestId(from_user_id) || (from && from->is_guest)) {
    // A block could never hold against a guest, whose id changes every connection.
    return Error(from_session, proto::PERMISSION_DENIED, "guests cannot send private messages",
                 request_id);
  }
  std::string to_id;
  const User* to = Resolve(pm.to_user_id(), &to_id);
  if (!to) {
    // Perhaps online on another node (social_nodes.cc): that node delivers and answers.
    if (!ResolveRemote(pm.to_user_id(), &to_id) || to_id == from_user_id) {
      return Error(from_session, proto::NOT_FOUND, "that user is not online", request_id);
    }
    if (from && from->load == Load::kLoaded && from->blocked.count(to_id)) {
      return Error(from_session, proto::BLOCKED, "you block this user", request_id);
    }
    pm.set_to_user_id(to_id);
    pm.set_from_user_id(from_user_id);
    pm.set_from_username(from_username);
    pm.set_server_time(host_->NowUs());
    return RelayPrivateMessage(from_session, to_id, std::move(pm), request_id, /*answer=*/true);
  }
  if (to_id == from_user_id) {
    return Error(from_session, proto::INVALID_PARAMETERS, "you cannot message yourself",
                 request_id);
  }
  pm.set_to_user_id(to_id);
  pm.set_from_user_id(from_user_id);
  pm.set_from_username(from_username);
  pm.set_server_time(host_->NowUs());
  if (from && from->load == Load::kLoaded && to->load == Load::kLoaded) {
    if (to->blocked.count(from_user_id)) {
      return Error(from_session, proto::BLOCKED, "this user does not accept your messages",
                   request_id);
    }
    if (from->blocked.count(to_id)) {
      return Error(from_session, proto::BLOCKED, "you block this user", request_id);
    }
    return Deliver(from_session, to_id, std::move(pm), request_id);
  }
  // A block list is still loading (or failed to): ask the store. The job queues behind
  // the load, so the answer is at least as fresh as the cache would have been.
  auto blocked = std::make_shared<absl::StatusOr<bool>>(absl::UnknownError("not run"));
  bool queued = host_->Storage(
      [blocked, to_id, from_user_id](store::Store& st) {
        *blocked = st.IsBlockedEitherWay(to_id, from_user_id);
      },
      [this, blocked, from_session, to_id, pm, request_id]() mutable {
        if (!blocked->ok()) {
          return Error(from_session, proto::INTERNAL_ERROR, "storage error, try again later",
                       request_id);
        }
        if (**blocked) {
          return Error(from_session, proto::BLOCKED, "one of you blocks the other", request_id);
        }
        Deliver(from_session, to_id, std::move(pm), request_id);
      });
  if (!queued) Error(from_session, proto::RATE_LIMITED, "server busy, try again", request_id);
}

void Social::Deliver(SessionId from_session, const std::string& to_user_id,
                     proto::PrivateMessage pm, const std::string& request_id) {
  const User* to = FindUser(to_user_id);
  if (!to) return Error(from_session, proto::NOT_FOUND, "that user is not online", request_id);
  proto::ClientMessage out;
  *out.mutable_private_message() = std::move(pm);
  StampType(&out);
  // One frame for all of the recipient's sessions; the sender's copy differs only by
  // the request id that confirms it.
  Frame frame = MakeFrame(out);
  for (const SessionState& s : to->sessions) host_->SendToSession(s.session, frame);
  // The recipient's sessions on other nodes get it too; the answer is this node's.
  if (FindRemote(to_user_id)) {
    RelayPrivateMessage(from_session, to_user_id, out.private_message(), request_id,
                        /*answer=*/false);
  }
  out.set_request_id(request_id);
  host_->SendToSession(from_session, MakeFrame(out));
}

}  // namespace tutti::server
