#include "server/social.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>

#include "absl/status/statusor.h"
#include "server/envelope.h"
#include "server/store/client_text.h"
#include "server/store/store.h"

namespace tutti::server {
namespace {

std::string Lower(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A stored status is whatever an older or newer server wrote; only the settable ones
// come back.
proto::UserStatus SettableStatus(int stored) {
  switch (stored) {
    case proto::ONLINE:
    case proto::AWAY:
    case proto::BUSY:
    case proto::INVISIBLE:
      return static_cast<proto::UserStatus>(stored);
    default:
      return proto::ONLINE;
  }
}

bool SameView(const proto::FriendInfo& a, const proto::FriendInfo& b) {
  // An offline view carries nothing else worth telling.
  if (a.status() == proto::OFFLINE && b.status() == proto::OFFLINE) return true;
  return a.status() == b.status() && a.status_text() == b.status_text() &&
         a.room_id() == b.room_id() && a.username() == b.username();
}

}  // namespace

struct Social::LoadResult {
  absl::StatusOr<store::Profile> profile = absl::UnknownError("not run");
  absl::StatusOr<std::vector<store::FriendRow>> friends = absl::UnknownError("not run");
  absl::StatusOr<std::vector<std::string>> blocked = absl::UnknownError("not run");
};

Social::Social(SocialHost* host) : host_(host) {}

// --- lookups ----------------------------------------------------------------------------

Social::User* Social::FindUser(const std::string& user_id) {
  auto it = users_.find(user_id);
  return it == users_.end() ? nullptr : &it->second;
}

const Social::User* Social::FindUser(const std::string& user_id) const {
  auto it = users_.find(user_id);
  return it == users_.end() ? nullptr : &it->second;
}

const Social::User* Social::Resolve(const std::string& who, std::string* user_id) const {
  auto it = users_.find(who);
  if (it == users_.end()) {
    auto n = by_name_.find(Lower(who));
    if (n == by_name_.end()) return nullptr;
    it = users_.find(n->second);
    if (it == users_.end()) return nullptr;
  }
  *user_id = it->first;
  return &it->second;
}

bool Social::Lookup(const std::string& who, std::string* user_id, std::string* username,
                    bool* is_guest) const {
  const User* u = Resolve(who, user_id);
  if (!u) return false;
  *username = u->username;
  *is_guest = u->is_guest;
  return true;
}

std::vector<SessionId> Social::Find(const std::string& who, std::string* user_id) const {
  std::string id;
  const User* u = Resolve(who, &id);
  if (!u) return {};
  if (user_id) *user_id = id;
  std::vector<SessionId> out;
  out.reserve(u->sessions.size());
  for (const SessionState& s : u->sessions) out.push_back(s.session);
  return out;
}

bool Social::CacheLoaded(const std::string& user_id) const {
  const User* u = FindUser(user_id);
  return u && u->load == Load::kLoaded;
}

// --- views --------------------------------------------------------------------------------

std::string Social::RoomOf(const User& u) {
  const SessionState* newest = nullptr;
  for (const SessionState& s : u.sessions) {
    if (!s.room_id.empty() && (!newest || s.room_order > newest->room_order)) newest = &s;
  }
  return newest ? newest->room_id : std::string();
}

proto::FriendInfo Social::Presence(const std::string& user_id, const User* u) const {
  // Not online here: perhaps on another node (social_nodes.cc).
  if (!u && FindRemote(user_id)) return RemotePresence(user_id);
  proto::FriendInfo info;
  info.set_user_id(user_id);
  if (u) info.set_username(u->username);
  // Until the profile is loaded the user may turn out to be invisible, so an unloaded
  // user is shown offline rather than risk revealing them.
  if (u && u->load == Load::kLoaded && u->status != proto::INVISIBLE) {
    info.set_status(u->status);
    info.set_status_text(u->status_text);
    info.set_room_id(RoomOf(*u));
  } else {
    info.set_status(proto::OFFLINE);
  }
  return info;
}

proto::FriendInfo Social::Bare(const std::string& user_id) const {
  proto::FriendInfo info;
  info.set_user_id(user_id);
  if (const User* u = FindUser(user_id)) info.set_username(u->username);
  info.set_status(proto::OFFLINE);
  return info;
}

proto::AvatarData Social::ProfileAvatar(const User& u) {
  proto::AvatarData avatar;
  avatar.set_appearance(u.appearance);
  avatar.set_status(u.status);
  avatar.set_status_text(u.status_text);
  return avatar;
}

Frame Social::EventFrame(proto::FriendEventKind kind, const proto::FriendInfo& info) {
  proto::ClientMessage out;
  auto* ev = out.mutable_friend_event();
  ev->set_kind(kind);
  *ev->mutable_friend_info() = info;
  StampType(&out);
  return MakeFrame(out);
}

void Social::Error(SessionId session, proto::ErrorCode code, const std::string& text,
                   const std::string& request_id) {
  host_->SendToSession(session, MakeFrame(MakeError(code, text, request_id)));
}

void Social::StoreError(SessionId session, const absl::Status& status,
                        const std::string& request_id) {
  const std::string text = store::ClientText(status);
  if (store::FromDatabase(status) && status.code() != absl::StatusCode::kFailedPrecondition &&
      status.code() != absl::StatusCode::kAlreadyExists) {
    // A failure of the store itself: for the operator's log, not the user.
    return Error(session, proto::INTERNAL_ERROR, text, request_id);
  }
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return Error(session, proto::NOT_FOUND, text, request_id);
    case absl::StatusCode::kAlreadyExists:
      return Error(session, proto::ALREADY_EXISTS, text, request_id);
    case absl::StatusCode::kInvalidArgument:
      return Error(session, proto::INVALID_PARAMETERS, text, request_id);
    case absl::StatusCode::kFailedPrecondition:
      // The store's only precondition on friends is that neither blocks the other.
      return Error(session, proto::BLOCKED, "one of you blocks the other", request_id);
    default:
      // Storage failures are for the operator's log, not the user.
      return Error(session, proto::INTERNAL_ERROR, "storage error, try again later", request_id);
  }
}

// --- presence -----------------------------------------------------------------------------

void Social::PushPresence(const std::string& user_id, User& u) {
  // Before the load the friend list is unknown; the load's completion pushes instead.
  if (u.load != Load::kLoaded) return ShareUser(user_id, u);
  proto::FriendInfo now = Presence(user_id, &u);
  if (!SameView(now, u.pushed)) {
    u.pushed = now;
    if (!u.friends.empty()) {
      Frame frame = EventFrame(proto::FRIEND_STATUS_CHANGED, now);
      for (const std::string& f : u.friends) SendToUser(f, frame);
    }
  }
  // Other nodes see the user online, with the view their friends there get.
  ShareUser(user_id, u);
}

void Social::SessionOnline(SessionId session, const proto::UserInfo& user) {
  const std::string& user_id = user.user_id();
  if (user_id.empty()) return;
  auto [it, first] = users_.try_emplace(user_id);
  User& u = it->second;
  if (!u.username.empty() && u.username != user.username()) {
    auto n = by_name_.find(Lower(u.username));
    if (n != by_name_.end() && n->second == user_id) by_name_.erase(n);
  }
  u.username = user.username();
  // A later login with the same name takes the name over, as Directory did.
  by_name_[Lower(u.username)] = user_id;
  bool known = std::any_of(u.sessions.begin(), u.sessions.end(),
                           [session](const SessionState& s) { return s.session == session; });
  if (!known) u.sessions.push_back({session, "", 0});
  if (!first) {
    if (u.load == Load::kLoaded && (u.has_profile || u.status_set || u.appearance_set)) {
      host_->ApplyProfile(session, ProfileAvatar(u));
    }
    PushPresence(user_id, u);  // friends see the latest name
    RetryLoadIfFailed(user_id, u);
    return;
  }
  u.generation = next_generation_++;
  u.is_guest = user.is_guest() || IsGuestId(user_id);
  u.pushed.set_user_id(user_id);
  u.pushed.set_status(proto::OFFLINE);
  if (u.is_guest) {
    // Guests have no friends, blocks or profile (their id changes every connection),
    // so there is nothing to load.
    u.load = Load::kLoaded;
    return ShareUser(user_id, u);
  }
  ShareUser(user_id, u);
  StartLoad(user_id, u);
}

void Social::SessionOffline(SessionId session, const std::string& user_id) {
  auto it = users_.find(user_id);
  if (it == users_.end()) return;
  User& u = it->second;
  auto& v = u.sessions;
  v.erase(std::remove_if(v.begin(), v.end(),
                         [session](const SessionState& s) { return s.session == session; }),
          v.end());
  if (!v.empty()) {
    PushPresence(user_id, u);  // the room may have been that session's
    return;
  }
  UnshareUser(user_id);
  // Still online on another node: that node keeps their friends informed.
  const bool elsewhere = FindRemote(user_id) != nullptr;
  if (!elsewhere && u.load == Load::kLoaded && u.pushed.status() != proto::OFFLINE &&
      !u.friends.empty()) {
    proto::FriendInfo gone;
    gone.set_user_id(user_id);
    gone.set_username(u.username);
    gone.set_status(proto::OFFLINE);
    Frame frame = EventFrame(proto::FRIEND_STATUS_CHANGED, gone);
    for (const std::string& f : u.friends) SendToUser(f, frame);
  }
  auto n = by_name_.find(Lower(u.username));
  if (n != by_name_.end() && n->second == user_id) by_name_.erase(n);
  // The caches go with the user: a later login reloads them from the store.
  users_.erase(it);
}

void Social::StatusChanged(SessionId session, const std::string& user_id, proto::UserStatus status,
                           const std::string& text) {
  if (status != proto::ONLINE && status != proto::AWAY && status != proto::BUSY &&
      status != proto::INVISIBLE) {
    return;
  }
  User* u = FindUser(user_id);
  if (!u) return;
  u->status = status;
  u->status_text = text;
  u->status_set = true;
  if (!u->is_guest) SaveProfile(user_id, *u);
  PushPresence(user_id, *u);
  RetryLoadIfFailed(user_id, *u);
}

void Social::RoomChanged(SessionId session, const std::string& user_id,
                         const std::string& room_id) {
  User* u = FindUser(user_id);
  if (!u) return;
  for (SessionState& s : u->sessions) {
    if (s.session == session) {
      s.room_id = room_id;
      s.room_order = next_room_order_++;
    }
  }
  PushPresence(user_id, *u);
  RetryLoadIfFailed(user_id, *u);
}

void Social::AppearanceChanged(SessionId session, const std::string& user_id,
                               const proto::AvatarData& avatar) {
  User* u = FindUser(user_id);
  if (!u || u->is_guest) return;
  u->appearance = avatar.appearance();
  u->appearance_set = true;
  SaveProfile(user_id, *u);
  RetryLoadIfFailed(user_id, *u);
}

// --- loading and saving ---------------------------------------------------------------

void Social::StartLoad(const std::string& user_id, User& u) {
  u.load = Load::kLoading;
  auto r = std::make_shared<LoadResult>();
  const std::string username = u.username;
  const int64_t now = host_->UnixMs();
  const uint64_t generation = u.generation;
  bool queued = host_->Storage(
      [r, user_id, username, now](store::Store& st) {
        r->profile = st.GetProfile(user_id);
        // Offline friends are listed by their profile's name, and a friend request
        // needs its target to exist; so every member who has connected has a profile
        // with their current name. A failure here only leaves the name stale.
        if (absl::IsNotFound(r->profile.status()) ||
            (r->profile.ok() && r->profile->username != username)) {
          store::Profile p = r->profile.ok() ? *r->profile : store::Profile{};
          p.user_id = user_id;
          p.username = username;
          p.updated_unix_ms = now;
          st.UpsertProfile(p).IgnoreError();
        }
        r->friends = st.ListFriends(user_id);
        r->blocked = st.ListBlocked(user_id);
      },
      [this, r, user_id, generation] { FinishLoad(user_id, generation, *r); });
  if (!queued) u.load = Load::kFailed;
}

void Social::FinishLoad(const std::string& user_id, uint64_t generation, const LoadResult& r) {
  User* u = FindUser(user_id);
  // Offline (and perhaps back) since the load was queued: a newer load owns the user.
  if (!u || u->generation != generation) return;
  const bool profile_ok = r.profile.ok() || absl::IsNotFound(r.profile.status());
  if (!profile_ok || !r.friends.ok() || !r.blocked.ok()) {
    u->load = Load::kFailed;
    return;
  }
  // Replaces rather than merges: friend actions completed while this load was in flight
  // were submitted before it (so it already reflects them) or complete after it.
  u->friends.clear();
  for (const store::FriendRow& row : *r.friends) {
    if (!row.pending_incoming && !row.pending_outgoing) u->friends.insert(row.user_id);
  }
  u->blocked = std::unordered_set<std::string>(r.blocked->begin(), r.blocked->end());
  if (r.profile.ok()) {
    u->has_profile = true;
    if (!u->status_set) {
      u->status = SettableStatus(r.profile->status);
      u->status_text = r.profile->status_text;
    }
    if (!u->appearance_set) u->appearance = r.profile->appearance;
    proto::AvatarData avatar = ProfileAvatar(*u);
    for (const SessionState& s : u->sessions) host_->ApplyProfile(s.session, avatar);
  }
  u->load = Load::kLoaded;
  PushPresence(user_id, *u);
}

void Social::RetryLoadIfFailed(const std::string& user_id, User& u) {
  if (u.load == Load::kFailed) StartLoad(user_id, u);
}

void Social::SaveProfile(const std::string& user_id, const User& u) {
  // Before the load, only what this login changed is known; the rest is kept from the
  // stored row, read in the same job so nothing in between can be lost.
  const bool loaded = u.load == Load::kLoaded;
  std::optional<std::pair<int, std::string>> status;
  if (loaded || u.status_set) status.emplace(u.status, u.status_text);
  std::optional<std::string> appearance;
  if (loaded || u.appearance_set) appearance = u.appearance;
  const std::string username = u.username;
  const int64_t now = host_->UnixMs();
  // Nobody waits on this write, so a full queue is not reported: the next change writes
  // every known field again.
  host_->Storage(
      [user_id, username, status, appearance, now](store::Store& st) {
        absl::StatusOr<store::Profile> old = st.GetProfile(user_id);
        store::Profile p = old.ok() ? *old : store::Profile{};
        p.user_id = user_id;
        p.username = username;
        if (status) {
          p.status = status->first;
          p.status_text = status->second;
        }
        if (appearance) p.appearance = *appearance;
        p.updated_unix_ms = now;
        st.UpsertProfile(p).IgnoreError();
      },
      [] {});
}

}  // namespace tutti::server
