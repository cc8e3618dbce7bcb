// RedisBroker: the broker engine (broker.h) over one or more Redis primaries, so that a
// room's members on several nodes see one sequence. A room lives on one primary, chosen
// by rendezvous hashing of its id over the primaries' addresses (every node computes
// the same choice; adding a primary moves only the rooms it wins). Per room: a meta
// hash (epoch, offset, time), a bounded history stream and one channel; every publish
// is one Lua script (redis_scripts.h) that sequences, stamps, appends and PUBLISHes, and
// every node's engine delivers what comes on the channel to its local subscribers (the
// room object of that node), in offset order, once.
//   * Batching: the events a room publishes in one loop turn go in one script call, and
//     every call of the turn leaves in one write per primary (hiredis's buffer).
//   * Room bans and mutes (PublishRequest::penalty) are written by the script call that
//     sequences the event announcing them: two sorted sets per room, score = the end.
//   * So are a room's owner, settings and moderators (PublishRequest::state): a hash and
//     a set per room, read back by RoomState.
//   * Top() is this engine's view: the last position it delivered or was told by Redis
//     (a room's first Subscribe asks for it).
//   * RemoveStream forgets the room here only: other nodes may still use the stream, so
//     its keys expire by TTL instead, and a room recreated within it keeps its epoch.
//   * Redis down (a link closed, or a PING unanswered for ping_timeout_ms): Publish is
//     refused (counted, `done` not called), Available() says so and the availability
//     callback is told; the clients reconnect with backoff. When a primary is back, every
//     room on it is checked (kEnsureEpochScript): a new epoch (Redis restarted without
//     its data), events this node missed, or publishes it refused meanwhile make the
//     engine call OnResync on the room's subscribers, which send their clients the state.
//   * Resume state (redis_resume.cc): what a resume of this shard's sessions on another
//     node needs, one hash per token, kept alive with the presence and taken atomically.
// Thread affinity: the owning shard's thread only (its io_context runs the clients).
// Owner: the Shard (one engine per shard), or a test.
#ifndef TUTTI_SERVER_REDIS_REDIS_BROKER_H_
#define TUTTI_SERVER_REDIS_REDIS_BROKER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "server/broker.h"
#include "server/clock.h"
#include "server/redis/clock_offset.h"
#include "server/redis/redis_client.h"

namespace tutti::server::redis {

class RedisNodeBus;

struct RedisBrokerOptions {
  std::vector<RedisAddress> primaries;
  HistoryLimits limits;
  // A room's keys live this long after its last publish: long enough that an idle room
  // keeps its epoch (clients of a quiet room see no spurious epoch change).
  int key_ttl_seconds = 24 * 3600;
  // A presence entry lives this long unless its node refreshes it (every third of it):
  // a crashed node's sessions leave the presence within this bound.
  int presence_ttl_ms = 15'000;
  // A session's resume state lives this long after its node last refreshed it (with the
  // presence, while the session is connected) or after its connection dropped: the
  // resume window (ServerConfig::resume_grace_ms). 0: no resume state is shared.
  int64_t resume_window_ms = 0;
  // Shard 0's engine also carries the node bus (redis_node_bus.h) on the first primary,
  // with this presence TTL for the nodes' online users; 0: no bus.
  int node_bus_ttl_ms = 0;
  RedisBackoff backoff;
};

// Counters, read on the owning thread (metrics copy them).
struct RedisBrokerStats {
  uint64_t published = 0;      // events sequenced by Redis for this engine
  uint64_t script_calls = 0;   // publish script calls (one per room per loop turn)
  uint64_t delivered = 0;      // events delivered to local subscribers
  uint64_t duplicates = 0;     // channel messages at or below the stream's top (dropped)
  uint64_t refused = 0;        // publishes refused: a primary unreachable, or the script failed
  uint64_t malformed = 0;      // channel, history or kept entries (kept_wire.h) that did not parse
  uint64_t epoch_changes = 0;  // a stream's epoch seen to change
  uint64_t outages = 0;        // times Available() went from true to false
  uint64_t resyncs = 0;        // OnResync calls (one per stream that needed it)
  // Events the publish script refused with their state change (a failed precondition).
  uint64_t state_refused = 0;
};

class RedisBroker final : public Broker {
 public:
  // `clock` gives the wall time that history's age bound is checked against (events
  // carry Redis's time). The primaries are connected at once and kept connected.
  RedisBroker(boost::asio::io_context& io, const Clock* clock, RedisBrokerOptions options);
  ~RedisBroker() override;

