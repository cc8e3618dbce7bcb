// Room: the state of one room — members, settings, owner, chat history, what each
// member's keyboard holds — and the rules for changing it. Owned by the Shard that is
// the room's home (hash of the room id); every method runs on that shard's thread and
// takes no lock. It knows nothing about sockets: all output goes through RoomHost, so
// tests drive it with a fake host.
#ifndef TUTTI_SERVER_ROOM_H_
#define TUTTI_SERVER_ROOM_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "midi/held_notes.h"
#include "midi/midi_parse.h"
#include "protos/tutti.pb.h"
#include "server/broker.h"
#include "server/config.h"
#include "server/frame.h"
#include "server/ids.h"
#include "server/metrics/shard_histogram.h"
#include "server/midi_intake.h"
#include "server/moderation/command_parser.h"
#include "server/moderation/room_moderation.h"
#include "server/recording_service.h"
#include "server/room_host.h"
#include "server/room_node_parts.h"
#include "server/store/records.h"
#include "server/tempo.h"

namespace tutti::server {

class Room final : public StreamSubscriber {
 public:
  Room(std::string room_id, std::string room_name, proto::RoomType type,
       proto::RoomSettings settings, std::string password_hash, std::string owner_id,
       const ServerConfig* config, RoomHost* host);
  // Drops the room's stream: a room of the same name later starts a new epoch.
  ~Room() override;
  Room(const Room&) = delete;
  Room& operator=(const Room&) = delete;

  const std::string& id() const { return id_; }
  // No member on this node and no join holding a seat here (the room object goes then).
  bool empty() const { return members_.empty() && seats_.empty(); }
  size_t size() const { return members_.size(); }
  // Members on every node: this node's and the other nodes' (rooms across nodes).
  size_t user_count() const { return members_.size() + remote_.size(); }
  bool is_lobby() const { return type_ == proto::LOBBY; }
  // Counting the seats this node's joins hold while Redis decides them (seats_).
  bool full() const { return static_cast<int>(user_count() + seats_.size()) >= capacity(); }
  bool has_password() const { return !password_hash_.empty(); }
  const std::string& password_hash() const { return password_hash_; }
  bool IsMember(SessionId s) const { return members_.count(s) != 0; }
  int capacity() const;
  proto::RoomInfo Info() const;

