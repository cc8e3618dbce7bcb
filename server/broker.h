// Broker: the interface between rooms and their event streams — publish with sequence
// and history, subscribe, read history since a position, presence. A room's stream is
// named by its room id. The in-process engine (memory_broker.h) is the embedded
// default; an engine over Redis (rooms across nodes) implements the same calls.
//
// Thread affinity: an engine instance belongs to one shard and is called only on that
// shard's thread, for the streams of the rooms homed there. Callbacks run on that same
// thread. The in-process engine completes every call inline (the callback has run when
// the call returns); a networked engine completes later, still in call order per stream.
// Owner: the Shard that homes the rooms (one engine per shard).
//
// Why the calls have this shape (so a Redis engine needs one atomic script per publish):
//   * Publish carries the event without its position. The engine assigns the next
//     offset of the stream's current epoch and the server time, appends the event to
//     the bounded history and hands it to the stream's subscribers, all in one step.
//     In Redis that step is one script: HINCRBY the stream's meta hash for the offset
//     (creating the epoch when the hash is new), XADD with MAXLEN for the count bound and
//     MINID for the age bound, EXPIRE, then PUBLISH "offset:epoch:time:" + body. Each
//     node turns a body into a Frame by appending the encoded `stream` field
//     (ClientMessage field 101) to the body bytes: protobuf merges concatenated
//     encodings, so no node re-serializes the event.
//   * The byte bound is enforced by the engine on what it keeps; Redis's MAXLEN is in
//     entries, so a Redis engine approximates it with count x a per-event size cap.
//   * History answers "everything after (epoch, offset)" or says it cannot: an epoch
//     that is not the current one, or an offset older than the oldest kept event, is
//     unrecoverable and the caller sends a snapshot instead.
#ifndef TUTTI_SERVER_BROKER_H_
#define TUTTI_SERVER_BROKER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "protos/tutti.pb.h"
#include "server/frame.h"
#include "server/history_limits.h"
#include "server/ids.h"

