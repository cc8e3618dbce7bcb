// Shard: one thread, one io_context, and everything that lives on it — the sessions its
// listener accepted, the rooms whose home it is, their Membership (the join/leave state
// machine of its sessions and the fan-out index room id -> this shard's member
// sessions, membership.h), the token expiry of its sessions
// (SessionTokens) and its side of the live room list (RoomListFeed: changed rooms out,
// deltas to its subscribers in). Nothing here takes a lock: other shards reach it only
// through the typed calls below (OnShard, OnRoom, OnSocial, OnSession), which carry
// values (ids, Frames) and skip the post when the target lives on the calling thread.
// Owned by Server; sees the rest of the process only as a Cluster (cluster.h) and, for its
// Endpoint, DoorServices (door_services.h); the layers above it (Dispatcher,
// SessionTokens, RoomListFeed), which include this header, only through ShardHooks, which
// the Server wires in: shard.cc includes none of them. Its Endpoint sees it only as an
// EndpointHost (endpoint_host.h).
#ifndef TUTTI_SERVER_SHARD_H_
#define TUTTI_SERVER_SHARD_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/status/status.h"
#include "server/broker.h"
#include "server/cluster.h"
#include "server/endpoint_host.h"
#include "server/membership.h"
#include "server/metrics/labels.h"
#include "server/metrics/shard_counter.h"
#include "server/metrics/shard_histogram.h"
#include "server/parked_sessions.h"
#include "server/room.h"
#include "server/session.h"
#include "server/social.h"

namespace tutti::server {

class Endpoint;
class Dispatcher;
class SessionTokens;
class RoomListFeed;
class IdleSweeper;
class HeldTicker;
class LoopLagProbe;

// What a Shard calls in the layers above it. Implemented in server.cc over the shard's
// Dispatcher, SessionTokens and RoomListFeed; called on the shard's thread only.
class ShardHooks {
 public:
  virtual ~ShardHooks() = default;
  // A session was just added: its token clock starts and it gets its Welcome.
  virtual void SessionStarted(Session& s) = 0;
  virtual void SessionEnded(SessionId id) = 0;
  // One inbound frame of a live session; `arrival_us` is server time on receipt.
  virtual void OnFrame(Session& s, const std::string& payload, bool binary, int64_t arrival_us) = 0;
  // One inbound frame of the session's linked connection (shard_links.cc).
  virtual void OnLinkFrame(Session& s, const std::string& payload, bool binary,
                           int64_t arrival_us) = 0;
  // What the room list shows of a room homed here changed (or the room went).
  virtual void RoomChanged(const std::string& room_id) = 0;
  // A session's room-list subscription, as a resume parks and restores it: dropped (true
  // if it had one), and started again with a full list.
  virtual bool ForgetRoomList(SessionId id) = 0;
  virtual void SubscribeRoomList(SessionId id) = 0;
  // Shutdown: timers stop (on shard 0 the room-list service too).
  virtual void Stop() = 0;
  // The objects behind the hooks, for the layers above (they know the types).
  virtual Dispatcher& dispatcher() = 0;
  virtual SessionTokens& tokens() = 0;
  virtual RoomListFeed& room_feed() = 0;
};

// A join or create travelling from the session's shard to the room's home shard.
struct RoomRequest {
  enum Kind { kJoin, kCreate, kCreateOrJoin, kLobby };
  Kind kind = kJoin;
  std::string room_id;
  std::string room_name;
  proto::RoomType room_type = proto::PUBLIC;
  proto::RoomSettings settings;
  std::string password;       // plain, for joins; checked off the event loop
  std::string password_hash;  // for creates; hashed off the event loop
  int lobby_index = 0;
  // Across nodes: the store was already asked for a registered room of this id, which it
  // did not hold (Shard::LoadStoredRoom), so the request goes on as if there were none.
  bool store_checked = false;
  JoinRequest join;
};

class Shard final : public RoomHost, public SocialHost, public EndpointHost {
 public:
  // `cluster` is what this shard uses; `door` (the same object, the Server) is what its
  // Endpoint uses besides.
  Shard(int index, Cluster* cluster, DoorServices* door);
  ~Shard() override;

