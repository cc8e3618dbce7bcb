// Social: the server-wide state that no room owns — who is online (a user is online
// while any of their sessions is), their status and current room as friends see it,
// friendships and pending requests, blocks, profiles, and the routing of private
// messages to every live session of a user. It absorbs Directory's job.
//
// Thread affinity: shard 0 only. Every method runs on shard 0's thread and takes no
// lock; other shards reach it with posts of values (ids, cleaned messages). Storage
// completions (`then`) come back on shard 0 too.
// Ownership: Server owns it (next to shard 0) and must keep it alive until shard 0 has
// stopped running, because queued storage completions capture `this`.
//
// The store is the source of truth for friendships and blocks; Social only caches, for
// each online user, the ids of their friends and of the users they block, so that a
// presence push or a private message costs lookups, not queries. Every answer that says
// a change succeeded is sent from the storage completion, after the store committed it.
// Nothing here knows about sockets: all output goes through SocialHost, so tests drive
// it with a fake host.
#ifndef TUTTI_SERVER_SOCIAL_H_
#define TUTTI_SERVER_SOCIAL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "protos/node_bus.pb.h"
#include "protos/tutti.pb.h"
#include "server/ban_sync.h"
#include "server/frame.h"
#include "server/ids.h"
#include "server/moderation/ban_list.h"
#include "server/store/records.h"

namespace tutti::server {

class NodeBus;
class NodeRooms;

// What Social needs from the shard it lives on.
class SocialHost {
 public:
  virtual ~SocialHost() = default;
  virtual int64_t NowUs() = 0;
  // Wall clock, for stored times (friendship start, profile updates).
  virtual int64_t UnixMs() = 0;
  // Sends to a session on any shard (the shard is in the id).
  virtual void SendToSession(SessionId session, const Frame& frame) = 0;
  // Runs `work` on the storage thread, then `then` back on Social's shard. False when
  // the store is overloaded: nothing runs. Completions run in submission order.
  virtual bool Storage(std::function<void(store::Store&)> work, std::function<void()> then) = 0;
  // Tells the session's shard what the profile says (appearance, status) so its
  // UserInfo shows it.
  virtual void ApplyProfile(SessionId session, const proto::AvatarData& avatar) = 0;
  // Server bans made (add) or lifted on other nodes: this node's store follows where
  // they are newer (server/ban_sync.h), then its ban snapshot and connected sessions, as
  // after a local ban.
  virtual void ApplyRemoteBans(std::vector<BanChange> changes) { (void)changes; }
};

class Social {
 public:
  // A soft cap on friendships per user. A presence change costs one lookup per friend,
  // so the cap bounds the work of every event. It is checked against the cached lists
  // of the online parties when a friendship would start; an offline user may end a
  // little above it through requests they sent earlier.
  static constexpr size_t kMaxFriends = 1000;
  // Longest friend target (user id or username) accepted.
  static constexpr size_t kMaxTargetLength = 128;

  explicit Social(SocialHost* host);
  Social(const Social&) = delete;
  Social& operator=(const Social&) = delete;

  // --- Presence ---------------------------------------------------------------------
  // `user`: user_id, username, is_guest as established at the upgrade gate.
  void SessionOnline(SessionId session, const proto::UserInfo& user);
  void SessionOffline(SessionId session, const std::string& user_id);
  // `status` is ONLINE, AWAY, BUSY or INVISIBLE (anything else is ignored); the text is
  // already cleaned. Status is per user: the latest change from any session wins.
  void StatusChanged(SessionId session, const std::string& user_id, proto::UserStatus status,
                     const std::string& text);
  // "" = in no room. The caller passes the room id friends may see.
  void RoomChanged(SessionId session, const std::string& user_id, const std::string& room_id);
  // Persists avatar.appearance in the profile (status goes through StatusChanged).
  void AppearanceChanged(SessionId session, const std::string& user_id,
                         const proto::AvatarData& avatar);

  // --- Friends and blocks -----------------------------------------------------------
  // SEND_REQUEST, ACCEPT_REQUEST, DECLINE_REQUEST, REMOVE_FRIEND, LIST_FRIENDS,
  // BLOCK_USER, UNBLOCK_USER. The requester's answer is its FriendList (after the
  // change) or a typed error, echoing `request_id`.
  void Friend(SessionId session, const std::string& user_id, bool is_guest,
              const proto::FriendRequest& req, const std::string& request_id);

  // --- Private messages -------------------------------------------------------------
  // `pm` is already cleaned and validated by the sender's shard; to_user_id is a user
  // id or a username (case-insensitive).
  void PrivateMessage(SessionId from_session, const std::string& from_user_id,
                      const std::string& from_username, proto::PrivateMessage pm,
                      const std::string& request_id);