namespace tutti::server {

// A place in a stream. Offsets start at 1 in each epoch; 0 means "before the first".
struct StreamPosition {
  std::string epoch;
  uint64_t offset = 0;
  bool operator==(const StreamPosition& o) const { return epoch == o.epoch && offset == o.offset; }
};

// What an event does to the chat lines kept with its stream (ChatLines): a line to
// keep (RoomChatMessage), or the end of every line kept so far (ChatCleared).
enum class ChatMark : uint8_t { kNone = 0, kKeep = 1, kClear = 2 };

// One sequenced event: its position, the server time the sequencer gave it, and the
// complete client frame (with the position inside) shared by every receiver and by the
// history. `exclude` and `droppable` are delivery hints for the live fan-out only.
struct Publication {
  StreamPosition position;
  int64_t server_time_us = 0;
  Frame frame;
  SessionId exclude = 0;  // the sender, who does not get its own echo (0 = nobody)
  bool droppable = false;
  ChatMark chat = ChatMark::kNone;
  // The engine that published it when that is another node's (rooms across nodes: the
  // room keeps its roster of other nodes' members from their events); "" when this
  // engine published it, and always with the in-process engine.
  std::string origin = {};
  // Given only to a publisher's `done`: the engine refused the event together with its
  // state change, whose precondition failed (RoomStateChange::check). It was never
  // sequenced nor delivered; `position` and `frame` are empty.
  bool refused = false;
  // Given only to a publisher's `done`: the event could not be sequenced because the
  // stream's store was unreachable (refused at the publish, or its call lost with the
  // link). Never delivered; `position` and `frame` are empty. A publisher that answers
  // someone answers STREAM_UNAVAILABLE.
  bool unavailable = false;
  // Given only to a publisher's `done`, with `refused`: what failed was the version
  // precondition (RoomStateChange::base_version): the kept settings changed after the
  // state the change was built on, so it would have reverted that change.
  bool stale = false;
};

// What a client is told when an event of its cannot be sequenced because the stream's
// store (Redis) is unreachable (ErrorMessage STREAM_UNAVAILABLE, docs/PROTOCOL.md).
inline constexpr char kStreamUnavailableText[] = "rooms are paused: the server cannot reach Redis";

// What the actor of a settings change refused as stale (Publication::stale) is told, with
// WRONG_STATE: the room now shows the settings as kept, so a retry builds on them.
inline constexpr char kStaleSettingsText[] =
    "the room's settings changed first (on another server, or by a change still on its way): "
    "the room shows them now; try again";

// A room ban or mute as the stream keeps it beside the events (rooms across nodes,
// docs/SCALE-OUT.md "Room bans and mutes across nodes"): who, and until when.
struct KeptPenalty {
  enum class Kind : uint8_t { kBan, kMute };
  Kind kind = Kind::kBan;
  std::string user_id;
  int64_t until_unix_ms = 0;  // 0 = permanent
};

// A change of the kept bans or mutes, made in the same atomic step that sequences the
// event announcing it (so every node applies it at that event's offset).
struct PenaltyChange {
  KeptPenalty penalty;
  bool lift = false;  // an unban or unmute: `penalty.until_unix_ms` is unused
};

// A change of a room's owner, settings, moderators or tempo (rooms across nodes,
// docs/SCALE-OUT.md "Owner, settings and moderators across nodes"), written beside the
// stream by the script call that sequences the event announcing it, so that the change
// and its event share one order.
struct RoomStateChange {
  enum class Kind : uint8_t {
    // A room object opened on this node and its first member joined: everything is
    // written when nothing is kept, or when no other node has a live member in the room
    // (the kept copy is then an earlier life's); otherwise the kept copy stays.
    kOpen,
    kSettings,         // `room` and `password_hash`
    kOwner,            // `user` owns the room; the previous owner becomes a moderator
    kAddModerator,     // `user`
    kRemoveModerator,  // `user`
    // Nothing is written: the change is only its precondition (`check`, with `user` the
    // command's target), so that a kick, ban, unban, mute or unmute is sequenced only while
    // the kept roles still allow it.
    kCheckOnly,
    // `tempo` is the room's tempo from now on (a tempo change, checked as `check` says):
    // a room object that opens on a node later shows it, not the default.
    kTempo,
  };
  Kind kind = Kind::kSettings;
  std::string user;                     // kOwner, kAdd/RemoveModerator; kOpen: the owner
  std::string room;                     // kOpen, kSettings: serialized RoomInfo (name, type,
                                        // settings as set, topic)
  std::string password_hash;            // kOpen, kSettings ("" = no password)
  std::vector<std::string> moderators;  // kOpen
  // kTempo: the serialized TempoState as the room shows it (who set it and when too). A
  // kOpen that is written drops the kept one: a new life of the room starts at the default.
  std::string tempo;
  // What the kept state must say of `actor` for the change to be written: when it does not
  // (another change came first), the script writes neither the change nor the event that
  // announces it, and that event's publisher is told (Publication::refused). kNone checks
  // nothing; nothing kept (Redis lost it) checks nothing either.
  enum class Check : uint8_t {
    kNone,
    kOwner,      // `actor` is the kept owner (an owner who left hands the room on; an
                 // owner's settings change, /owner, /mod, /unmod)
    kModerator,  // `actor` is the kept owner or a kept moderator (/topic, /unban, /unmute)
    // `actor` outranks `user` in the kept roles: the actor is the kept owner, or a kept
    // moderator and `user` is neither the kept owner nor a kept moderator (/kick, /ban,
    // /mute: a moderator may not act on the owner or another moderator)
    kOutranks,
  };
  Check check = Check::kNone;
  std::string actor;
  // kSettings: the kept settings version (KeptRoomState::settings_version) of the state the
  // change was built on. A settings change carries the whole RoomInfo, so one built on an
  // older state would silently revert whatever was written since: the script refuses it
  // (with its event; Publication::stale) unless the kept version is still this one. -1
  // checks nothing; nothing kept checks nothing either.
  int64_t base_version = -1;
};

// A room's owner, settings, moderators and tempo as kept beside its stream.
struct KeptRoomState {
  bool found = false;  // nothing kept (or malformed): the other fields are empty
  std::string owner;
  std::string room;  // serialized RoomInfo, as in RoomStateChange
  std::string password_hash;
  int64_t version = 0;  // counts the changes written (each script call's)
  // Counts the writes of `room` and `password_hash` alone (kOpen, kSettings): the version a
  // settings change is checked against (RoomStateChange::base_version), so that a
  // moderator or owner change, which does not touch them, refuses none.
  int64_t settings_version = 0;
  std::vector<std::string> moderators;
  std::string tempo;  // serialized TempoState, as in RoomStateChange ("": none, the default)
};

// What a publisher hands the broker: the event without its position.
struct PublishRequest {
  proto::ClientMessage message;  // message_type stamped; `stream` unset
  SessionId exclude = 0;
  bool droppable = false;
  ChatMark chat = ChatMark::kNone;
  // With a networked engine: the ban or mute this event announces, written with it.
  std::optional<PenaltyChange> penalty = std::nullopt;
  // With a networked engine: the owner, settings or moderator change it announces.
  std::optional<RoomStateChange> state = std::nullopt;
};

struct HistoryResult {
  // False when the events after the asked position are not all kept (epoch changed,
  // trimmed, or an offset beyond the top): the caller must fall back to a snapshot.
  bool recoverable = false;
  std::string reason;                     // why not, for the client (docs/PROTOCOL.md §12)
  StreamPosition top;                     // the stream's current position
  std::vector<Publication> publications;  // oldest first, all after the asked offset
};

// Who is in a stream, as the broker knows it (rooms across nodes: each node writes its
// members, and a room opening on a node reads the others' members from it).
struct PresenceEntry {
  SessionId session = 0;
  std::string user_id;
  bool reconnecting = false;
  // The member as its room shows it in user lists (its session id included).
  proto::UserInfo user = {};
  // The engine that wrote the entry; "" when this engine did (and in-process).
  std::string origin = {};
  // Presence reads return the entries they found expired (and deleted) once, so that
  // exactly one reader learns that another node's member is gone.
  bool expired = false;
  // A seat a join claimed (Broker::ClaimSeat) before its room answered it: counted
  // against the room's capacity, but nobody's member yet, so rooms keep it out of their
  // rosters, and it leaves without a word (a leave is published for members only).
  bool claiming = false;
};

// The answer to Broker::ClaimSeat.
enum class SeatClaim : uint8_t {
  kTaken,        // the entry is written, marked claiming: the seat is the joiner's
  kFull,         // the room's capacity is taken: nothing was written
  kUnreachable,  // the engine could not ask (or lost the answer with its link)
  kBanned,       // the joiner has a live ban in the room's kept bans: nothing was written
  kStale,        // the kept settings version is not the one the join was checked against
};

// What a resume on another node needs of a session (rooms across nodes,
// docs/SCALE-OUT.md "Resume on another node"): its user as the room showed it (the
// session id is the old session's) and the room it was in ("" = none).
struct SharedResume {
  proto::UserInfo user;
  std::string room_id;
};

// The answer to TakeResume.
struct ResumeTake {
  enum class Status {
    kFound,        // the state, now deleted: nobody else can take it
    kMissing,      // never written, already taken, or expired
    kUnreachable,  // the engine could not ask (its sequencer is unreachable)
  };
  Status status = Status::kMissing;
  SharedResume state;
};

class StreamSubscriber {
 public:
  virtual ~StreamSubscriber() = default;
  // Every publication of the stream, in offset order, once.
  virtual void OnPublication(const std::string& stream, const Publication& pub) = 0;
  // A networked engine lost the stream for a while (its link to the sequencer was down)
  // and the stream did not simply go on: it started a new epoch, moved on without this
  // node, or refused this node's events meanwhile. `top` is where it stands now; what the
  // subscriber's receivers hold may be stale, so they need the current state. `reason`
  // says which ("epoch changed", "events missed"). Never called by the in-process engine.
  virtual void OnResync(const std::string& stream, const StreamPosition& top,
                        const std::string& reason) {
    (void)stream;
    (void)top;
    (void)reason;
  }
  // A networked engine read the stream's presence (every third of the presence TTL, for
  // each stream with a subscriber here): `entries` are the live ones and, flagged
  // `expired`, those this read found expired and deleted (no other reader gets them).
  // Never called by the in-process engine.
  virtual void OnPresence(const std::string& stream, const std::vector<PresenceEntry>& entries) {
    (void)stream;
    (void)entries;
  }
};

class NodeBus;  // server/node_bus.h

class Broker {
 public:
  using PublishDone = std::function<void(const Publication&)>;
  using HistoryDone = std::function<void(HistoryResult)>;
  using PresenceDone = std::function<void(std::vector<PresenceEntry>)>;
  using ChatDone = std::function<void(std::vector<Publication>)>;
  using PenaltiesDone = std::function<void(std::vector<KeptPenalty>)>;
  using RoomStateDone = std::function<void(KeptRoomState)>;

