// LinkedConnection: a native client's second connection to its own session, the *link*
// (docs/PROTOCOL.md §16), so that one TCP connection's stall (a lost segment holds up
// everything behind it for 200 ms or more) does not hold up the room's notes.
//
// What it does, for the client's owner loop: after the session joins a room or resumes, asks
// the primary for a link token (ServerCommand LINK), opens the link with a fresh payload that
// carries it (on a thread of its own: play never waits for a connect; the primary's loss and
// the destructor abandon one under way, whose thread then returns at once), waits for its
// LinkStatus; numbers every outgoing MIDI batch (MidiMessage.sequence, one counter for the
// client's life: the server's window is the session's and survives a resume) and sends it
// on both connections; keeps the first copy of each room event from either connection
// (FirstCopyFilter) and drops the link's other messages; when the link closes (the server
// ends it, 4007 when the session ends or parks; the network drops it; it is refused), tries
// again with backoff, 1 s doubling to 30 s, reset once a link has stayed attached for a
// while. A failing link never touches the primary: nothing of the link's reaches the
// session's handling, and the primary never waits for it.
//
// Owns: the link's Client, its NetworkPump (posting into the owner's Inbox, path >= 1) and
// connect thread, the link token (in memory, never printed), the first-copy filter and the
// batch counter. Thread affinity: every method on the owner loop's thread; the connect
// thread and the pump only touch the link's Client and post to / wake the Inbox.
// Who owns it: tutti-midi-bridge's and tutti-play's loops, and the timing harness bots; one
// per logical session, across the primary's reconnects.
#ifndef TUTTI_TOOLS_MIDI_BRIDGE_LINKED_CONNECTION_H_
#define TUTTI_TOOLS_MIDI_BRIDGE_LINKED_CONNECTION_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "protos/tutti.pb.h"
#include "tools/client/client.h"
#include "tools/midi_bridge/first_copy.h"
#include "tools/midi_bridge/inbox.h"

namespace tutti::bridge {

struct LinkedConnectionOptions {
  bool enabled = true;  // false: one connection, batches unnumbered, nothing filtered
  int64_t backoff_min_us = 1000000;
  int64_t backoff_max_us = 30000000;
  // A link that stayed attached this long resets the backoff.
  int64_t stable_us = 10000000;
  // No LinkStatus for a LINK, or no attach on the open link, within this: a failure.
  int64_t answer_timeout_us = 10000000;
  std::chrono::milliseconds connect_timeout{5000};
};

class LinkedConnection {
 public:
  // A fresh single-use connect resource ("/api/websocket/<payload>") for the same identity,
  // carrying `link_token` (and no resume keys).
  using ResourceFor = std::function<absl::StatusOr<std::string>(const std::string& link_token)>;

  enum class State {
    kOff,         // disabled
    kIdle,        // no session in a room yet (or the primary is down)
    kBackoff,     // a link failed or closed: asks again at retry_at
    kRequested,   // LINK sent on the primary, waiting for its LinkStatus
    kConnecting,  // the link's connect runs on its thread
    kAttaching,   // open, waiting for LinkStatus{attached}
    kAttached,
  };

  // `local_now` is the owner's clock (called on the pump thread too: must be thread-safe).
  LinkedConnection(Inbox* inbox, std::function<int64_t()> local_now,
                   LinkedConnectionOptions options = {});
  ~LinkedConnection();  // closes the link, joins its threads
  LinkedConnection(const LinkedConnection&) = delete;
  LinkedConnection& operator=(const LinkedConnection&) = delete;

  // The primary is open (before its first message is handled): `primary` is where LINK is
  // sent, host/port/resource_for where the link connects. Links are asked for once the
  // session is in a room (a successful join, a resume that kept the room).
  void OnPrimaryOpen(client::Client* primary, std::string host, int port, ResourceFor resource_for);
  // The primary is gone: the link goes too (the server ends it with 4007 anyway); a new one is
  // asked for after the resume.
  void OnPrimaryLost();

  // Every received item goes through here before the session handles it. False: consumed (a
  // copy already delivered, the link's own messages, the answer to LINK); true: handle it.
  bool Filter(const Inbox::Item& item, int64_t now);
  // Sends one message the session wants sent on the primary; a MIDI batch is numbered and,
  // with a link attached, sent on the link as well.
  void Send(proto::ServerMessage m);
  // Asks, connects, notices a closed link, retries. Call once per loop turn.
  void Poll(int64_t now);
  // When Poll next has something to do (INT64_MAX: nothing timed).
  int64_t NextWake() const;

  State state() const { return state_; }
  bool attached() const { return state_ == State::kAttached; }
  // One line for a status display: "link on", "link connecting", "link retry in 4 s (...)".
  std::string Describe(int64_t now) const;
  const std::string& last_error() const { return last_error_; }
  // Room events kept from each connection first, and copies dropped.
  uint64_t first_from_primary() const { return first_[0]; }
  uint64_t first_from_link() const { return first_[1]; }
  uint64_t duplicates() const { return filter_.duplicates(); }
  uint64_t links_attached() const { return links_attached_; }
  uint64_t links_lost() const { return links_lost_; }
  uint16_t last_close_code() const { return last_close_code_; }
  // Test hook (as Client::Drop): cuts the link's TCP connection the way a network does.
  void DropLinkForTest();

 private:
  void Request(int64_t now);
  void StartConnect(const std::string& token, int64_t now);
  void Fail(const std::string& why, int64_t now);
  void CloseLink();
  bool FilterStream(const Inbox::Item& item, bool from_link);
  void PrimarySaw(const std::string& epoch);

  Inbox* inbox_;
  std::function<int64_t()> local_now_;
  LinkedConnectionOptions o_;
  State state_ = State::kIdle;
  client::Client* primary_ = nullptr;
  std::string host_;
  int port_ = 0;
  ResourceFor resource_for_;
  bool in_room_ = false;     // the session is in a room: a link is worth having
  int64_t deadline_ = 0;     // kRequested / kAttaching: give up at
  int64_t retry_at_ = 0;     // kBackoff
  int64_t attached_at_ = 0;  // kAttached since
  int failures_ = 0;         // in a row, for the backoff
  uint64_t requests_ = 0;    // LINK request ids
  std::string request_id_;   // the outstanding LINK's
  int path_ = 0;             // the current link's Inbox path (1, 2, ...): older ones are stale
  std::unique_ptr<client::Client> link_;
  std::unique_ptr<NetworkPump> pump_;
  std::thread connect_thread_;
  std::atomic<bool> connect_done_{false};
  client::ConnectResult connect_result_;  // written by the connect thread before connect_done_
  uint32_t replay_left_ = 0;              // a resume's replay on the primary passes unfiltered
  // The rooms (epochs) the primary has shown, the latest last: a link's event of another
  // room came before the primary's answer to the join and is dropped (the primary brings it
  // after that answer), so the session never sees a room's events before it joined it.
  std::deque<std::string> primary_epochs_;
  uint64_t midi_numbered_ = 0;
  FirstCopyFilter filter_;
  uint64_t first_[2] = {0, 0};
  uint64_t links_attached_ = 0;
  uint64_t links_lost_ = 0;
  uint16_t last_close_code_ = 0;
  std::string last_error_;
  std::mt19937 rng_;
};

}  // namespace tutti::bridge

#endif  // TUTTI_TOOLS_MIDI_BRIDGE_LINKED_CONNECTION_H_