  // --- Other nodes (social_nodes.cc; docs/SCALE-OUT.md "Node bus") ------------------
  // Joins the node bus (before the shard threads run; null: this node alone). A user
  // online on another node then counts as online here: private messages, friend events
  // and friend lists reach them through the bus. What it brings about other nodes'
  // rooms goes to `rooms` (the room list; may be null), checked, with the same rule for
  // nodes that said goodbye.
  void AttachBus(NodeBus* bus, NodeRooms* rooms = nullptr);
  // A server ban made or lifted here: every other node applies it too, now or (kept in
  // the deployment's ban hash) when its bus comes up again.
  void PublishServerBan(const moderation::ServerBan& ban, bool add);
  // How long the deployment remembers that a ban was lifted (for nodes that were away).
  static constexpr int64_t kBanTombstoneMs = int64_t{30} * 24 * 3600 * 1000;
  // Users online on other nodes, as this node knows them.
  size_t remote_users() const { return remote_.size(); }
  // The bus as the metrics show it. Written on shard 0, read from any thread (relaxed).
  struct BusStats {
    std::atomic<bool> attached{false};
    std::atomic<bool> up{false};
    std::atomic<uint64_t> published{0};  // messages this node put on the bus
    std::atomic<uint64_t> received{0};   // well-formed messages from other nodes
    std::atomic<uint64_t> malformed{0};  // messages and records dropped as malformed
    std::atomic<uint64_t> nodes{0};      // nodes alive in the last view, this one included
  };
  const BusStats& bus_stats() const { return bus_stats_; }
  // A message another actor of shard 0 put on the bus (the room list's reports): counted
  // with Social's own in tutti_node_bus_messages_published_total.
  void CountBusPublished() { bus_stats_.published.fetch_add(1, std::memory_order_relaxed); }
  // What the bus brought that did not parse (dropped).
  uint64_t bus_malformed() const { return bus_stats_.malformed.load(std::memory_order_relaxed); }

  // --- Queries ----------------------------------------------------------------------
  size_t online_users() const { return users_.size(); }
  // Live sessions of `who` (a user id, or a username, case-insensitive); empty when
  // offline. Sets *user_id to the resolved id when found.
  std::vector<SessionId> Find(const std::string& who, std::string* user_id) const;
  // The user online as `who` (a user id, or a username, case-insensitive): fills the
  // id, name and guest flag and returns true; false when nobody online is `who`.
  bool Lookup(const std::string& who, std::string* user_id, std::string* username,
              bool* is_guest) const;
  // Whether the user is online and their friend and block lists are cached.
  bool CacheLoaded(const std::string& user_id) const;

 private:
  enum class Load { kLoading, kLoaded, kFailed };

  struct SessionState {
    SessionId session = 0;
    std::string room_id;
    uint64_t room_order = 0;  // when room_id was set; the newest room is the user's
  };

  struct User {
    uint64_t generation = 0;  // tells a stale storage completion from a current one
    std::string username;
    bool is_guest = false;
    std::vector<SessionState> sessions;
    proto::UserStatus status = proto::ONLINE;
    std::string status_text;
    std::string appearance;
    // Set by this login before the profile arrived: newer than what the store holds.
    bool status_set = false;
    bool appearance_set = false;
    bool has_profile = false;
    Load load = Load::kLoading;
    std::unordered_set<std::string> friends;  // valid only when load == kLoaded
    std::unordered_set<std::string> blocked;  // users this one blocks; same
    proto::FriendInfo pushed;                 // what friends were last told
    std::string shared;                       // the NodeUser bytes last put on the bus
  };

  // What one storage job brought back for a user's first session.
  struct LoadResult;
  // What one friend action brought back.
  struct FriendResult;

  User* FindUser(const std::string& user_id);
  const User* FindUser(const std::string& user_id) const;
  // By id, then by lower-case username.
  const User* Resolve(const std::string& who, std::string* user_id) const;

  void StartLoad(const std::string& user_id, User& u);
  void FinishLoad(const std::string& user_id, uint64_t generation, const LoadResult& r);
  void RetryLoadIfFailed(const std::string& user_id, User& u);
  void SaveProfile(const std::string& user_id, const User& u);

  // How `user_id` appears to friends: OFFLINE unless online, loaded and not invisible.
  proto::FriendInfo Presence(const std::string& user_id, const User* u) const;
  // Id and name only: for parties who are not (or no longer) friends.
  proto::FriendInfo Bare(const std::string& user_id) const;
  // Guests ("guest:<hex>") have no stored friends, blocks or profile.
  static bool IsGuestId(const std::string& user_id) { return user_id.rfind("guest:", 0) == 0; }
  static std::string RoomOf(const User& u);
  static proto::AvatarData ProfileAvatar(const User& u);
  // Tells online friends when the visible presence differs from what they last heard.
  void PushPresence(const std::string& user_id, User& u);

