// Maintenance: maintenance mode and drains (docs/OPERATIONS.md, "Maintenance and restarts";
// docs/PROTOCOL.md §11). In maintenance mode the upgrade gate refuses everyone but server
// staff with 503 and the operator's reason, /readyz says not ready, and room owners and
// staff are told (ServerNotice MAINTENANCE_ON/OFF). A drain turns maintenance mode on
// (without MAINTENANCE_ON: everyone hears of the drain itself), tells every client on every shard
// how long it has left (ServerNotice DRAIN, at the start and at fixed marks: 10 min, 5 min, 1 min,
// 30 s, 10 s, 5 s), then closes every connection with 1001 and a reconnect hint. Staff start one
// with ServerCommand START_DRAIN; SIGTERM starts one with the configured grace and stops the
// process once it is over.
//
// Owns: the mode and its reason (read by every shard's upgrade gate and the admin listener)
// and the countdown (its state and timer live on shard 0). Thread affinity: on(), reason(),
// draining() and drained() from any thread (atomics; the reason under a mutex); SetMode,
// StartDrain and Cancel from any thread (they post to shard 0, where the countdown runs).
// Owner: Server, which destroys it before its shards (the timer is on shard 0's loop).
#ifndef TUTTI_SERVER_MAINTENANCE_H_
#define TUTTI_SERVER_MAINTENANCE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/steady_timer.hpp>

#include "protos/tutti.pb.h"
#include "server/cluster.h"
#include "server/moderation/audit.h"

namespace tutti::server {

class Maintenance {
 public:
  // The operator's words are cut to this many bytes (after cleaning).
  static constexpr size_t kMaxMessageBytes = 512;
  // A drain counts down at most this long.
  static constexpr int64_t kMaxDrainSeconds = 3600;

  explicit Maintenance(Cluster* cluster);
  ~Maintenance();
  Maintenance(const Maintenance&) = delete;
  Maintenance& operator=(const Maintenance&) = delete;

  bool on() const { return on_.load(); }
  std::string reason() const;
  // A drain was asked for (StartDrain) and not called off (SetMode off); it may be over.
  bool draining() const { return draining_.load(); }
  // The drain's end has been posted to every shard (their sessions are closing). Stays
  // false when the drain is called off.
  bool drained() const { return drained_.load(); }

  // Maintenance mode on or off; owners and staff get a ServerNotice when it changes. Off
  // also cancels a drain that is counting down, and then every client hears of it.
  // `actor` (the admin's user id, or "server" for the process itself) is recorded in the
  // server's audit log (maintenance_on / maintenance_off) and the structured log.
  void SetMode(bool on, std::string reason, std::string actor = "server");
  // Starts a drain of `seconds` (0..kMaxDrainSeconds) with `message`; one already counting
  // down keeps the earlier of the two ends and takes the new message. Recorded as `drain`
  // (reason: the message, until: when the connections close) by `actor`.
  void StartDrain(std::string message, int64_t seconds, std::string actor = "server");
  // Shutting down: the countdown timer is cancelled, so shard 0's loop can end.
  void Cancel();

 private:
  struct Countdown;
  void SetModeOnShard0(bool on, std::string reason, const std::string& actor);
  void StartDrainOnShard0(std::string message, int64_t seconds, const std::string& actor);
  // Shard 0: the server-wide audit record (read by staff with /log) and a warn log line.
  void Record(moderation::AuditAction action, const std::string& actor, const std::string& reason,
              int64_t until_unix_ms);
  void Tick();  // shard 0: a mark or the end has come
  void Arm();   // shard 0: waits for the next mark or the end
  // Shard 0: `notice` to every session on every shard that `owners_and_staff` restricts (or
  // all of them).
  void Broadcast(const proto::ServerNotice& notice, bool owners_and_staff_only);

  Cluster* const cluster_;
  std::atomic<bool> on_{false};
  std::atomic<bool> draining_{false};
  std::atomic<bool> drained_{false};
  mutable std::mutex mu_;
  std::string reason_;  // guarded by mu_
  // Shard 0's thread only.
  std::unique_ptr<Countdown> countdown_;
  boost::asio::steady_timer timer_;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_MAINTENANCE_H_
