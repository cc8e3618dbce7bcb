// Social across nodes (rooms across nodes, docs/SCALE-OUT.md "Node bus"): what this
// node's Social tells the others and learns from them through the node bus — its online
// users (records under expiring keys, and a message at each change), private messages
// for users online elsewhere and their answers, friend events for them, and server bans;
// and, being the one reader of the bus, the other nodes' listed rooms, checked and handed
// to the room list (NodeRooms).
// Same actor as server/social.cc: shard 0 only, no locks; the bus calls back on shard 0.
#include <algorithm>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "server/envelope.h"
#include "server/node_bus.h"
#include "server/node_wire.h"
#include "server/social.h"
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

BanChange FromBus(const proto::BusServerBan& b) {
  moderation::ServerBan ban;
  ban.target = b.target();
  ban.reason = b.reason();
  ban.actor = b.actor();
  ban.created_unix_ms = b.created_unix_ms();
  ban.until_unix_ms = b.until_unix_ms();
  return {std::move(ban), b.add()};
}

}  // namespace

void Social::AttachBus(NodeBus* bus, NodeRooms* rooms) {
  bus_ = bus;
  rooms_ = rooms;
  if (bus_ == nullptr) return;
  NodeBus::Handlers h;
  h.message = [this](std::string_view bytes) { OnBusMessage(bytes); };
  h.view = [this](const std::vector<std::string>& nodes,
                  const std::vector<std::pair<std::string, std::string>>& users,
                  const std::vector<std::pair<std::string, std::string>>& room_records) {
    OnBusView(nodes, users, room_records);
  };
  h.availability = [this](bool up) { bus_stats_.up.store(up, std::memory_order_relaxed); };
  h.bans = [this](const std::vector<std::string>& records) { OnBusBans(records); };
  proto::NodeBusMessage farewell;
  farewell.set_from_node(bus_->node_id());
  farewell.mutable_gone();
  h.farewell = farewell.SerializeAsString();
  bus_stats_.attached.store(true, std::memory_order_relaxed);
  bus_stats_.nodes.store(1, std::memory_order_relaxed);
  bus_->Start(std::move(h));
}

