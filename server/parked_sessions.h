// ParkedSessions: the sessions of one shard whose connection dropped and that wait, for
// the resume grace (ServerConfig::resume_grace_ms), for a new connection to resume them
// (docs/PROTOCOL.md §12). A parked session has no link; its room shows it `reconnecting`.
// It leaves the map either by a resume (Take) or when its grace is over (the shard's
// `expired` callback, which makes it a normal leave). One steady_timer armed for the
// earliest deadline (none while nothing is parked), woken early when a manual clock jumps
// (clock.h), so tests expire grace periods by advancing a FakeClock, never by sleeping.
// It also holds, bounded, the private messages and friend events sent to a parked session,
// for the resume to deliver.
// Thread affinity: its shard's thread only (the clock's jump callback only posts to it).
// Owner: the Shard.
#ifndef TUTTI_SERVER_PARKED_SESSIONS_H_
#define TUTTI_SERVER_PARKED_SESSIONS_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "server/clock.h"
#include "server/frame.h"
#include "server/ids.h"
#include "server/session.h"

namespace tutti::server {

class ParkedSessions {
 public:
  struct Parked {
    std::unique_ptr<Session> session;
    std::string room_id;  // the room that shows it reconnecting ("" = none)
    int64_t deadline_us = 0;
    bool room_list = false;  // it was subscribed to the live room list
    // Private messages and friend events sent to it while parked, oldest first.
    std::deque<Frame> held;
    size_t held_bytes = 0;
  };
  // What a parked session holds for its resume: a bound on memory per parked session
  // whatever others send it (a chat partner's burst fits; a flood keeps its latest).
  static constexpr size_t kMaxHeldFrames = 64;
  static constexpr size_t kMaxHeldBytes = 64 * 1024;
  // `expired` runs on the shard's thread for each session whose grace is over, after it
  // has left the map.
  ParkedSessions(boost::asio::io_context& io, const Clock* clock,
                 std::function<void(Parked)> expired);
  ~ParkedSessions();
  ParkedSessions(const ParkedSessions&) = delete;
  ParkedSessions& operator=(const ParkedSessions&) = delete;

  void Park(SessionId id, Parked parked);
  // The parked session, out of the map; nullopt when it is not (or no longer) parked.
  std::optional<Parked> Take(SessionId id);
  // The parked session, left in the map; null when it is not parked.
  Parked* Find(SessionId id);
  // A frame sent to `id` while it is parked: kept when it is a private message or a friend
  // event (past the bounds the oldest held give way). False when `id` is not parked.
  bool Hold(SessionId id, const Frame& frame);
  size_t size() const { return parked_.size(); }
  // Shutting down: the timer stops; what is parked is dropped with the shard.
  void Stop();

 private:
  void Arm();
  void Fire();

  boost::asio::io_context& io_;
  const Clock* const clock_;
  std::function<void(Parked)> expired_;
  std::unordered_map<SessionId, Parked> parked_;
  // Deadlines; an id taken by a resume stays here until its time comes and is skipped.
  std::multimap<int64_t, SessionId> deadlines_;
  boost::asio::steady_timer timer_;
  std::optional<int64_t> armed_for_us_;
  uint64_t generation_ = 0;  // a wait replaced by a nearer one is ignored
  int jump_subscription_ = 0;
  bool stopped_ = false;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_PARKED_SESSIONS_H_