  int index() const override { return index_; }
  boost::asio::io_context& io() override { return io_; }
  Cluster& cluster() override { return *cluster_; }
  DoorServices& door() override { return *door_; }
  Endpoint& endpoint() { return *endpoint_; }
  // Wired once by the Server, before the threads start.
  void Attach(std::unique_ptr<ShardHooks> hooks) { hooks_ = std::move(hooks); }
  Dispatcher& dispatcher() { return hooks_->dispatcher(); }
  SessionTokens& tokens() { return hooks_->tokens(); }
  RoomListFeed& room_feed() { return hooks_->room_feed(); }
  void Post(std::function<void()> fn);

  // --- Typed cross-shard calls ------------------------------------------------------
  // Each runs `fn` on the thread that owns its target, in the spirit of Seastar's
  // invoke_on: at once when that is the calling thread (the same-shard shortcut: a MIDI
  // batch from a sender homed with its room costs a call, not a post), else as a post
  // to the target's shard, FIFO with every other post from the same thread. `fn` is
  // copied into the post, so it must capture values (ids, strings, protos, Frames) and
  // never a pointer into this shard. They may be called from any thread (the slow-work
  // pool, the storage thread): off a shard thread they always post.
  // Hop::kQueued posts even when the target is local: for callers that are inside a
  // room's or a session's method and must neither re-enter it nor overtake what it
  // already queued.
  enum class Hop { kShortcut, kQueued };
  // fn(Shard&) on shard `index`.
  template <typename Fn>
  void OnShard(int index, Fn fn, Hop hop = Hop::kShortcut);
  // fn(Room&) on the room's home shard; skipped if the room is gone by then.
  template <typename Fn>
  void OnRoom(const std::string& room_id, Fn fn, Hop hop = Hop::kShortcut);
  // fn(Social&) on shard 0, where the Social actor lives.
  template <typename Fn>
  void OnSocial(Fn fn, Hop hop = Hop::kShortcut);
  // fn(Session&) on the session's shard (encoded in its id); skipped if it has ended.
  template <typename Fn>
  void OnSession(SessionId session, Fn fn, Hop hop = Hop::kShortcut);
  // The shard whose thread is running the caller; null off the shard threads.
  static Shard* Current() { return current_; }

  void StartThread();
  void Join();
  // Stop accepting, close every connection with 1001, and let the loop drain.
  void BeginShutdown();

  // --- sessions (this shard's) -----------------------------------------------------
  // `resume`: what the connect asked to resume (shard_resume.cc), handled after the Welcome.
  Session* AddSession(crypto::Identity identity, std::unique_ptr<SessionLink> link,
                      ResumeRequest resume = {}) override;
  Session* FindSession(SessionId id) override;
  void EndSession(SessionId id);
  // shard_resume.cc. The connection of `id` is gone (`peer_code`: the client's close code,
  // 1006 without one). A drop the client did not mean (no close 1000/1001 from it; or an
  // idle timeout) parks the session for the resume grace; anything else ends it.
  void ConnectionLost(SessionId id, uint16_t peer_code) override;
  // Restores the session that `r.previous` names into `s` (a new connection's), wherever
  // the old one is parked, then its room; answers with a ResumeResult.
  void StartResume(Session& s, ResumeRequest r);
  // Rooms across nodes: writes what a resume of `s` on another node needs (its user and
  // room) to Redis under its token's shared key, through this shard's engine (create:
  // at the token's issue; afterwards only while Redis still has it).
  void ShareResume(Session& s, bool create = false);
  size_t parked_count() const { return parked_->size(); }

  // --- linked connections (shard_links.cc, docs/PROTOCOL.md §16) ----------------------
  // A link's connection is owned by the shard whose listener accepted it (B); the session
  // it serves lives on its own shard (A). They talk by posting values (ids, Frames).
  // B: a connection presenting a link token upgraded; returns its link id.
  SessionId AddLinkConnection(crypto::Identity identity,
                              std::unique_ptr<SessionLink> conn) override;
  // B: a frame from the link, or its connection is gone.
  void HandleLinkFrame(SessionId link, const std::string& payload, bool binary) override;
  void LinkConnectionLost(SessionId link) override;
  // A, on the session's own thread: one frame to the session's link, if it has one (the
  // link's backpressure is its own: it never blocks or drops the primary); and closing
  // the link (the session ends or parks, or the link misbehaved).
  void SendToLink(Session& s, const Frame& frame);
  void CloseLinkOf(Session& s, uint16_t code, const std::string& reason);
  size_t link_count() const { return links_.size(); }
  size_t session_count() const { return sessions_.size(); }
  void HandleFrame(SessionId id, const std::string& payload, bool binary) override;
  void AppendAuditDetached(moderation::AuditRecord rec) override;
  // Who of this shard's sessions is in which room (the only writer of Session::seat()).
  Membership& membership() { return membership_; }
  // Closes (4003) every session the current server-ban snapshot matches.
  void CloseBannedSessions();

