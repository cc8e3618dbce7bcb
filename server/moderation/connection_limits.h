// ConnectionLimits: the door's accounting. Counts open TCP connections for the global
// ceiling, and per client address (IPv4 address or IPv6 /64) the connections, the
// guest sessions and a token bucket of upgrade attempts, so one address cannot hold the
// server's descriptors (refused at accept past its cap) or keep a core busy opening
// sealed boxes (refused at the upgrade past its bucket).
//
// Thread affinity: thread-safe. Every shard's endpoint calls it at accept, at the
// upgrade and when a connection object goes away; one absl::Mutex guards the table and
// each call holds it for one hash lookup (a sweep runs only when the table is full, at
// most once per sweep interval).
// Ownership: one instance for the server (tutti::server::Server), created before the
// shards and destroyed after them; connections hold a Ticket and hand it back.
//
// Time is a monotonic millisecond count passed into every call (the injected clock).
// Memory is bounded by Options::max_tracked: past it new addresses are let through
// uncounted (and counted in Stats::untracked) rather than refused, so a flood of fresh
// addresses cannot lock everyone else out; the global ceiling still holds them.
#ifndef TUTTI_SERVER_MODERATION_CONNECTION_LIMITS_H_
#define TUTTI_SERVER_MODERATION_CONNECTION_LIMITS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/moderation/ip_address.h"

namespace tutti::server::moderation {

class ConnectionLimits {
 public:
  struct Options {
    size_t max_connections = 0;      // open connections, all addresses; 0 = no ceiling
    int max_per_address = 0;         // 0 = no cap
    int max_guests_per_address = 0;  // 0 = no cap
    double attempts_per_second = 0;  // upgrade attempts per address; 0 = no limit
    double attempt_burst = 0;
    std::vector<Cidr> exempt;      // no per-address limits for these networks
    size_t max_tracked = 100'000;  // ~100 bytes an entry: ~10 MB at worst
  };

  enum class Refusal {
    kNone,
    kServerFull,       // 503: the global ceiling
    kAddressFull,      // 429: the address's concurrent connections
    kGuestsFull,       // 429: the address's concurrent guests
    kTooManyAttempts,  // 429: the address's upgrade bucket is empty
  };
  struct Verdict {
    Refusal refusal = Refusal::kNone;
    int retry_after_s = 0;  // for the Retry-After header; 0 when admitted
    bool ok() const { return refusal == Refusal::kNone; }
  };

  // What a connection holds from accept until it is gone.
  struct Ticket {
    std::string key;       // AddressKey of the peer; empty = not counted per address
    bool counted = false;  // counted toward the global ceiling
    bool guest = false;    // holds one of its address's guest slots
  };

  struct Stats {
    size_t open = 0;         // connections counted now
    size_t tracked = 0;      // addresses in the table
    uint64_t untracked = 0;  // connections let through uncounted (table full)
    uint64_t refused_full = 0, refused_address = 0, refused_guests = 0, refused_attempts = 0;
  };

  explicit ConnectionLimits(Options options);

  // "10.0.0.0/8, 127.0.0.2" -> networks; INVALID_ARGUMENT naming the bad entry.
  static absl::StatusOr<std::vector<Cidr>> ParseNetworks(std::string_view text);

  // A TCP connection was accepted from `ip` (text form; may be empty when unknown).
  Ticket Accepted(std::string_view ip, int64_t now_ms);
  // A connection accepted from a trusted proxy (passed to Accepted with an empty ip, so
  // counted only toward the ceiling) turned out at its upgrade to be from `ip`: from now
  // on it counts toward that address's limits, as if accepted from it. Does nothing for
  // a ticket already keyed, an empty ip or an exempt one.
  void Attribute(Ticket& ticket, std::string_view ip, int64_t now_ms);
  // The connection is gone; the ticket is emptied so a second call does nothing.
  void Released(Ticket& ticket, int64_t now_ms);

  // Right after accept: the ceiling and the address's connections, so that connections
  // that never send a byte cannot hold more than their share until the handshake limit
  // closes them. The caller answers a refusal and closes at once.
  Verdict CheckAccepted(const Ticket& ticket);
  // At the upgrade, before any crypto: the ceiling, the address's connections, then one
  // attempt from the address's bucket (taken only when the other two admit).
  Verdict CheckUpgrade(const Ticket& ticket, int64_t now_ms);
  // After authentication, for a guest: takes one of the address's guest slots, given
  // back by Released.
  Verdict ClaimGuest(Ticket& ticket);

  size_t max_connections() const { return options_.max_connections; }
  Stats stats() const;

 private:
  struct Entry {
    int connections = 0;
    int guests = 0;
    double tokens = 0;
    int64_t last_ms = 0;
  };

  bool Exempt(std::string_view ip) const;
  void Refill(Entry& entry, int64_t now_ms) const;
  // Unused, and its bucket full again: the entry says nothing a fresh one would not.
  bool IsIdle(const Entry& entry, int64_t now_ms) const;
  size_t SweepLocked(int64_t now_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Counts one connection from `key` into `ticket` (left unkeyed when the table is full).
  void TrackLocked(Ticket& ticket, std::string key, int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  size_t open_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t next_sweep_ms_ ABSL_GUARDED_BY(mu_) = 0;
  Stats counters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tutti::server::moderation

#endif  // TUTTI_SERVER_MODERATION_CONNECTION_LIMITS_H_