  // `password_ok`: the caller has already checked the password (off the event loop).
  void Join(const JoinRequest& req, bool password_ok);
  void Leave(SessionId session, const std::string& reason, const std::string& request_id);
  void Chat(SessionId session, const std::string& text, proto::ChatMessageType type,
            const std::string& request_id);
  void Midi(MidiRelay relay);
  void Avatar(SessionId session, const proto::AvatarCommand& cmd);
  void UserStatus(SessionId session, const proto::UserStatusUpdate& update);
  // A member's session took a fresh token: its server roles and membership change now
  // (so do the room rules that depend on them); the others get PermissionsUpdated.
  void UpdateMember(SessionId session, const proto::UserInfo& user, bool server_admin,
                    bool server_moderator);
  // new_password_hash is used only when cmd.set_password() (already hashed).
  void Update(SessionId session, const proto::UpdateRoomCommand& cmd,
              const std::string& new_password_hash, const std::string& request_id);
  void SendSnapshot(SessionId session, const std::string& request_id);
  // Called about once a second after RoomHoldsNotes: a held-notes snapshot for every
  // member holding notes. False when nobody holds any (none was sent): the host stops
  // calling until the room reports itself again.
  bool TickHeldNotes();
  // SYNC_STATE with a position: the room events after `since` (ResumeResult, then the
  // events in order), or ResumeResult with a snapshot when they are not all kept.
  void SendSince(SessionId session, const StreamPosition& since, const std::string& request_id);
  // room_resume.cc. The member's connection dropped: its notes are released now, and it
  // stays a member shown `reconnecting` (MemberConnection) until Resume or a Leave.
  void Disconnected(SessionId session);
  // The member that was `previous` resumes as `session`: re-keyed with its roles and
  // status, answered (through MemberResumed) with a ResumeResult and the events after
  // `since`, or a snapshot when they are not all kept; then the others get
  // MemberConnection {reconnecting: false}. Not a member any more (kicked, banned while
  // away): the session gets an unrecoverable ResumeResult in no room (through JoinFailed).
  void Resume(SessionId previous, SessionId session, const StreamPosition& since,
              const std::string& request_id);
  // The resume of `previous` by `session` was cut short (the new connection dropped before
  // the room could answer): the member is `session` now, still reconnecting, nothing is
  // announced; a later Resume names `session`.
  void Rekey(SessionId previous, SessionId session);
  // RecordingCommand (room_recording.cc): start, stop, list, download; room staff only.
  void Recording(SessionId session, const proto::RecordingCommand& cmd,
                 const std::string& request_id);
  bool recording() const { return recording_.has_value(); }
  // Rooms across nodes: the member that was `previous` on another node (which died or
  // lost its connection) resumes here as `req.session`, from its state in Redis. Admitted
  // as a resumed member (no UserJoinedRoom; its bans are checked), answered as Resume
  // does (the history comes from the shared stream), and the others get
  // MemberConnection {reconnecting: false}. What the old session may have held sounding
  // is released first, under the old session (sustain off and all notes off on every
  // channel, MIDI_FLAG_SYNTHETIC): this node never knew its notes. While the object's
  // opening reads are out it waits for them; in an object the shard opened only to find
  // the room (MarkProbe) that found nothing kept, the answer is "room closed".
  void AdoptResumed(const JoinRequest& req, SessionId previous, const StreamPosition& since);
  // The shard opened this object as a placeholder, to learn from what is kept whether
  // the room lives (Shard::OpenToJoin, Shard::OpenToAdopt).
  void MarkProbe() { probe_ = true; }
  // StreamSubscriber: a sequenced event of this room goes to every member shard.
  void OnPublication(const std::string& stream, const Publication& pub) override;
  // StreamSubscriber: the stream was lost for a while (Redis unreachable) and did not
  // simply go on: every member here gets RESUME_UNRECOVERABLE with a snapshot, across
  // nodes once what other nodes changed meanwhile is read again (RereadAfterResync).
  void OnResync(const std::string& stream, const StreamPosition& top,
                const std::string& reason) override;
  // StreamSubscriber (room_roster.cc): the engine's periodic presence read. Another
  // node's member whose entry this read found expired (its node died) leaves: its
  // release and UserLeftRoom {reason: "disconnected"} are published on the stream.
  void OnPresence(const std::string& stream, const std::vector<PresenceEntry>& entries) override;
  // A room-scope chat command (kick, ban, mute, mod, owner, topic, clear, users, bans,
  // log, help), checked against the role table and applied. The caller's answer (and
  // for changes, the audit record) is sent only after the store has committed.
  // A target is resolved in the room first (a member's id or name, on this node, then
  // across nodes in the roster), then through `outside`, then among the room's own records (bans,
  // mutes, moderators, owner) by id or remembered name; nobody is NOT_FOUND, and a kick needs a
  // member.
  void Command(SessionId session, const moderation::ParsedCommand& cmd,
               const std::string& request_id, const CommandTarget& outside = {});
  // Drops bans and mutes that are over (they already stopped applying; this frees them).
  // Called on activity (joins and commands), not from a timer: an idle room costs nothing.
  void ExpirePenalties(int64_t now_unix_ms);
  // Loads a persistent room's saved state (called before the room is used).
  void Restore(const store::RoomRecord& record, const std::vector<store::RoomBanRecord>& bans);
  // --- music (room_music.cc; docs/PROTOCOL.md, "Music in a room")
  // --------------------------------- All notes off: the sender's own notes, or (`everyone`, room
  // staff only) every member's. Each released member's notes are ended by a synthetic MidiMessage
  // (note-offs, then sustain off and all-notes-off on every channel); then PanicNotice to everyone.
  void Panic(SessionId session, bool everyone, const std::string& request_id);
  // The owner adds a user to (or removes one from) the performer list; `who` is a member's
  // id or name (here or on another node), else `outside` (resolved on shard 0), else a
  // listed performer's id.
  void SetPerformer(SessionId session, const std::string& who, bool performer,
                    const std::string& request_id, const CommandTarget& outside = {});
  // Room staff change the tempo; everyone gets the TempoState (the actor's copy echoes
  // `request_id`).
  void SetTempo(SessionId session, const TempoChange& change, const std::string& request_id);
  // The member's latest link figures, validated by its shard; graded here.
  void ReportQuality(SessionId session, const proto::ConnectionQuality& quality);
  bool persistent() const { return settings_.persistent(); }
  const std::string& owner_id() const { return mod_.owner_id(); }
  store::RoomRecord Record() const;