  void Publish(const std::string& stream, PublishRequest req, PublishDone done) override;
  void Subscribe(const std::string& stream, StreamSubscriber* subscriber) override;
  void Unsubscribe(const std::string& stream, StreamSubscriber* subscriber) override;
  StreamPosition Top(const std::string& stream) override;
  // redis_history.cc: the log since a position, cut where this node's delivery stands.
  void History(const std::string& stream, const StreamPosition& since, HistoryDone done) override;
  void RemoveStream(const std::string& stream) override;
  // LRANGE of the room's chat list (kept by the publish script; redis_history.cc).
  void ChatLines(const std::string& stream, ChatDone done) override;
  bool SpansNodes() const override { return true; }
  // ZRANGE of the room's bans and mutes (kept by the publish script; redis_room_state.cc).
  void Penalties(const std::string& stream, PenaltiesDone done) override;
  // HGETALL of the room's state hash and SMEMBERS of its moderators (redis_room_state.cc).
  void RoomState(const std::string& stream, RoomStateDone done) override;
  void SetPresence(const std::string& stream, const PresenceEntry& entry) override;
  void RemovePresence(const std::string& stream, SessionId session) override;
  void RemoveOtherPresence(const std::string& stream, const std::string& origin,
                           SessionId session) override;
  void Presence(const std::string& stream, PresenceDone done) override;
  // kSeatClaimScript on the room's primary (redis_presence.cc).
  void ClaimSeat(const std::string& stream, const PresenceEntry& entry, int capacity,
                 int64_t settings_version, SeatDone done) override;
  // redis_resume.cc: resume state other nodes can find (broker.h).
  bool SharesResume() const override { return options_.resume_window_ms > 0; }
  void KeepResume(SessionId session, const std::string& key, const SharedResume& state,
                  bool create) override;
  void ParkResume(SessionId session) override;
  void DropResume(SessionId session) override;
  void TakeResume(const std::string& key, ResumeTaken done) override;
  NodeBus* node_bus() override;
  // Closes every link and stops refreshing presence; publishes are refused afterwards.
  void Stop();

  // True when every primary's command and channel links are up.
  bool Available() const override;
  bool stopped() const { return stopped_; }
  // Called on the owning thread each time Available() changes (the first time when
  // every primary has come up after the start).
  void set_on_availability(std::function<void(bool up)> fn) { on_availability_ = std::move(fn); }
  // `fn` gets this node's server time minus Redis's clock (µs), the best estimate of each
  // 10 s of publish calls (ClockOffsetWindow), on this engine's thread.
  void set_on_clock_offset(std::function<void(int64_t offset_us)> fn) {
    on_clock_offset_ = std::move(fn);
  }
  size_t primaries_up() const;
  size_t primary_count() const { return primaries_.size(); }
  const RedisBrokerStats& stats() const { return stats_; }
  // This engine's name in `origin` fields and presence entries (random per engine).
  const std::string& origin() const { return origin_; }
  // The index of the primary that `room` lives on (rendezvous hashing; public for tests).
  static size_t PrimaryOf(const std::string& room, const std::vector<RedisAddress>& primaries);

 private:
  struct Primary;
  struct Pending {
    std::string wire;  // the request as handed to the script
    ChatMark chat = ChatMark::kNone;
    PublishDone done;
    std::optional<PenaltyChange> penalty;  // written by the same script call
    std::optional<RoomStateChange> state;  // so is this
  };
  // The six publish-script arguments of `change` (redis_scripts.h), appended to `out`
  // (redis_room_state.cc).
  // The script's nine arguments of `change`, announced by the batch's event `event`
  // (from 1).
  void AppendStateArgs(const RoomStateChange& change, size_t event,
                       std::vector<std::string>* out) const;
  struct Stream {
    std::vector<StreamSubscriber*> subscribers;
    StreamPosition top;
    int64_t top_time_us = 0;
    // Publications of this engine that Redis sequenced but the channel has not brought
    // back yet: their `done` runs after the subscribers got them (broker.h's order).
    std::map<uint64_t, std::pair<Publication, PublishDone>> awaiting;
    // Set while the stream's primary is unreachable: the last position delivered before;
    // and whether a publish of this engine was refused or lost since the last check
    // (receivers here may then hold a state the stream never carried).
    bool outage = false;
    StreamPosition before_outage;
    bool refused_in_outage = false;
    // Whether Redis confirmed the channel's subscription on the current link, and the
    // reads of what is kept with the stream that wait for it (WhenSubscribed).
    bool subscribed = false;
    std::vector<std::function<void()>> reads_waiting;
  };

