// Server-wide bans (user ids, IPv4/IPv6 addresses and CIDR networks) as an immutable
// snapshot that the upgrade gate checks before it opens a connection.
//
// Thread affinity: a built BanList is immutable and may be read from every shard at
// once without locks. Ownership: the global moderation actor builds a new snapshot
// whenever the bans change (from the store's ListServerBans plus the new entry) and
// publishes it as std::shared_ptr<const BanList>; each shard swaps its pointer on a
// posted update, so readers never see a half-built list and never block the writer.
//
// Times are wall-clock unix milliseconds, passed in: bans outlive restarts and their
// end is shown to people, so they cannot be on the monotonic clock.
#ifndef TUTTI_SERVER_MODERATION_BAN_LIST_H_
#define TUTTI_SERVER_MODERATION_BAN_LIST_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "server/moderation/ip_address.h"

namespace tutti::server::moderation {

// One server ban as stored and listed (tutti.proto BanEntry with room_id empty).
struct ServerBan {
  // A user id, an address ("192.0.2.1", "2001:db8::1") or a network ("192.0.2.0/24").
  // Use CanonicalBanTarget before storing, so that one network has one spelling.
  std::string target;
  std::string reason;
  std::string actor;  // user id of whoever banned, or "server" for automatic bans
  int64_t created_unix_ms = 0;
  int64_t until_unix_ms = 0;  // 0 = permanent

  // Active at `now` (permanent, or not yet over).
  bool ActiveAt(int64_t now_unix_ms) const {
    return until_unix_ms == 0 || now_unix_ms < until_unix_ms;
  }
};

enum class BanTargetKind { kUser, kAddress };

// What matched. Points into the BanList it came from: keep the shared_ptr alive while
// using it (copy the strings to keep them longer).
struct BanEntryView {
  BanTargetKind kind = BanTargetKind::kUser;
  std::string_view target;
  std::string_view reason;
  std::string_view actor;
  int64_t until_unix_ms = 0;
};

// Classifies a ban target: a text containing '/' whose left side is an IP address is a
// network, an IP address is an address, anything else is a user id. The result is the
// spelling to store: networks and addresses in canonical form (host bits cleared,
// inet_ntop text), user ids unchanged. INVALID_ARGUMENT for an empty target or a
// network with a bad prefix length.
absl::StatusOr<std::string> CanonicalBanTarget(std::string_view target);
BanTargetKind ClassifyBanTarget(std::string_view target);

class BanList {
 public:
  // Builds a snapshot. Entries already over at `now_unix_ms` are left out, as are
  // entries whose target does not parse (counted by rejected(); the store only holds
  // canonical targets, so a rejection means a hand-edited database). When one target
  // appears twice, the longer-lasting ban wins.
  static std::shared_ptr<const BanList> Build(std::vector<ServerBan> bans, int64_t now_unix_ms);
  static std::shared_ptr<const BanList> Empty();

  // The ban keeping this user or address out at `now_unix_ms`, or nullopt. A user ban is
  // reported before an address ban. An empty user_id or an unparsable ip is skipped.
  // Cost: one hash lookup for the user plus one per distinct prefix length of the
  // address's family (at most 33 or 129, in practice a handful).
  std::optional<BanEntryView> Match(std::string_view user_id, std::string_view ip,
                                    int64_t now_unix_ms) const;
  std::optional<BanEntryView> MatchUser(std::string_view user_id, int64_t now_unix_ms) const;
  std::optional<BanEntryView> MatchAddress(const IpAddress& address, int64_t now_unix_ms) const;

  // The active entries, canonical targets, in no particular order.
  const std::vector<ServerBan>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  size_t rejected() const { return rejected_; }
  // The earliest until_unix_ms among temporary bans (0 when none): when the publisher
  // should rebuild so the snapshot sheds expired entries. Matching is correct without
  // a rebuild; this only bounds memory.
  int64_t next_expiry_unix_ms() const { return next_expiry_unix_ms_; }

 private:
  BanList() = default;
  BanEntryView ViewOf(size_t index) const;

  std::vector<ServerBan> entries_;
  std::vector<BanTargetKind> kinds_;  // parallel to entries_
  absl::flat_hash_map<std::string, size_t> by_user_;
  // Key: prefix length byte + IpAddress::Key() of the masked base.
  absl::flat_hash_map<std::string, size_t> by_network_;
  // The distinct prefix lengths present, longest first, per family.
  std::vector<int> v4_prefixes_;
  std::vector<int> v6_prefixes_;
  size_t rejected_ = 0;
  int64_t next_expiry_unix_ms_ = 0;
};

}  // namespace tutti::server::moderation

#endif  // TUTTI_SERVER_MODERATION_BAN_LIST_H_