bool Social::PublishBus(proto::NodeBusMessage& msg) {
  if (bus_ == nullptr) return false;
  msg.set_from_node(bus_->node_id());
  if (!bus_->Publish(msg.SerializeAsString())) return false;
  bus_stats_.published.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void Social::PublishServerBan(const moderation::ServerBan& ban, bool add) {
  if (bus_ == nullptr) return;
  proto::NodeBusMessage msg;
  msg.set_from_node(bus_->node_id());
  proto::BusServerBan* b = msg.mutable_ban();
  b->set_add(add);
  b->set_target(ban.target);
  b->set_reason(ban.reason);
  b->set_actor(ban.actor);
  // A lift is dated when it happens (not when the ban it lifts was made): the latest
  // change of a target wins (ban_sync.h).
  b->set_created_unix_ms(add && ban.created_unix_ms > 0 ? ban.created_unix_ms : host_->UnixMs());
  b->set_until_unix_ms(add ? ban.until_unix_ms : 0);
  // Remembered while it matters: a timed ban until it ends, a lift for kBanTombstoneMs.
  const int64_t forget = add ? ban.until_unix_ms : b->created_unix_ms() + kBanTombstoneMs;
  bus_->ShareBan(ban.target, b->SerializeAsString(), b->created_unix_ms(), forget,
                 msg.SerializeAsString());
  bus_stats_.published.fetch_add(1, std::memory_order_relaxed);
}

void Social::OnBusBans(const std::vector<std::string>& records) {
  std::vector<BanChange> changes;
  for (const std::string& bytes : records) {
    proto::BusServerBan b;
    if (!ParseBanRecord(bytes, &b)) {
      bus_stats_.malformed.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    changes.push_back(FromBus(b));
  }
  if (!changes.empty()) host_->ApplyRemoteBans(std::move(changes));
}

// --- this node's users ---------------------------------------------------------------------

void Social::ShareUser(const std::string& user_id, User& u) {
  if (bus_ == nullptr) return;
  proto::NodeUser record;
  record.set_user_id(user_id);
  record.set_username(u.username);
  record.set_is_guest(u.is_guest);
  *record.mutable_view() = u.pushed;
  record.mutable_view()->set_user_id(user_id);
  std::string bytes = record.SerializeAsString();
  if (bytes == u.shared) return;
  u.shared = bytes;
  bus_->SetUser(user_id, bytes);
  proto::NodeBusMessage msg;
  *msg.mutable_presence()->mutable_user() = std::move(record);
  msg.mutable_presence()->set_online(true);
  PublishBus(msg);
}

void Social::UnshareUser(const std::string& user_id) {
  if (bus_ == nullptr) return;
  bus_->RemoveUser(user_id);
  proto::NodeBusMessage msg;
  msg.mutable_presence()->mutable_user()->set_user_id(user_id);
  msg.mutable_presence()->set_online(false);
  PublishBus(msg);
}

// --- users of other nodes ------------------------------------------------------------------

const Social::RemoteUser* Social::FindRemote(const std::string& user_id) const {
  auto it = remote_.find(user_id);
  return it == remote_.end() ? nullptr : &it->second;
}

const Social::RemoteUser* Social::ResolveRemote(const std::string& who,
                                                std::string* user_id) const {
  auto it = remote_.find(who);
  if (it == remote_.end()) {
    auto n = remote_by_name_.find(Lower(who));
    if (n == remote_by_name_.end()) return nullptr;
    it = remote_.find(n->second);
    if (it == remote_.end()) return nullptr;
  }
  *user_id = it->first;
  return &it->second;
}

void Social::SetRemote(const std::string& node, const proto::NodeUser& user) {
  live_nodes_.insert(node);
  RemoteUser& r = remote_[user.user_id()];
  r.nodes[node] = user;
  if (!user.username().empty()) {
    const std::string name = Lower(user.username());
    remote_by_name_[name] = user.user_id();
    r.names.insert(name);
  }
}

void Social::DropRemote(const std::string& node, const std::string& user_id) {
  auto it = remote_.find(user_id);
  if (it == remote_.end()) return;
  it->second.nodes.erase(node);
  if (!it->second.nodes.empty()) return;
  for (const std::string& name : it->second.names) {
    auto n = remote_by_name_.find(name);
    if (n != remote_by_name_.end() && n->second == user_id) remote_by_name_.erase(n);
  }
  remote_.erase(it);
}

proto::FriendInfo Social::RemotePresence(const std::string& user_id) const {
  proto::FriendInfo info;
  info.set_user_id(user_id);
  info.set_status(proto::OFFLINE);
  const RemoteUser* r = FindRemote(user_id);
  if (r == nullptr) return info;
  // The newest-looking view wins: any node that shows the user online.
  for (const auto& [node, user] : r->nodes) {
    info.set_username(user.username());
    if (user.view().status() != proto::OFFLINE && user.view().status() != proto::INVISIBLE) {
      info = user.view();
      info.set_user_id(user_id);
      info.set_pending_incoming(false);
      info.set_pending_outgoing(false);
      break;
    }
  }
  return info;
}

void Social::OnBusView(const std::vector<std::string>& nodes,
                       const std::vector<std::pair<std::string, std::string>>& users,
                       const std::vector<std::pair<std::string, std::string>>& rooms) {
  // Farewells older than one TTL: no refresh can list their node any more.
  const int64_t now = host_->NowUs();
  const int64_t ttl_us = bus_ == nullptr ? 0 : int64_t{bus_->presence_ttl_ms()} * 1000;
  for (auto g = gone_nodes_.begin(); g != gone_nodes_.end();) {
    g = now - g->second > ttl_us ? gone_nodes_.erase(g) : std::next(g);
  }
  std::unordered_set<std::string> live;
  for (const std::string& n : nodes) {
    if ((bus_ == nullptr || n != bus_->node_id()) && !gone_nodes_.count(n)) live.insert(n);
  }
  std::unordered_map<std::string, RemoteUser> fresh;
  std::unordered_map<std::string, std::string> by_name;
  for (const auto& [node, bytes] : users) {
    proto::NodeUser user;
    if (!ParseNodeUser(bytes, &user)) {
      bus_stats_.malformed.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (gone_nodes_.count(node)) continue;  // a refresh Redis ran before its farewell
    RemoteUser& r = fresh[user.user_id()];
    r.nodes[node] = user;
    if (!user.username().empty()) {
      const std::string name = Lower(user.username());
      by_name[name] = user.user_id();
      r.names.insert(name);
    }
  }
  // Users whose every node is gone (killed, or cut off for longer than the TTL) cannot
  // say goodbye: their friends here are told they are offline now.
  for (const auto& [id, old] : remote_) {
    if (fresh.count(id) || FindUser(id)) continue;
    bool node_gone = true;
    std::string username;
    for (const auto& [node, user] : old.nodes) {
      if (live.count(node)) node_gone = false;
      username = user.username();
    }
    if (node_gone) TellOffline(id, username);
  }
  remote_ = std::move(fresh);
  remote_by_name_ = std::move(by_name);
  ViewRooms(live, rooms);
  live_nodes_ = std::move(live);
  bus_stats_.nodes.store(live_nodes_.size() + 1, std::memory_order_relaxed);
  SettlePendingPms();
}

void Social::ViewRooms(const std::unordered_set<std::string>& live,
                       const std::vector<std::pair<std::string, std::string>>& rooms) {
  if (rooms_ == nullptr) return;
  std::unordered_map<std::string, std::vector<proto::RoomInfo>> by_node;
  for (const std::string& node : live) by_node[node];
  for (const auto& [node, bytes] : rooms) {
    proto::RoomInfo info;
    if (!ParseRoomRecord(bytes, &info)) {
      bus_stats_.malformed.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    // Only live nodes: a refresh Redis ran before a farewell lists the departed node.
    auto it = by_node.find(node);
    if (it != by_node.end()) it->second.push_back(std::move(info));
  }
  rooms_->NodeRoomsView(by_node);
}

void Social::TellOffline(const std::string& user_id, const std::string& username) {
  proto::FriendInfo gone;
  gone.set_user_id(user_id);
  gone.set_username(username);
  gone.set_status(proto::OFFLINE);
  const Frame frame = EventFrame(proto::FRIEND_STATUS_CHANGED, gone);
  for (const auto& [local_id, local] : users_) {
    if (local.load == Load::kLoaded && local.friends.count(user_id)) {
      SendToLocalUser(local_id, frame);
    }
  }
}

void Social::ForgetNode(const std::string& node) {
  if (gone_nodes_.size() < kMaxGoneNodes) gone_nodes_.emplace(node, host_->NowUs());
  live_nodes_.erase(node);
  bus_stats_.nodes.store(live_nodes_.size() + 1, std::memory_order_relaxed);
  std::vector<std::pair<std::string, std::string>> gone;  // id, username
  for (const auto& [id, r] : remote_) {
    auto it = r.nodes.find(node);
    if (it != r.nodes.end() && r.nodes.size() == 1) gone.emplace_back(id, it->second.username());
  }
  std::vector<std::string> on_node;
  for (const auto& [id, r] : remote_) {
    if (r.nodes.count(node)) on_node.push_back(id);
  }
  for (const std::string& id : on_node) DropRemote(node, id);
  for (const auto& [id, username] : gone) {
    if (!FindUser(id) && !FindRemote(id)) TellOffline(id, username);
  }
  if (rooms_ != nullptr) rooms_->NodeRoomsGone(node);
  SettlePendingPms();
}

void Social::SettlePendingPms() {
  const int64_t now = host_->NowUs();
  std::vector<PendingPm> keep;
  for (PendingPm& p : pending_pms_) {
    if (!FindRemote(p.to_id)) {
      // The recipient's node is gone before it answered: not delivered, as offline.
      Error(p.session, proto::NOT_FOUND, "that user is not online", p.request_id);
    } else if (now - p.sent_us > kPendingPmTimeoutUs) {
      Error(p.session, proto::STREAM_UNAVAILABLE,
            "the other server did not answer; the message may not have arrived", p.request_id);
    } else {
      keep.push_back(std::move(p));
    }
  }
  pending_pms_ = std::move(keep);
}

// --- what the bus brings -------------------------------------------------------------------

void Social::OnBusMessage(std::string_view bytes) {
  proto::NodeBusMessage msg;
  if (!ParseBusMessage(bytes, &msg)) {
    bus_stats_.malformed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (bus_ == nullptr || msg.from_node() == bus_->node_id()) return;  // our own, back
  bus_stats_.received.fetch_add(1, std::memory_order_relaxed);
  const std::string& from = msg.from_node();
  switch (msg.kind_case()) {
    case proto::NodeBusMessage::kBan:
      return host_->ApplyRemoteBans({FromBus(msg.ban())});
    case proto::NodeBusMessage::kGone:
      return ForgetNode(from);
    case proto::NodeBusMessage::kPresence:
      if (msg.presence().online()) {
        SetRemote(from, msg.presence().user());
      } else {
        DropRemote(from, msg.presence().user().user_id());
      }
      return;
    case proto::NodeBusMessage::kPm:
      return OnRelayedPrivateMessage(from, msg);
    case proto::NodeBusMessage::kPmAnswer: {
      const proto::BusPrivateAnswer& a = msg.pm_answer();
      if (a.to_node() != bus_->node_id()) return;
      auto pending =
          std::find_if(pending_pms_.begin(), pending_pms_.end(), [&a](const PendingPm& p) {
            return p.session == a.from_session() && p.request_id == a.request_id();
          });
      if (pending == pending_pms_.end()) return;  // settled already (or never asked)
      pending_pms_.erase(pending);
      if (a.error() != proto::ERROR_CODE_UNSPECIFIED) {
        return Error(a.from_session(), a.error(), a.error_text(), a.request_id());
      }
      proto::ClientMessage out;
      *out.mutable_private_message() = a.pm();
      out.set_request_id(a.request_id());
      StampType(&out);
      host_->SendToSession(a.from_session(), MakeFrame(out));
      return;
    }
    case proto::NodeBusMessage::kToUser:
      return OnRelayedFrame(msg);
    case proto::NodeBusMessage::kRooms:
      // A late message of a node that said goodbye must not list its rooms again.
      if (rooms_ == nullptr || gone_nodes_.count(from)) return;
      return rooms_->NodeRoomsChanged(from, std::vector<proto::BusRoom>(msg.rooms().rooms().begin(),
                                                                        msg.rooms().rooms().end()));
    case proto::NodeBusMessage::KIND_NOT_SET:
      return;
  }
}

// --- private messages for other nodes ------------------------------------------------------

void Social::RelayPrivateMessage(SessionId from_session, const std::string& to_id,
                                 proto::PrivateMessage pm, const std::string& request_id,
                                 bool answer) {
  const RemoteUser* r = FindRemote(to_id);
  if (r == nullptr || r->nodes.empty()) {
    if (answer) Error(from_session, proto::NOT_FOUND, "that user is not online", request_id);
    return;
  }
  proto::NodeBusMessage msg;
  proto::BusPrivateMessage* relay = msg.mutable_pm();
  // One node answers; every node that has the recipient delivers.
  if (answer) relay->set_answer_node(r->nodes.begin()->first);
  relay->set_from_session(from_session);
  relay->set_request_id(request_id);
  *relay->mutable_pm() = std::move(pm);
  if (!answer) {
    PublishBus(msg);
    return;
  }
  if (pending_pms_.size() >= kMaxPendingPms) {
    return Error(from_session, proto::RATE_LIMITED, "server busy, try again", request_id);
  }
  if (!PublishBus(msg)) {
    return Error(from_session, proto::STREAM_UNAVAILABLE,
                 "the other servers cannot be reached right now; try again", request_id);
  }
  pending_pms_.push_back({from_session, request_id, to_id, host_->NowUs()});
}

void Social::AnswerRelayed(const std::string& to_node, SessionId from_session,
                           const std::string& request_id, const proto::PrivateMessage* pm,
                           proto::ErrorCode error, const std::string& text) {
  proto::NodeBusMessage msg;
  proto::BusPrivateAnswer* a = msg.mutable_pm_answer();
  a->set_to_node(to_node);
  a->set_from_session(from_session);
  a->set_request_id(request_id);
  if (pm != nullptr) *a->mutable_pm() = *pm;
  a->set_error(error);
  a->set_error_text(text);
  PublishBus(msg);
}

void Social::OnRelayedPrivateMessage(const std::string& from_node,
                                     const proto::NodeBusMessage& msg) {
  const proto::BusPrivateMessage& relay = msg.pm();
  const bool answer = relay.answer_node() == bus_->node_id();
  const std::string to_id = relay.pm().to_user_id();
  const std::string from_id = relay.pm().from_user_id();
  const SessionId session = relay.from_session();
  const std::string rid = relay.request_id();
  const User* to = FindUser(to_id);
  if (to == nullptr) {
    if (answer) {
      AnswerRelayed(from_node, session, rid, nullptr, proto::NOT_FOUND, "that user is not online");
    }
    return;
  }
  auto deliver = [this, from_node, answer, to_id, session, rid](const proto::PrivateMessage& pm) {
    proto::ClientMessage out;
    *out.mutable_private_message() = pm;
    StampType(&out);
    SendToLocalUser(to_id, MakeFrame(out));
    if (answer) AnswerRelayed(from_node, session, rid, &pm, proto::ERROR_CODE_UNSPECIFIED, "");
  };
  if (to->load == Load::kLoaded) {
    if (to->blocked.count(from_id)) {
      if (answer) {
        AnswerRelayed(from_node, session, rid, nullptr, proto::BLOCKED,
                      "this user does not accept your messages");
      }
      return;
    }
    return deliver(relay.pm());
  }
  // The recipient's block list is still loading: ask the store, as for a local message.
  auto blocked = std::make_shared<absl::StatusOr<bool>>(absl::UnknownError("not run"));
  const bool queued = host_->Storage(
      [blocked, to_id, from_id](store::Store& st) {
        *blocked = st.IsBlockedEitherWay(to_id, from_id);
      },
      [this, blocked, deliver, from_node, answer, session, rid, pm = relay.pm()] {
        if (!blocked->ok() || **blocked) {
          if (answer) {
            AnswerRelayed(
                from_node, session, rid, nullptr,
                blocked->ok() ? proto::BLOCKED : proto::INTERNAL_ERROR,
                blocked->ok() ? "one of you blocks the other" : "storage error, try again later");
          }
          return;
        }
        deliver(pm);
      });
  if (!queued && answer) {
    AnswerRelayed(from_node, session, rid, nullptr, proto::RATE_LIMITED, "server busy, try again");
  }
}

// --- friend events for other nodes ---------------------------------------------------------

void Social::OnRelayedFrame(const proto::NodeBusMessage& msg) {
  const proto::BusUserFrame& f = msg.to_user();
  if (FindUser(f.user_id()) == nullptr) return;
  proto::ClientMessage m;
  if (!m.ParseFromString(f.client_message())) return;  // checked by ParseBusMessage
  // The friendship changed on the other node's side: this node's cache follows.
  const std::string& other = m.friend_event().friend_info().user_id();
  switch (m.friend_event().kind()) {
    case proto::FRIEND_REQUEST_ACCEPTED:
      if (!other.empty()) Link(f.user_id(), other);
      break;
    case proto::FRIEND_REMOVED:
      if (!other.empty()) Unlink(f.user_id(), other);
      break;
    default:
      break;
  }
  SendToLocalUser(f.user_id(), MakeFrame(m));
}

void Social::SendToLocalUser(const std::string& user_id, const Frame& frame) {
  const User* u = FindUser(user_id);
  if (!u) return;
  for (const SessionState& s : u->sessions) host_->SendToSession(s.session, frame);
}

void Social::SendToUser(const std::string& user_id, const Frame& frame) {
  SendToLocalUser(user_id, frame);
  if (bus_ == nullptr || FindRemote(user_id) == nullptr) return;
  proto::NodeBusMessage msg;
  msg.mutable_to_user()->set_user_id(user_id);
  msg.mutable_to_user()->set_client_message(frame->payload());
  PublishBus(msg);
}

}  // namespace tutti::server