  // --- rooms (homed here) ------------------------------------------------------------
  void HandleRoomRequest(RoomRequest req);
  Room* FindRoom(const std::string& room_id);
  std::vector<proto::RoomInfo> ListedRooms() const;
  size_t room_count() const { return rooms_.size(); }

  // --- RoomHost -----------------------------------------------------------------------
  int64_t NowUs() override;
  void DeliverToShard(int shard, const std::string& room_id, const Frame& frame, SessionId exclude,
                      bool droppable) override;
  void SendToSession(SessionId session, const Frame& frame) override;
  void MemberJoined(SessionId session, const std::string& room_id, const Frame& response) override;
  void JoinFailed(SessionId session, const std::string& room_id, const Frame& error) override;
  void MemberLeft(SessionId session, const std::string& room_id, const Frame& notice) override;
  void MemberResumed(SessionId session, const std::string& room_id, std::vector<Frame> frames,
                     uint64_t last_sequence) override;
  void RoomEmpty(const std::string& room_id) override;
  bool WalkOnFromLobby(const std::string& room_id, const JoinRequest& req) override;
  bool RejoinExisting(const std::string& room_id, const JoinRequest& req) override;
  void ProbeSettled(const std::string& room_id) override;
  int64_t UnixMs() override;
  bool Storage(std::function<void(store::Store&)> work, std::function<void()> then) override;
  void RoomChanged(const std::string& room_id) override;
  void RoomHoldsNotes(const std::string& room_id) override;
  Broker* broker() override { return broker_.get(); }
  RecordingService* recordings() override { return cluster_->recordings(); }
  void PostToRoom(const std::string& room_id, std::function<void(Room&)> fn) override;
  metrics::ShardHistogram* midi_fanout() override { return &counters_.midi_fanout; }

  // SocialHost (shard 0 hosts the Social actor). NowUs, UnixMs, SendToSession and
  // Storage serve both interfaces.
  void ApplyProfile(SessionId session, const proto::AvatarData& avatar) override;
  void ApplyRemoteBans(std::vector<BanChange> changes) override;

  // Recreates a persistent room from the store: before the shard threads start, and on
  // this shard's thread for a room another node registered later (LoadStoredRoom).
  void RestoreRoom(store::RoomRecord record, std::vector<store::RoomBanRecord> bans);

  // Runs on this shard: delivery to local members of a room.
  void DeliverLocal(const std::string& room_id, const Frame& frame, SessionId exclude,
                    bool droppable);
  // Runs on this shard: one frame to one local session.
  void SendLocal(SessionId session, const Frame& frame);
  // Runs on this shard: `frame` to every local session `want` accepts (a server notice).
  void NoticeLocal(const Frame& frame, const std::function<bool(const Session&)>& want);
  // Runs on this shard: every local session closed with `code` (a drain's end).
  void CloseAllLocal(uint16_t code, const std::string& reason);
  // Runs on this shard: the owners (user ids) of the rooms homed here.
  std::vector<std::string> RoomOwnerIds() const;