 private:
  using HeldChat = room_nodes::HeldChat;
  using WaitingAdopt = room_nodes::WaitingAdopt;
  using HeldSeat = room_nodes::HeldSeat;
  using RemoteMember = room_nodes::RemoteMember;
  using DeferredHandOn = room_nodes::DeferredHandOn;
  struct Member {
    proto::UserInfo user;
    bool server_admin = false;
    bool server_moderator = false;
    uint64_t join_order = 0;
    uint64_t last_sequence = 0;
    int64_t last_event_us = 0;  // stamped time of the sender's latest relayed event
    midi::HeldNotes held;
    proto::ConnectionQuality quality;  // graded; QUALITY_UNKNOWN until a report
  };
  using MemberMap = std::map<SessionId, Member>;

  bool IsOwner(const Member& m) const { return mod_.IsOwner(m.user.user_id()); }
  bool IsStaff(const Member& m) const { return m.server_admin || m.server_moderator; }
  static moderation::RoomRole ServerRoleOf(const Member& m);
  moderation::RoomRole RoleOf(const Member& m) const;
  // Removes a member: releases its notes, tells it (RoomLeft) and the others.
  void RemoveMember(MemberMap::iterator it, const std::string& reason,
                    const std::string& request_id);
  // `request_id`: the actor's own copy echoes its request; others get "".
  void Notice(SessionId s, proto::ModerationAction action, const moderation::AuditRecord& rec,
              const std::string& request_id = "");
  void SystemLine(const std::string& text);
  void Result(SessionId s, const std::string& command, bool ok, std::vector<std::string> lines,
              const std::string& request_id);
  // RoomUpdated to everyone; `change`: the owner or settings change it announces, kept
  // with the stream across nodes.
  void BroadcastInfo(std::optional<RoomStateChange> change = std::nullopt,
                     Broker::PublishDone then = nullptr);
  // Finds a member by user id or (case-insensitive) username.
  const Member* FindUser(const std::string& who) const;
  // The user id of someone the room's records know (banned, muted, moderator, owner) as
  // `who` (an id, or a remembered name); "" when none.
  std::string FindRecorded(const std::string& who, int64_t now_ms) const;
  void ListBans(SessionId session, const std::string& request_id, int64_t now_ms);
  // Room::Command's parts, one per kind of command (room_commands.cc).
  void CommandUsers(SessionId session, const std::string& request_id);
  void CommandLog(SessionId session, const moderation::ParsedCommand& cmd, bool staff,
                  const std::string& request_id);
  // The commands that change the room: checked, resolved, applied, then made durable.
  void CommandChange(SessionId session, const Member& actor, const moderation::ParsedCommand& cmd,
                     const std::string& request_id, const CommandTarget& outside);
  struct ResolvedTarget {
    std::string user_id;  // empty for commands without a target
    std::string name;     // "" when unknown
    moderation::RoomRole server_role = moderation::RoomRole::kMember;
    bool present = false;  // a member of the room
  };
  // False (and the actor answered NOT_FOUND) when nobody answers to cmd.target.
  bool ResolveTarget(SessionId session, const moderation::ParsedCommand& cmd,
                     const CommandTarget& outside, const std::string& request_id, int64_t now_ms,
                     ResolvedTarget* out);
  // What a command does once applied to the tables: record names, effects on the members,
  // then the audit (and a persistent room's store) before the actor hears "done".
  // `shared`: its notice already went on the room's stream and was delivered here
  // (CommandAcrossNodes), so nobody here is sent it again.
  void FinishChange(SessionId session, const moderation::ParsedCommand& cmd,
                    const moderation::AuditRecord& rec, ResolvedTarget target,
                    const std::string& actor_id, const std::string& actor_name, int64_t now_ms,
                    const std::string& request_id, bool shared);
  void ApplyEffects(SessionId session, const moderation::ParsedCommand& cmd,
                    const moderation::AuditRecord& rec, const std::string& target_id,
                    const std::string& target_name, const std::string& actor_id,
                    const std::string& actor_name, const std::string& request_id, bool shared);
  void PersistChange(SessionId session, moderation::CommandKind kind,
                     const moderation::AuditRecord& rec, int64_t now_ms, const std::string& summary,
                     const std::string& request_id);
  // Runs `write` on the storage thread and answers the actor only once it committed:
  // `summary` as a done result, or INTERNAL_ERROR "applied but not saved" (also when the
  // storage queue is full). The answer goes through the host, not the room, which may be
  // gone by the time the write completes.
  void AnswerWhenSaved(SessionId session, const std::string& command, const std::string& summary,
                       const std::string& request_id,
                       std::function<absl::Status(store::Store&)> write);
  // `for_staff`: with the member's connection quality (only staff see it).
  proto::UserInfo UserView(const Member& m, bool for_staff = false) const;
  bool IsRoomStaff(const Member& m) const {
    return RoleOf(m) >= moderation::RoomRole::kRoomModerator;
  }
  // May send MIDI: everyone in a PLAY_EVERYONE room; else staff and listed performers.
  bool MayPlay(const Member& m) const;
  // Ends everything `m` may be sounding at every listener (Panic).
  void SilenceMember(SessionId s, Member& m);
  proto::TempoState TempoView() const;
  // Another node's RoomUpdated (room_roster.cc): its performer list, taken at the event's
  // place in the stream, before any member here can answer it.
  void TakePerformers(const proto::RoomInfo& info);
  // The performer-list commands' common path after the target is resolved.
  void ApplyPerformer(SessionId session, const Member& actor, const std::string& target_id,
                      const std::string& target_name, bool performer,
                      const std::string& request_id);
  proto::HeldNotesSnapshot HeldView(SessionId s, const Member& m) const;
  proto::HeldNotesSnapshot HeldView(SessionId s, const std::string& user_id, uint64_t sequence,
                                    const midi::HeldNotes& held) const;
  proto::RoomSnapshot Snapshot() const;
  // The stream position a joiner or a snapshot starts from (empty without a broker).
  void SetPosition(proto::StreamPosition* out) const;
  void AnnounceConnection(const Member& m, SessionId session, SessionId previous);
  // The ResumeResult and the replay after `since` for the resumed `member` (now
  // `session`, before `previous`), handed to its shard through MemberResumed.
  void AnswerResume(const Member& member, SessionId previous, SessionId session,
                    const StreamPosition& since, const std::string& request_id);
  // A room event to every member but `exclude`. Non-droppable events are sequenced into
  // the room's stream (when the host has a broker); `then` gets the publication (e.g. to
  // send the sender its own copy, with its request id, at the same position).
  // `chat`: what the event does to the chat lines kept for joiners (history_, and with
  // the stream: Broker::ChatLines); applied when the event is delivered, in offset order.
  // `state`: across nodes, the owner, settings or moderator change the event announces.
  void Broadcast(proto::ClientMessage msg, SessionId exclude, bool droppable,
                 const Broker::PublishDone& then = nullptr, ChatMark chat = ChatMark::kNone,
                 std::optional<RoomStateChange> state = std::nullopt);
  // Applies `mark` of a delivered event (`msg`) to history_.
  void KeepChat(ChatMark mark, const proto::ClientMessage& msg);
  // The chat lines the stream kept before this room object opened (Broker::ChatLines),
  // merged with the ones delivered meanwhile; then the joins that waited are run.
  void ChatLinesRead(const std::vector<Publication>& lines);
  void BroadcastFrame(const Frame& frame, SessionId exclude, bool droppable);
  // Members across nodes (room_roster.cc; docs/SCALE-OUT.md, "Members across nodes").
  // Whether the room keeps its members in the presence and a roster of other nodes'
  // members (a networked engine); false in-process, where none of this runs.
  bool SpansNodes() const;
  // This node's member `s` as other nodes show it (written again on every change).
  void ShareMember(SessionId s, const Member& m);
  void UnshareMember(SessionId s);
  // An event another node published: joins, leaves, resumes, connection and look
  // changes of its members update remote_.
  void ApplyRemote(const Publication& pub);
  // Another node's MIDI: updates what that member of the roster holds.
  void ApplyRemoteMidi(const Publication& pub);
  // room_music.cc: another node's tempo change, sequenced (its actor's kept role checked), or
  // the one kept (AdoptState): this room's grid from now on, as if set here (its anchor is on
  // the nodes' shared timeline, clock.h), so joiners, snapshots and RoomInfo here show it.
  void ApplyRemoteTempo(const proto::TempoState& t);
  // The presence read at the room's opening (other nodes' members before this object
  // existed), merged with the events delivered meanwhile; then the waiting joins run.
  void PresenceRead(const std::vector<PresenceEntry>& entries);
  // Publishes the release (everything off, under the gone session) and UserLeftRoom of
  // another node's member whose presence expired.
  void PublishGone(const PresenceEntry& e);
  // A local member that another node named as left (its presence was taken for
  // expired): the room announces it again so that every node's roster has it back.
  void Reannounce(SessionId s);
  // Room moderation across nodes (room_moderation_nodes.cc; docs/SCALE-OUT.md, "Room
  // moderation across nodes"). With a networked engine a kick, ban, unban, mute, unmute,
  // mod, unmod, owner or topic is checked against the kept roles by the script that
  // sequences it (CheckedAcrossNodes), and applied here only once it was sequenced.
  bool CheckedAcrossNodes(moderation::CommandKind kind) const;
  // `resolved`, which this node's copy allowed (`rec`, Apply's record on a copy of the
  // tables), goes out with its event and the precondition its actor's role needs (none
  // for server staff); the actor is answered once the script sequenced it (the change
  // then applied here, ApplySequenced and FinishChange) or refused it (PERMISSION_DENIED,
  // and the room reads the kept state again).
  void CommandAcrossNodes(SessionId session, const Member& actor,
                          const moderation::ParsedCommand& resolved,
                          const moderation::AuditRecord& rec, ResolvedTarget target, int64_t now_ms,
                          const std::string& request_id);
  // room_checks_nodes.cc: an UpdateRoomCommand (checked by Update) across nodes: applied,
  // saved (a registered room) and answered only once the script sequenced it.
  void UpdateAcrossNodes(SessionId session, const Member& actor,
                         const proto::UpdateRoomCommand& cmd, const std::string& new_password_hash,
                         const std::string& request_id);
  // A `done` for a change published with `check` on its actor's kept role: `sequenced`
  // runs once the script sequenced it (the room still here); refused, the actor gets
  // PERMISSION_DENIED and the room reads the kept state; not sequenced, STREAM_UNAVAILABLE.
  Broker::PublishDone WhenSequenced(SessionId session, const std::string& request_id,
                                    RoomStateChange::Check check,
                                    std::function<void(const Publication&)> sequenced);
  // After a refused change: the kept state is read again and taken, whatever its version.
  void TakeKeptState();
  // The kick, ban, unban, mute, unmute, mod, unmod or owner notice as a room event (a ban
  // or mute, a moderator or owner change written with it), with `check` on the actor's
  // kept role; `done` gets the publication (refused when the check failed).
  void ShareModeration(moderation::CommandKind kind, const moderation::AuditRecord& rec,
                       RoomStateChange::Check check, Broker::PublishDone done);
  // The change of a command sequenced across nodes, applied to this node's tables.
  void ApplySequenced(moderation::CommandKind kind, const moderation::AuditRecord& rec);
  // Another node's ModerationNotice: the ban or mute applies here too, and this node's
  // sessions of the target are removed (kick, ban; with the same notices and release as
  // on one node) or have their notes released (mute).
  void ApplyRemoteModeration(const proto::ModerationNotice& n);
  // The bans and mutes kept with the stream, read at the room's opening here.
  void PenaltiesRead(const std::vector<KeptPenalty>& kept);
  // The joins that waited for the opening reads, once all are in.
  // Subscribes the new room object to its stream and starts its opening reads (the chat
  // lines kept with the stream; across nodes, the presence too).
  void OpenStream();
  void RunWaitingJoins();
  // Publishes, as `session`'s next MIDI (MIDI_FLAG_SYNTHETIC, sequence 0), sustain off and
  // all notes off on every channel: the release of a member whose notes this node never
  // knew (it played on another node).
  void BroadcastRelease(const std::string& user_id, SessionId session);
  void SendTo(SessionId s, proto::ClientMessage msg, const std::string& request_id);
  void Error(SessionId s, proto::ErrorCode code, const std::string& text,
             const std::string& request_id);
  void ReleaseHeldNotes(SessionId s, Member& m);
  // Sends `bytes` (MIDI the server makes on a member's behalf: releases, panic) to the room as
  // that member's next event, flagged synthetic, stamped no earlier than its last one.
  void BroadcastSyntheticMidi(SessionId s, Member& m, std::string bytes);
  // The owner's session left (or, across nodes, its presence expired): when it was the
  // owner's last on any node, the longest-present registered member here inherits (a
  // guest only if nobody else), else the roster's (the same order, then the lowest session
  // id), and everyone is told with RoomUpdated. Across nodes the hand-on is written only
  // while the kept owner is still the one who left; refused, the room takes what is kept.
  void HandOwnership();
  // Another node's leave of the owner whose hand-on this node deferred (the roster still
  // showed that session when the owner's session here left), sequenced at `at`: when
  // this node's own leave of the owner came later in the stream, nobody else saw the
  // owner gone everywhere, so this node hands the room on (room_state_nodes.cc).
  void HandOnAfterRemoteLeave(const StreamPosition& at);
  // Called before a leave of the owner's session (`user_id`) is published: this node may
  // defer its hand-on (HandOwnership), and the returned publish callback records where
  // that leave was sequenced (null on one node).
  Broker::PublishDone OwnerLeaving(const std::string& user_id);
  // The room's last member here left (a non-persistent, non-lobby room): closed now,
  // unless a hand-on is deferred, when the object stays (close_when_settled_) until this
  // node's own leave of the owner has come back in the stream, so that a leave of the
  // owner's other session sequenced before it still reaches this node, the one to hand on.
  void CloseWhenSettled();
  // Owner, settings and moderators across nodes (room_state_nodes.cc; docs/SCALE-OUT.md,
  // "Owner, settings and moderators across nodes"). What the stream keeps of them is read
  // when the room opens here (joins wait) and again when another node announces a change
  // (RoomUpdated); moderator and owner notices of other nodes apply at once.
  void ReadState(bool announce = false);
  void StateRead(KeptRoomState kept);
  // The store's write order across nodes (docs/ARCHITECTURE.md, "Store write order"): a
  // record is stamped with where the read of the kept state it follows was asked.
  // SaveWhenRead runs `save` with the record once a read asked from now on is in (dropped
  // if the room closes first: only an unregistered one or at shutdown); SaveAfterRead runs
  // those, or saves another node's change here.
  void NoteSequenced(const Publication& p);
  void SaveWhenRead(std::function<void(store::RoomRecord)> save);
  void SaveAfterRead();
  // Once every opening read is in: the kept state is the room's when another node has
  // members in it now (else it is an earlier life's, and this node's is written by its
  // first join, RoomStateChange::kOpen).
  void SettleOpeningState();
  // Takes `kept` as this room's owner, settings and moderators; false when malformed.
  bool AdoptState(const KeptRoomState& kept);
  // Another node's owner, settings or moderator change was delivered.
  void RemoteStateChanged();
  // After OnResync (events were missed): the kept state, bans and mutes and the presence
  // are read again and, when `replace` (the epoch went on), replace what the room holds (a
  // persistent room's bans are only added to); joins wait for the reads, and so does the
  // snapshot OnResync owes the members (SendResyncSnapshot, from RunWaitingJoins).
  void RereadAfterResync(bool replace);
  void SendResyncSnapshot();
  // A `done` that echoes the event to `session` with its request id (STREAM_UNAVAILABLE
  // when it could not be sequenced).
  Broker::PublishDone EchoToSender(SessionId session, const std::string& request_id) const;
  // name, type, settings and topic, as kept (RoomStateChange::room).
  std::string StateBlob() const;
  RoomStateChange SettingsChange() const;
  // The owner now; when `from` is given (an owner who left hands the room on), written
  // only while the kept owner is still `from`.
  RoomStateChange OwnerChange(const std::string& from = "") const;
  // A join that passed every check: the member is inserted, announced and answered;
  // across nodes, a join that writes the room's kOpen is answered once it was sequenced
  // and the kept state read back (answers_after_read_, AnswerJoinsAfterRead).
  void Admit(const JoinRequest& req);
  // The RoomJoinedResponse (and welcome line) for the member `session`, as the room is now.
  void AnswerJoin(SessionId session, const std::string& request_id);
  void AnswerJoinsAfterRead();
  // The join is refused with `code`: its session is told, and an object nothing keeps
  // any more closes.
  void FailJoin(const JoinRequest& req, proto::ErrorCode code, const std::string& text);
  // Joins across nodes (room_join_nodes.cc; docs/SCALE-OUT.md, "Joins across nodes"):
  // a joiner who is not server staff is admitted only once Redis took its seat
  // (Broker::ClaimSeat), which no two nodes' joins can both take; the seat is held here
  // meanwhile (seats_, counted by full()).
  void ClaimSeat(const JoinRequest& req);
  void SeatAnswered(SessionId session, SeatClaim answer);
  // Answers for a kept ban this copy lacks (the bans read), and for settings checked stale.
  void ReadPenaltiesAfterSeat();
  void RecheckStaleJoin(JoinRequest req);
  // A leave of a session whose seat is held (its session ended while Redis decided): the
  // join is dropped when the answer comes, a seat taken given back.
  void DropSeat(SessionId session);
  // Records that server staff joined past the barriers named in `passed`.
  void AuditStaffEntry(const std::string& user_id, const std::vector<std::string>& passed,
                       int64_t now_ms);
  int64_t NextRoomTime();
  // Server-side recording (room_recording.cc).
  struct ActiveRecording {
    std::string id;
    int64_t start_us = 0;
    int64_t start_unix_ms = 0;
    uint64_t events = 0;  // handed to the writer
  };
  void CommandRecord(SessionId session, const Member& actor, const moderation::ParsedCommand& cmd,
                     const std::string& request_id);
  void StartRecording(SessionId session, const Member& actor, const std::string& request_id);
  // Tells everyone the recording ended; `actor` null when a limit or the writer ended it.
  void EndRecording(const std::string& recording_id, const std::string& reason, const Member* actor,
                    const std::string& request_id, SessionId session, uint64_t dropped = 0);
  void ListRecordings(SessionId session, const std::string& request_id, bool as_lines);
  void StopRecordingOnClose();
  // The room's tempo as an SMF tempo (µs per quarter note), and its change handed to a
  // running recording's tempo map.
  uint32_t RecordingTempo() const;
  void RecordTempoChange();
  static std::vector<midi::ChannelMessage> HeldStateMessages(const midi::HeldNotes& held);
  void Record(const Member& m, std::vector<RecordedEvent> events);
  void RecordRelay(const Member& m, const MidiRelay& relay);
  // MIDI the server sends on a member's behalf (releases, panic), all at `server_us`.
  void RecordBytes(const Member& m, const std::string& bytes, int64_t server_us);
  // `msg` to every member; the sender's copy echoes its request id.
  void BroadcastWithEcho(proto::ClientMessage msg, SessionId session,
                         const std::string& request_id);

