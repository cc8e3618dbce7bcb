// Counts failed authentication attempts per client address and bans an address for a
// short while when it fails too often (a password/token guessing brake).
//
// Thread affinity: thread-safe. Every shard's upgrade gate calls it, so one small
// absl::Mutex guards the table; each call holds it for one hash lookup (a full sweep
// happens only when the table is full, at most once per sweep interval).
// Ownership: one instance for the server, created at startup and shared by reference
// with the upgrade gates; it outlives them.
//
// Time is a monotonic millisecond count passed into every call (the injected clock):
// these bans never survive a restart and are never displayed as a date.
//
// Memory is bounded by Options::max_tracked. IPv6 clients are counted per /64, because
// one host usually owns a whole /64 and could otherwise rotate through 2^64 addresses
// to dodge the counter and flood the table.
#ifndef TUTTI_SERVER_MODERATION_AUTH_FAILURE_TRACKER_H_
#define TUTTI_SERVER_MODERATION_AUTH_FAILURE_TRACKER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace tutti::server::moderation {

class AuthFailureTracker {
 public:
  struct Options {
    // 20 failures within 60 s: far more than a person mistyping, far fewer than a
    // scripted guesser needs.
    int max_failures = 20;
    int64_t window_ms = 60'000;
    // Long enough to make guessing pointless, short enough that a household behind one
    // NAT address recovers from a misconfigured client by itself.
    int64_t ban_ms = 5 * 60'000;
    // About 100 bytes per entry: 100k entries is ~10 MB at worst.
    size_t max_tracked = 100'000;
  };

  struct Stats {
    size_t tracked = 0;
    uint64_t bans = 0;       // automatic bans issued
    uint64_t untracked = 0;  // failures not counted because the table was full
  };

  AuthFailureTracker();
  explicit AuthFailureTracker(Options options);

  // Records one failed attempt. Returns the end of the ban (monotonic ms) when this
  // failure triggered one, so the caller can write it to the audit log; nullopt
  // otherwise. Failures during a ban do not extend it.
  std::optional<int64_t> RecordFailure(std::string_view ip, int64_t now_ms);

  // The end of the active ban for this address (monotonic ms), or nullopt. Cheap
  // enough to run before any cryptography at the upgrade gate.
  std::optional<int64_t> BannedUntil(std::string_view ip, int64_t now_ms) const;

  Stats stats() const;

 private:
  struct Entry {
    int64_t window_start_ms = 0;
    int failures = 0;
    int64_t banned_until_ms = 0;  // 0 = not banned
  };

  // IPv4: the address; IPv6: its /64; unparsable text: the text itself.
  static std::string KeyOf(std::string_view ip);
  // Drops entries whose window and ban are over. Returns how many were dropped.
  size_t SweepLocked(int64_t now_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool IsStale(const Entry& entry, int64_t now_ms) const;

  const Options options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  // When the table is full and a sweep freed nothing, the next sweep waits this long,
  // so a flood of new addresses costs one O(n) sweep per interval, not per attempt.
  int64_t next_sweep_ms_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t bans_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t untracked_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tutti::server::moderation

#endif  // TUTTI_SERVER_MODERATION_AUTH_FAILURE_TRACKER_H_