  // Written only by this shard's thread; read by any (the admin listener's scrape), so
  // they are relaxed atomics (server/metrics/shard_counter.h): no lock, no allocation.
  // The OutboundCounters part (frames and bytes out by kind, soft-limit drops,
  // slow-consumer closes) is counted by this shard's Sessions in Session::Send.
  // The EndpointCounters part (connections opened and closed, close codes, refusals) is
  // counted by this shard's Endpoint.
  struct Counters : metrics::OutboundCounters, EndpointCounters {
    metrics::ShardCounter frames_in;
    metrics::ShardCounter frames_out;  // deliveries: frames a room or a peer sent a session
    metrics::ShardCounter malformed;
    // Idle work, counted so tests can check it follows what happens, not how many
    // sessions and rooms there are: held-notes ticks given to rooms, and sessions whose
    // idle deadline was looked at.
    metrics::ShardCounter held_rooms_ticked;
    metrics::ShardCounter idle_checks;
    // For the operator (docs/OPERATIONS.md, "Metrics").
    metrics::ShardCounter bytes_in;
    metrics::KindCounters frames_in_by_kind;  // by ServerMessage oneof field (0: undecodable)
    metrics::KindCounters bytes_in_by_kind;
    metrics::RateCounters rate_limited;          // refusals by the bucket that refused
    metrics::ShardCounter outbound_queue_bytes;  // a gauge, sampled by the LoopLagProbe
    // Join asked (the session's shard) to joined (the same shard): the room's hop, the
    // password check and the storage of a create included.
    metrics::ShardHistogram join_latency_us{metrics::kLatencyUs};
    // Receivers of each relayed MIDI batch, on the room's home shard.
    metrics::ShardHistogram midi_fanout{metrics::kFanout};
    metrics::ErrorCodeCounters errors;            // ErrorMessages sent, by ErrorCode
    metrics::CodeCounters<0, 4> quality_reports;  // link-quality reports, by QualityGrade
    metrics::ShardCounter members_joined;         // on the room's home shard
    metrics::ShardCounter members_left;           // on the room's home shard
    metrics::ShardCounter loop_lag_last_us;       // LoopLagProbe
    metrics::ShardCounter loop_lag_max_us;
    metrics::ShardCounter loop_probes;
    // Linked connections (shard_links.cc): attached and detached again (on the session's
    // shard: attached - detached is how many sessions have a link now), refused (on the
    // link's, also by error code), closed by the server (by close code), frames not sent on
    // a link past its soft limit, and MIDI batches dropped as a copy of one already taken
    // (on the sender's shard).
    metrics::ShardCounter links_attached;
    metrics::ShardCounter links_detached;
    metrics::ShardCounter links_refused;
    metrics::ErrorCodeCounters links_refused_by_code;
    metrics::CloseCodeCounters link_closes;
    metrics::ShardCounter link_frames_dropped;
    metrics::ShardCounter midi_duplicates;
  };
  const Counters& counters() const { return counters_; }
  Counters& mutable_counters() { return counters_; }
  EndpointCounters& endpoint_counters() override { return counters_; }
  // Rooms whose held notes are ticked now (for tests and diagnostics).
  size_t held_rooms_listed() const;

 private:
  void PruneAuditHourly();
  void Count(Session::SendResult r);
  // Sums what this shard's sessions have queued (a gauge for the operator).
  void SampleOutbound();
  void ContinueJoin(RoomRequest req, bool password_ok);
  // shard_resume.cc: the steps of a resume, each on the shard that owns what it touches.
  void ParkSession(SessionId id);
  void ParkedExpired(ParkedSessions::Parked p);
  void HandOverParked(SessionId fresh, ResumeRequest r);
  void AdoptCarryOver(SessionId fresh, std::shared_ptr<SessionCarryOver> carry, ResumeRequest r);
  // The ResumeResult (and replay) went out: the room list again, then what was held.
  void FinishResume(Session& s);
  // Another node's session, from its state in Redis (`t`): the user takes it over and
  // the room on this node admits it as resumed.
  void AdoptShared(Session& s, ResumeTake t, ResumeRequest r);
  void SendResumeResult(SessionId session, proto::ResumeOutcome outcome, const std::string& reason,
                        const ResumeRequest& r);
  // Across nodes: a join of a room with no object here opens one that reads what is
  // kept before the join runs (JoinRequest::join_only).
  void OpenToJoin(RoomRequest req);
  // shard_resume.cc, across nodes: a member resuming from another node into a room with
  // no object here opens one that reads what is kept before it is admitted
  // (Room::AdoptResumed); other requests for the room wait meanwhile (probing_rooms_).
  void OpenToAdopt(const std::string& room_id, const JoinRequest& join, SessionId previous,
                   const StreamPosition& since);
  // The placeholder object both open (no owner, default settings, Room::MarkProbe), with
  // the room's requests held behind it (probing_rooms_).
  Room* OpenProbe(const std::string& room_id, const std::string& name);
  void CreateRoom(RoomRequest req);
  // shard_rooms.cc, across nodes: a join or create of a room with no object here first
  // asks the store (on the storage thread) for a room registered under that id by
  // another node since this one started, and restores it (with its bans) before the
  // request goes on; requests for the same room meanwhile wait behind the one read.
  void LoadStoredRoom(RoomRequest req);
  void StoredRoomLoaded(const std::string& room_id, const absl::Status& status,
                        store::RoomRecord record, std::vector<store::RoomBanRecord> bans);
  // Removes an emptied room now (its removal was posted by RoomEmpty): frees its slot and
  // takes it off the room list.
  void CloseEmptied(std::unordered_map<std::string, std::unique_ptr<Room>>::iterator it);
  // shard_links.cc: the steps of an attach and what crosses between B and A.
  void AttachLink(SessionId session, SessionId link, const std::string& token,
                  const std::string& user_id, bool guest);
  void LinkAttached(SessionId link, SessionId session);
  void RefuseLink(SessionId link, proto::ErrorCode code, const std::string& why);
  void SendOnLink(SessionId link, const Frame& frame);
  void CloseLink(SessionId link, uint16_t code, const std::string& reason);