  const std::string id_;
  std::string name_;
  proto::RoomType type_;
  proto::RoomSettings settings_;
  std::string password_hash_;
  moderation::RoomModeration mod_;
  std::string topic_;
  // Names of users the room holds records about (ban and mute targets), so that /unban
  // NAME works once they are gone and /bans shows names beside ids. Pruned with them.
  std::map<std::string, std::string> record_names_;
  const ServerConfig* config_;
  RoomHost* host_;

  std::map<SessionId, Member> members_;
  int shard_members_[kMaxShards] = {};
  std::deque<proto::RoomChatMessage> history_;
  // Rooms across nodes: until the stream's kept chat lines have been read (the room's
  // first moments on this node), joins wait here and delivered chat events are held.
  bool reading_chat_ = false, reading_presence_ = false, reading_penalties_ = false;
  // Owner, settings and moderators across nodes (room_state_nodes.cc): a read of the kept
  // state is out (joins wait); a change was delivered meanwhile (read again: the answer
  // may predate it); the opening read's answer, until every opening read is in; whether
  // the opening is settled, whether it took another node's state, whether the first join
  // here writes kOpen; the version last taken.
  bool reading_state_ = false;
  bool state_changed_while_reading_ = false;
  bool tempo_since_asked_ = false;  // a tempo event taken since: as new as the read's
  bool announce_read_ = false;
  std::optional<KeptRoomState> opening_state_;
  bool state_settled_ = true;
  bool adopted_at_open_ = false;
  bool announce_open_ = false;
  int64_t state_version_ = 0;
  // The kept settings version this room's name, type, settings, topic, password and
  // performers stand at: a settings change carries it (RoomStateChange::base_version).
  int64_t settings_version_ = 0;
  // The latest place in the stream known sequenced, where the read out was asked, where
  // the last read in was asked (Record()'s stamp), the last saved here; whether another
  // node's change (or a resynchronisation) asked for the read out: it is saved here.
  store::StreamStamp seen_, asked_at_, read_at_, saved_at_;
  bool remote_change_unsaved_ = false;
  std::vector<std::function<void(store::RoomRecord)>> saves_after_read_;
  // Joins (session, request id) whose kOpen was sequenced, answered when a read is in.
  std::vector<std::pair<SessionId, std::string>> answers_after_read_;
  // Users whose ban or mute a delivered event changed while the opening read of the
  // kept ones was out: the event is as new as the read, or newer.
  std::set<std::string> penalties_while_reading_;
  // The read out is a resynchronisation's: it replaces rather than adds (RereadAfterResync).
  bool replace_penalties_ = false, replace_roster_ = false;
  // Other nodes' sessions that joined (or were re-keyed) while a presence read was out.
  std::set<SessionId> joined_while_reading_;
  std::vector<std::pair<JoinRequest, bool>> waiting_joins_;
  // Resumes from another node that wait for the opening reads (AdoptResumed), and
  // whether the shard opened this object only to look for the room.
  std::vector<WaitingAdopt> waiting_adopts_;
  bool probe_ = false;
  // Joins whose seat Redis is deciding (ClaimSeat), by session; `dropped`: the session
  // ended meanwhile.
  std::map<SessionId, HeldSeat> seats_;
  std::string resync_reason_;  // an OnResync's, while its snapshot waits ("": none)
  // Rooms across nodes: the members other nodes have in the room, by session id (ids are
  // unique across nodes), with the engine that announced them; from their events and
  // the opening presence read. Counted in user_count() and shown in user lists.
  std::map<SessionId, RemoteMember> remote_;
  // An owner's session left here while the roster still showed another of the owner's
  // sessions: whose, and where this node's leave of it was sequenced (no epoch until the
  // engine answered: a leave delivered before that is taken as the earlier one, and when
  // it was not, the script's owner check keeps one of the two hand-ons).
  std::optional<DeferredHandOn> deferred_hand_on_;
  uint64_t owner_leaves_ = 0;
  bool close_when_settled_ = false;  // emptied, its closing waits (CloseWhenSettled)
  // room_moderation_nodes.cc: the roster member answering to `who` (a user id, or a
  // username, case-insensitive); null when none.
  const RemoteMember* FindRemote(const std::string& who) const;
  // Sessions that left while the opening presence read was out: the read must not bring
  // them back.
  std::set<SessionId> left_while_reading_;
  // Other nodes' sessions that resumed here (old session -> the local one), so that a
  // late UserLeftRoom of the old session makes the room announce the new one again.
  std::map<SessionId, SessionId> adopted_;
  std::vector<HeldChat> chat_while_reading_;
  // Expires with the room: a broker answer that comes later finds no room.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  uint64_t next_join_order_ = 1;
  uint64_t next_message_id_;  // from a random base (the constructor says why)
  int64_t last_room_time_ = 0;
  bool held_listed_ = false;          // the host has heard RoomHoldsNotes and ticks this room
  std::set<std::string> performers_;  // user ids; persistent rooms keep them in the store
  Tempo tempo_;
  // Who changed the tempo last, and when (server time; wall clock for display).
  std::string tempo_by_id_, tempo_by_name_;
  int64_t tempo_changed_us_ = 0, tempo_changed_unix_ms_ = 0;
  std::optional<ActiveRecording> recording_;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_ROOM_H_
