#include "server/moderation/ban_list.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "server/moderation/string_view_compat.h"

namespace tutti::server::moderation {
namespace {

std::string NetworkKey(const IpAddress& masked_base, int prefix_len) {
  std::string key(1, static_cast<char>(prefix_len));
  key += masked_base.Key();
  return key;
}

// True when `a` keeps someone out at least as long as `b`.
bool LastsAtLeastAsLong(const ServerBan& a, const ServerBan& b) {
  if (a.until_unix_ms == 0) return true;
  if (b.until_unix_ms == 0) return false;
  return a.until_unix_ms >= b.until_unix_ms;
}

}  // namespace

BanTargetKind ClassifyBanTarget(std::string_view target) {
  const size_t slash = target.find('/');
  if (slash != std::string_view::npos) {
    return ParseIp(target.substr(0, slash)) ? BanTargetKind::kAddress : BanTargetKind::kUser;
  }
  return ParseIp(target) ? BanTargetKind::kAddress : BanTargetKind::kUser;
}

absl::StatusOr<std::string> CanonicalBanTarget(std::string_view target) {
  if (target.empty()) return absl::InvalidArgumentError("empty ban target");
  if (ClassifyBanTarget(target) == BanTargetKind::kUser) return std::string(target);
  absl::StatusOr<Cidr> cidr = ParseCidr(target);
  if (!cidr.ok()) return cidr.status();
  return cidr->ToString();
}

std::shared_ptr<const BanList> BanList::Empty() {
  static const std::shared_ptr<const BanList> empty(new BanList());
  return empty;
}

std::shared_ptr<const BanList> BanList::Build(std::vector<ServerBan> bans, int64_t now_unix_ms) {
  std::shared_ptr<BanList> list(new BanList());
  list->entries_.reserve(bans.size());
  for (ServerBan& ban : bans) {
    if (!ban.ActiveAt(now_unix_ms)) continue;
    const BanTargetKind kind = ClassifyBanTarget(ban.target);
    std::string key;
    IpFamily family = IpFamily::kV4;
    int prefix_len = 0;
    if (kind == BanTargetKind::kUser) {
      if (ban.target.empty()) {
        ++list->rejected_;
        continue;
      }
      key = ban.target;
    } else {
      absl::StatusOr<Cidr> cidr = ParseCidr(ban.target);
      if (!cidr.ok()) {
        ++list->rejected_;
        continue;
      }
      ban.target = cidr->ToString();
      family = cidr->base.family;
      prefix_len = cidr->prefix_len;
      key = NetworkKey(cidr->base, prefix_len);
    }
    auto& index = kind == BanTargetKind::kUser ? list->by_user_ : list->by_network_;
    auto [it, inserted] = index.try_emplace(key, list->entries_.size());
    if (!inserted) {
      // Same target twice: keep the longer ban in the existing slot.
      ServerBan& existing = list->entries_[it->second];
      if (!LastsAtLeastAsLong(existing, ban)) existing = std::move(ban);
      continue;
    }
    if (kind == BanTargetKind::kAddress) {
      std::vector<int>& prefixes =
          family == IpFamily::kV4 ? list->v4_prefixes_ : list->v6_prefixes_;
      if (std::find(prefixes.begin(), prefixes.end(), prefix_len) == prefixes.end()) {
        prefixes.push_back(prefix_len);
      }
    }
    list->entries_.push_back(std::move(ban));
    list->kinds_.push_back(kind);
  }
  for (std::vector<int>* prefixes : {&list->v4_prefixes_, &list->v6_prefixes_}) {
    std::sort(prefixes->begin(), prefixes->end(), std::greater<int>());
  }
  for (const ServerBan& ban : list->entries_) {
    if (ban.until_unix_ms != 0 &&
        (list->next_expiry_unix_ms_ == 0 || ban.until_unix_ms < list->next_expiry_unix_ms_)) {
      list->next_expiry_unix_ms_ = ban.until_unix_ms;
    }
  }
  return list;
}

BanEntryView BanList::ViewOf(size_t index) const {
  const ServerBan& ban = entries_[index];
  BanEntryView view;
  view.kind = kinds_[index];
  view.target = ban.target;
  view.reason = ban.reason;
  view.actor = ban.actor;
  view.until_unix_ms = ban.until_unix_ms;
  return view;
}

std::optional<BanEntryView> BanList::MatchUser(std::string_view user_id,
                                               int64_t now_unix_ms) const {
  if (user_id.empty()) return std::nullopt;
  auto it = by_user_.find(ToAbsl(user_id));
  if (it == by_user_.end() || !entries_[it->second].ActiveAt(now_unix_ms)) return std::nullopt;
  return ViewOf(it->second);
}

std::optional<BanEntryView> BanList::MatchAddress(const IpAddress& address,
                                                  int64_t now_unix_ms) const {
  const std::vector<int>& prefixes = address.family == IpFamily::kV4 ? v4_prefixes_ : v6_prefixes_;
  for (int prefix_len : prefixes) {
    auto it = by_network_.find(NetworkKey(MaskAddress(address, prefix_len), prefix_len));
    if (it != by_network_.end() && entries_[it->second].ActiveAt(now_unix_ms)) {
      return ViewOf(it->second);
    }
  }
  return std::nullopt;
}

std::optional<BanEntryView> BanList::Match(std::string_view user_id, std::string_view ip,
                                           int64_t now_unix_ms) const {
  if (std::optional<BanEntryView> user = MatchUser(user_id, now_unix_ms)) return user;
  if (by_network_.empty()) return std::nullopt;
  std::optional<IpAddress> address = ParseIp(ip);
  if (!address) return std::nullopt;
  return MatchAddress(*address, now_unix_ms);
}

}  // namespace tutti::server::moderation
