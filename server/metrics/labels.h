// The small closed sets the server's counters are keyed by, and the label value each
// member is exported as: rate-limit buckets, the reason class of a refused WebSocket
// upgrade, and message kinds (a ServerMessage or ClientMessage oneof field number);
// and OutboundCounters, what Session::Send counts.
// Each keyed counter is a fixed array indexed by the enum, so counting allocates nothing.
// Plain values with no owner of their own: they live inside Shard::Counters, written
// by that shard's thread only (shard_counter.h) and read by the admin listener's.
#ifndef TUTTI_SERVER_METRICS_LABELS_H_
#define TUTTI_SERVER_METRICS_LABELS_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "server/metrics/shard_counter.h"

namespace tutti::server::metrics {

// Which limit refused a request (an ErrorMessage RATE_LIMITED, or a silent drop for
// avatar moves). docs/OPERATIONS.md lists them.
enum class RateBucket {
  kRequest,          // the session's request bucket (heartbeats, lists, commands)
  kJoin,             // room joins
  kLeave,            // room leaves
  kChat,             // chat lines, chat commands, private messages
  kAvatar,           // avatar moves (dropped without an error)
  kMidiNotes,        // the MIDI note quota
  kMidiReleases,     // the MIDI release quota (note-offs, pedal up)
  kMidiControllers,  // the MIDI controller quota
  kBusy,             // a server queue (password hashing, storage) refused the work
  kLink,             // link tokens asked for (ServerCommand LINK, docs/PROTOCOL.md §16)
  kCount
};
const char* RateBucketName(RateBucket b);

// Why a WebSocket upgrade was refused, as a class an operator can alert on.
enum class RefusalReason {
  kServerFull,    // 503: the global connection ceiling
  kAddressFull,   // 429: the address's concurrent connections
  kGuestsFull,    // 429: the address's concurrent guests
  kAttempts,      // 429: the address's upgrade attempts
  kFailureBrake,  // 429: too many failed connects from the address
  kBanned,        // 403: a server ban (address or user)
  kUnknownPath,   // 404: not the WebSocket path
  kAuth,          // 400/401/403/414: the connect payload or token was refused
  kMaintenance,   // 503: maintenance mode refuses everyone but staff
  kProxyHeader,   // 400: a trusted proxy's forwarding header could not be read
  kOther,
  kCount
};
const char* RefusalReasonName(RefusalReason r);

// Upgrade refusals by (HTTP status, reason class): the statuses the door and the gate
// answer with get a slot each, the rest share "other".
class RefusalCounters {
 public:
  static constexpr std::array<int, 7> kStatuses = {400, 401, 403, 404, 414, 429, 503};
  static constexpr size_t kStatusSlots = kStatuses.size() + 1;
  static constexpr size_t kReasons = static_cast<size_t>(RefusalReason::kCount);

  void Add(int status, RefusalReason reason) {
    size_t s = 0;
    while (s < kStatuses.size() && kStatuses[s] != status) ++s;
    slots_[s * kReasons + static_cast<size_t>(reason)].Add();
  }
  uint64_t Get(size_t status_slot, size_t reason) const {
    return slots_[status_slot * kReasons + reason].Get();
  }
  // "other" for the last slot.
  static int StatusOf(size_t status_slot) {
    return status_slot < kStatuses.size() ? kStatuses[status_slot] : -1;
  }

 private:
  std::array<ShardCounter, kStatusSlots * kReasons> slots_{};
};

// Per message kind, indexed by the oneof field number (0: none, e.g. undecodable).
// 80 slots leave room for the field ranges reserved in protos/tutti.proto.
using KindCounters = CodeCounters<0, 80>;

// What Session::Send counts, on the session's shard: frames and bytes queued by message
// kind, droppable frames shed at the soft limit, sessions closed at the hard limit.
struct OutboundCounters {
  ShardCounter frames_dropped;
  ShardCounter slow_consumers_closed;
  KindCounters frames_out_by_kind;
  KindCounters bytes_out_by_kind;
};

// Rate-limit refusals, indexed by RateBucket.
class RateCounters {
 public:
  static constexpr size_t kSlots = static_cast<size_t>(RateBucket::kCount);
  void Add(RateBucket b) { slots_[static_cast<size_t>(b)].Add(); }
  uint64_t Get(size_t i) const { return slots_[i].Get(); }

 private:
  std::array<ShardCounter, kSlots> slots_{};
};

}  // namespace tutti::server::metrics

#endif  // TUTTI_SERVER_METRICS_LABELS_H_