  void FinishFriend(SessionId session, const std::string& user_id, const std::string& target,
                    proto::FriendAction action, const FriendResult& r,
                    const std::string& request_id);
  void Link(const std::string& a, const std::string& b);
  void Unlink(const std::string& a, const std::string& b);
  void SendFriendList(SessionId session, const std::vector<store::FriendRow>& rows,
                      const std::string& request_id);

  void Deliver(SessionId from_session, const std::string& to_user_id, proto::PrivateMessage pm,
               const std::string& request_id);

  void SendToUser(const std::string& user_id, const Frame& frame);
  void Error(SessionId session, proto::ErrorCode code, const std::string& text,
             const std::string& request_id);
  void StoreError(SessionId session, const absl::Status& status, const std::string& request_id);
  static Frame EventFrame(proto::FriendEventKind kind, const proto::FriendInfo& info);

  // --- other nodes (social_nodes.cc) ---
  // A user online on other nodes: their record per node.
  struct RemoteUser {
    std::map<std::string, proto::NodeUser> nodes;
    std::set<std::string> names;  // lower-case names it was indexed under (remote_by_name_)
  };
  void OnBusMessage(std::string_view bytes);
  void OnBusBans(const std::vector<std::string>& records);
  // A node that stopped cleanly: its users are offline here now, and it stays gone for
  // one presence TTL (gone_nodes_).
  void ForgetNode(const std::string& node);
  // Tells this node's friends of `user_id` (a user of other nodes) that they are offline.
  void TellOffline(const std::string& user_id, const std::string& username);
  void OnBusView(const std::vector<std::string>& nodes,
                 const std::vector<std::pair<std::string, std::string>>& users,
                 const std::vector<std::pair<std::string, std::string>>& rooms);
  // The rooms part of a view, for rooms_.
  void ViewRooms(const std::unordered_set<std::string>& live,
                 const std::vector<std::pair<std::string, std::string>>& rooms);
  bool PublishBus(proto::NodeBusMessage& msg);
  // Writes the user's record to the bus (and tells the others) when it changed.
  void ShareUser(const std::string& user_id, User& u);
  void UnshareUser(const std::string& user_id);
  const RemoteUser* FindRemote(const std::string& user_id) const;
  // By id, then by lower-case username, among users of other nodes.
  const RemoteUser* ResolveRemote(const std::string& who, std::string* user_id) const;
  void SetRemote(const std::string& node, const proto::NodeUser& user);
  void DropRemote(const std::string& node, const std::string& user_id);
  // A user of another node as their friends see them (OFFLINE when unknown).
  proto::FriendInfo RemotePresence(const std::string& user_id) const;
  void RelayPrivateMessage(SessionId from_session, const std::string& to_id,
                           proto::PrivateMessage pm, const std::string& request_id, bool answer);
  void OnRelayedPrivateMessage(const std::string& from_node, const proto::NodeBusMessage& msg);
  void AnswerRelayed(const std::string& to_node, SessionId from_session,
                     const std::string& request_id, const proto::PrivateMessage* pm,
                     proto::ErrorCode error, const std::string& text);
  void OnRelayedFrame(const proto::NodeBusMessage& msg);
  void SendToLocalUser(const std::string& user_id, const Frame& frame);

  // A private message relayed with answer_node set, until its answer comes. The bus
  // view settles those nobody will answer (social_nodes.cc, SettlePendingPms).
  struct PendingPm {
    SessionId session = 0;
    std::string request_id;
    std::string to_id;
    int64_t sent_us = 0;
  };
  static constexpr size_t kMaxPendingPms = 4096;
  static constexpr int64_t kPendingPmTimeoutUs = 10'000'000;
  void SettlePendingPms();

  SocialHost* host_;
  NodeBus* bus_ = nullptr;
  NodeRooms* rooms_ = nullptr;
  std::vector<PendingPm> pending_pms_;
  std::unordered_map<std::string, RemoteUser> remote_;           // users of other nodes by id
  std::unordered_map<std::string, std::string> remote_by_name_;  // lower-case name -> id
  std::unordered_set<std::string> live_nodes_;                   // other nodes, last view
  // Nodes whose farewell came, and when (NowUs), kept for one presence TTL: a refresh
  // that Redis ran before the farewell can be answered after it, and must not bring the
  // node's users back. Node ids are per process, so a node that starts again is a new one.
  std::unordered_map<std::string, int64_t> gone_nodes_;
  static constexpr size_t kMaxGoneNodes = 1024;
  BusStats bus_stats_;
  std::unordered_map<std::string, User> users_;           // online users by id
  std::unordered_map<std::string, std::string> by_name_;  // lower-case username -> id
  uint64_t next_generation_ = 1;
  uint64_t next_room_order_ = 1;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_SOCIAL_H_