  Primary& PrimaryFor(const std::string& stream);
  void Flush();
  void SendBatch(const std::string& stream, std::vector<Pending> batch);
  // `sent_us`: when the call went out (server time), for the clock offset.
  void OnBatchSequenced(const std::string& stream, std::vector<Pending> batch,
                        const redisReply* reply, int64_t sent_us);
  void OnChannelMessage(const std::string& stream, std::string_view payload);
  void Deliver(const std::string& stream, Stream& s, const Publication& pub);
  void ReleaseAwaiting(Stream& s, bool all);
  void SeedTop(const std::string& stream);
  // Tells a publisher its event was not sequenced: Redis could not be reached.
  static void TellUnavailable(const PublishDone& done);
  // A read of what is kept with `stream` (chat lines, presence, bans and mutes, state)
  // made by one of its subscribers: true when it was put off (`read` runs later) because
  // the channel's subscription is not confirmed yet while the command link is up. A
  // read answered before Redis took the SUBSCRIBE could miss an event sequenced between
  // the two, which the channel would not bring either.
  bool WhenSubscribed(const std::string& stream, std::function<void()> read);
  void RunWaitingReads(Stream& s);
  // History's read (attempt: how many times it was read again, see MatchDelivered).
  void ReadHistory(const std::string& stream, const StreamPosition& since,
                   std::shared_ptr<HistoryDone> done, int attempt);
  // Makes a recoverable `result` end where this node delivered the stream; true when it
  // asked Redis again instead (`done` then runs later).
  bool MatchDelivered(const std::string& stream, const StreamPosition& since, HistoryResult* result,
                      int attempt, const std::shared_ptr<HistoryDone>& done);
  // A primary's links came or went: availability, outage marks, the check after it.
  void PrimaryChanged(Primary& p);
  void CheckAfterOutage(Primary& p);
  // A publish of `stream` was refused or lost: its receivers here may be stale.
  void MarkRefused(const std::string& stream);
  void RefreshPresence();
  void ArmPresenceRefresh();
  void SendPresence(const std::string& stream, SessionId session, const PresenceEntry& e);
  // A session's resume state as this engine keeps it in Redis (redis_resume.cc).
  struct KeptResume {
    std::string key;   // ResumeTokens::SharedKey of the session's token
    std::string user;  // serialized UserInfo
    std::string room;
    int64_t parked_until_ms = 0;  // by the wall clock; 0 while the session is connected
  };
  // Writes it (create: whether it may be made anew) with the TTL it has left; forgets it
  // when Redis says it is gone (taken by another node) or its time is over.
  void SendResume(SessionId session, const KeptResume& k, bool create);
  void RefreshResume();
  void ResendResume(Primary& p);
  // EVALSHA when the script is known to the primary, EVAL otherwise (which loads it).
  bool RunScript(Primary& p, int script, std::vector<std::string_view> keys_and_args, int key_count,
                 RedisClient::ReplyFn fn);

  boost::asio::io_context& io_;
  const Clock* clock_;
  const RedisBrokerOptions options_;
  const std::string origin_;
  std::vector<std::unique_ptr<Primary>> primaries_;
  std::unique_ptr<RedisNodeBus> node_bus_;  // shard 0's only
  std::unordered_map<std::string, Stream> streams_;
  std::map<std::string, std::vector<Pending>> batches_;  // this loop turn's publishes
  bool flush_posted_ = false;
  bool stopped_ = false;
  bool available_ = false;
  std::function<void(bool)> on_availability_;
  std::function<void(int64_t)> on_clock_offset_;
  ClockOffsetWindow clock_window_{10'000'000};
  // This engine's presence entries, re-sent before they expire.
  std::map<std::string, std::map<SessionId, PresenceEntry>> presence_;
  // This engine's sessions' resume state, re-sent with the presence.
  std::map<SessionId, KeptResume> resume_;
  boost::asio::steady_timer presence_timer_;
  bool refresh_armed_ = false;
  RedisBrokerStats stats_;
  std::shared_ptr<bool> alive_;
};

}  // namespace tutti::server::redis

#endif  // TUTTI_SERVER_REDIS_REDIS_BROKER_H_