  virtual ~Broker() = default;

  // False while the engine cannot sequence (a networked engine whose sequencer is
  // unreachable): publishes are refused then, so callers refuse what would publish with a
  // typed error instead. Always true for the in-process engine.
  virtual bool Available() const { return true; }

  // Sequence, time, history and delivery of one event, as one step. `done` (may be
  // empty) gets the publication after the subscribers have.
  virtual void Publish(const std::string& stream, PublishRequest req, PublishDone done) = 0;
  virtual void Subscribe(const std::string& stream, StreamSubscriber* subscriber) = 0;
  virtual void Unsubscribe(const std::string& stream, StreamSubscriber* subscriber) = 0;
  // The stream's current position without any events (a joiner's starting point).
  virtual StreamPosition Top(const std::string& stream) = 0;
  // Every kept event after `since`, or recoverable = false.
  virtual void History(const std::string& stream, const StreamPosition& since,
                       HistoryDone done) = 0;
  // The stream is gone (its room closed): history and presence are dropped, and a
  // stream of the same name starts a new epoch.
  virtual void RemoveStream(const std::string& stream) = 0;

  // The chat lines kept with the stream, oldest first: the latest
  // HistoryLimits::chat_lines events published with ChatMark::kKeep since the last
  // kClear (bounded by count only, not by the history's age or bytes). A room opened on a
  // node reads them once, so that a joiner there gets what was said on other nodes before
  // (docs/SCALE-OUT.md, "Chat history across nodes"). Empty when the engine cannot ask.
  virtual void ChatLines(const std::string& stream, ChatDone done) = 0;