  static thread_local Shard* current_;

  const int index_;
  Cluster* const cluster_;
  DoorServices* const door_;  // only handed out, by door()
  boost::asio::io_context io_;
  std::unique_ptr<Endpoint> endpoint_;
  std::unique_ptr<ShardHooks> hooks_;  // dispatcher, token clock, room-list feed
  std::thread thread_;
  boost::asio::steady_timer sweep_timer_;   // shard 0's audit pruning; the shutdown grace
  std::unique_ptr<IdleSweeper> idle_;       // idle deadlines of this shard's sessions
  std::unique_ptr<HeldTicker> held_;        // rooms here in which notes sound
  std::unique_ptr<LoopLagProbe> lag_;       // this loop's lateness, for the operator
  std::unique_ptr<ParkedSessions> parked_;  // dropped sessions waiting for a resume
  bool shutting_down_ = false;

  // Starts at a random point in [1, 2^40) per shard and process: nodes sharing rooms
  // over Redis show each other's session ids in room events, and serials that all began
  // at 1 gave two nodes' members the same ids. 2^40 << 8 stays below 2^53, so a
  // JavaScript number still holds every id exactly.
  uint64_t next_session_serial_;
  std::unordered_map<SessionId, std::unique_ptr<Session>> sessions_;
  // The linked connections this shard's listener accepted (ids from the session serials).
  struct LinkConnection {
    std::unique_ptr<SessionLink> conn;
    SessionId session = 0;  // the session it serves (on ShardOfSession(session))
    bool attached = false;  // the session accepted it; until then its frames are ignored
  };
  std::unordered_map<SessionId, LinkConnection> links_;
  // Declared after sessions_, destroyed before them; EndSession takes a session out of
  // it before destroying the session.
  Membership membership_;
  // The streams of the rooms homed here. Declared before rooms_ so it outlives them.
  std::unique_ptr<Broker> broker_;
  std::unordered_map<std::string, std::unique_ptr<Room>> rooms_;
  // Rooms that emptied and whose removal is posted (RoomEmpty). A join that reaches one
  // first closes it at once and opens a new room: the emptied room is gone whatever the
  // order in which the removal and a join from another thread were queued.
  std::unordered_set<const Room*> closing_;
  // Rooms whose record the store is being asked for (LoadStoredRoom), with the requests
  // that wait for the answer, first one first.
  std::unordered_map<std::string, std::vector<RoomRequest>> loading_rooms_;
  // Rooms whose object was opened to find them on other nodes (OpenToJoin) and has not
  // read what is kept yet, with the requests for them that came meanwhile: run against
  // that placeholder (no owner, default settings), a create-or-join would take it for a
  // room and join it instead of creating the room it asked for.
  std::unordered_map<std::string, std::vector<RoomRequest>> probing_rooms_;
  Counters counters_;
};

template <typename Fn>
void Shard::OnShard(int index, Fn fn, Hop hop) {
  Shard& target = cluster_->shard(index);
  if (hop == Hop::kShortcut && current_ == &target) {
    fn(target);
    return;
  }
  target.Post([&target, fn = std::move(fn)]() mutable { fn(target); });
}

template <typename Fn>
void Shard::OnRoom(const std::string& room_id, Fn fn, Hop hop) {
  OnShard(
      cluster_->RoomHomeIndex(room_id),
      [room_id, fn = std::move(fn)](Shard& home) mutable {
        if (Room* room = home.FindRoom(room_id)) fn(*room);
      },
      hop);
}

template <typename Fn>
void Shard::OnSocial(Fn fn, Hop hop) {
  OnShard(
      0, [fn = std::move(fn)](Shard& zero) mutable { fn(zero.cluster().social()); }, hop);
}

template <typename Fn>
void Shard::OnSession(SessionId session, Fn fn, Hop hop) {
  OnShard(
      ShardOfSession(session),
      [session, fn = std::move(fn)](Shard& owner) mutable {
        if (Session* s = owner.FindSession(session)) fn(*s);
      },
      hop);
}

}  // namespace tutti::server

#endif  // TUTTI_SERVER_SHARD_H_