  // Whether the streams are shared with other nodes (a networked engine): rooms then keep
  // their members in the presence and a roster of other nodes' members
  // (docs/SCALE-OUT.md, "Members across nodes"). False for the in-process engine, whose
  // rooms do neither.
  virtual bool SpansNodes() const { return false; }

  // The room bans and mutes kept with the stream (PublishRequest::penalty), ended ones
  // possibly among them: a room opening on a node reads them once, so that a user banned
  // on another node is refused here too. The in-process engine keeps none (its rooms hold
  // their own) and answers at once with nothing; so does a networked one that cannot ask.
  virtual void Penalties(const std::string& stream, PenaltiesDone done) {
    (void)stream;
    done({});
  }

  // The owner, settings and moderators kept with the stream (PublishRequest::state): a
  // room opening on a node reads them, and reads them again when another node announces
  // a change. The in-process engine keeps none and answers at once with nothing found.
  virtual void RoomState(const std::string& stream, RoomStateDone done) {
    (void)stream;
    done({});
  }

  // This engine's entry for `entry.session` (written again on every call: a change of
  // look or of the reconnecting flag), kept alive until RemovePresence.
  virtual void SetPresence(const std::string& stream, const PresenceEntry& entry) = 0;
  virtual void RemovePresence(const std::string& stream, SessionId session) = 0;
  // Deletes another engine's entry (a member of a dead node that resumed here).
  virtual void RemoveOtherPresence(const std::string& stream, const std::string& origin,
                                   SessionId session) {
    (void)stream;
    (void)origin;
    (void)session;
  }
  // Every live entry, and the expired ones this read deleted (flagged).
  virtual void Presence(const std::string& stream, PresenceDone done) = 0;
  // Rooms across nodes (docs/SCALE-OUT.md, "Joins across nodes"): a joiner's seat,
  // checked and taken in one atomic step against what every node sequenced. In order:
  // a live ban of `entry.user_id` in the stream's kept bans answers kBanned; a kept state
  // whose settings version is not `settings_version` (-1: none to check, a lobby)
  // answers kStale (the join was checked against settings changed since); `capacity` or
  // more live presence entries other than `entry.session`'s answer kFull; each writes
  // nothing. Otherwise this engine's entry for the session is written marked claiming
  // (PresenceEntry::claiming) and `done` gets kTaken. The room then writes the entry as
  // a member's (SetPresence) or deletes it (RemovePresence); an entry nobody confirms
  // expires like any other. The in-process engine takes every seat at once: its rooms'
  // own copies, which checked the join, are the only ones.
  using SeatDone = std::function<void(SeatClaim)>;
  virtual void ClaimSeat(const std::string& stream, const PresenceEntry& entry, int capacity,
                         int64_t settings_version, SeatDone done) {
    (void)stream;
    (void)entry;
    (void)capacity;
    (void)settings_version;
    done(SeatClaim::kTaken);
  }

  // Resume state other nodes can find (a networked engine only; the in-process engine
  // keeps nothing, says false and answers every TakeResume with kMissing). `key` names a
  // resume token without being it (ResumeTokens::SharedKey). KeepResume writes the state
  // of a connected session under `key` (create = false: only if it is still there, i.e.
  // not taken by another node) and keeps it alive; ParkResume lets it expire one resume
  // window from now (the session's connection dropped); DropResume deletes it (the session
  // ended, or its token was spent here). TakeResume reads and deletes it in one atomic
  // step, so a token is spent once whichever node sees it first.
  virtual bool SharesResume() const { return false; }
  virtual void KeepResume(SessionId session, const std::string& key, const SharedResume& state,
                          bool create) {
    (void)session;
    (void)key;
    (void)state;
    (void)create;
  }
  virtual void ParkResume(SessionId session) { (void)session; }
  virtual void DropResume(SessionId session) { (void)session; }
  using ResumeTaken = std::function<void(ResumeTake)>;
  virtual void TakeResume(const std::string& key, ResumeTaken done) {
    (void)key;
    done(ResumeTake{});
  }

  // The node bus (server/node_bus.h) that shard 0's networked engine carries for the
  // Social actor; null for other shards and for the in-process engine.
  virtual NodeBus* node_bus() { return nullptr; }
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_BROKER_H_
